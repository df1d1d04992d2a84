package swarm

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// A private harness swarm joins as an open one does, and a host without
// its key gets no connection to any node.
func TestPrivateSwarm(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	sw, err := Start(ctx, Spec{Nodes: DefaultNodes()[:2], Private: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sw.Close(); err != nil {
			t.Error(err)
		}
	})
	outsider := p2ptest.NewHost(t)
	for i, n := range sw.Nodes {
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		err := outsider.Connect(dctx, peer.AddrInfo{ID: n.ID(), Addrs: n.Addrs()})
		dcancel()
		if err == nil {
			t.Errorf("an outsider without the key connected to node %d", i+1)
		}
	}
}
