package cms

import (
	"context"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// TestMeetStrangers: a node hears two records through a relay whose owners
// it has never been connected to. It dials both owners: the one that is
// listening is met and its record outlives the stranger grace; the other's
// address refuses the dial, and its record is gone after the grace. The
// meeting leaves no connection behind.
func TestMeetStrangers(t *testing.T) {
	const grace = time.Second
	a := newTestNode(t, nodeConfig{opts: []Option{WithStrangerGrace(grace)}})

	// A bare host: no DHT or gossip of its own, so nothing but a's meeting
	// ever connects a to it.
	live := p2ptest.NewHost(t)
	livePriv := live.Peerstore().PrivKey(live.ID())
	dead := newIdentity(t)

	relay := newFlooder(t)
	defer relay.close()
	p2ptest.Connect(t, relay.h, a.h)
	p2ptest.Eventually(t, func() bool { return len(relay.topic.ListPeers()) > 0 }, 5*time.Second)
	announce := func(priv crypto.PrivKey, id peer.ID, addrs []ma.Multiaddr) {
		t.Helper()
		f := testFields(id, 1, time.Now())
		f.Addrs = nil
		for _, x := range addrs {
			f.Addrs = append(f.Addrs, x.Bytes())
		}
		raw, err := Seal(priv, f)
		if err != nil {
			t.Fatal(err)
		}
		if err := relay.topic.Publish(context.Background(), raw, pubsub.WithSecretKeyAndPeerId(priv, id)); err != nil {
			t.Fatal(err)
		}
	}
	announce(livePriv, live.ID(), live.Addrs())
	announce(dead.priv, dead.id, []ma.Multiaddr{p2ptest.ClosedAddr(t)})
	p2ptest.Eventually(t, func() bool { return a.holds(live.ID(), nil) && a.holds(dead.id, nil) }, 10*time.Second)

	p2ptest.Eventually(t, func() bool { return !a.holds(dead.id, nil) }, 10*grace)
	if !a.holds(live.ID(), nil) {
		t.Fatal("the reachable stranger's record was dropped with the unreachable one's")
	}
	var met bool
	a.store.cache.do(func() { met = a.store.cache.peers[live.ID()].met })
	if !met {
		t.Error("the reachable stranger's record is not counted as met")
	}
	p2ptest.Eventually(t, func() bool { return a.h.Network().Connectedness(live.ID()) != network.Connected }, 5*time.Second)
	if got := metricValue(t, a.reg, "swarmllm_cms_meetings_total", map[string]string{"result": resultOK}); got != 1 {
		t.Errorf("meetings ok = %v, want 1", got)
	}
	if got := metricValue(t, a.reg, "swarmllm_cms_meetings_total", map[string]string{"result": resultError}); got < 1 {
		t.Errorf("meetings error = %v, want at least 1", got)
	}
}
