package node_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/node/p2p"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
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

// --allow-peers on a private swarm: node1 admits the peers its file lists;
// taking node3 off the file and reloading (SIGHUP's path) disconnects it and
// keeps it out, without touching the swarm key.
func TestAllowPeersRemovesAMember(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "swarm.key")
	if err := p2p.WriteSwarmKey(key); err != nil {
		t.Fatal(err)
	}
	// The harness keeps node N's identity in dir/nodeN: make nodes 2 and 3's
	// in advance, so node1's allow file can name them before they start.
	ids := make([]peer.ID, 3)
	for i := 1; i < 3; i++ {
		var priv crypto.PrivKey
		priv, ids[i] = p2ptest.NewIdentity(t)
		raw, err := crypto.MarshalPrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		nodeDir := filepath.Join(dir, fmt.Sprintf("node%d", i+1))
		if err := os.MkdirAll(nodeDir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(nodeDir, "identity.key"), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	allow := filepath.Join(dir, "allow-peers")
	writeAllow := func(members ...peer.ID) {
		var b strings.Builder
		for _, id := range members {
			fmt.Fprintf(&b, "%s # member\n", id)
		}
		if err := os.WriteFile(allow+".tmp", []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(allow+".tmp", allow); err != nil {
			t.Fatal(err)
		}
	}
	writeAllow(ids[1], ids[2])
	sw := startSwarm(t, swarm.Spec{DataDir: dir, Configure: func(i int, c *config.Config) {
		c.SwarmKey = key
		if i == 0 {
			c.AllowPeers = allow
		}
	}})
	node1 := sw.Nodes[0]
	for _, id := range ids[1:] {
		if c := node1.Host().Network().Connectedness(id); c != network.Connected {
			t.Fatalf("member %s is %v to node1", id.ShortString(), c)
		}
	}

	writeAllow(ids[1])
	if err := node1.Reload(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for node1.Host().Network().Connectedness(ids[2]) == network.Connected {
		if time.Now().After(deadline) {
			t.Fatal("node3 is still connected to node1 after leaving its allow file")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// node3 still holds the swarm key, and still reaches node2; node1 refuses it.
	node3 := sw.Nodes[2].Host()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = node3.Connect(ctx, peer.AddrInfo{ID: node1.ID(), Addrs: node1.Host().Addrs()})
	if c := node1.Host().Network().Connectedness(ids[2]); c == network.Connected {
		// The refusal may reach node3 a moment after its side of the handshake.
		deadline := time.Now().Add(5 * time.Second)
		for node1.Host().Network().Connectedness(ids[2]) == network.Connected {
			if time.Now().After(deadline) {
				t.Fatal("node1 kept a reconnection from a peer off its allow file")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if c := node1.Host().Network().Connectedness(ids[1]); c != network.Connected {
		t.Errorf("node2, still a member, is %v to node1", c)
	}
	if c := node3.Network().Connectedness(ids[1]); c != network.Connected {
		t.Errorf("node3 lost node2 too (%v): only node1's allow file changed", c)
	}
}
