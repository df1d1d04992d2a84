package node_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/node"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/node/knowledge"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
	"github.com/swarmllm/swarmllm/testnet/swarm"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// The knowledge workload: facts that only its documents hold.
const (
	knowledgeDocs      = "../testnet/eval/testdata/knowledge/kestrel-bay"
	knowledgeQuestions = "../testnet/eval/testdata/knowledge/questions.csv"
)

// wireTap keeps every byte each node writes on its libp2p streams (the
// ask protocol, the DHT, gossipsub: every part of the node opens and
// accepts its streams through the wrapped host).
type wireTap struct {
	mu    sync.Mutex // owns sent
	sent  map[peer.ID]*bytes.Buffer
	hosts int
}

func (w *wireTap) wrap(h host.Host) host.Host {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent == nil {
		w.sent = map[peer.ID]*bytes.Buffer{}
	}
	w.sent[h.ID()] = &bytes.Buffer{}
	w.hosts++
	return &tapHost{Host: h, tap: w}
}

func (w *wireTap) record(from peer.ID, b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent[from].Write(b)
}

func (w *wireTap) bytesFrom(p peer.ID) []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.sent[p].Bytes())
}

type tapHost struct {
	host.Host
	tap *wireTap
}

func (h *tapHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return &tapStream{Stream: s, from: h.ID(), tap: h.tap}, nil
}

func (h *tapHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, func(s network.Stream) { handler(&tapStream{Stream: s, from: h.ID(), tap: h.tap}) })
}

func (h *tapHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, match, func(s network.Stream) { handler(&tapStream{Stream: s, from: h.ID(), tap: h.tap}) })
}

type tapStream struct {
	network.Stream
	from peer.ID
	tap  *wireTap
}

func (s *tapStream) Write(b []byte) (int, error) {
	s.tap.record(s.from, b)
	return s.Stream.Write(b)
}

// TestKnowledgeCooperation: one node of three holds the Kestrel Bay
// documents. Every node answers every knowledge question right, through
// the knowledge node (its own documents, locally, on the knowledge node),
// citing the documents; and of the documents' text nothing but the answers
// ever crosses the wire from the knowledge node.
func TestKnowledgeCooperation(t *testing.T) {
	qs, err := workload.LoadFile(knowledgeQuestions)
	if err != nil {
		t.Fatal(err)
	}
	const keeper = 2
	tap := &wireTap{}
	sw := startSwarm(t, swarm.Spec{
		NodeOptions: []node.Option{node.WithHostWrapper(tap.wrap)}, Cloud: true,
		Configure: func(i int, c *config.Config) {
			if i == keeper {
				c.Knowledge = knowledgeDocs
			}
		},
	})
	kid := sw.Nodes[keeper].ID()
	// The index is built after the node starts; its record then carries the collection.
	for i := range sw.Nodes {
		p2ptest.Eventually(t, func() bool {
			return slices.ContainsFunc(sw.Nodes[i].Records(context.Background()), func(v cms.RecordView) bool {
				return v.Peer == kid.String() && slices.Contains(v.Knowledge, "kestrel-bay")
			})
		}, p2ptest.Patience)
	}

	var answers []string
	for i := range sw.Nodes {
		for _, it := range qs.Items() {
			res := ask(t, sw.APIURL(i), nodeapi.AskRequest{Prompt: it.Prompt})
			answers = append(answers, res.Answer)
			k := res.Trace.Knowledge
			wantRoute := router.RouteSwarm
			if i == keeper {
				wantRoute = router.RouteLocal
			}
			if !workload.Correct(it, res.Answer, res.Trace.Route.String()) || k == nil || !k.Grounded ||
				k.Peer != kid.String() || len(k.Sources) == 0 || res.Trace.Route != wantRoute {
				t.Errorf("node %d, %s: %q via %v, knowledge %+v; want %q from %s's documents via %v; %s",
					i, it.QID, res.Answer, res.Trace.Route, k, it.Answer, kid.ShortString(), wantRoute, res.Trace.Reason)
			}
			for _, s := range k.Sources {
				if !strings.Contains(res.Answer, "["+s+"]") {
					t.Errorf("node %d, %s: answer %q does not cite %s", i, it.QID, res.Answer, s)
				}
			}
		}
	}

	// A question the documents do not hold does not take the knowledge route.
	if res := ask(t, sw.APIURL(0), nodeapi.AskRequest{Prompt: "What is the capital of France?"}); res.Trace.Knowledge != nil {
		t.Errorf("an unrelated question took the knowledge route: %+v", res.Trace.Knowledge)
	}

	wire := tap.bytesFrom(kid)
	if !bytes.Contains(wire, []byte(answers[0])) {
		t.Fatalf("the tap saw %d bytes from the knowledge node and none of its answers: it sees nothing", len(wire))
	}
	for _, w := range documentWindows(t) {
		if bytes.Contains(wire, []byte(w)) && !slices.ContainsFunc(answers, func(a string) bool { return strings.Contains(a, w) }) {
			t.Errorf("document text %q crossed the wire outside an answer", w)
		}
	}
}

// documentWindows are the runs of five words of every passage of the
// knowledge documents, as the index holds them.
func documentWindows(t *testing.T) []string {
	t.Helper()
	x, err := knowledge.New(knowledgeDocs, t.TempDir(), cms.LexicalEmbedder{}, knowledge.WithInterval(time.Hour),
		knowledge.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	p2ptest.Eventually(t, func() bool { return x.Summary().Documents == 4 }, p2ptest.Patience)
	ps, err := x.Retrieve(context.Background(), "Kestrel Bay", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		words := strings.Fields(p.Text)
		for i := 0; i+5 <= len(words); i++ {
			out = append(out, strings.Join(words[i:i+5], " "))
		}
	}
	if len(out) < 50 {
		t.Fatalf("only %d windows of document text to look for", len(out))
	}
	return out
}
