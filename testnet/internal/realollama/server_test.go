//go:build unix

package realollama

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"go.uber.org/goleak"

	"github.com/swarmllm/swarmllm/testnet/internal/gguf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeTB records Fatalf and Skipf instead of ending the test, so Start's
// failure paths can be checked; everything else is the real test's.
type fakeTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = "fatal: " + fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.msg = "skip: " + fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// run calls fn on its own goroutine (Fatalf ends it) and returns what was
// recorded.
func (f *fakeTB) run(fn func()) string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

var _ testing.TB = (*fakeTB)(nil)

func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-ollama")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartFailures(t *testing.T) {
	cases := []struct {
		name string
		body string
		opts []Option
		want string
	}{
		{"exits at once", "echo cannot bind >&2; exit 1", nil, "exited before it was ready"},
		// The child sleep shares the process group and must die with it.
		{"never answers", "sleep 60 & wait", []Option{WithStartTimeout(300 * time.Millisecond)}, "deadline exceeded"},
		{"bad timeout", "exit 0", []Option{WithStartTimeout(0)}, "must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bin := script(t, tc.body)
			f := &fakeTB{TB: t}
			start := time.Now()
			msg := f.run(func() { Start(context.Background(), f, bin, tc.opts...) })
			if !strings.HasPrefix(msg, "fatal: ") || !strings.Contains(msg, tc.want) {
				t.Fatalf("Start recorded %q, want a fatal error containing %q", msg, tc.want)
			}
			if tc.name == "exits at once" && !strings.Contains(msg, "cannot bind") {
				t.Errorf("failure does not quote the server's log: %q", msg)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Start took %v to fail", d)
			}
		})
	}
}

func TestFindSkipsWithoutBinary(t *testing.T) {
	t.Setenv(EnvBin, "")
	t.Setenv(EnvCache, t.TempDir())
	f := &fakeTB{TB: t}
	if msg := f.run(func() { Find(f) }); !strings.HasPrefix(msg, "skip: ") || !strings.Contains(msg, "build-ollama.sh") {
		t.Errorf("Find recorded %q, want a skip naming the build script", msg)
	}
}

// TestRealOllama runs the built Ollama with a confident and an unsure tiny
// model: creation, /api/show, chat logprobs, /api/embed, and shutdown.
func TestRealOllama(t *testing.T) {
	bin := Find(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := Start(ctx, t, bin)

	dir := t.TempDir()
	models := map[string][]gguf.Option{
		"tiny-sharp": {gguf.WithSharpness(10)},
		"tiny-flat":  {gguf.WithSharpness(0.5)},
		// Another shape: grouped-query attention, f32, more blocks and words.
		"small-gqa": {gguf.WithSharpness(4), gguf.WithEmbed(128), gguf.WithHeads(8, 2),
			gguf.WithBlocks(4), gguf.WithVocab(4096), gguf.WithDType(gguf.F32), gguf.WithSeed(9)},
	}
	for name, opts := range models {
		m, err := gguf.New(append(opts, gguf.WithName(name))...)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".gguf")
		if err := m.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, name, path); err != nil {
			t.Fatalf("Create %s: %v", name, err)
		}
	}
	if err := s.Create(ctx, "missing", filepath.Join(dir, "nope.gguf")); err == nil {
		t.Error("Create from a missing file succeeded")
	}

	c := s.Client()
	show, err := c.Show(ctx, &api.ShowRequest{Model: "tiny-sharp"})
	if err != nil {
		t.Fatalf("show: %v", err)
	}
	if show.Details.Family != "llama" || show.Details.QuantizationLevel != "F16" ||
		!slices.Contains(show.Capabilities, "completion") {
		t.Errorf("show: details %+v, capabilities %v", show.Details, show.Capabilities)
	}

	prompts := []string{"What is the capital of France?", "tell me a story about the sea and the moon", "hello"}
	mean := map[string]float64{}
	for name := range models {
		var sum float64
		var n int
		var evalCount int
		var evalDur time.Duration
		for _, p := range prompts {
			err := c.Chat(ctx, &api.ChatRequest{
				Model:       name,
				Messages:    []api.Message{{Role: "user", Content: p}},
				Stream:      new(bool),
				Logprobs:    true,
				TopLogprobs: 5,
			}, func(r api.ChatResponse) error {
				if !r.Done {
					return nil
				}
				if strings.TrimSpace(r.Message.Content) == "" || len(r.Logprobs) == 0 {
					return fmt.Errorf("answer %q with %d logprobs", r.Message.Content, len(r.Logprobs))
				}
				for _, lp := range r.Logprobs {
					if len(lp.TopLogprobs) != 5 {
						return fmt.Errorf("token %q has %d top logprobs", lp.Token, len(lp.TopLogprobs))
					}
					sum += lp.Logprob
					n++
				}
				evalCount += r.EvalCount
				evalDur += r.EvalDuration
				return nil
			})
			if err != nil {
				t.Fatalf("chat %s: %v", name, err)
			}
		}
		mean[name] = sum / float64(n)
		t.Logf("%s: mean token logprob %.3f over %d tokens, %.0f tokens/s", name, mean[name], n,
			float64(evalCount)/evalDur.Seconds())
	}
	if mean["tiny-sharp"] < -1.5 || mean["tiny-flat"] > -3 {
		t.Errorf("mean logprobs sharp %.3f, flat %.3f: not clearly confident vs unsure", mean["tiny-sharp"], mean["tiny-flat"])
	}

	texts := []string{"the river and the bridge", "a bridge over the river", "money market price", "the price of money in the market"}
	emb, err := c.Embed(ctx, &api.EmbedRequest{Model: "tiny-sharp", Input: texts})
	if err != nil {
		t.Fatalf("embed: %v", err)
	}
	if len(emb.Embeddings) != len(texts) || len(emb.Embeddings[0]) != gguf.DefaultEmbed {
		t.Fatalf("embed: %d vectors of %d dims", len(emb.Embeddings), len(emb.Embeddings[0]))
	}
	cos := func(a, b []float32) float64 {
		var d, na, nb float64
		for i := range a {
			d += float64(a[i]) * float64(b[i])
			na += float64(a[i]) * float64(a[i])
			nb += float64(b[i]) * float64(b[i])
		}
		return d / math.Sqrt(na*nb)
	}
	e := emb.Embeddings
	related := min(cos(e[0], e[1]), cos(e[2], e[3]))
	unrelated := max(cos(e[0], e[2]), cos(e[0], e[3]), cos(e[1], e[3]))
	t.Logf("embeddings: related texts cos >= %.2f, unrelated <= %.2f", related, unrelated)
	if related <= unrelated {
		t.Errorf("texts sharing words are not closer: related %.2f, unrelated %.2f", related, unrelated)
	}

	pgid := s.cmd.Process.Pid
	s.Close()
	s.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has members after Close", pgid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
