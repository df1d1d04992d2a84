package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// EnvComposeE2E enables TestComposeTestnet: it needs Docker and takes minutes.
const EnvComposeE2E = "SWARM_E2E_COMPOSE"

// Deadlines of the compose run. A partitioned node's peers time out after
// the testnet's SWARM_ASK_TIMEOUT (8 s) per round, so answers may take that long.
const (
	scriptTimeout   = 8 * time.Minute // one scripts/testnet.sh call (up builds; a loaded 2-core box takes minutes)
	answerTimeout   = 45 * time.Second
	convergeTimeout = 2 * time.Minute
	pollEvery       = 250 * time.Millisecond
	// benchQueries is how many queries per route and node the run times.
	benchQueries = 5
)

var nodeNames = []string{"node1", "node2", "node3"}

// testnet drives one compose project through scripts/testnet.sh and talks to
// the nodes' published APIs on 127.0.0.1.
type testnet struct {
	t       *testing.T
	env     []string
	ports   []int
	http    *http.Client
	clients []*api.Client
}

// TestComposeTestnet is the compose testnet end to end: join (by mDNS alone,
// then with bootstrap), every node on every route, a node killed while
// queries are in flight, a partition both sides survive, and CMS convergence
// after healing. Everything it started is torn down, even on failure.
func TestComposeTestnet(t *testing.T) {
	if os.Getenv(EnvComposeE2E) == "" {
		t.Skipf("skipping the compose testnet run: set %s=1 (scripts/e2e-compose.sh does) on a machine with Docker", EnvComposeE2E)
	}
	tn := newTestnet(t)

	t.Run("join by mDNS alone", func(t *testing.T) {
		took := tn.up(t, "SWARM_TESTNET_BOOTSTRAP=")
		t.Logf("BENCH join mdns-only: %v from 'compose up' to every node holding 3 records", took)
		// Only one side of each pair dials (the connector's rule), so
		// check pairs, not nodes.
		pairs := mdnsPairs(tn.script(t, "logs", "node1", "node2", "node3"))
		if len(pairs) != 3 {
			t.Errorf("pairs connected by mDNS: %v, want all 3", pairs)
		}
	})
	if t.Failed() {
		return
	}
	t.Run("join with bootstrap", func(t *testing.T) {
		// Same project, new setting: compose recreates the node containers.
		took := tn.up(t)
		t.Logf("BENCH join bootstrap+mdns: %v from 'compose up' to every node holding 3 records", took)
	})
	if t.Failed() {
		return
	}
	t.Run("every node on every route", tn.everyRoute)
	t.Run("kill a node mid-round", tn.killMidRound)
	t.Run("partition and heal", tn.partitionAndHeal)
}

// newTestnet prepares a compose project of its own (settings in env) and
// registers its teardown; the caller brings it up.
func newTestnet(t *testing.T, env ...string) *testnet {
	t.Helper()
	tn := &testnet{t: t, http: &http.Client{Timeout: answerTimeout}}
	// A project and ports of its own, so a testnet the user is running is untouched.
	tn.env = append([]string{
		fmt.Sprintf("SWARM_TESTNET_PROJECT=swarmllm-e2e-%d", os.Getpid()),
		"SWARM_TESTNET_CLOUD_MAX_SHARE=0", // forced cloud routes must not hit the hourly budget
		"SWARM_TESTNET_TIMEOUT=90",
	}, env...)
	for i := range nodeNames {
		p := freePort(t)
		tn.ports = append(tn.ports, p)
		tn.env = append(tn.env, fmt.Sprintf("SWARM_TESTNET_PORT%d=%d", i+1, p))
		c, err := api.NewClient(fmt.Sprintf("127.0.0.1:%d", p), api.WithHTTPClient(tn.http))
		if err != nil {
			t.Fatal(err)
		}
		tn.clients = append(tn.clients, c)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testnet logs:\n%s", tn.scriptOut("logs"))
		}
		if out, err := tn.run("down"); err != nil {
			t.Errorf("testnet down: %v\n%s", err, out)
		}
		tn.http.CloseIdleConnections()
	})
	return tn
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// run calls scripts/testnet.sh with the run's environment (and extra settings).
func (tn *testnet) run(args ...string) (string, error) {
	return tn.runEnv(nil, args...)
}

func (tn *testnet) runEnv(extra []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, testnetScript, args...)
	cmd.Env = append(append(os.Environ(), tn.env...), extra...)
	// A killed script's children (a go build) keep its output pipe open:
	// stop waiting for them soon after.
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (tn *testnet) script(t *testing.T, args ...string) string {
	t.Helper()
	out, err := tn.run(args...)
	if err != nil {
		t.Fatalf("testnet.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (tn *testnet) scriptOut(args ...string) string {
	out, err := tn.run(args...)
	if err != nil {
		return fmt.Sprintf("%s\n(testnet.sh %s: %v)", out, strings.Join(args, " "), err)
	}
	return out
}

// up runs `testnet.sh up` and returns the join time it measured.
func (tn *testnet) up(t *testing.T, extra ...string) time.Duration {
	t.Helper()
	out, err := tn.runEnv(extra, "up")
	if err != nil {
		t.Fatalf("testnet.sh up: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		var secs float64
		if _, err := fmt.Sscanf(line, "joined in %fs", &secs); err == nil {
			return time.Duration(secs * float64(time.Second))
		}
	}
	t.Fatalf("testnet.sh up printed no join time:\n%s", out)
	return 0
}

// mdnsPairs reads compose logs and returns the node pairs (as "nodeA-nodeB",
// sorted) connected through a peer found by mDNS.
func mdnsPairs(logs string) []string {
	ids := map[string]string{} // peer id → service
	type conn struct{ svc, peer string }
	var conns []conn
	for _, line := range strings.Split(logs, "\n") {
		svc, rest, ok := strings.Cut(line, "|")
		if !ok {
			continue
		}
		// docker-compose prefixes "node1_1  | ", docker compose "node1-1  | ".
		svc = strings.TrimSpace(svc)
		if i := strings.LastIndexAny(svc, "_-"); i > 0 {
			svc = svc[:i]
		}
		peer := field(rest, "peer=")
		switch {
		case strings.Contains(rest, `msg="node running"`):
			ids[peer] = svc
		case strings.Contains(rest, `msg="peer connected"`) && strings.Contains(rest, "via=mdns"):
			conns = append(conns, conn{svc, peer})
		}
	}
	var pairs []string
	for _, c := range conns {
		other, ok := ids[c.peer]
		if !ok {
			continue
		}
		p := []string{c.svc, other}
		slices.Sort(p)
		if pair := strings.Join(p, "-"); !slices.Contains(pairs, pair) {
			pairs = append(pairs, pair)
		}
	}
	slices.Sort(pairs)
	return pairs
}

// field returns the value of key (e.g. "peer=") in a logfmt line.
func field(line, key string) string {
	i := strings.Index(line, " "+key)
	if i < 0 {
		return ""
	}
	v := line[i+1+len(key):]
	if j := strings.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	return v
}

// answer is one query's outcome as the caller sees it.
type answer struct {
	node        int
	prompt      string
	policy      string
	start, end  time.Time
	routeHeader string
	res         api.AskResult
	err         error
}

func (a answer) latency() time.Duration { return a.end.Sub(a.start) }

// ask sends one native query to node i and checks the response's shape.
func (tn *testnet) ask(ctx context.Context, i int, prompt, policy string) answer {
	return tn.askWith(ctx, i, api.AskRequest{Prompt: prompt, Policy: policy})
}

// askWith is ask with the caller's whole request (sampling options too).
func (tn *testnet) askWith(ctx context.Context, i int, in api.AskRequest) (a answer) {
	a = answer{node: i, prompt: in.Prompt, policy: in.Policy, start: time.Now()}
	defer func() { a.end = time.Now() }()
	body, err := json.Marshal(in)
	if err != nil {
		a.err = err
		return a
	}
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/swarm/v1/ask", tn.ports[i]), bytes.NewReader(body))
	if err != nil {
		a.err = err
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := tn.http.Do(req)
	if err != nil {
		a.err = fmt.Errorf("ask %s: %w", nodeNames[i], err)
		return a
	}
	defer resp.Body.Close()
	a.routeHeader = resp.Header.Get(api.HeaderRoute)
	if resp.StatusCode != http.StatusOK {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		a.err = fmt.Errorf("ask %s: status %d: %s", nodeNames[i], resp.StatusCode, strings.TrimSpace(b.String()))
		return a
	}
	if err := json.NewDecoder(resp.Body).Decode(&a.res); err != nil {
		a.err = fmt.Errorf("ask %s: decode: %w", nodeNames[i], err)
		return a
	}
	switch {
	case strings.TrimSpace(a.res.Answer) == "":
		a.err = fmt.Errorf("ask %s %q: empty answer (trace reason %q)", nodeNames[i], in.Prompt, a.res.Trace.Reason)
	case a.routeHeader != a.res.Trace.Route.String():
		a.err = fmt.Errorf("ask %s: %s header %q, trace route %q", nodeNames[i], api.HeaderRoute, a.routeHeader, a.res.Trace.Route)
	}
	return a
}

// prompts are workload questions from every class, answerable by the simulators.
func prompts(t *testing.T) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for _, it := range workload.Default().Items() {
		key := it.Dataset + "/" + it.Domain
		if it.Dataset == workload.DatasetSafety || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, it.Prompt)
	}
	if len(out) < benchQueries {
		t.Fatalf("only %d distinct workload prompts", len(out))
	}
	return out
}

// everyRoute asks every node under every forced policy and the default one,
// and logs the p50 latency per route.
func (tn *testnet) everyRoute(t *testing.T) {
	ps := prompts(t)
	cases := []struct {
		policy string
		routes []router.Route // routes the policy may take
	}{
		{string(router.PolicyLocalOnly), []router.Route{router.RouteLocal}},
		{string(router.PolicyCloudOnly), []router.Route{router.RouteCloud}},
		// A round without consensus summons the cloud; either way peers answered.
		{string(router.PolicyAlwaysSwarm), []router.Route{router.RouteSwarm, router.RouteCloud}},
		{string(router.PolicySwarm), []router.Route{router.RouteLocal, router.RouteSwarm, router.RouteCloud}},
	}
	byRoute := map[router.Route][]time.Duration{}
	for _, tc := range cases {
		t.Run(tc.policy, func(t *testing.T) {
			for i := range nodeNames {
				for q := range benchQueries {
					a := tn.ask(context.Background(), i, ps[(i*benchQueries+q)%len(ps)], tc.policy)
					if a.err != nil {
						t.Fatal(a.err)
					}
					tr := a.res.Trace
					if !slices.Contains(tc.routes, tr.Route) {
						t.Errorf("%s policy %s: route %s (%s), want one of %v", nodeNames[i], tc.policy, tr.Route, tr.Reason, tc.routes)
					}
					if tc.policy == string(router.PolicyAlwaysSwarm) && answeredPeers(tr) == 0 {
						t.Errorf("%s always-swarm: no peer answered: %+v", nodeNames[i], tr.Peers)
					}
					if tc.policy != string(router.PolicySwarm) {
						byRoute[tr.Route] = append(byRoute[tr.Route], a.latency())
					}
				}
			}
		})
	}
	for _, r := range []router.Route{router.RouteLocal, router.RouteSwarm, router.RouteCloud} {
		if d := byRoute[r]; len(d) > 0 {
			t.Logf("BENCH route %-5s p50 %v  (n=%d, min %v, max %v)", r, p50(d), len(d), slices.Min(d).Round(100*time.Microsecond), slices.Max(d).Round(100*time.Microsecond))
		}
	}
}

func answeredPeers(tr router.Trace) int {
	n := 0
	for _, p := range tr.Peers {
		if p.Err == "" && p.Answer != "" {
			n++
		}
	}
	return n
}

func p50(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Round(100 * time.Microsecond)
}

// load keeps `workers` queries in flight against each node in nodes until
// stop closes, and returns every answer.
func (tn *testnet) load(nodes []int, workers int, policy string, stop <-chan struct{}) func() []answer {
	ps := prompts(tn.t)
	var mu sync.Mutex
	var out []answer
	var wg sync.WaitGroup
	for _, i := range nodes {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for q := w; ; q += workers {
					select {
					case <-stop:
						return
					default:
					}
					a := tn.ask(context.Background(), i, ps[q%len(ps)], policy)
					mu.Lock()
					out = append(out, a)
					mu.Unlock()
				}
			}()
		}
	}
	return func() []answer { wg.Wait(); return out }
}

// killMidRound SIGKILLs node2 while node1 and node3 have vote rounds in
// flight that ask it: every query to node1 and node3 must still be answered.
func (tn *testnet) killMidRound(t *testing.T) {
	stop := make(chan struct{})
	wait := tn.load([]int{0, 2}, 2, string(router.PolicyAlwaysSwarm), stop)
	time.Sleep(1500 * time.Millisecond) // let rounds be under way (not a sync point: the load decides)
	killedAt := time.Now()
	out, err := tn.run("kill", "node2")
	time.Sleep(3 * time.Second) // keep querying after the kill
	close(stop)
	answers := wait()
	if err != nil {
		t.Fatalf("testnet.sh kill node2: %v\n%s", err, out)
	}
	inFlight, after := 0, 0
	for _, a := range answers {
		if a.err != nil {
			t.Errorf("query to %s (%v after the kill): %v", nodeNames[a.node], a.start.Sub(killedAt).Round(time.Millisecond), a.err)
			continue
		}
		if a.start.Before(killedAt) && a.end.After(killedAt) {
			inFlight++
		}
		if a.start.After(killedAt) {
			after++
		}
	}
	t.Logf("%d queries answered, %d of them in flight when node2 was killed, %d sent after", len(answers), inFlight, after)
	if inFlight == 0 || after == 0 {
		t.Errorf("the kill did not land mid-round: %d queries in flight, %d after", inFlight, after)
	}

	tn.script(t, "start", "node2")
	tn.script(t, "wait", "3")
	if a := tn.ask(context.Background(), 1, "What is the capital of Australia?", ""); a.err != nil {
		t.Errorf("node2 after restart: %v", a.err)
	}
}

// partitionAndHeal cuts node3 off the LAN, checks both sides keep answering,
// changes node3's record while it is cut off (its backend goes down and comes
// back), heals, and waits for every node to hold every node's current record.
func (tn *testnet) partitionAndHeal(t *testing.T) {
	ctx := context.Background()
	before := tn.ownSeq(t, 2)
	tn.script(t, "partition", "node3")
	healed := false
	defer func() {
		if !healed {
			_, _ = tn.run("heal", "node3")
		}
	}()

	var wg sync.WaitGroup
	answers := make([]answer, 0, 6)
	var mu sync.Mutex
	for i := range nodeNames {
		for _, policy := range []string{"", string(router.PolicyAlwaysSwarm)} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := tn.ask(ctx, i, "What is the boiling point of water at sea level in Celsius?", policy)
				mu.Lock()
				answers = append(answers, a)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	for _, a := range answers {
		if a.err != nil {
			t.Errorf("during the partition, %s (policy %q): %v", nodeNames[a.node], a.policy, a.err)
			continue
		}
		t.Logf("during the partition %s policy %q: route %s in %v (%s)", nodeNames[a.node], a.policy, a.res.Trace.Route,
			a.latency().Round(time.Millisecond), a.res.Trace.Reason)
	}

	// A record change the other side cannot see yet.
	tn.script(t, "backend", "node3", "down")
	tn.waitOwnRecord(t, 2, func(r cms.RecordView) bool { return !r.Healthy })
	tn.script(t, "backend", "node3", "up")
	tn.waitOwnRecord(t, 2, func(r cms.RecordView) bool { return r.Healthy })
	after := tn.ownSeq(t, 2)
	if after <= before {
		t.Fatalf("node3's record seq %d did not advance past %d while partitioned", after, before)
	}
	for _, i := range []int{0, 1} {
		if seq := tn.seenSeq(t, i, 2); seq >= after {
			t.Errorf("%s already holds node3's seq %d during the partition: the partition leaked", nodeNames[i], seq)
		}
	}

	tn.script(t, "heal", "node3")
	healed = true
	start := time.Now()
	waitUntil(t, convergeTimeout, "the CMS did not converge after healing", func() (bool, string) { return tn.converged(ctx) })
	t.Logf("BENCH cms converged %v after heal (every node holds every node's current record)", time.Since(start).Round(time.Millisecond))
	for i := range nodeNames {
		if a := tn.ask(ctx, i, "What is 17 * 23?", string(router.PolicyAlwaysSwarm)); a.err != nil {
			t.Errorf("after healing: %v", a.err)
		} else if answeredPeers(a.res.Trace) < 2 {
			t.Errorf("after healing %s heard from %d peers, want 2: %+v", nodeNames[i], answeredPeers(a.res.Trace), a.res.Trace.Peers)
		}
	}
}

func (tn *testnet) records(ctx context.Context, i int) ([]cms.RecordView, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return tn.clients[i].Records(ctx)
}

// ownRecord is node i's own record: the node lists it first.
func (tn *testnet) ownRecord(t *testing.T, i int) cms.RecordView {
	t.Helper()
	recs, err := tn.records(context.Background(), i)
	if err != nil || len(recs) == 0 {
		t.Fatalf("%s records: %v (%d)", nodeNames[i], err, len(recs))
	}
	return recs[0]
}

func (tn *testnet) ownSeq(t *testing.T, i int) uint64 { return tn.ownRecord(t, i).Seq }

// seenSeq is the seq of node j's record as node i holds it (0 if none).
func (tn *testnet) seenSeq(t *testing.T, i, j int) uint64 {
	t.Helper()
	id := tn.ownRecord(t, j).Peer
	recs, err := tn.records(context.Background(), i)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Peer == id {
			return r.Seq
		}
	}
	return 0
}

func (tn *testnet) waitOwnRecord(t *testing.T, i int, ok func(cms.RecordView) bool) {
	t.Helper()
	waitUntil(t, convergeTimeout, nodeNames[i]+"'s own record never changed as expected", func() (bool, string) {
		rec := tn.ownRecord(t, i)
		return ok(rec), fmt.Sprintf("%+v", rec)
	})
}

// waitUntil polls check every pollEvery until it holds, and fails the test
// with what and check's last word on why not once timeout has passed.
func waitUntil(t *testing.T, timeout time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s (waited %v): %s", what, timeout, why)
		}
		time.Sleep(pollEvery)
	}
}

// converged reports whether every node holds every node's record at the
// seq that node itself publishes now; otherwise it says what differs.
func (tn *testnet) converged(ctx context.Context) (bool, string) {
	views := make([][]cms.RecordView, len(nodeNames))
	own := map[string]uint64{}
	for i := range nodeNames {
		recs, err := tn.records(ctx, i)
		if err != nil {
			return false, err.Error()
		}
		if len(recs) == 0 {
			return false, nodeNames[i] + " has no own record"
		}
		views[i] = recs
		own[recs[0].Peer] = recs[0].Seq
	}
	var diffs []error
	for i, recs := range views {
		if len(recs) != len(nodeNames) {
			diffs = append(diffs, fmt.Errorf("%s holds %d records", nodeNames[i], len(recs)))
		}
		for _, r := range recs {
			if want, ok := own[r.Peer]; !ok || r.Seq != want {
				diffs = append(diffs, fmt.Errorf("%s holds %s at seq %d, its owner is at %d", nodeNames[i], shortPeer(r.Peer), r.Seq, want))
			}
		}
	}
	if len(diffs) > 0 {
		return false, errors.Join(diffs...).Error()
	}
	return true, ""
}

func shortPeer(id string) string {
	if len(id) > 8 {
		return "…" + id[len(id)-6:]
	}
	return id
}
