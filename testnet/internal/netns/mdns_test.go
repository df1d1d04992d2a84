//go:build linux

package netns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/internal/netns"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// Inside its own namespace every node uses the default ports: the namespaces
// keep them apart.
const (
	simAddr  = "127.0.0.1:11434"
	apiAddr  = "127.0.0.1:8700"
	p2pPort  = 4700
	stopWait = 10 * time.Second // a node gives itself 5 s to shut down, then exits non-zero
)

// nsNode is one swarmllm node with its simulated backend in a namespace.
type nsNode struct {
	ns      *netns.Namespace
	spec    swarm.NodeSpec
	sim     *netns.Process
	node    *netns.Process
	http    *http.Client
	api     *api.Client
	id      string    // peer id, from /healthz
	started time.Time // when the node process started
}

// Three nodes, each alone in a namespace on one bridged LAN and started with
// mDNS on and no --bootstrap, find each other by mDNS; each answers through
// its own simulated backend; the swarm works over the links mDNS found; each
// node exits cleanly on SIGTERM.
func TestThreeNodesFindEachOtherByMDNS(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: builds swarmllm and runs three nodes in network namespaces")
	}
	lan := newLAN(t, 3)
	bin := buildSwarmllm(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	specs := swarm.DefaultNodes()
	nodes := make([]*nsNode, len(lan.Nodes))
	for i, ns := range lan.Nodes {
		hc := ns.HTTPClient()
		c, err := api.NewClient("http://"+apiAddr, api.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = &nsNode{ns: ns, spec: specs[i], http: hc, api: c}
	}
	t.Cleanup(func() { stopAll(t, nodes) })

	// Backends first, so each node finds its model healthy at once.
	startBackends(t, ctx, bin, nodes)

	for i, n := range nodes {
		ip := n.ns.Addr.Addr()
		n.started = time.Now()
		n.node = start(t, n.ns.Command(bin, "node",
			"--mdns=true",
			"--name", fmt.Sprintf("netns-node%d", i),
			"--model", n.spec.Model,
			"--ollama", "http://"+simAddr,
			"--api", apiAddr,
			"--listen", fmt.Sprintf("/ip4/%s/tcp/%d,/ip4/%s/udp/%d/quic-v1", ip, p2pPort, ip, p2pPort),
			"--data-dir", t.TempDir(),
			"--domains", strings.Join(n.spec.Domains, ","),
			"--describe", n.spec.Describe,
		), fmt.Sprintf("node%d", i))
	}
	lastStart := nodes[len(nodes)-1].started

	for _, n := range nodes {
		waitHealthy(t, ctx, n)
	}
	apiUp := time.Since(lastStart)

	// mDNS is the only way in: no --bootstrap, nothing else knows the addresses.
	for i, n := range nodes {
		var others []string
		for j, o := range nodes {
			if j != i {
				others = append(others, o.id)
			}
		}
		poll(t, ctx, n.node, "sees the 2 other nodes", func(ctx context.Context) (bool, string) {
			peers, err := n.api.Peers(ctx)
			if err != nil {
				return false, err.Error()
			}
			seen := 0
			for _, p := range peers {
				if slices.Contains(others, p.ID) && onLAN(p.Addrs, lan) {
					seen++
				}
			}
			return seen == len(others), fmt.Sprintf("peers %+v, want %v on %v", peers, others, netns.DefaultSubnet)
		})
	}
	mesh := time.Since(lastStart)
	t.Logf("mDNS: full mesh of %d nodes %v after the last node started (APIs up after %v; first start to mesh %v)",
		len(nodes), mesh.Round(time.Millisecond), apiUp.Round(time.Millisecond), time.Since(nodes[0].started).Round(time.Millisecond))

	for i, n := range nodes {
		before := simCalls(t, ctx, n)
		res, err := n.api.Ask(ctx, api.AskRequest{Prompt: "What is 7 + 8?", Policy: string(router.PolicyLocalOnly)})
		if err != nil {
			t.Fatalf("node%d: ask: %v\n%s", i, err, n.node.Tail(20))
		}
		tr := res.Trace
		if tr.Route != router.RouteLocal || tr.Local == nil || tr.Local.Model != n.spec.Model || tr.Node != n.id {
			t.Errorf("node%d answered via %v from %+v on %s, want local from %s on %s", i, tr.Route, tr.Local, tr.Node, n.spec.Model, n.id)
		}
		if after := simCalls(t, ctx, n); after <= before {
			t.Errorf("node%d: its own backend counted %d calls before the ask and %d after", i, before, after)
		}
	}

	// The links mDNS found carry the swarm: records over gossip, asks over
	// /swarmllm/ask/1.0.0.
	first := nodes[0]
	poll(t, ctx, first.node, "holds all 3 capability records", func(ctx context.Context) (bool, string) {
		recs, err := first.api.Records(ctx)
		return err == nil && len(recs) == len(nodes), fmt.Sprintf("%d records (%v)", len(recs), err)
	})
	res, err := first.api.Ask(ctx, api.AskRequest{Prompt: "What is the capital of Australia?", Policy: string(router.PolicyAlwaysSwarm)})
	if err != nil {
		t.Fatalf("swarm ask: %v", err)
	}
	proposed := map[string]string{}
	for _, p := range res.Trace.Peers {
		if p.Err == "" {
			proposed[p.Peer] = p.Model
		}
	}
	for _, o := range nodes[1:] {
		if proposed[o.id] != o.spec.Model {
			t.Errorf("swarm round on node0: proposal of %s is %q, want an answer from %s (trace peers %+v)", o.id, proposed[o.id], o.spec.Model, res.Trace.Peers)
		}
	}

	// Shutdown: every process exits 0 on SIGTERM within its grace. A node
	// exits non-zero if Close outlives its 5 s grace, i.e. if goroutines hang.
	for i, n := range nodes {
		took, err := n.node.Stop(stopWait)
		if err != nil {
			t.Errorf("node%d: stop: %v\n%s", i, err, n.node.Tail(20))
		}
		t.Logf("node%d stopped in %v", i, took.Round(time.Millisecond))
	}
	for i, n := range nodes {
		if _, err := n.sim.Stop(stopWait); err != nil {
			t.Errorf("sim%d: stop: %v\n%s", i, err, n.sim.Tail(20))
		}
	}
}

// onLAN reports whether one of a peer's addresses is on the LAN's subnet.
func onLAN(addrs []string, lan *netns.LAN) bool {
	for _, ns := range lan.Nodes {
		for _, a := range addrs {
			if strings.HasPrefix(a, "/ip4/"+ns.Addr.Addr().String()+"/") {
				return true
			}
		}
	}
	return false
}

// simCalls is the number of chats and generates n's backend has answered.
func simCalls(t *testing.T, ctx context.Context, n *nsNode) int {
	t.Helper()
	var st sim.SLMStats
	if err := getJSON(ctx, n.http, "http://"+simAddr+"/sim/stats", &st); err != nil {
		t.Fatalf("backend of %s: %v", n.ns.Name, err)
	}
	return st.Models[n.spec.Model].Calls
}

func getJSON(ctx context.Context, hc *http.Client, url string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// poll calls check every 50 ms until it reports done, failing the test when
// ctx ends (the last detail says why) or p exits.
func poll(t *testing.T, ctx context.Context, p *netns.Process, what string, check func(context.Context) (bool, string)) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, detail := check(ctx)
		if ok {
			return
		}
		if exited, err := p.Exited(); exited {
			t.Fatalf("%s: exited (%v) while waiting for: %s\n%s", p.Name, err, what, p.Tail(20))
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: gave up waiting for: %s: %s\n%s", p.Name, what, detail, p.Tail(20))
		case <-tick.C:
		}
	}
}

// start runs cmd with a clean environment: no SWARM_* or OLLAMA_HOST from
// the caller's may add a bootstrap peer or change a default.
func start(t *testing.T, cmd *exec.Cmd, name string) *netns.Process {
	t.Helper()
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "SWARM_") || strings.HasPrefix(kv, "OLLAMA_HOST=")
	})
	p, err := netns.Start(cmd, name, filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// stopAll stops whatever still runs (nodes before their backends) and, if the
// test failed, shows the end of each log.
func stopAll(t *testing.T, nodes []*nsNode) {
	var procs []*netns.Process
	for _, n := range nodes {
		if n.node != nil {
			procs = append(procs, n.node)
		}
	}
	for _, n := range nodes {
		if n.sim != nil {
			procs = append(procs, n.sim)
		}
	}
	for _, p := range procs {
		_, err := p.Stop(stopWait)
		if t.Failed() {
			t.Logf("--- %s (stop: %v), last lines of %s:\n%s", p.Name, err, p.Log, p.Tail(15))
		}
	}
}

// buildSwarmllm builds the binary the namespaces run.
func buildSwarmllm(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "swarmllm")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/swarmllm/swarmllm/node/cmd/swarmllm").CombinedOutput()
	if err != nil {
		t.Fatalf("go build swarmllm: %v\n%s", err, out)
	}
	return bin
}

// startBackends starts each node's simulated backend in its namespace and
// waits until every one answers.
func startBackends(t *testing.T, ctx context.Context, bin string, nodes []*nsNode) {
	t.Helper()
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
}

// waitHealthy waits until n's API answers with a healthy backend, and
// learns n's peer id from it.
func waitHealthy(t *testing.T, ctx context.Context, n *nsNode) {
	t.Helper()
	poll(t, ctx, n.node, "API up with a healthy backend", func(ctx context.Context) (bool, string) {
		h, err := n.api.Health(ctx)
		if err != nil {
			return false, err.Error()
		}
		n.id = h.Node
		return h.Healthy && h.Node != "", fmt.Sprintf("%+v", *h)
	})
}
