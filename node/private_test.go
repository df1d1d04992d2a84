package node_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/node/p2p"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// Nodes sharing a swarm key form a swarm as open nodes do (over TCP only);
// a node without the key reaches none of them.
func TestPrivateSwarm(t *testing.T) {
	key := filepath.Join(t.TempDir(), "swarm.key")
	if err := p2p.WriteSwarmKey(key); err != nil {
		t.Fatal(err)
	}
	const members = 3
	sw := startSwarm(t, swarm.Spec{Configure: func(i int, c *config.Config) {
		c.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
		if i < members {
			c.SwarmKey = key
		}
	}})
	for i, n := range sw.Nodes {
		if got := len(n.Host().Network().Peers()); got != members-1 {
			t.Errorf("node%d has %d peers, want %d", i+1, got, members-1)
		}
		for _, a := range n.Host().Addrs() {
			if strings.Contains(a.String(), "/udp/") {
				t.Errorf("node%d listens on %s with a swarm key", i+1, a)
			}
		}
	}

	i, err := sw.Add(swarm.DefaultNodes()[0])
	if err != nil {
		t.Fatal(err)
	}
	outsider := sw.Nodes[i].Host()
	for j, n := range sw.Nodes[:members] {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := outsider.Connect(ctx, peer.AddrInfo{ID: n.ID(), Addrs: n.Host().Addrs()})
		cancel()
		if err == nil {
			t.Errorf("an outsider without the key connected to node%d", j+1)
		}
	}
	for j, n := range sw.Nodes[:members] {
		for _, p := range n.Host().Network().Peers() {
			if p == outsider.ID() {
				t.Errorf("node%d has the outsider as a peer", j+1)
			}
		}
	}
}
