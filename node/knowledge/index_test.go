package knowledge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// countingEmbedder is the lexical embedder that counts the texts it embeds
// and fails while fail is set.
type countingEmbedder struct {
	cms.LexicalEmbedder
	texts atomic.Int64
	fail  atomic.Bool
}

func (e *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if e.fail.Load() {
		return nil, errors.New("embedding model down")
	}
	e.texts.Add(int64(len(texts)))
	return e.LexicalEmbedder.Embed(ctx, texts)
}

// docs writes a small collection: one Markdown, one text and one PDF file,
// a file of a kind the index skips, and a hidden file.
func docs(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "workshop-manuals")
	write := func(name string, b []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("lathe.md", []byte("# The Korvath lathe\n\nThe **Korvath** lathe spindle must be oiled every 37 hours of running.\n\n- Use grade 9 oil.\n"))
	write("notes/press.txt", []byte("The hydraulic press in bay four was recalibrated by Ilsa Drummel.\nIts maximum force is 118 kilonewtons."))
	write("saw.pdf", minimalPDF("The Brennic band saw blade is replaced every 212 cuts.", "Blades come from the Tollerby depot."))
	write("photo.png", []byte("\x89PNG not a document"))
	write(".secret.md", []byte("hidden drafts are never indexed"))
	return dir
}

func newIndex(t *testing.T, dir string, emb cms.Embedder, opts ...Option) *Index {
	t.Helper()
	x, err := New(dir, t.TempDir(), emb, append([]Option{WithInterval(time.Hour), WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Close() })
	// The loop's first refresh indexes the three documents of docs; a test
	// that changes files starts after it, so the two never interleave.
	p2ptest.Eventually(t, func() bool { return x.Summary().Documents == 3 }, p2ptest.Patience)
	return x
}

func TestRetrieveFindsEachKindOfDocument(t *testing.T) {
	x := newIndex(t, docs(t), cms.LexicalEmbedder{})
	cases := []struct {
		name, question, source, fact string
	}{
		{"markdown", "How often must the Korvath lathe spindle be oiled?", "lathe.md", "37 hours"},
		{"text in a subdirectory", "What is the maximum force of the hydraulic press?", "notes/press.txt", "118 kilonewtons"},
		{"pdf", "How often is the Brennic band saw blade replaced?", "saw.pdf", "212 cuts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := x.Retrieve(context.Background(), tc.question, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) == 0 || ps[0].Source != tc.source || !strings.Contains(ps[0].Text, tc.fact) {
				t.Fatalf("Retrieve(%q) = %+v, want %s with %q first", tc.question, ps, tc.source, tc.fact)
			}
		})
	}
	sum := x.Summary()
	if sum.Name != "workshop-manuals" || sum.Documents != 3 || len(sum.Vector) != cms.LexicalDim {
		t.Fatalf("Summary = %+v (vector %d), want 3 documents of workshop-manuals in lexical space", sum, len(sum.Vector))
	}
	for _, name := range []string{"korvath", "brennic"} {
		if !slices.Contains(sum.Terms, name) {
			t.Errorf("terms %v lack the name %q", sum.Terms, name)
		}
	}
	if slices.Contains(sum.Terms, "hidden") {
		t.Errorf("terms %v come from a hidden file", sum.Terms)
	}
}

func TestRefreshFollowsTheFiles(t *testing.T) {
	dir := docs(t)
	emb := &countingEmbedder{}
	var changes atomic.Int64
	x := newIndex(t, dir, emb, WithOnChange(func() { changes.Add(1) }))
	ctx := context.Background()
	p2ptest.Eventually(t, func() bool { return changes.Load() == 1 }, p2ptest.Patience) // the first refresh's
	before := emb.texts.Load()
	if changed, err := x.Refresh(ctx); err != nil || changed {
		t.Fatalf("Refresh of unchanged files = %v, %v; want false, nil", changed, err)
	}
	if emb.texts.Load() != before {
		t.Fatal("an unchanged file was embedded again")
	}

	lathe := filepath.Join(dir, "lathe.md")
	if err := os.WriteFile(lathe, []byte("The Korvath lathe spindle must be oiled every 41 hours."), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(lathe, later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "saw.pdf")); err != nil {
		t.Fatal(err)
	}
	if changed, err := x.Refresh(ctx); err != nil || !changed {
		t.Fatalf("Refresh after edits = %v, %v; want true, nil", changed, err)
	}
	if changes.Load() != 2 {
		t.Fatalf("OnChange ran %d times for two changed refreshes", changes.Load())
	}
	ps, err := x.Retrieve(ctx, "How often must the Korvath lathe spindle be oiled?", 1)
	if err != nil || len(ps) != 1 || !strings.Contains(ps[0].Text, "41 hours") {
		t.Fatalf("after the edit Retrieve = %+v, %v; want the new interval", ps, err)
	}
	if got := x.Summary().Documents; got != 2 {
		t.Fatalf("Summary().Documents = %d after removing a file, want 2", got)
	}
}

func TestLoopPicksUpNewFiles(t *testing.T) {
	dir := docs(t)
	x, err := New(dir, t.TempDir(), cms.LexicalEmbedder{}, WithInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	p2ptest.Eventually(t, func() bool { return x.Summary().Documents == 3 }, p2ptest.Patience)
	if err := os.WriteFile(filepath.Join(dir, "drill.txt"), []byte("The Quillon drill press turns at 640 rpm."), 0o644); err != nil {
		t.Fatal(err)
	}
	p2ptest.Eventually(t, func() bool { return x.Summary().Documents == 4 }, p2ptest.Patience)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Refresh(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Refresh after Close = %v, want ErrClosed", err)
	}
}

func TestSavedIndexSkipsReembedding(t *testing.T) {
	dir, state := docs(t), t.TempDir()
	emb := &countingEmbedder{}
	x, err := New(dir, state, emb, WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Eventually(t, func() bool { return x.Summary().Documents == 3 }, p2ptest.Patience)
	_ = x.Close()
	first := emb.texts.Load()

	y, err := New(dir, state, emb, WithInterval(time.Hour), WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if y.Summary().Documents != 3 {
		t.Fatalf("reopened index has %d documents before any refresh, want the saved 3", y.Summary().Documents)
	}
	if changed, err := y.Refresh(context.Background()); err != nil || changed {
		t.Fatalf("Refresh of the reopened index = %v, %v; want false, nil", changed, err)
	}
	if emb.texts.Load() != first {
		t.Fatalf("reopening embedded %d texts again", emb.texts.Load()-first)
	}
}

func TestEmbeddingFailureKeepsTheIndex(t *testing.T) {
	dir := docs(t)
	emb := &countingEmbedder{}
	x := newIndex(t, dir, emb)
	emb.fail.Store(true)
	if err := os.WriteFile(filepath.Join(dir, "new.md"), []byte("The Pellow gauge reads in bars."), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Refresh(context.Background()); !errors.Is(err, ErrEmbed) {
		t.Fatalf("Refresh with the model down = %v, want ErrEmbed", err)
	}
	if got := x.Summary().Documents; got != 3 {
		t.Fatalf("failed refresh left %d documents, want the 3 before it", got)
	}
	if _, err := x.Retrieve(context.Background(), "Pellow gauge", 1); !errors.Is(err, ErrEmbed) {
		t.Fatalf("Retrieve with the model down = %v, want ErrEmbed", err)
	}
}

func TestNewRefuses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		dir  string
		emb  cms.Embedder
	}{
		{"missing directory", filepath.Join(t.TempDir(), "nope"), cms.LexicalEmbedder{}},
		{"a file", file, cms.LexicalEmbedder{}},
		{"no embedder", t.TempDir(), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if x, err := New(tc.dir, t.TempDir(), tc.emb); err == nil {
				_ = x.Close()
				t.Fatal("New succeeded")
			}
		})
	}
}
