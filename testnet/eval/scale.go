package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	lpswarm "github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// Timeouts of the scale run: generous, since 50 nodes share a few cores.
const (
	scaleStartTimeout = 5 * time.Minute
	scaleOpTimeout    = 30 * time.Second
	// quietFor is how long the swarm's round counters must hold still
	// before a round's messages are counted as all delivered.
	quietFor = 300 * time.Millisecond
)

// Counters summed over every node's registry for a vote round.
const (
	metricRoundMessages = "swarmllm_collab_round_messages_total"
	metricAsks          = "swarmllm_collab_asks_total"
)

// ScaleSpec is a scale run: an N-node in-process swarm on the three default
// simulated profiles (cycled), joined by bootstrapping each node from a few
// random earlier ones.
type ScaleSpec struct {
	Nodes     int // default 50
	Bootstrap int // earlier nodes each new node dials (default 3)
	Lookups   int // DHT lookups by peer id (default 20; by domain: one per declared domain)
	Rounds    int // vote rounds timed (default 10)
	Seed      uint64
	Log       *slog.Logger
	Phases    io.Writer // if set, a line per phase as it ends
}

// Stat summarises a sample of durations.
type Stat struct {
	N             int
	P50, P95, Max time.Duration
}

func statOf(ds []time.Duration) Stat {
	if len(ds) == 0 {
		return Stat{}
	}
	p := percentiles(ds)
	return Stat{N: p.N, P50: p.P50, P95: p.P95, Max: slices.Max(ds)}
}

func (s Stat) String() string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%s / %s / %s ms (n=%d)", fmtMS(s.P50), fmtMS(s.P95), fmtMS(s.Max), s.N)
}

// ScaleReport is what a scale run measured.
type ScaleReport struct {
	Spec ScaleSpec
	// Converge runs from starting the first node until every node holds
	// every other node's capability record.
	Converge time.Duration
	// Settle is how long the swarm then took to calm down (process CPU
	// under settleCores) before anything else was measured, at most
	// settleLimit; SettleCores is the CPU it used then (over settleCores:
	// it never calmed down, and was measured as it was).
	Settle      time.Duration
	SettleCores float64
	// JoinConnect runs from starting one more node until it is connected
	// to a first peer; JoinToAll until every other node holds its record;
	// JoinLearnAll until it holds all of theirs.
	JoinConnect, JoinToAll, JoinLearnAll time.Duration
	// DHT lookups from an observer that hears no gossip: a record by peer
	// id (GetValue of /swarmcap/<id>), the providers of a domain
	// (FindProviders), and a domain's providers plus each one's record
	// (what cms.Store.FindByDomain does on a cold cache).
	LookupPeer, LookupProviders, LookupDomain Stat
	PeerFound, PeerAsked                      int
	ProvidersFound, ProvidersDeclared         int
	// One vote round (policy always-swarm from a random node): the query's
	// wall time, its stages, and the messages it cost the swarm.
	RoundQuery, RoundPeers, RoundVote Stat
	// Per round, medians: participants, ballots counted, asks served and
	// round-topic messages validated across all nodes (each message is
	// checked once by every node that receives it).
	Participants, Ballots, Asks, Messages int
	// RoundCPU is the median CPU time one round cost the whole process
	// (every node and the simulators), above the idle rate measured just
	// before it: the swarm's work for one query.
	RoundCPU   time.Duration
	Goroutines int
	Heap       uint64
}

// HeapPerNode is the live heap divided by the nodes (simulators included).
func (r ScaleReport) HeapPerNode() uint64 { return r.Heap / uint64(max(1, r.Spec.Nodes)) }

// RunScale starts the swarm, measures convergence, a join, DHT lookups and
// vote rounds, and closes it.
func RunScale(ctx context.Context, spec ScaleSpec) (ScaleReport, error) {
	if spec.Nodes <= 1 {
		spec.Nodes = 50
	}
	if spec.Bootstrap <= 0 {
		spec.Bootstrap = 3
	}
	if spec.Lookups <= 0 {
		spec.Lookups = 20
	}
	if spec.Rounds <= 0 {
		spec.Rounds = 10
	}
	rep := ScaleReport{Spec: spec}
	profiles := swarm.DefaultNodes()
	nodes := make([]swarm.NodeSpec, spec.Nodes-1) // the last one joins later
	for i := range nodes {
		nodes[i] = profiles[i%len(profiles)]
	}
	startCtx, cancel := context.WithTimeout(ctx, scaleStartTimeout)
	defer cancel()
	start := time.Now()
	sw, err := swarm.Start(startCtx, swarm.Spec{Nodes: nodes, Cloud: true, Seed: spec.Seed, Bootstrap: spec.Bootstrap, Log: spec.Log})
	if err != nil {
		return rep, fmt.Errorf("scale: %w", err)
	}
	defer sw.Close()
	rep.Converge = time.Since(start)
	rep.phase("%d nodes converged in %v", len(sw.Nodes), rep.Converge.Round(time.Millisecond))
	// Converged is not quiet: DHT puts, provider records and their checks
	// still run for a while, and on a small machine they starve handshakes.
	if rep.Settle, rep.SettleCores, err = settleCPU(startCtx); err != nil {
		return rep, fmt.Errorf("scale: settle: %w", err)
	}
	rep.phase("settled in %v (%.2f cores)", rep.Settle.Round(time.Millisecond), rep.SettleCores)

	start = time.Now()
	late, err := sw.Add(profiles[(spec.Nodes-1)%len(profiles)])
	if err != nil {
		return rep, fmt.Errorf("scale: %w", err)
	}
	id := sw.Nodes[late].ID().String()
	if err := waitFor(startCtx, func() bool { return len(sw.Nodes[late].Host().Network().Peers()) > 0 }); err != nil {
		return rep, fmt.Errorf("scale: new node connecting: %w", err)
	}
	rep.JoinConnect = time.Since(start)
	// Poll each node only until it holds the record, and not flat out:
	// listing 50 nodes' records every 10 ms costs a core.
	has := make([]bool, late)
	if err := waitEvery(startCtx, pollEvery(len(sw.Nodes)), func() bool {
		all := true
		for i, n := range sw.Nodes[:late] {
			if !has[i] {
				has[i] = holds(n.Records(ctx), id)
				all = all && has[i]
			}
		}
		return all
	}); err != nil {
		return rep, fmt.Errorf("scale: new node's record reaching all: %w", err)
	}
	rep.JoinToAll = time.Since(start)
	if err := waitEvery(startCtx, pollEvery(len(sw.Nodes)), func() bool { return len(sw.Nodes[late].Records(ctx)) >= len(sw.Nodes) }); err != nil {
		return rep, fmt.Errorf("scale: new node learning all: %w", err)
	}
	rep.JoinLearnAll = time.Since(start)
	rep.phase("node %d joined: connected in %v, its record everywhere in %v, it knows all in %v", late+1,
		rep.JoinConnect.Round(time.Millisecond), rep.JoinToAll.Round(time.Millisecond), rep.JoinLearnAll.Round(time.Millisecond))

	if err := measureLookups(ctx, sw, &rep); err != nil {
		return rep, err
	}
	rep.phase("DHT lookups done")
	if _, _, err := settleCPU(startCtx); err != nil {
		return rep, fmt.Errorf("scale: settle: %w", err)
	}
	if err := measureRounds(ctx, sw, &rep); err != nil {
		return rep, err
	}
	rep.Goroutines = runtime.NumGoroutine()
	rep.Heap = liveHeap()
	return rep, nil
}

// settleCores is the process CPU use (in cores, over settleWindow) under
// which the swarm counts as settled. settleLimit bounds the wait: a swarm of
// a hundred nodes in one process on a small machine may never idle under it
// (a 100-node run converged in 33 s, then used over 0.5 cores for the 4.5
// minutes its start timeout had left), and is then measured as it is, the
// report giving the cores it used.
const (
	settleCores  = 0.5
	settleWindow = time.Second
	settleLimit  = time.Minute
)

// settleCPU waits until the process uses less than settleCores over a
// settleWindow, or settleLimit has passed, and returns how long it waited
// and the cores used over the last window.
func settleCPU(ctx context.Context) (time.Duration, float64, error) {
	start := time.Now()
	for {
		c0, t0 := processCPU(), time.Now()
		select {
		case <-ctx.Done():
			return time.Since(start), 0, ctx.Err()
		case <-time.After(settleWindow):
		}
		cores := float64(processCPU()-c0) / float64(time.Since(t0))
		if cores < settleCores || time.Since(start) >= settleLimit {
			return time.Since(start), cores, nil
		}
	}
}

// processCPU is the CPU time (user + system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r *ScaleReport) phase(format string, args ...any) {
	if r.Spec.Phases != nil {
		fmt.Fprintf(r.Spec.Phases, format+"\n", args...)
	}
}

func holds(recs []cms.RecordView, id string) bool {
	return slices.ContainsFunc(recs, func(r cms.RecordView) bool { return r.Peer == id })
}

// pollEvery is how often to list the records of an n-node swarm: every n
// ms, at least 10 ms (as swarm.WaitJoined).
func pollEvery(n int) time.Duration {
	return max(10*time.Millisecond, time.Duration(n)*time.Millisecond)
}

// waitFor polls cond every 10 ms until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	return waitEvery(ctx, 10*time.Millisecond, cond)
}

// waitEvery polls cond every d until it holds or ctx ends.
func waitEvery(ctx context.Context, d time.Duration, cond func() bool) error {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// measureLookups joins an observer (a DHT client that hears no gossip) to
// two random nodes and looks records up through the DHT alone.
func measureLookups(ctx context.Context, sw *swarm.Swarm, rep *ScaleReport) error {
	h, kad, err := newObserver()
	if err != nil {
		return fmt.Errorf("scale: %w", err)
	}
	defer func() { _ = kad.Close(); _ = h.Close() }()
	rng := rand.New(rand.NewPCG(rep.Spec.Seed, 0x100c))
	for _, i := range rng.Perm(len(sw.Nodes))[:2] {
		n := sw.Nodes[i]
		cctx, cancel := context.WithTimeout(ctx, scaleOpTimeout)
		err := h.Connect(cctx, peer.AddrInfo{ID: n.ID(), Addrs: n.Host().Addrs()})
		cancel()
		if err != nil {
			return fmt.Errorf("scale: connect observer: %w", err)
		}
	}
	if err := waitFor(ctx, func() bool { return kad.RoutingTable().Size() > 0 }); err != nil {
		return fmt.Errorf("scale: observer routing table: %w", err)
	}

	var byPeer []time.Duration
	for _, i := range rng.Perm(len(sw.Nodes))[:min(rep.Spec.Lookups, len(sw.Nodes))] {
		cctx, cancel := context.WithTimeout(ctx, scaleOpTimeout)
		t := time.Now()
		_, err := kad.GetValue(cctx, cms.Key(sw.Nodes[i].ID()))
		byPeer = append(byPeer, time.Since(t))
		cancel()
		rep.PeerAsked++
		if err == nil {
			rep.PeerFound++
		}
	}
	rep.LookupPeer = statOf(byPeer)

	declared := map[string]int{} // node i runs profile i mod 3, as RunScale started them
	profiles := swarm.DefaultNodes()
	for i := range sw.Nodes {
		for _, d := range profiles[i%len(profiles)].Domains {
			declared[d]++
		}
	}
	var providers, domain []time.Duration
	for d, want := range declared {
		c, err := cms.DomainCID(d)
		if err != nil {
			return fmt.Errorf("scale: %w", err)
		}
		cctx, cancel := context.WithTimeout(ctx, scaleOpTimeout)
		t := time.Now()
		// The whole query (count 0), as cms.Store.FindByDomain takes up to its
		// cap: kad.FindProviders stops at the bucket size, 20 per domain.
		var found []peer.AddrInfo
		for ai := range kad.FindProvidersAsync(cctx, c, 0) {
			found = append(found, ai)
		}
		providers = append(providers, time.Since(t))
		getAll(cctx, kad, found)
		domain = append(domain, time.Since(t))
		cancel()
		rep.ProvidersDeclared += want
		rep.ProvidersFound += len(found)
	}
	rep.LookupProviders, rep.LookupDomain = statOf(providers), statOf(domain)
	return nil
}

// getAll fetches the records of the providers found, in parallel, as
// cms.Store.FindByDomain does on a cold cache.
func getAll(ctx context.Context, kad *dht.IpfsDHT, providers []peer.AddrInfo) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, p := range providers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, _ = kad.GetValue(ctx, cms.Key(p.ID))
		}()
	}
	wg.Wait()
}

// newObserver is a loopback libp2p host with a client-mode DHT under the
// swarm's prefix and validator: it asks, but serves and hears nothing.
func newObserver() (host.Host, *dht.IpfsDHT, error) {
	// The observer is the instrument: on a machine a large swarm keeps busy
	// its dials get scaleOpTimeout, not libp2p's 5 s for local addresses.
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(), libp2p.WithDialTimeout(scaleOpTimeout),
		libp2p.SwarmOpts(lpswarm.WithDialTimeoutLocal(scaleOpTimeout)))
	if err != nil {
		return nil, nil, fmt.Errorf("observer host: %w", err)
	}
	kad, err := dht.New(h, dht.Mode(dht.ModeClient), dht.ProtocolPrefix(protocol.DHTProtocolPrefix),
		dht.NamespacedValidator(protocol.CapabilityNamespace, cms.Validator{}))
	if err != nil {
		_ = h.Close()
		return nil, nil, fmt.Errorf("observer dht: %w", err)
	}
	return h, kad, nil
}

// roundPrompts are non-safety questions for the timed rounds.
var roundPrompts = []string{
	"What is 17 * 23?", "What is the capital of Australia?", "What does TCP stand for?",
	"What is the chemical symbol for gold?", "Which organ produces insulin?",
}

// measureRounds asks random nodes under always-swarm (so every query holds
// a round) one at a time, and counts what each round cost the swarm once
// its messages stop arriving.
func measureRounds(ctx context.Context, sw *swarm.Swarm, rep *ScaleReport) error {
	rng := rand.New(rand.NewPCG(rep.Spec.Seed, 0x4047d))
	var query, peers, vote []time.Duration
	var parts, ballots, asks, msgs []int
	var cpu []time.Duration
	for r := range rep.Spec.Rounds {
		i := rng.IntN(len(sw.Nodes))
		c, err := api.NewClient(sw.APIURL(i))
		if err != nil {
			return fmt.Errorf("scale: %w", err)
		}
		q0, c0 := time.Now(), processCPU()
		m0, a0, err := quiet(ctx, sw)
		if err != nil {
			return err
		}
		idle := float64(processCPU()-c0) / float64(time.Since(q0)) // cores busy while nothing happened
		cctx, cancel := context.WithTimeout(ctx, scaleOpTimeout)
		t, cpu0 := time.Now(), processCPU()
		res, err := c.Ask(cctx, api.AskRequest{Prompt: roundPrompts[r%len(roundPrompts)], Policy: string(router.PolicyAlwaysSwarm)})
		cancel()
		if err != nil {
			return fmt.Errorf("scale: round %d: %w", r+1, err)
		}
		query = append(query, time.Since(t))
		m1, a1, err := quiet(ctx, sw)
		if err != nil {
			return err
		}
		cpu = append(cpu, max(0, processCPU()-cpu0-time.Duration(idle*float64(time.Since(t)))))
		tr := res.Trace
		if tr.Tally == nil {
			return fmt.Errorf("scale: round %d: no round was held (route %s: %s)", r+1, tr.Route, tr.Reason)
		}
		peers = append(peers, ms2d(tr.Timings.PeersMS))
		vote = append(vote, ms2d(tr.Timings.VoteMS))
		parts = append(parts, len(tr.Peers))
		ballots = append(ballots, tr.Tally.Ballots)
		asks = append(asks, int(a1-a0))
		msgs = append(msgs, int(m1-m0))
	}
	rep.RoundQuery, rep.RoundPeers, rep.RoundVote = statOf(query), statOf(peers), statOf(vote)
	rep.Participants, rep.Ballots, rep.Asks, rep.Messages = median(parts), median(ballots), median(asks), median(msgs)
	rep.RoundCPU = statOf(cpu).P50
	return nil
}

func ms2d(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

func median(v []int) int {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// quiet waits until the swarm's round-message and ask counters hold still
// for quietFor, and returns them.
func quiet(ctx context.Context, sw *swarm.Swarm) (msgs, asks float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, scaleOpTimeout)
	defer cancel()
	var still time.Time
	lastM, lastA := -1.0, -1.0
	err = waitFor(ctx, func() bool {
		msgs, asks = counterSum(sw.Registries, metricRoundMessages), counterSum(sw.Registries, metricAsks)
		if msgs != lastM || asks != lastA {
			lastM, lastA, still = msgs, asks, time.Now()
			return false
		}
		return time.Since(still) >= quietFor
	})
	if err != nil {
		return 0, 0, fmt.Errorf("scale: wait for the round counters to settle: %w", err)
	}
	return msgs, asks, nil
}

// counterSum adds up a counter over every label set in every registry.
func counterSum(regs []*prometheus.Registry, name string) float64 {
	sum := 0.0
	for _, reg := range regs {
		mfs, err := reg.Gather()
		if err != nil {
			continue
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// WriteMarkdown writes the scale report as a two-column table.
func (r ScaleReport) WriteMarkdown(w io.Writer) error {
	if r.Spec.Nodes == 0 {
		return errors.New("write scale report: empty report")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| %d-node in-process swarm (each node bootstraps from %d random earlier ones) | |\n|---|---|\n",
		r.Spec.Nodes, r.Spec.Bootstrap)
	fmt.Fprintf(&b, "| start %d nodes until every node holds every other's record | %v |\n", r.Spec.Nodes-1, r.Converge.Round(time.Millisecond))
	settled := r.Settle.Round(time.Millisecond).String()
	if r.SettleCores >= settleCores {
		settled = fmt.Sprintf("**not within %v: %.2f cores**, measured as it was", r.Settle.Round(time.Second), r.SettleCores)
	}
	fmt.Fprintf(&b, "| then until the process uses under %.1f cores (over %v) | %s |\n", settleCores, settleWindow, settled)
	fmt.Fprintf(&b, "| one more node: connected to a first bootstrap peer | %v |\n", r.JoinConnect.Round(time.Millisecond))
	fmt.Fprintf(&b, "| one more node: its record reaches all %d others | %v |\n", r.Spec.Nodes-1, r.JoinToAll.Round(time.Millisecond))
	fmt.Fprintf(&b, "| one more node: it holds all %d others' records | %v |\n", r.Spec.Nodes-1, r.JoinLearnAll.Round(time.Millisecond))
	fmt.Fprintf(&b, "| DHT lookup by peer id, p50 / p95 / max | %s, found %d of %d |\n", r.LookupPeer, r.PeerFound, r.PeerAsked)
	fmt.Fprintf(&b, "| DHT providers of a domain, p50 / p95 / max | %s, found %d of %d declared |\n", r.LookupProviders,
		r.ProvidersFound, r.ProvidersDeclared)
	fmt.Fprintf(&b, "| DHT domain lookup with every provider's record, p50 / p95 / max | %s |\n", r.LookupDomain)
	fmt.Fprintf(&b, "| vote round (always-swarm query), wall p50 / p95 / max | %s |\n", r.RoundQuery)
	fmt.Fprintf(&b, "| … asking the peers in parallel | %s |\n", r.RoundPeers)
	fmt.Fprintf(&b, "| … open → tally on gossipsub | %s |\n", r.RoundVote)
	fmt.Fprintf(&b, "| per round (median): proposals, ballots counted, asks served | %d, %d, %d |\n", r.Participants, r.Ballots, r.Asks)
	fmt.Fprintf(&b, "| per round (median): round-topic messages validated across the swarm | %d |\n", r.Messages)
	fmt.Fprintf(&b, "| per round (median): process CPU above the idle rate | %s ms |\n", fmtMS(r.RoundCPU))
	fmt.Fprintf(&b, "| goroutines, live heap (whole process, %d nodes + simulators), heap per node | %d, %.1f MiB, %.2f MiB |\n", r.Spec.Nodes,
		r.Goroutines, mib(r.Heap), mib(r.HeapPerNode()))
	_, err := io.WriteString(w, b.String())
	return err
}
