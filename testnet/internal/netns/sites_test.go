//go:build linux

package netns_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/internal/netns"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// Two sites, each one node behind its own NAT router, and one relay on the
// WAN; all three hold the private swarm key. The site nodes know only the
// relay (--relay). Each learns from the relay's AutoNAT that it is behind a
// NAT, reserves a slot on the relay, and meets the other site's node through
// it; each then answers the other's queries, and the trace names the peer
// at the other site.
//
// The connection between the sites stays relayed, and the test asserts so:
// hole punching (DCUtR) needs each side to know its public address, which
// go-libp2p learns from peers observing its listening port; with the swarm
// key a node speaks TCP only, and it dials without SO_REUSEPORT, so no
// outbound connection ever leaves from the listening port and no public
// address is ever observed. There is nothing to punch with, whatever the NAT.
func TestTwoSitesMeetThroughARelay(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: builds swarmllm and runs three nodes in network namespaces behind NATs")
	}
	before := hostNetwork(t)
	sites := newSites(t)
	bin := buildSwarmllm(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	key := filepath.Join(t.TempDir(), "swarm.key")
	if out, err := exec.Command(bin, "keygen", "--swarm-key", key).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}

	specs := swarm.DefaultNodes()
	relayNS := sites.Public[0]
	spaces := []*netns.Namespace{relayNS, sites.Sites[0].Nodes[0], sites.Sites[1].Nodes[0]}
	nodes := make([]*nsNode, len(spaces))
	for i, ns := range spaces {
		hc := ns.HTTPClient()
		c, err := api.NewClient("http://"+apiAddr, api.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		// The relay serves the third model, so neither site's own model is
		// the relay's.
		nodes[i] = &nsNode{ns: ns, spec: specs[(i+2)%len(specs)], http: hc, api: c}
	}
	relay, siteA, siteB := nodes[0], nodes[1], nodes[2]
	t.Cleanup(func() { stopAll(t, nodes) })

	for i, n := range nodes {
		n.sim = start(t, n.ns.Command(bin, "sim", "slm", "--addr", simAddr, "--profile", n.spec.Model), fmt.Sprintf("sim%d", i))
	}
	for _, n := range nodes {
		poll(t, ctx, n.sim, "simulated backend up", func(ctx context.Context) (bool, string) {
			var v struct{ Version string }
			err := getJSON(ctx, n.http, "http://"+simAddr+"/api/version", &v)
			return err == nil, fmt.Sprint(err)
		})
	}
	startNode := func(n *nsNode, name string, extra ...string) {
		n.started = time.Now()
		args := append([]string{"node",
			"--name", name,
			"--model", n.spec.Model,
			"--ollama", "http://" + simAddr,
			"--api", apiAddr,
			"--listen", fmt.Sprintf("/ip4/%s/tcp/%d", n.ns.Addr.Addr(), p2pPort),
			"--swarm-key", key,
			"--data-dir", t.TempDir(),
			"--domains", strings.Join(n.spec.Domains, ","),
			"--describe", n.spec.Describe,
		}, extra...)
		n.node = start(t, n.ns.Command(append([]string{bin}, args...)...), name)
		poll(t, ctx, n.node, "API up with a healthy backend", func(ctx context.Context) (bool, string) {
			h, err := n.api.Health(ctx)
			if err != nil {
				return false, err.Error()
			}
			n.id = h.Node
			return h.Healthy && h.Node != "", fmt.Sprintf("%+v", *h)
		})
	}

	startNode(relay, "relay", "--relay-service", "--mdns=false")
	relayAddr := fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", relay.ns.Addr.Addr(), p2pPort, relay.id)
	startNode(siteA, "site-a", "--relay", relayAddr)
	startNode(siteB, "site-b", "--relay", relayAddr)

	// Each site node reaches the other only through the relay.
	for _, pair := range [][2]*nsNode{{siteA, siteB}, {siteB, siteA}} {
		n, other := pair[0], pair[1]
		poll(t, ctx, n.node, "connected to the other site's node", func(ctx context.Context) (bool, string) {
			peers, err := n.api.Peers(ctx)
			if err != nil {
				return false, err.Error()
			}
			for _, p := range peers {
				if p.ID == other.id {
					return true, ""
				}
			}
			return false, fmt.Sprintf("peers %+v", peers)
		})
	}
	met := time.Since(siteB.started)
	for _, pair := range [][2]*nsNode{{siteA, siteB}, {siteB, siteA}} {
		n, other := pair[0], pair[1]
		peers, err := n.api.Peers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(peers, func(p api.PeerInfo) bool { return p.ID == other.id })
		if i < 0 {
			t.Fatalf("%s lost the other site's node: %+v", n.node.Name, peers)
		}
		for _, a := range peers[i].Addrs {
			if !strings.Contains(a, "/p2p-circuit") || !strings.HasPrefix(a, relayAddr) {
				t.Errorf("%s reaches %s at %s, want only through the relay %s (see the test's comment on hole punching)", n.node.Name, other.node.Name, a, relayAddr)
			}
		}
	}
	t.Logf("two sites behind NATs met through the relay %v after the second site's node started (direct upgrade: none, relayed)", met.Round(100*time.Millisecond))

	// Each answers the other's queries: the records crossed the relay by
	// gossip, and the asks cross it as streams.
	for _, tc := range []struct {
		from, to *nsNode
		prompt   string
	}{
		{siteA, siteB, "What is the capital of Australia?"},
		{siteB, siteA, "What is 17 * 23?"},
	} {
		poll(t, ctx, tc.from.node, "holds the other site's record", func(ctx context.Context) (bool, string) {
			recs, err := tc.from.api.Records(ctx)
			if err != nil {
				return false, err.Error()
			}
			return slices.ContainsFunc(recs, func(r cms.RecordView) bool { return r.Peer == tc.to.id }), fmt.Sprintf("%d records", len(recs))
		})
		asked := time.Now()
		res, err := tc.from.api.Ask(ctx, api.AskRequest{Prompt: tc.prompt, Policy: string(router.PolicyAlwaysSwarm)})
		if err != nil {
			t.Fatalf("%s asks the swarm: %v", tc.from.node.Name, err)
		}
		t.Logf("%s's always-swarm round across the relay: %v", tc.from.node.Name, time.Since(asked).Round(time.Millisecond))
		i := slices.IndexFunc(res.Trace.Peers, func(p router.Proposal) bool { return p.Peer == tc.to.id })
		if i < 0 || res.Trace.Peers[i].Err != "" || res.Trace.Peers[i].Model != tc.to.spec.Model {
			t.Errorf("%s's round: want an answer from %s (%s) at the other site, trace peers %+v", tc.from.node.Name, tc.to.node.Name, tc.to.spec.Model, res.Trace.Peers)
		}
	}

	for _, n := range nodes {
		if _, err := n.node.Stop(stopWait); err != nil {
			t.Errorf("%s: stop: %v\n%s", n.node.Name, err, n.node.Tail(20))
		}
	}
	if err := sites.Close(); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, line := range hostNetwork(t) {
		if !slices.Contains(before, line) && (strings.Contains(line, "swx-") || strings.Contains(line, netns.DefaultWAN.Masked().Addr().String()[:5])) {
			left = append(left, line)
		}
	}
	if len(left) > 0 {
		t.Errorf("the sites show in the host's namespace:\n%s", strings.Join(left, "\n"))
	}
}

// newSites builds a relay host on a WAN and two one-node sites behind NATs,
// removed when the test ends, or skips the test where that cannot be done.
func newSites(t *testing.T) *netns.Sites {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := netns.NewSites(ctx, 1, 1, 1)
	if errors.Is(err, netns.ErrUnavailable) {
		t.Skipf("skipped: this test runs inside Linux network namespaces behind NAT routers it creates, and cannot create them here "+
			"(run as root with iproute2 and nftables, outside an unprivileged container): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("tear down sites: %v", err)
		}
		if left := slices.DeleteFunc(listNamespaces(t), func(n string) bool { return !slices.Contains(s.Names(), n) }); len(left) > 0 {
			t.Errorf("namespaces left after Close: %v", left)
		}
	})
	return s
}
