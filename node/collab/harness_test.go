package collab

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ Answerer = (*fakeAnswerer)(nil)

// fakeAnswerer stands in for the node's model: a fixed answer after a fixed
// delay, honouring ctx as the real one must.
type fakeAnswerer struct {
	Answerer // unused methods would panic: the fake implements all it needs

	answer     string
	confidence float64
	delay      time.Duration
	started    chan struct{} // if set, receives one value per ask as it starts
	calls      atomic.Int32
}

func (f *fakeAnswerer) Answer(ctx context.Context, req *protocol.AskRequest) *protocol.AskResponse {
	f.calls.Add(1)
	if f.started != nil {
		f.started <- struct{}{}
	}
	t := time.NewTimer(f.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return &protocol.AskResponse{ErrorCode: protocol.ErrorCode_DEADLINE, ErrorMessage: ctx.Err().Error()}
	}
	return &protocol.AskResponse{Model: "fake:1", Answer: f.answer, Confidence: f.confidence}
}

// testNode is one node: host, gossipsub, Collab over a fake answerer.
type testNode struct {
	h   host.Host
	ps  *pubsub.PubSub
	c   *Collab
	ans *fakeAnswerer
}

func (n *testNode) id() peer.ID { return n.h.ID() }

type nodeOpts struct {
	ans      *fakeAnswerer
	local    Answerer // replaces ans when set
	opts     []Option
	psOpts   []pubsub.Option
	hostOpts []libp2p.Option
}

func newNode(t testing.TB, o nodeOpts) *testNode {
	t.Helper()
	if o.ans == nil {
		o.ans = &fakeAnswerer{answer: "Paris", confidence: 0.9}
	}
	h := p2ptest.NewHost(t, o.hostOpts...)
	ps := p2ptest.GossipSub(t.Context(), t, h, o.psOpts...)
	var local Answerer = o.ans
	if o.local != nil {
		local = o.local
	}
	c, err := New(h, ps, local, append([]Option{WithLogger(testLogger())}, o.opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &testNode{h: h, ps: ps, c: c, ans: o.ans}
}

func testLogger() *slog.Logger {
	level := slog.LevelError
	if os.Getenv("COLLAB_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// mesh connects every pair (the lower index dials) and waits until each
// pubsub knows every other node listens on its home round topics, so flood
// publish reaches them from the first message.
func mesh(t testing.TB, nodes ...meshMember) {
	t.Helper()
	var links [][2]meshMember
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			links = append(links, [2]meshMember{nodes[i], nodes[j]})
		}
	}
	link(t, links...)
}

// link connects each pair (the first dials) and waits until each end's
// pubsub knows the other listens on its home round topics.
func link(t testing.TB, pairs ...[2]meshMember) {
	t.Helper()
	for _, p := range pairs {
		p2ptest.Connect(t, p[0].host(), p[1].host())
	}
	for _, p := range pairs {
		for _, ends := range [][2]meshMember{p, {p[1], p[0]}} {
			for _, topic := range ends[1].homeTopics() {
				p2ptest.WaitTopicPeers(t, ends[0].pubsub(), topic, ends[1].host().ID())
			}
		}
	}
}

type meshMember interface {
	host() host.Host
	pubsub() *pubsub.PubSub
	homeTopics() []string // the round topics it listens on
}

func (n *testNode) host() host.Host        { return n.h }
func (n *testNode) pubsub() *pubsub.PubSub { return n.ps }
func (n *testNode) homeTopics() []string {
	n.c.tmu.Lock()
	defer n.c.tmu.Unlock()
	var out []string
	for _, sub := range n.c.subs {
		out = append(out, sub.Topic())
	}
	return out
}

// askEach asks peers one at a time for req: asked together, two agreeing
// answers would end the asks early (router.EnoughProposals) and leave a
// peer out of the round that follows.
func (n *testNode) askEach(ctx context.Context, req *protocol.AskRequest, peers ...peer.ID) []router.Proposal {
	var props []router.Proposal
	for _, p := range peers {
		props = append(props, n.c.AskAll(ctx, []peer.ID{p}, req)...)
	}
	return props
}

// local is the node's own proposal, its fake model's answer.
func (n *testNode) local() router.Proposal {
	return router.Proposal{Model: "fake:1", Answer: n.ans.answer, Confidence: n.ans.confidence}
}

// newRequest is an ask for a round with the given deadline.
func newRequest(roundID string, deadline time.Time) *protocol.AskRequest {
	return &protocol.AskRequest{
		QueryId:        protocol.NewID(),
		RoundId:        roundID,
		Messages:       []*protocol.ChatMessage{{Role: protocol.RoleUser, Content: "What is the capital of France?"}},
		DeadlineUnixMs: deadline.UnixMilli(),
	}
}

// counter reads one labelled counter of a node's registry.
func counter(t testing.TB, n *testNode, name string, labels ...string) float64 {
	t.Helper()
	var vec *prometheus.CounterVec
	switch name {
	case "asks":
		vec = n.c.m.asks
	case "messages":
		vec = n.c.m.messages
	case "votes":
		vec = n.c.m.votes
	case "rounds":
		vec = n.c.m.rounds
	default:
		t.Fatalf("no counter %q", name)
	}
	var m dto.Metric
	if err := vec.WithLabelValues(labels...).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// rawAskHandler serves the ask protocol on a bare host with a test's own
// responder (for peers that misbehave or that answer but never vote).
func rawAskHandler(h host.Host, respond func(*protocol.AskRequest) *protocol.AskResponse) {
	h.SetStreamHandler(protocol.AskProtocol, func(s network.Stream) {
		defer s.Close()
		req, err := protocol.ReadAskRequest(s)
		if err != nil {
			_ = s.Reset()
			return
		}
		if err := protocol.WriteMsg(s, respond(req), protocol.MaxAskResponseBytes); err != nil {
			_ = s.Reset()
		}
	})
}
