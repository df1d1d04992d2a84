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
// WAN. The site nodes know only the relay (--relay). Each learns from the
// relay's AutoNAT that it is behind a NAT, reserves a slot on the relay, and
// meets the other site's node through it; each then answers the other's
// queries, and the trace names the peer at the other site.
//
// Whether the connection between the sites becomes direct depends on the
// transport, and each case asserts what its own allows. Hole punching (DCUtR)
// needs each side to know its public address, which go-libp2p learns from
// peers observing the port it listens on. In a private swarm a node speaks TCP
// only (the swarm key) and dials without SO_REUSEPORT, so no outbound
// connection leaves from its listening port and no public address is ever
// observed: the connection stays relayed, whatever the NAT. In an open swarm
// QUIC dials from its listening socket, the relay observes the NAT's mapping
// of it, and these routers (Linux masquerade: the mapping keeps the port and
// is the same for every destination) let the two nodes' simultaneous dials
// through: the relayed connection is replaced by a direct one.
func TestTwoSitesMeetThroughARelay(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: builds swarmllm and runs three nodes in network namespaces behind NATs")
	}
	bin := buildSwarmllm(t)
	key := filepath.Join(t.TempDir(), "swarm.key")
	if out, err := exec.Command(bin, "keygen", "--swarm-key", key).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	cases := []struct {
		name       string
		swarmKey   string
		quic       bool
		wantDirect bool
	}{
		{"private swarm over TCP stays relayed", key, false, false},
		{"open swarm over QUIC punches through", "", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			twoSites(t, bin, tc.swarmKey, tc.quic, tc.wantDirect)
		})
	}
}

func twoSites(t *testing.T, bin, swarmKey string, quic, wantDirect bool) {
	before := hostNetwork(t)
	sites := newSites(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

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
	listen := func(ns *netns.Namespace) string {
		tcp := fmt.Sprintf("/ip4/%s/tcp/%d", ns.Addr.Addr(), p2pPort)
		if quic {
			return tcp + fmt.Sprintf(",/ip4/%s/udp/%d/quic-v1", ns.Addr.Addr(), p2pPort)
		}
		return tcp
	}
	t.Cleanup(func() { stopAll(t, nodes) })

	startBackends(t, ctx, bin, nodes)
	startNode := func(n *nsNode, name string, extra ...string) {
		n.started = time.Now()
		args := append([]string{"node",
			"--name", name,
			"--model", n.spec.Model,
			"--ollama", "http://" + simAddr,
			"--api", apiAddr,
			"--listen", listen(n.ns),
			"--swarm-key", swarmKey,
			"--data-dir", t.TempDir(),
			"--domains", strings.Join(n.spec.Domains, ","),
			"--describe", n.spec.Describe,
		}, extra...)
		n.node = start(t, n.ns.Command(append([]string{bin}, args...)...), name)
		waitHealthy(t, ctx, n)
	}

	startNode(relay, "relay", "--relay-service", "--mdns=false")
	relayAddr := fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", relay.ns.Addr.Addr(), p2pPort, relay.id)
	relayAddrs := relayAddr
	if quic {
		relayAddrs += fmt.Sprintf(",/ip4/%s/udp/%d/quic-v1/p2p/%s", relay.ns.Addr.Addr(), p2pPort, relay.id)
	}
	startNode(siteA, "site-a", "--relay", relayAddrs)
	startNode(siteB, "site-b", "--relay", relayAddrs)

	// Each site node reaches the other: through the relay, or directly at
	// the other NAT's public address once the hole punch got through.
	want := "through the relay"
	if wantDirect {
		want = "directly (hole punched)"
	}
	for _, pair := range [][2]*nsNode{{siteA, siteB}, {siteB, siteA}} {
		n, other := pair[0], pair[1]
		otherNAT := "/ip4/" + sites.Sites[slices.Index(nodes, other)-1].Router.Addr.Addr().String() + "/"
		poll(t, ctx, n.node, "connected to the other site's node "+want, func(ctx context.Context) (bool, string) {
			peers, err := n.api.Peers(ctx)
			if err != nil {
				return false, err.Error()
			}
			i := slices.IndexFunc(peers, func(p api.PeerInfo) bool { return p.ID == other.id })
			if i < 0 {
				return false, fmt.Sprintf("peers %+v", peers)
			}
			for _, a := range peers[i].Addrs {
				relayed := strings.Contains(a, "/p2p/"+relay.id+"/p2p-circuit")
				direct := strings.HasPrefix(a, otherNAT)
				if !relayed && !direct {
					t.Fatalf("%s reaches %s at %s: neither through the relay nor at its NAT", n.node.Name, other.node.Name, a)
				}
				if direct && !wantDirect {
					t.Fatalf("%s reaches %s directly at %s, which the test's comment says cannot happen", n.node.Name, other.node.Name, a)
				}
				if direct == wantDirect {
					return true, ""
				}
			}
			return false, fmt.Sprintf("connected at %v", peers[i].Addrs)
		})
	}
	t.Logf("two sites behind NATs connected %s %v after the second site's node started", want, time.Since(siteB.started).Round(100*time.Millisecond))

	// Each answers the other's queries: records cross by gossip, asks as
	// streams, through the relay or the punched hole.
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
		t.Logf("%s's always-swarm round, the other site answering: %v", tc.from.node.Name, time.Since(asked).Round(time.Millisecond))
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
