package swarm

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/node/config"
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

// With Spec.Bootstrap, nodes start in waves: each still bootstraps from that
// many nodes started before it (listening already), never from itself or a
// later one, and the swarm joins.
func TestBootstrapFromEarlierNodes(t *testing.T) {
	const nodes, bootstrap = 6, 2
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	boot := make([][]string, nodes)
	specs := make([]NodeSpec, nodes)
	for i := range specs {
		specs[i] = DefaultNodes()[i%3]
	}
	sw, err := Start(ctx, Spec{Nodes: specs, Bootstrap: bootstrap,
		Configure: func(i int, c *config.Config) { boot[i] = slices.Clone(c.Bootstrap) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sw.Close(); err != nil {
			t.Error(err)
		}
	})
	index := map[string]int{}
	for i, n := range sw.Nodes {
		for _, a := range n.Addrs() {
			index[a.String()] = i
		}
	}
	for i, addrs := range boot {
		from := map[int]bool{}
		for _, a := range addrs {
			j, ok := index[a]
			if !ok || j >= i {
				t.Errorf("node %d bootstraps from %s, not a node started before it", i+1, a)
			}
			from[j] = true
		}
		if want := min(i, bootstrap); len(from) != want {
			t.Errorf("node %d bootstraps from %d nodes, want %d", i+1, len(from), want)
		}
	}
}
