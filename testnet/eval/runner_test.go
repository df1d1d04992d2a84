package eval

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// fakeNode answers from a table of prompt → answer, on a route, and
// records the peak number of asks in flight.
type fakeNode struct {
	id             int
	answers        map[string]string
	route          router.Route
	fail           error         // returned instead of an answer when set
	hold           chan struct{} // if set, every ask waits for it to close
	asked          *atomic.Int64
	inFlight, peak *atomic.Int64
	mu             sync.Mutex
	policies       []string
}

func (f *fakeNode) Ask(ctx context.Context, req api.AskRequest) (*api.AskResult, error) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	f.asked.Add(1)
	f.mu.Lock()
	f.policies = append(f.policies, req.Policy)
	f.mu.Unlock()
	if f.hold != nil {
		select {
		case <-f.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.fail != nil {
		return nil, f.fail
	}
	tr := router.Trace{Route: f.route, Reason: "fake"}
	if f.route == router.RouteCloud {
		tr.Cloud = &router.CloudInfo{Summoned: true, PromptTokens: 10, CompletionTokens: 2}
	}
	return &api.AskResult{Answer: f.answers[req.Prompt], Trace: tr}, nil
}

func testItems() []workload.Item {
	var items []workload.Item
	for _, it := range workload.Default().Items() {
		if len(items) < 12 && it.Dataset != workload.DatasetSafety {
			items = append(items, it)
		}
	}
	return items
}

func fakeNodes(n int, items []workload.Item, route router.Route) []*fakeNode {
	answers := map[string]string{}
	for _, it := range items {
		answers[it.Prompt] = it.Answer
	}
	var asked, inFlight, peak atomic.Int64
	out := make([]*fakeNode, n)
	for i := range out {
		out[i] = &fakeNode{id: i, answers: answers, route: route, asked: &asked, inFlight: &inFlight, peak: &peak}
	}
	return out
}

func askers(fs []*fakeNode) []Asker {
	out := make([]Asker, len(fs))
	for i, f := range fs {
		out[i] = f
	}
	return out
}

func TestRunnerRun(t *testing.T) {
	items := testItems()
	tests := []struct {
		name        string
		nodes       int
		concurrency int
		route       router.Route
		fail        error
		outcome     Outcome
		correct     bool
	}{
		{"one node, serial", 1, 1, router.RouteLocal, nil, Answered, true},
		{"three nodes, four at once", 3, 4, router.RouteSwarm, nil, Answered, true},
		{"cloud answers carry tokens", 2, 8, router.RouteCloud, nil, Answered, true},
		{"node says it cannot answer", 2, 3, router.RouteLocal, &api.APIError{Status: 503, Code: "unavailable", Message: "down"}, Failed, false},
		{"transport error", 2, 3, router.RouteLocal, errors.New("connection refused"), Lost, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := fakeNodes(tt.nodes, items, tt.route)
			for _, f := range fs {
				f.fail = tt.fail
			}
			r, err := NewRunner(askers(fs), WithConcurrency(tt.concurrency))
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Run(context.Background(), "test", "cascade", items)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(items) {
				t.Fatalf("%d results for %d items", len(res), len(items))
			}
			for i, got := range res {
				if got.Item.QID != items[i].QID || got.Node != i%tt.nodes {
					t.Errorf("result %d is %s from node %d, want %s from node %d (item order, round robin)", i,
						got.Item.QID, got.Node, items[i].QID, i%tt.nodes)
				}
				if got.Outcome != tt.outcome || got.Correct != tt.correct {
					t.Errorf("result %d: outcome %v correct %v, want %v %v (err %q)", i, got.Outcome, got.Correct,
						tt.outcome, tt.correct, got.Err)
				}
				if tt.route == router.RouteCloud && (got.CloudPromptTokens != 10 || got.CloudCompletionTokens != 2) {
					t.Errorf("result %d: cloud tokens %d/%d, want 10/2", i, got.CloudPromptTokens, got.CloudCompletionTokens)
				}
			}
			if peak := fs[0].peak.Load(); peak > int64(tt.concurrency) {
				t.Errorf("%d asks in flight, concurrency is %d", peak, tt.concurrency)
			}
			for _, f := range fs {
				for _, p := range f.policies {
					if p != "cascade" {
						t.Fatalf("asked under policy %q, want cascade", p)
					}
				}
			}
		})
	}
}

// The runner keeps exactly concurrency asks in flight when the nodes are slow.
func TestRunnerReachesConcurrency(t *testing.T) {
	items := testItems()
	fs := fakeNodes(2, items, router.RouteLocal)
	hold := make(chan struct{})
	for _, f := range fs {
		f.hold = hold
	}
	r, err := NewRunner(askers(fs), WithConcurrency(5))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.Run(context.Background(), "test", "", items); done <- err }()
	deadline := time.Now().Add(5 * time.Second)
	for fs[0].inFlight.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d asks in flight, want 5", fs[0].inFlight.Load())
		}
		time.Sleep(time.Millisecond)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fs[0].peak.Load() != 5 {
		t.Errorf("peak %d in flight, want 5", fs[0].peak.Load())
	}
}

func TestRunnerCancel(t *testing.T) {
	items := testItems()
	fs := fakeNodes(1, items, router.RouteLocal)
	fs[0].hold = make(chan struct{}) // never answers
	r, err := NewRunner(askers(fs), WithConcurrency(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for fs[0].inFlight.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	res, err := r.Run(ctx, "test", "", items)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	for _, got := range res {
		if got.Outcome != Lost {
			t.Errorf("%s: outcome %v after cancel, want lost", got.Item.QID, got.Outcome)
		}
	}
}

func TestNewRunnerRefuses(t *testing.T) {
	fs := askers(fakeNodes(1, nil, router.RouteLocal))
	tests := []struct {
		name    string
		targets []Asker
		opts    []Option
	}{
		{"no targets", nil, nil},
		{"nil target", []Asker{nil}, nil},
		{"zero concurrency", fs, []Option{WithConcurrency(0)}},
		{"zero timeout", fs, []Option{WithTimeout(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRunner(tt.targets, tt.opts...); err == nil {
				t.Error("NewRunner accepted it")
			}
		})
	}
}

func TestProgress(t *testing.T) {
	items := testItems()
	tests := []struct {
		name      string
		live      bool
		wantLines int
	}{
		{"log: one line per run", false, 1},
		{"terminal: redraws in place", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			p := NewProgress(&b, tt.live)
			r, err := NewRunner(askers(fakeNodes(1, items, router.RouteLocal)), WithProgress(p))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Run(context.Background(), "swarm confident=0.7", "", items); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if got := strings.Count(out, "\n"); got != tt.wantLines {
				t.Errorf("%d lines, want %d: %q", got, tt.wantLines, out)
			}
			if want := "12/12"; !strings.Contains(out, want) || !strings.Contains(out, "swarm confident=0.7") {
				t.Errorf("progress %q lacks the label or %s", out, want)
			}
			if strings.Contains(out, "\r") != tt.live {
				t.Errorf("carriage returns %v, want %v", strings.Contains(out, "\r"), tt.live)
			}
		})
	}
}
