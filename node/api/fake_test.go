package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/cms"
	goldenfile "github.com/swarmllm/swarmllm/testnet/golden"

	"go.uber.org/goleak"

	"github.com/swarmllm/swarmllm/router"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeEngine answers every query with one canned response and records what
// it was asked. It embeds Engine so a method the tests forgot panics loudly.
type fakeEngine struct {
	Engine

	mu      sync.Mutex
	asks    []Request
	shows   []string
	resp    Response
	err     error // returned by Ask and Show when set
	block   bool  // Ask waits for its context to end
	models  []ModelInfo
	running []RunningModel
	details map[string]*ModelDetails
	peers   []PeerInfo
	records []cms.RecordView
	health  Health
}

var _ Engine = (*fakeEngine)(nil)

func (f *fakeEngine) Ask(ctx context.Context, req Request) (*Response, error) {
	f.mu.Lock()
	f.asks = append(f.asks, req)
	resp, err, block := f.resp, f.err, f.block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	return &resp, nil
}

func (f *fakeEngine) Models(context.Context) []ModelInfo     { return f.models }
func (f *fakeEngine) Running(context.Context) []RunningModel { return f.running }

func (f *fakeEngine) Show(_ context.Context, name string) (*ModelDetails, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shows = append(f.shows, name)
	if f.err != nil {
		return nil, f.err
	}
	d, ok := f.details[name]
	if !ok {
		return nil, ErrUnknownModel
	}
	return d, nil
}

func (f *fakeEngine) Peers(context.Context) []PeerInfo         { return f.peers }
func (f *fakeEngine) Records(context.Context) []cms.RecordView { return f.records }
func (f *fakeEngine) Health(context.Context) Health            { return f.health }

func (f *fakeEngine) askCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.asks)
}

func (f *fakeEngine) showCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.shows)
}

func (f *fakeEngine) lastAsk(t *testing.T) Request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.asks) == 0 {
		t.Fatal("engine was never asked")
	}
	return f.asks[len(f.asks)-1]
}

const (
	testModel = "sim-geo:1b"
	peerA     = "12D3KooWQpeerAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"
	peerB     = "12D3KooWQpeerBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2"
	testNode  = "12D3KooWQnodeCcccccccccccccccccccccccccccccccccccccc3"
)

var fixedTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// sampleTrace is a swarm answer: the local model was unsure, two peers
// proposed, both voted for the same answer.
func sampleTrace() router.Trace {
	return router.Trace{
		QueryID: "q-7f3a", Node: testNode, Policy: router.PolicySwarm, Route: router.RouteSwarm,
		Reason:         "local confidence 0.42 below 0.70; consensus 2/2",
		Classification: router.Classification{Domains: []string{"geography"}, Difficulty: 0.35},
		Local: &router.LocalInfo{Model: testModel, Answer: "Lyon", Confidence: 0.42,
			Uncertainty: router.Uncertainty{Tokens: 3, MeanLogprob: -0.9, MinLogprob: -2.1, MeanEntropy: 1.3, Confidence: 0.42}, LatencyMS: 11.5},
		Peers: []router.Proposal{
			{Peer: peerA, Model: "sim-geo:3b", Answer: "Paris", Confidence: 0.91, LatencyMS: 20.25},
			{Peer: peerB, Model: "sim-sci:1b", Answer: "Paris.", Confidence: 0.77, LatencyMS: 31},
		},
		Ballots: []router.Ballot{{Voter: peerA, Choice: 0, Weight: 0.91}, {Voter: peerB, Choice: 0, Weight: 0.77}},
		Tally: &router.TallyResult{Outcome: router.OutcomeConsensus, Winner: 0, Ballots: 2, Quorum: 2, Share: 1,
			Weights: []float64{1.68, 0}},
		Cloud:   &router.CloudInfo{Summoned: false},
		Timings: router.Timings{ClassifyMS: 0.05, LocalMS: 11.5, DiscoverMS: 0.4, PeersMS: 31.2, VoteMS: 2.1, TotalMS: 45.3},
	}
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{
		resp: Response{Text: "The capital of France is Paris.", Model: "sim-geo:3b",
			PromptTokens: 12, CompletionTokens: 7, Trace: sampleTrace()},
		models: []ModelInfo{
			{Name: testModel, Family: "llama", ParameterSize: "1B", Quantization: "Q4_0", Format: "gguf",
				Size: 734003200, Digest: "sha256:abc123", ModifiedAt: fixedTime},
			{Name: "swarm", Family: "swarm"},
		},
		details: map[string]*ModelDetails{testModel: {
			ModelInfo:    ModelInfo{Name: testModel, Family: "llama", ParameterSize: "1B", Quantization: "Q4_0", Format: "gguf"},
			Capabilities: []string{"completion"},
			Info:         map[string]any{"general.architecture": "llama", "llama.context_length": 4096},
			Template:     "{{ .Prompt }}",
		}, "swarm": {
			ModelInfo:     ModelInfo{Name: "swarm", Family: "swarm"},
			ContextLength: 8192,
			Capabilities:  []string{"completion"},
		}},
		peers: []PeerInfo{{ID: peerA, Addrs: []string{"/ip4/127.0.0.1/tcp/4001"}, Model: "sim-geo:3b",
			Domains: []string{"geography"}, Healthy: true, LatencyMS: 0.4}},
		records: []cms.RecordView{{Peer: peerA, Model: "sim-geo:3b", Domains: []string{"geography"},
			Description: "capitals and rivers", Healthy: true, Seq: 3, Expires: fixedTime.Add(time.Hour)}},
		health: Health{Healthy: true, Node: testNode, Model: testModel, Backend: "http://127.0.0.1:11434", Peers: 1},
	}
}

// newTestServer serves a fresh fake engine on a loopback httptest server.
func newTestServer(t *testing.T, opts ...Option) (*httptest.Server, *fakeEngine) {
	t.Helper()
	f := newFakeEngine()
	opts = append([]Option{WithLogger(slog.New(slog.DiscardHandler)), WithVersion("0.1.0")}, opts...)
	s, err := NewServer(f, opts...)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	s.now = func() time.Time { return fixedTime }
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, f
}

// do sends one raw request and returns the status, headers and body. A body
// is declared JSON, as every real client declares it, unless header says otherwise.
func do(t *testing.T, srv *httptest.Server, method, path string, body io.Reader, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	if body != nil && header.Get("Content-Type") == "" {
		header = header.Clone()
		if header == nil {
			header = http.Header{}
		}
		header.Set("Content-Type", "application/json")
	}
	return roundTrip(t, srv, method, path, "", body, header)
}

// roundTrip sends one request as given (host "" keeps the server's own).
func roundTrip(t *testing.T, srv *httptest.Server, method, path, host string, body io.Reader, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func postJSON(t *testing.T, srv *httptest.Server, path string, v any) (int, http.Header, []byte) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, srv, http.MethodPost, path, bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}})
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) { goldenfile.Check(t, name, got) }
