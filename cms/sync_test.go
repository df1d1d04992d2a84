package cms

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// TestMissing: a pull's answer is what the asker lacks, the server's own
// record first, never more than max.
func TestMissing(t *testing.T) {
	nodes := startSwarm(t, 4, nil)
	p2ptest.Eventually(t, func() bool { return allHold(nodes) }, p2ptest.Patience)
	srv := nodes[0]
	own, others := srv.store.Self(), srv.store.Records()
	all := append([]*Record{own}, others...)
	heldOf := func(rs ...*Record) []Held {
		var out []Held
		for _, r := range rs {
			out = append(out, Held{r.Peer, r.Seq()})
		}
		return out
	}
	older := heldOf(others[0])
	older[0].Seq--
	for _, c := range []struct {
		name string
		held []Held
		max  int
		want []*Record
	}{
		{"holds nothing", nil, 10, all},
		{"holds all", heldOf(all...), 10, nil},
		{"holds the server's own", heldOf(own), 10, others},
		{"holds one older", older, 10, all},
		{"holds others but not the server's", heldOf(others...), 10, []*Record{own}},
		{"max cuts the answer, own first", nil, 2, all[:2]},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := srv.store.Missing(c.held, c.max)
			if len(got) != len(c.want) {
				t.Fatalf("%d records, want %d", len(got), len(c.want))
			}
			for i, r := range c.want {
				if !bytes.Equal(got[i], r.Raw) {
					t.Errorf("record %d is not %s's", i, r.Peer)
				}
			}
		})
	}
}

// TestLateJoinerPulls: nodes joining a formed swarm one after another learn
// every record by pulling, and every member learns theirs, while no member
// announces its own record again for their sake: a member publishes its
// record once, announces it at most once more when its first peer joins (it
// had none to hear the first) and echoes that announcement once, however
// many join later.
func TestLateJoinerPulls(t *testing.T) {
	nodes := startSwarm(t, 4, nil)
	p2ptest.Eventually(t, func() bool { return allHold(nodes) }, p2ptest.Patience)

	all := nodes
	for i := range 6 {
		late := newTestNode(t, nodeConfig{})
		late.connect(t, nodes[i%len(nodes)])
		all = append(all, late)
		took := p2ptest.Eventually(t, func() bool { return allHold(all) }, p2ptest.Patience)
		t.Logf("late joiner %d and %d nodes hold each other's records %s after it connected", i+1, len(all)-1, took)
		if got := metricValue(t, late.reg, "swarmllm_cms_received_total", map[string]string{"via": viaSync, "result": resultAccepted}); got < float64(len(nodes)) {
			t.Errorf("late joiner %d pulled %v records, want at least the %d members'", i+1, got, len(nodes))
		}
	}
	for i, n := range nodes {
		if got := metricValue(t, n.reg, "swarmllm_cms_publish_total", map[string]string{"via": viaGossip}); got > 3 {
			t.Errorf("member %d announced its record %v times, want at most 3", i, got)
		}
	}
}

// TestAntiEntropy: a record gossip lost reaches a node that never meets its
// owner, by the periodic pull from a random peer.
func TestAntiEntropy(t *testing.T) {
	fast := func(int) nodeConfig { return nodeConfig{opts: []Option{WithSyncInterval(100 * time.Millisecond)}} }
	a, b := newTestNode(t, fast(0)), newTestNode(t, fast(0))
	a.connect(t, b)
	p2ptest.Eventually(t, func() bool { return allHold([]*testNode{a, b}) }, p2ptest.Patience)

	// The muted node's announcements are lost; b pulls its record on
	// meeting it; a never meets it and holds b's record already, so only an
	// anti-entropy pull from b brings it.
	mute := newTestNode(t, nodeConfig{mute: true})
	mute.connect(t, b)
	p2ptest.Eventually(t, func() bool { return b.holds(mute.h.ID(), nil) }, p2ptest.Patience)
	took := p2ptest.Eventually(t, func() bool { return a.holds(mute.h.ID(), nil) }, p2ptest.Patience)
	t.Logf("a lost record reached a node that never met its owner %s after a peer held it", took)
}

// TestPullRefusesForgeries: what a peer serves is verified; a forged or
// garbage envelope is counted invalid and changes nothing.
func TestPullRefusesForgeries(t *testing.T) {
	n := newTestNode(t, nodeConfig{opts: []Option{WithPuller(forger{})}})
	other := newTestNode(t, nodeConfig{})
	n.connect(t, other)
	p2ptest.Eventually(t, func() bool {
		return metricValue(t, n.reg, "swarmllm_cms_received_total", map[string]string{"via": viaSync, "result": resultInvalid}) >= 2
	}, p2ptest.Patience)
	for _, r := range n.store.Records() {
		if r.Peer != other.h.ID() {
			t.Errorf("cached a record of %s from a forger", r.Peer)
		}
	}
}

// forger serves a garbage envelope and a record whose payload was changed
// after signing, whoever it is asked.
type forger struct{}

func (forger) Pull(_ context.Context, p peer.ID, _ []Held, _ int) ([][]byte, error) {
	s, ok := stores.Load(p)
	if !ok {
		return [][]byte{[]byte("garbage")}, nil
	}
	raw := bytes.Clone(s.(*Store).Self().Raw)
	raw[len(raw)/2] ^= 0xff
	return [][]byte{[]byte("garbage"), raw}, nil
}
