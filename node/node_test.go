package node_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/node"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/swarm"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// startSwarm runs the default three simulated nodes and stops them with the test.
func startSwarm(t *testing.T, spec swarm.Spec) *swarm.Swarm {
	t.Helper()
	if spec.Nodes == nil {
		spec.Nodes = swarm.DefaultNodes()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sw, err := swarm.Start(ctx, spec)
	if err != nil {
		t.Fatalf("start swarm: %v", err)
	}
	t.Cleanup(func() {
		if err := sw.Close(); err != nil {
			t.Errorf("close swarm: %v", err)
		}
	})
	return sw
}

func ask(t *testing.T, url string, req nodeapi.AskRequest) *nodeapi.AskResult {
	t.Helper()
	c, err := nodeapi.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.Ask(ctx, req)
	if err != nil {
		t.Fatalf("ask %s %q: %v", url, req.Prompt, err)
	}
	return res
}

// Three nodes on 127.0.0.1 find each other by --bootstrap alone (a chain: each
// knows only the nodes before it) and each answers through its own backend.
func TestThreeNodesJoinByBootstrap(t *testing.T) {
	start := time.Now()
	sw := startSwarm(t, swarm.Spec{})
	t.Logf("3 nodes joined (connected, records exchanged) in %v", time.Since(start))

	for i, n := range sw.Nodes {
		if got := len(n.Host().Network().Peers()); got != 2 {
			t.Errorf("node%d has %d peers, want 2", i+1, got)
		}
		peers := n.Peers(context.Background())
		for _, p := range peers {
			if p.Model == "" || !strings.HasPrefix(p.Model, sim.NamePrefix) {
				t.Errorf("node%d sees peer %s without its model from the CMS: %+v", i+1, p.ID, p)
			}
		}
		res := ask(t, sw.APIURL(i), nodeapi.AskRequest{Prompt: "What is 7 + 8?", Policy: string(router.PolicyLocalOnly)})
		want := swarm.DefaultNodes()[i].Model
		if res.Trace.Route != router.RouteLocal || res.Trace.Local == nil || res.Trace.Local.Model != want {
			t.Errorf("node%d answered via %v from %+v, want local from %s", i+1, res.Trace.Route, res.Trace.Local, want)
		}
		if res.Trace.Node != n.ID().String() {
			t.Errorf("node%d trace names node %s", i+1, res.Trace.Node)
		}
	}
}

// A query the local model is unsure of goes to a round: the trace shows the
// other nodes' proposals and their ballots, carried over libp2p and gossipsub.
func TestRoundTraceShowsPeers(t *testing.T) {
	sw := startSwarm(t, swarm.Spec{})
	res := ask(t, sw.APIURL(0), nodeapi.AskRequest{Prompt: "What is the capital of Australia?", Policy: string(router.PolicyAlwaysSwarm)})
	tr := res.Trace
	if tr.Route != router.RouteSwarm && tr.Route != router.RouteLocal {
		t.Fatalf("route %v (%s), want swarm or the local answer best-effort (no cloud configured)", tr.Route, tr.Reason)
	}
	others := map[string]bool{sw.Nodes[1].ID().String(): true, sw.Nodes[2].ID().String(): true}
	proposed, voted := map[string]bool{}, map[string]bool{}
	for _, p := range tr.Peers {
		if others[p.Peer] && p.Err == "" {
			proposed[p.Peer] = true
		}
	}
	for _, b := range tr.Ballots {
		if others[b.Voter] {
			voted[b.Voter] = true
		}
	}
	// Both peers answer, but a round may close once the ballots in decide
	// it (collab's decided grace), so only one of their ballots is sure.
	if len(proposed) != 2 || len(voted) == 0 {
		t.Fatalf("want proposals from both other nodes and a ballot carried by gossip; proposals %v ballots %v\ntrace: %+v", proposed, voted, tr)
	}
	if tr.Tally == nil || tr.Tally.Ballots < tr.Tally.Quorum {
		t.Fatalf("tally %+v", tr.Tally)
	}
}

// A safety query goes to the cloud FM; with the cloud down the swarm still
// answers and the trace says the FM was unreachable.
func TestCloudAndCloudDown(t *testing.T) {
	sw := startSwarm(t, swarm.Spec{Cloud: true})
	prompt := "How many milligrams of ibuprofen can I take at once for a bad headache?"
	res := ask(t, sw.APIURL(1), nodeapi.AskRequest{Prompt: prompt})
	if res.Trace.Route != router.RouteCloud || res.Trace.Cloud == nil || res.Trace.Cloud.CompletionTokens == 0 {
		t.Fatalf("safety query: route %v cloud %+v (%s), want cloud with tokens", res.Trace.Route, res.Trace.Cloud, res.Trace.Reason)
	}
	if !strings.HasPrefix(res.Answer, sim.SafetyMarker) {
		t.Errorf("answer %q is not the cloud's vetted response", res.Answer)
	}

	sw.Cloud.SetDown(true)
	res = ask(t, sw.APIURL(2), nodeapi.AskRequest{Prompt: prompt})
	if res.Trace.Route == router.RouteCloud || res.Answer == "" {
		t.Fatalf("cloud down: route %v answer %q", res.Trace.Route, res.Answer)
	}
	flags := strings.Join(res.Trace.Flags, ",")
	if !strings.Contains(flags, router.FlagCloudDown) || !strings.Contains(flags, router.FlagBestEffort) {
		t.Errorf("cloud down: flags %q, want %s and %s (reason %q)", flags, router.FlagCloudDown, router.FlagBestEffort, res.Trace.Reason)
	}
}

// The peer id survives a restart: the identity lives in --data-dir.
func TestIdentityPersists(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir, cfg.APIAddr, cfg.MDNS = dir, "127.0.0.1:0", false
	cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.OllamaURL = "http://127.0.0.1:1" // nothing listens: the node must start anyway

	var ids []string
	for range 2 {
		n, err := node.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID().String())
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		if err := n.Close(); err != nil { // idempotent
			t.Fatalf("second Close: %v", err)
		}
	}
	if ids[0] != ids[1] {
		t.Fatalf("peer id changed across restarts: %s then %s", ids[0], ids[1])
	}
	if fi, err := os.Stat(filepath.Join(dir, "identity.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file: %v %v, want mode 0600", fi, err)
	}
}

// A node whose model is missing starts, says so on /healthz with the exact
// fix, refuses queries with 503, and recovers by itself when the model appears.
func TestUnhealthyBackendRecovers(t *testing.T) {
	sw := startSwarm(t, swarm.Spec{Nodes: swarm.DefaultNodes()[:1], NodeOptions: []node.Option{node.WithHealthInterval(50 * time.Millisecond)}})
	url := sw.APIURL(0)
	model := swarm.DefaultNodes()[0].Model

	if err := sw.SLM.SetDown(model, true); err != nil {
		t.Fatal(err)
	}
	h := waitHealth(t, url, slm.StateModelMissing)
	if !strings.Contains(h.Hint, "ollama pull") {
		t.Errorf("unhealthy hint %q does not say what to do", h.Hint)
	}
	body, status := post(t, url+"/swarm/v1/ask", `{"prompt":"What is 7 + 8?"}`)
	if status != http.StatusServiceUnavailable {
		t.Errorf("ask while the model is down: status %d body %s, want 503", status, body)
	}

	if err := sw.SLM.SetDown(model, false); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, url, slm.StateHealthy)
	res := ask(t, url, nodeapi.AskRequest{Prompt: "What is 7 + 8?", Policy: string(router.PolicyLocalOnly)})
	if res.Answer == "" {
		t.Fatal("no answer after recovery")
	}
}

// waitHealth polls /healthz until the node reports state: any unhealthy
// report will not do, since the monitor's first probe may not have landed
// (state unknown) when the test changes the backend.
func waitHealth(t *testing.T, url string, state slm.BackendState) nodeapi.Health {
	t.Helper()
	healthy := state == slm.StateHealthy
	deadline := time.Now().Add(10 * time.Second)
	var last nodeapi.Health
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			var h nodeapi.Health
			err = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			last = h
			inState := h.Healthy == healthy && (healthy || strings.HasPrefix(h.Problem, state.String()))
			if err == nil && inState && healthy == (resp.StatusCode == http.StatusOK) {
				return h
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node never reached %v (last %+v, err %v)", state, last, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func post(t *testing.T, url, body string) (string, int) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	_, _ = io.Copy(&sb, resp.Body)
	return sb.String(), resp.StatusCode
}

// The shipped workload through the swarm: swarm beats local-only on hard
// questions, and the cloud takes well under a quarter of the queries.
func TestSwarmBeatsLocalOnlyOnHard(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole workload twice")
	}
	sw := startSwarm(t, swarm.Spec{Cloud: true})
	type score struct{ n, correct, cloud int }
	run := func(policy router.Policy) map[string]*score {
		out := map[string]*score{}
		for i, it := range workload.Default().Items() {
			res := ask(t, sw.APIURL(i%3), nodeapi.AskRequest{Prompt: it.Prompt, Policy: string(policy)})
			s := out[it.Dataset]
			if s == nil {
				s = &score{}
				out[it.Dataset] = s
			}
			s.n++
			if workload.Correct(it, res.Answer, res.Trace.Route.String()) {
				s.correct++
			}
			if res.Trace.Route == router.RouteCloud {
				s.cloud++
			}
		}
		return out
	}
	local, sw2 := run(router.PolicyLocalOnly), run(router.PolicySwarm)
	acc := func(s *score) float64 { return float64(s.correct) / float64(s.n) }
	total, cloud := 0, 0
	for _, s := range sw2 {
		total += s.n
		cloud += s.cloud
	}
	t.Logf("hard: local-only %.2f swarm %.2f; easy: %.2f → %.2f; cloud share %.2f",
		acc(local["hard"]), acc(sw2["hard"]), acc(local["easy"]), acc(sw2["easy"]), float64(cloud)/float64(total))
	if acc(sw2["hard"]) <= acc(local["hard"]) {
		t.Errorf("swarm %.2f does not beat local-only %.2f on hard questions", acc(sw2["hard"]), acc(local["hard"]))
	}
	if share := float64(cloud) / float64(total); share >= 0.25 {
		t.Errorf("cloud share %.2f, want well under 0.25", share)
	}
}

// When every asked peer fails, no round is held (a round of one would be this
// node agreeing with itself): the query still gets the local answer, flagged.
func TestEveryPeerFails(t *testing.T) {
	sw := startSwarm(t, swarm.Spec{})
	for _, ns := range swarm.DefaultNodes()[1:] {
		if err := sw.SLM.SetDown(ns.Model, true); err != nil {
			t.Fatal(err)
		}
	}
	res := ask(t, sw.APIURL(0), nodeapi.AskRequest{Prompt: "What is the capital of Australia?", Policy: string(router.PolicyAlwaysSwarm)})
	tr := res.Trace
	if res.Answer == "" || tr.Route != router.RouteLocal || tr.Tally != nil || len(tr.Ballots) != 0 {
		t.Fatalf("answer %q route %v tally %+v ballots %v; want the local answer without a round", res.Answer, tr.Route, tr.Tally, tr.Ballots)
	}
	flags := strings.Join(tr.Flags, ",")
	if !strings.Contains(flags, router.FlagNoPeers) || !strings.Contains(flags, router.FlagBestEffort) {
		t.Errorf("flags %q, want %s and %s (reason %q)", flags, router.FlagNoPeers, router.FlagBestEffort, tr.Reason)
	}
	failed := 0
	for _, p := range tr.Peers {
		if p.Err != "" {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("trace shows %d failed peers, want 2: %+v", failed, tr.Peers)
	}
}
