package eval

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/swarm"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// settleTimeout bounds the wait for goroutines to wind down after a load.
const settleTimeout = 15 * time.Second

// LoadSpec is a load run: many queries in flight against one node of an
// in-process swarm on the fast simulated profile (sim.ProfileFast, no
// simulated latency), so what is measured is the node, not a model.
type LoadSpec struct {
	Queries  int // per round (default 1000)
	InFlight int // default 64
	Rounds   int // the load runs this many times (default 1), to show memory stays flat
	// Pause idles before each round after the first, e.g. past the two-minute
	// lifetimes of the gossip seen-message cache and the collab answer cache,
	// so a later round shows whether memory comes back.
	Pause    time.Duration
	Nodes    int    // swarm size; every query goes to the first node (default 3, so unsure queries hold rounds)
	Policy   string // default swarm
	Seed     uint64
	Progress *Progress
	Log      *slog.Logger
}

// LoadRound is one round of a load run.
type LoadRound struct {
	Answered, Failed, Lost int
	Wall                   time.Duration
	Throughput             float64 // answered queries per second
	P50, P95, P99, Max     time.Duration
	Routes                 map[string]int
	// Goroutines after the round, idle HTTP keep-alive connections apart:
	// the nodes' backend clients pool up to 64 per host and reap them after
	// 90 s idle, so those grow to the peak concurrency seen and no further.
	Goroutines, IdleHTTP int
	Settled              bool   // Goroutines came back to the level before the load within settleTimeout
	Heap                 uint64 // live heap bytes after a GC
}

// LoadReport is what a load run measured.
type LoadReport struct {
	Spec                 LoadSpec
	SwarmStart           time.Duration
	Goroutines, IdleHTTP int    // before the load, after a warm-up wave
	Heap                 uint64 // before the load
	Rounds               []LoadRound
}

// Failures counts failed and lost queries over all rounds.
func (r LoadReport) Failures() (failed, lost int) {
	for _, rd := range r.Rounds {
		failed, lost = failed+rd.Failed, lost+rd.Lost
	}
	return failed, lost
}

// Leaked reports whether goroutines stayed above their level before the
// load after some round.
func (r LoadReport) Leaked() bool {
	for _, rd := range r.Rounds {
		if !rd.Settled {
			return true
		}
	}
	return false
}

// RunLoad starts the swarm, warms it with one wave of queries (connections,
// stream handlers and caches are made once), measures goroutines and heap,
// and runs the load Rounds times, measuring again after each round once the
// client's idle connections are closed and goroutines have had up to
// settleTimeout to wind down.
func RunLoad(ctx context.Context, spec LoadSpec) (LoadReport, error) {
	if spec.Queries <= 0 {
		spec.Queries = 1000
	}
	if spec.InFlight <= 0 {
		spec.InFlight = 64
	}
	if spec.Rounds <= 0 {
		spec.Rounds = 1
	}
	if spec.Nodes <= 0 {
		spec.Nodes = 3
	}
	if spec.Policy == "" {
		spec.Policy = string(router.PolicySwarm)
	}
	rep := LoadReport{Spec: spec}
	nodes := make([]swarm.NodeSpec, spec.Nodes)
	for i := range nodes {
		nodes[i] = swarm.NodeSpec{Model: sim.ProfileFast, Domains: []string{"general"},
			Describe: "fast simulated model for load tests"}
	}
	start := time.Now()
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	sw, err := swarm.Start(startCtx, swarm.Spec{Nodes: nodes, Cloud: true, Seed: spec.Seed, Log: spec.Log})
	if err != nil {
		return rep, fmt.Errorf("load: %w", err)
	}
	defer sw.Close()
	rep.SwarmStart = time.Since(start)

	transport := &http.Transport{MaxIdleConnsPerHost: spec.InFlight, MaxIdleConns: spec.InFlight}
	defer transport.CloseIdleConnections()
	client, err := api.NewClient(sw.APIURL(0), api.WithHTTPClient(&http.Client{Transport: transport}))
	if err != nil {
		return rep, fmt.Errorf("load: %w", err)
	}
	items := cycle(workload.Default().Items(), spec.Queries)
	r, err := NewRunner([]Asker{client}, WithConcurrency(spec.InFlight), WithProgress(spec.Progress))
	if err != nil {
		return rep, err
	}
	if _, err := r.Run(ctx, "warm-up", spec.Policy, items[:min(spec.InFlight, len(items))]); err != nil {
		return rep, fmt.Errorf("load: warm up: %w", err)
	}
	transport.CloseIdleConnections()
	rep.Goroutines, rep.IdleHTTP, _ = settle(ctx, 0, time.Second)
	rep.Heap = liveHeap()

	for i := range spec.Rounds {
		if i > 0 && spec.Pause > 0 {
			select {
			case <-ctx.Done():
				return rep, fmt.Errorf("load: %w", ctx.Err())
			case <-time.After(spec.Pause):
			}
		}
		t := time.Now()
		results, err := r.Run(ctx, fmt.Sprintf("load round %d: %d queries, %d in flight", i+1, spec.Queries, spec.InFlight),
			spec.Policy, items)
		rd := LoadRound{Wall: time.Since(t), Routes: map[string]int{}}
		if err != nil {
			return rep, fmt.Errorf("load: %w", err)
		}
		var lat []time.Duration
		for _, res := range results {
			switch res.Outcome {
			case Answered:
				rd.Answered++
				rd.Routes[res.Route]++
				lat = append(lat, res.Latency)
			case Failed:
				rd.Failed++
			default:
				rd.Lost++
			}
		}
		if len(lat) > 0 {
			slices.Sort(lat)
			rd.P50, rd.P95, rd.P99, rd.Max = rank(lat, 0.5), rank(lat, 0.95), rank(lat, 0.99), lat[len(lat)-1]
		}
		rd.Throughput = float64(rd.Answered) / rd.Wall.Seconds()
		transport.CloseIdleConnections()
		rd.Goroutines, rd.IdleHTTP, rd.Settled = settle(ctx, rep.Goroutines, settleTimeout)
		rd.Heap = liveHeap()
		rep.Rounds = append(rep.Rounds, rd)
	}
	return rep, nil
}

// settle polls the goroutines that are not idle HTTP connections until
// they are at most target (target 0: until the count holds for a few polls)
// or the deadline passes; it returns the last counts and whether it got there.
func settle(ctx context.Context, target int, within time.Duration) (busy, idle int, ok bool) {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last, same := -1, 0
	for {
		busy, idle = goroutines()
		if busy == last {
			same++
		} else {
			same = 0
		}
		last = busy
		if (target > 0 && busy <= target) || (target == 0 && same >= 5) {
			return busy, idle, true
		}
		if time.Now().After(deadline) {
			return busy, idle, false
		}
		select {
		case <-ctx.Done():
			return busy, idle, false
		case <-tick.C:
		}
	}
}

// idleHTTPFrames mark a goroutine that only keeps an HTTP connection open
// for reuse: a client's read and write loops, or a server waiting for the
// next request on a kept-alive connection.
var idleHTTPFrames = []string{"net/http.(*persistConn).readLoop", "net/http.(*persistConn).writeLoop",
	"net/http.(*conn).readRequest", "net/http.(*connReader).backgroundRead"}

// keptPingFrames mark the goroutines of a ping stream p2p.Liveness keeps
// open to each peer (its pinger, and the peer's handler and timer): one set
// a connected peer, opened at the first ping round and renewed every 25 s,
// so whether the count before the load holds them is a matter of when it
// was taken. They are not counted: they scale with peers, not queries.
var keptPingFrames = []string{"go-libp2p/p2p/protocol/ping.Ping.func1", "go-libp2p/p2p/protocol/ping.(*PingService).PingHandler"}

// goroutines counts the goroutines (from the runtime's goroutine profile)
// that are idle HTTP connections and those that are not, apart from kept
// ping streams.
func goroutines() (busy, idleHTTP int) {
	var b strings.Builder
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		return runtime.NumGoroutine(), 0
	}
	for _, block := range strings.Split(b.String(), "\n\n") {
		head, _, _ := strings.Cut(block, " @ ")
		n, err := strconv.Atoi(strings.TrimSpace(head))
		if err != nil {
			continue // the profile's header line
		}
		if slices.ContainsFunc(keptPingFrames, func(f string) bool { return strings.Contains(block, f) }) {
			continue
		}
		idle := false
		for _, f := range idleHTTPFrames {
			idle = idle || strings.Contains(block, f+"+")
		}
		// A server connection blocked peeking for the next request is idle too.
		idle = idle || (strings.Contains(block, "net/http.(*conn).serve+") && strings.Contains(block, "bufio.(*Reader).Peek+"))
		if idle {
			idleHTTP += n
		} else {
			busy += n
		}
	}
	return busy, idleHTTP
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// cycle repeats items until there are n.
func cycle(items []workload.Item, n int) []workload.Item {
	out := make([]workload.Item, 0, n)
	for len(out) < n {
		out = append(out, items[len(out)%len(items)])
	}
	return out
}

// WriteMarkdown writes the load report as a table, a row per round.
func (r LoadReport) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Load: %d queries per round, %d in flight, against node 1 of a %d-node in-process swarm on %s "+
		"(no simulated latency), policy %s, %s between rounds. Swarm up in %v. Before the load (after a warm-up wave): %d goroutines "+
		"(+%d idle HTTP keep-alive), live heap %.1f MiB.\n\n", r.Spec.Queries, r.Spec.InFlight, r.Spec.Nodes,
		sim.ProfileFast, r.Spec.Policy, pause(r.Spec.Pause), r.SwarmStart.Round(time.Millisecond), r.Goroutines, r.IdleHTTP, mib(r.Heap))
	b.WriteString("| round | answered / failed / lost | wall | throughput | p50 / p95 / p99 / max ms | routes |" +
		" goroutines after (idle HTTP apart) | idle HTTP | live heap after |\n|---:|---|---:|---:|---|---|---:|---:|---:|\n")
	for i, rd := range r.Rounds {
		var routes []string
		for _, route := range Routes {
			if n := rd.Routes[route]; n > 0 {
				routes = append(routes, fmt.Sprintf("%s %d", route, n))
			}
		}
		settled := "back to baseline"
		if !rd.Settled {
			settled = fmt.Sprintf("**%+d after %v**", rd.Goroutines-r.Goroutines, settleTimeout)
		}
		fmt.Fprintf(&b, "| %d | %d / %d / %d | %v | %.0f/s | %s / %s / %s / %s | %s | %d (%s) | %d | %.1f MiB |\n",
			i+1, rd.Answered, rd.Failed, rd.Lost, rd.Wall.Round(time.Millisecond), rd.Throughput, fmtMS(rd.P50),
			fmtMS(rd.P95), fmtMS(rd.P99), fmtMS(rd.Max), strings.Join(routes, ", "), rd.Goroutines, settled,
			rd.IdleHTTP, mib(rd.Heap))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func pause(d time.Duration) string {
	if d == 0 {
		return "no pause"
	}
	return "a pause of " + d.String()
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
