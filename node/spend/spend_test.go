package spend

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const interval = 50 * time.Millisecond

type member struct {
	h  host.Host
	ps *pubsub.PubSub
	g  *Gossip
}

// mesh starts n members sharing a cap of calls per hour, all connected.
func mesh(t *testing.T, n int, calls int64) []*member {
	t.Helper()
	ms := make([]*member, n)
	for i := range ms {
		h := p2ptest.NewHost(t)
		ms[i] = &member{h: h, ps: p2ptest.GossipSub(t.Context(), t, h)}
		for _, o := range ms[:i] {
			p2ptest.Connect(t, h, o.h)
		}
	}
	for _, m := range ms {
		m.g = start(t, m.ps, m.h, calls)
	}
	return ms
}

func start(t *testing.T, ps *pubsub.PubSub, h host.Host, calls int64) *Gossip {
	t.Helper()
	g, err := New(h, ps, WithInterval(interval), WithBudget(router.WithSwarmCalls(calls, 0)),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// take reserves and settles calls until the share refuses, and counts them.
func take(g *Gossip) int {
	n := 0
	for {
		r, err := g.Budget().Reserve(time.Now(), 1)
		if err != nil {
			return n
		}
		r.Settle(time.Now(), 1)
		n++
	}
}

func TestGossipShares(t *testing.T) {
	ms := mesh(t, 3, 30)
	for _, m := range ms {
		p2ptest.Eventually(t, func() bool {
			st := m.g.Budget().Status(time.Now())
			return st.Members == 3 && st.HourCalls.Room == 10
		}, p2ptest.Patience)
	}
	if got := take(ms[0].g); got != 10 {
		t.Errorf("member 0 took %d calls of a 30 cap shared by 3, want 10", got)
	}
	// A goodbye frees the share at once; the spend stays counted.
	if err := ms[2].g.Close(); err != nil {
		t.Fatal(err)
	}
	p2ptest.Eventually(t, func() bool {
		st := ms[1].g.Budget().Status(time.Now())
		return st.Members == 2 && st.HourCalls.Room == 15
	}, p2ptest.Patience)
	p2ptest.Eventually(t, func() bool { return ms[0].g.Budget().Status(time.Now()).HourCalls.Room == 5 }, p2ptest.Patience)
}

// TestGossipHostileClaims: a peer that gossips garbage is rejected, a claim
// of a newer version ignored (not penalized), and one
// that claims the whole cap is counted for its share only once the honest
// node is past its first window (the test shortens it).
func TestGossipHostileClaims(t *testing.T) {
	h, rogue := p2ptest.NewHost(t), p2ptest.NewHost(t)
	p2ptest.Connect(t, h, rogue)
	ps, rps := p2ptest.GossipSub(t.Context(), t, h), p2ptest.GossipSub(t.Context(), t, rogue)
	g, err := New(h, ps, WithInterval(interval), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithBudget(router.WithSwarmCalls(30, 0), router.WithSwarmWindow(200*time.Millisecond, 2)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	topic, err := rps.Join(protocol.TopicBudget)
	if err != nil {
		t.Fatal(err)
	}
	defer topic.Close()
	p2ptest.WaitTopicPeers(t, rps, protocol.TopicBudget, h.ID())
	if err := topic.Publish(t.Context(), []byte("not a claim")); err != nil {
		t.Fatal(err)
	}
	p2ptest.Eventually(t, func() bool { return counted(t, g, received, resultInvalid) > 0 }, p2ptest.Patience)
	newer, err := proto.Marshal(&protocol.BudgetClaim{Version: protocol.BudgetVersion + 1, Seq: 1, Members: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := topic.Publish(t.Context(), newer); err != nil {
		t.Fatal(err)
	}
	p2ptest.Eventually(t, func() bool { return counted(t, g, received, resultIgnored) > 0 }, p2ptest.Patience)

	// The rogue repeats its claim until the honest node's first window has
	// passed and the claim counts for the rogue's share only.
	p2ptest.Eventually(t, func() bool {
		data, err := protocol.EncodeBudget(&protocol.BudgetClaim{Version: protocol.BudgetVersion, Seq: uint64(time.Now().UnixNano()),
			Members: 1, SentUnixMs: time.Now().UnixMilli(), Hour: &protocol.BudgetWindow{Calls: 30, ClaimCalls: 30}})
		if err != nil {
			t.Fatal(err)
		}
		if err := topic.Publish(t.Context(), data); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		st := g.Budget().Status(time.Now())
		return st.Members == 2 && st.HourCalls.Others == 15 && st.HourCalls.Room == 15
	}, p2ptest.Patience)
}

// counted reads one series of swarmllm_cloud_swarm_messages_total.
func counted(t *testing.T, g *Gossip, direction, result string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	for _, c := range g.Collectors() {
		reg.MustRegister(c)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "swarmllm_cloud_swarm_messages_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := m.GetLabel()
			if l[0].GetValue() == direction && l[1].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
