package knowledge

import (
	"cmp"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/swarmllm/swarmllm/cms"
)

// Sizes and defaults.
const (
	// PassageBytes is the size a passage is cut to: a few sentences, so the
	// top passages fit a small model's context with the question.
	PassageBytes = 600
	// MaxDocumentBytes bounds one file (and the text extracted from a PDF).
	MaxDocumentBytes = 8 << 20
	// MaxDocuments bounds the files indexed under one directory.
	MaxDocuments = 10000
	// MaxTerms is how many descriptive terms a collection advertises.
	MaxTerms = 16
	// DefaultInterval is how often the files are checked for changes.
	DefaultInterval = 10 * time.Second
	// embedBatch is how many passages go to the embedding model per call.
	embedBatch = 32
	// stateFile is the index's file in the data directory.
	stateFile   = "knowledge-index.gob"
	stateFormat = 2
)

// Passage is a retrieved piece of a document.
type Passage struct {
	Source string  // the document's path under the directory, slash-separated
	Text   string  // stays on this device: only this node's model reads it
	Score  float64 // cosine similarity to the question
}

// Collection is what a node advertises of its documents: never their text.
type Collection struct {
	Name      string   // the directory's base name
	Documents int      // files indexed
	Passages  int      // passages indexed
	Terms     []string // up to MaxTerms descriptive words, most telling first
	// Vector is the unit mean of the passages' vectors by the lexical
	// embedder (cms.LexicalModel), whatever model retrieval uses: every peer
	// can embed a question lexically, so every peer can compare, and one
	// threshold holds across the swarm; nil when empty.
	Vector []float32
}

// Option configures an Index.
type Option func(*options)

type options struct {
	interval time.Duration
	log      *slog.Logger
	onChange func()
}

// WithInterval sets how often the files are checked for changes (default DefaultInterval).
func WithInterval(d time.Duration) Option { return func(o *options) { o.interval = d } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithOnChange sets a function called after each refresh that changed the
// index (the node republishes its capability record).
func WithOnChange(f func()) Option { return func(o *options) { o.onChange = f } }

// Index is the passage index of one directory. It is safe for concurrent
// use; New starts its refresh loop and Close stops it.
type Index struct {
	dir       string
	statePath string
	name      string
	emb       cms.Embedder
	o         options

	mu      sync.RWMutex // owns docs and summary
	docs    map[string]*document
	summary Collection

	refreshMu sync.Mutex // one refresh at a time: the loop's or a caller's

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// document is one indexed file; it is immutable once built.
type document struct {
	Path     string // relative to the directory, slash-separated
	ModTime  int64  // unix nanoseconds
	Size     int64
	Model    string
	Passages []string
	Vectors  [][]float32 // unit length, one per passage
	Terms    map[string]float64
	// Lexical is the sum of the passages' lexical vectors: the summary
	// vector is in the lexical space whatever the model, so every peer can
	// compare a question with it (see Collection).
	Lexical []float32
}

// state is the index as saved in the data directory.
type state struct {
	Format int
	Dir    string
	Docs   []*document
}

// New opens the index of dir, kept in stateDir, with emb's vectors. It
// loads the saved index (so a restart re-embeds only what changed) and
// starts the loop that refreshes it at once and then every interval.
func New(dir, stateDir string, emb cms.Embedder, opts ...Option) (*Index, error) {
	o := options{interval: DefaultInterval, log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if emb == nil {
		return nil, errors.New("new knowledge index: nil embedder")
	}
	if o.interval <= 0 {
		return nil, fmt.Errorf("new knowledge index: interval %v must be positive", o.interval)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("new knowledge index: %w", err)
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("new knowledge index: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("new knowledge index: %s is not a directory", abs)
	}
	x := &Index{dir: abs, statePath: filepath.Join(stateDir, stateFile), name: collectionName(abs), emb: emb, o: o,
		docs: map[string]*document{}}
	x.loadState()
	x.summarize()
	x.ctx, x.cancel = context.WithCancel(context.Background())
	x.wg.Add(1)
	go x.loop()
	return x, nil
}

// Close stops the refresh loop and waits for it. Safe to call more than once.
func (x *Index) Close() error {
	x.closeOnce.Do(func() {
		x.cancel()
		x.wg.Wait()
	})
	return nil
}

func (x *Index) loop() {
	defer x.wg.Done()
	t := time.NewTicker(x.o.interval)
	defer t.Stop()
	for {
		if _, err := x.Refresh(x.ctx); err != nil && x.ctx.Err() == nil {
			x.o.log.Warn("refresh knowledge index", "dir", x.dir, "err", err)
		}
		select {
		case <-x.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh re-reads the files that changed since the last refresh, drops the
// ones removed, and reports whether the index changed. A file that cannot be
// read is left out (and logged); an embedding failure fails the refresh and
// keeps the index as it was.
func (x *Index) Refresh(ctx context.Context) (changed bool, err error) {
	x.refreshMu.Lock()
	defer x.refreshMu.Unlock()
	if x.ctx.Err() != nil {
		return false, ErrClosed
	}
	files, err := x.scan()
	if err != nil {
		return false, fmt.Errorf("refresh knowledge index: %w", err)
	}
	x.mu.RLock()
	old := x.docs
	x.mu.RUnlock()
	next := make(map[string]*document, len(files))
	for _, f := range files {
		if d := old[f.Path]; d != nil && d.ModTime == f.ModTime && d.Size == f.Size && d.Model == x.emb.Model() {
			next[f.Path] = d
			continue
		}
		changed = true
		d, err := x.build(ctx, f)
		if errors.Is(err, ErrEmbed) || ctx.Err() != nil {
			return false, fmt.Errorf("refresh knowledge index: %w", err)
		}
		if err != nil {
			x.o.log.Warn("index document", "file", f.Path, "err", err)
			continue
		}
		next[f.Path] = d
	}
	if len(next) != len(old) {
		changed = true
	}
	if !changed {
		return false, nil
	}
	x.mu.Lock()
	x.docs = next
	x.mu.Unlock()
	x.summarize()
	if err := x.saveState(); err != nil {
		x.o.log.Warn("save knowledge index", "err", err)
	}
	if x.o.onChange != nil {
		x.o.onChange()
	}
	return true, nil
}

// scan lists the indexable files under the directory, hidden ones left out.
func (x *Index) scan() ([]*document, error) {
	var out []*document
	err := filepath.WalkDir(x.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != x.dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() || !Indexable(d.Name()) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if len(out) == MaxDocuments {
			return fmt.Errorf("%s: more than %d documents: %w", x.dir, MaxDocuments, ErrTooLarge)
		}
		rel, err := filepath.Rel(x.dir, path)
		if err != nil {
			return err
		}
		out = append(out, &document{Path: filepath.ToSlash(rel), ModTime: info.ModTime().UnixNano(), Size: info.Size()})
		return nil
	})
	return out, err
}

// build reads, splits and embeds one file.
func (x *Index) build(ctx context.Context, f *document) (*document, error) {
	text, err := readDocument(filepath.Join(x.dir, filepath.FromSlash(f.Path)))
	if err != nil {
		return nil, err
	}
	d := &document{Path: f.Path, ModTime: f.ModTime, Size: f.Size, Model: x.emb.Model(), Passages: chunk(text)}
	for i := 0; i < len(d.Passages); i += embedBatch {
		batch := d.Passages[i:min(i+embedBatch, len(d.Passages))]
		vs, err := x.embed(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		d.Vectors = append(d.Vectors, vs...)
	}
	d.Terms = termScores(d.Passages)
	lex, err := cms.LexicalEmbedder{}.Embed(ctx, d.Passages)
	if err != nil {
		return nil, err
	}
	d.Lexical = make([]float32, cms.LexicalDim)
	for _, v := range lex {
		for i, f := range v {
			d.Lexical[i] += f
		}
	}
	return d, nil
}

// embed returns unit vectors of texts, checked against the embedder's shape.
func (x *Index) embed(ctx context.Context, texts []string) ([][]float32, error) {
	vs, err := x.emb.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrEmbed, x.emb.Model(), err)
	}
	if len(vs) != len(texts) {
		return nil, fmt.Errorf("%w: %s returned %d vectors for %d texts", ErrEmbed, x.emb.Model(), len(vs), len(texts))
	}
	for _, v := range vs {
		if len(v) != x.emb.Dim() {
			return nil, fmt.Errorf("%w: %s returned dim %d, declared %d", ErrEmbed, x.emb.Model(), len(v), x.emb.Dim())
		}
		cms.Normalize(v)
	}
	return vs, nil
}

// Retrieve returns the k passages nearest question, best first.
func (x *Index) Retrieve(ctx context.Context, question string, k int) ([]Passage, error) {
	vs, err := x.embed(ctx, []string{question})
	if err != nil {
		return nil, fmt.Errorf("retrieve: %w", err)
	}
	q := vs[0]
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []Passage
	for _, d := range x.docs {
		if d.Model != x.emb.Model() {
			continue
		}
		for i, v := range d.Vectors {
			out = append(out, Passage{Source: d.Path, Text: d.Passages[i], Score: cms.Similarity(q, v)})
		}
	}
	slices.SortFunc(out, func(a, b Passage) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Source+a.Text, b.Source+b.Text)
	})
	return out[:min(k, len(out))], nil
}

// Summary is the collection as the capability record advertises it.
func (x *Index) Summary() Collection {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c := x.summary
	c.Terms, c.Vector = slices.Clone(c.Terms), slices.Clone(c.Vector)
	return c
}

// Embedder is the model the index's vectors come from (a question is
// compared with a collection only in the same model's space).
func (x *Index) Embedder() cms.Embedder { return x.emb }

// summarize recomputes the advertised summary from the documents.
func (x *Index) summarize() {
	x.mu.Lock()
	defer x.mu.Unlock()
	c := Collection{Name: x.name}
	terms := map[string]float64{}
	var sum []float32
	for _, d := range x.docs {
		c.Documents++
		c.Passages += len(d.Passages)
		for t, s := range d.Terms {
			terms[t] += s
		}
		if len(d.Lexical) == cms.LexicalDim {
			if sum == nil {
				sum = make([]float32, cms.LexicalDim)
			}
			for i, f := range d.Lexical {
				sum[i] += f
			}
		}
	}
	c.Terms = topTerms(terms, MaxTerms)
	if sum != nil {
		cms.Normalize(sum)
		c.Vector = sum
	}
	x.summary = c
}

func (x *Index) loadState() {
	f, err := os.Open(x.statePath)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			x.o.log.Warn("load knowledge index", "err", err)
		}
		return
	}
	defer f.Close()
	var st state
	if err := gob.NewDecoder(f).Decode(&st); err != nil || st.Format != stateFormat || st.Dir != x.dir {
		// Another directory's index, an old format or a torn file: rebuild.
		return
	}
	for _, d := range st.Docs {
		if len(d.Vectors) == len(d.Passages) {
			x.docs[d.Path] = d
		}
	}
}

// saveState writes the index through a temporary file, so a crash leaves
// the old one whole.
func (x *Index) saveState() error {
	x.mu.RLock()
	st := state{Format: stateFormat, Dir: x.dir}
	for _, d := range x.docs {
		st.Docs = append(st.Docs, d)
	}
	x.mu.RUnlock()
	tmp, err := os.CreateTemp(filepath.Dir(x.statePath), stateFile+".*")
	if err != nil {
		return fmt.Errorf("save knowledge index: %w", err)
	}
	werr := gob.NewEncoder(tmp).Encode(st)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("save knowledge index: %w", err)
	}
	if err := os.Rename(tmp.Name(), x.statePath); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("save knowledge index: %w", err)
	}
	return nil
}

// collectionName is the name a directory's collection is advertised under.
func collectionName(dir string) string {
	name := filepath.Base(dir)
	if len(name) > cms.MaxNameBytes {
		name = name[:cms.MaxNameBytes]
	}
	return strings.ToValidUTF8(name, "")
}
