package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmllm/swarmllm/node"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/node/p2p"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// NodeSpec is one node of a harness swarm.
type NodeSpec struct {
	Model    string   // a simulated profile name (sim.Profile*)
	Domains  []string // declared domains
	Describe string   // free-text description
	APIAddr  string   // "" = 127.0.0.1:0
}

// DefaultNodes are three heterogeneous simulated SLMs, each declaring the
// domains its profile is strong in.
func DefaultNodes() []NodeSpec {
	return []NodeSpec{
		{Model: sim.ProfileQwen, Domains: []string{"arithmetic", "code"},
			Describe: "small qwen model, good at arithmetic, math word problems and programming questions"},
		{Model: sim.ProfileLlama, Domains: []string{"geography", "science", "history"},
			Describe: "llama model that knows geography, capitals, physics, chemistry, biology and history"},
		{Model: sim.ProfileSmol, Domains: []string{"medicine", "networking"},
			Describe: "smollm model tuned for medicine, anatomy, diseases and computer networking protocols"},
	}
}

// Spec describes a harness swarm.
type Spec struct {
	Nodes    []NodeSpec
	Workload *workload.Workload // nil = the shipped workload
	Cloud    bool               // run the cloud FM stand-in and point every node at it
	// LatencyScale multiplies simulated latencies (0 = answer at once).
	LatencyScale float64
	Seed         uint64
	DataDir      string // "" = a fresh temporary directory, removed by Close
	Log          *slog.Logger
	// Configure, if set, adjusts each node's config after the harness fills it.
	Configure func(i int, c *config.Config)
	// Base are the simulated models served (nil = sim.BuiltinProfiles(); a
	// sim.ProfileSet to run the same swarm on another set).
	Base []sim.Profile
	// Profiles are simulated models served beside Base (for example
	// sim.RogueProfile), for NodeSpec.Model to name.
	Profiles []sim.Profile
	// SimOptions are passed to the simulated SLM and cloud FM after the
	// harness's own (for example sim.WithAnswerTokens).
	SimOptions []sim.Option
	// NodeOptions are passed to every node.New after the harness's own.
	NodeOptions []node.Option
	// Private gives every node one swarm key made for this swarm (in the
	// data directory): a private swarm, as the compose testnets run, whose
	// nodes listen on TCP only, send peers questions unredacted and trust a
	// newcomer at 0.5. Without it the swarm is open (newcomers at 0.2, peers
	// get personal data redacted).
	Private bool
	// Bootstrap is how many earlier nodes each node bootstraps from: 0 means
	// all of them; n > 0 picks n at random (seeded by Seed), which large
	// swarms need — a full mesh of dials costs more than it shows, and the
	// DHT and gossip introduce the rest.
	Bootstrap int
}

// Swarm is a running harness swarm.
type Swarm struct {
	Nodes []*node.Node
	SLM   *sim.SLM
	Cloud *sim.Cloud // nil without Spec.Cloud
	// Registries holds each node's Prometheus registry (what its /metrics
	// serves, unless Spec.NodeOptions sets another), so tools can read one
	// node's counters.
	Registries []*prometheus.Registry

	spec             Spec
	log              *slog.Logger
	dataDir          string
	swarmKey         string // the key file every node loads; "" = an open swarm
	rng              *rand.Rand
	slmSrv, cloudSrv *sim.Server
	runCtx           context.Context
	cancel           context.CancelFunc
	runDone          []chan error
	tmp              string
}

// Start brings up the backends and the nodes, and returns once every node
// is connected to every other and holds every other's capability record, or
// ctx ends.
func Start(ctx context.Context, spec Spec) (_ *Swarm, err error) {
	if len(spec.Nodes) == 0 {
		return nil, errors.New("start swarm: no nodes")
	}
	log := spec.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	wl := spec.Workload
	if wl == nil {
		wl = workload.Default()
	}
	s := &Swarm{spec: spec, log: log, rng: rand.New(rand.NewPCG(spec.Seed, 0x5eed))}
	s.runCtx, s.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	s.dataDir = spec.DataDir
	if s.dataDir == "" {
		if s.tmp, err = os.MkdirTemp("", "swarmllm-harness-"); err != nil {
			return nil, fmt.Errorf("start swarm: %w", err)
		}
		s.dataDir = s.tmp
	}
	if spec.Private {
		s.swarmKey = filepath.Join(s.dataDir, "swarm.key")
		if err := p2p.WriteSwarmKey(s.swarmKey); err != nil && !errors.Is(err, p2p.ErrExists) {
			return nil, fmt.Errorf("start swarm: %w", err)
		}
	}

	simOpts := append([]sim.Option{sim.WithSeed(spec.Seed), sim.WithLatencyScale(spec.LatencyScale), sim.WithLogger(log)}, spec.SimOptions...)
	base := spec.Base
	if base == nil {
		base = sim.BuiltinProfiles()
	}
	if s.SLM, err = sim.NewSLM(wl, append(slices.Clone(base), spec.Profiles...), simOpts...); err != nil {
		return nil, fmt.Errorf("start swarm: %w", err)
	}
	if s.slmSrv, err = s.SLM.Start(s.runCtx, "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start swarm: %w", err)
	}
	if spec.Cloud {
		if s.Cloud, err = sim.NewCloud(wl, sim.DefaultCloudProfile(), simOpts...); err != nil {
			return nil, fmt.Errorf("start swarm: %w", err)
		}
		if s.cloudSrv, err = sim.Serve(s.runCtx, "127.0.0.1:0", s.Cloud); err != nil {
			return nil, fmt.Errorf("start swarm: %w", err)
		}
	}

	if err := s.startNodes(spec.Nodes); err != nil {
		return nil, fmt.Errorf("start swarm: %w", err)
	}
	if err := s.WaitJoined(ctx); err != nil {
		return nil, fmt.Errorf("start swarm: %w", err)
	}
	return s, nil
}

// Add starts one more node (configured as Start configures the others,
// Spec.Configure included) and returns its index. It does not wait for the
// node to join: call WaitJoined. Not safe for concurrent use with Start,
// Add or Close.
func (s *Swarm) Add(ns NodeSpec) (int, error) {
	i := len(s.Nodes)
	if err := s.addWave([]NodeSpec{ns}); err != nil {
		return 0, err
	}
	return i, nil
}

// startNodes starts specs. With Spec.Bootstrap set they start in waves, as
// devices boot independently rather than one after another: a wave's nodes
// start at once, each bootstrapping from nodes of earlier waves (listening
// already), and each wave is as large as all before it, so 100 nodes start in
// 8 waves. One at a time, a large swarm's start took longer than its gossip.
// Without Spec.Bootstrap each node dials every earlier one, a full mesh, so
// they start one at a time.
func (s *Swarm) startNodes(specs []NodeSpec) error {
	for len(specs) > 0 {
		k := 1
		if s.spec.Bootstrap > 0 {
			k = min(len(specs), max(1, len(s.Nodes)))
		}
		if err := s.addWave(specs[:k]); err != nil {
			return err
		}
		specs = specs[k:]
	}
	return nil
}

// addWave starts the nodes of specs at once, each bootstrapping from nodes
// already started.
func (s *Swarm) addWave(specs []NodeSpec) error {
	first := len(s.Nodes)
	cfgs := make([]config.Config, len(specs))
	for j, ns := range specs {
		cfgs[j] = s.config(first+j, ns)
	}
	nodes := make([]*node.Node, len(specs))
	regs := make([]*prometheus.Registry, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for j := range specs {
		wg.Go(func() {
			// A registry per node, kept so tools can read each node's metrics.
			regs[j] = prometheus.NewRegistry()
			opts := append([]node.Option{node.WithLogger(s.log.With("node", cfgs[j].Name)), node.WithRegistry(regs[j])}, s.spec.NodeOptions...)
			if nodes[j], errs[j] = node.New(cfgs[j], opts...); errs[j] != nil {
				errs[j] = fmt.Errorf("node %d: %w", first+j+1, errs[j])
			}
		})
	}
	wg.Wait()
	for j, n := range nodes {
		if n == nil {
			continue // Close has nothing of it to stop
		}
		s.Nodes = append(s.Nodes, n)
		s.Registries = append(s.Registries, regs[j])
		done := make(chan error, 1)
		s.runDone = append(s.runDone, done)
		go func() { done <- n.Run(s.runCtx) }()
	}
	return errors.Join(errs...)
}

// config is node i's configuration: its spec, the backends, and the
// addresses of the nodes it bootstraps from.
func (s *Swarm) config(i int, ns NodeSpec) config.Config {
	cfg := config.Default()
	cfg.Model = ns.Model
	cfg.OllamaURL = s.slmSrv.URL()
	cfg.APIAddr = ns.APIAddr
	if cfg.APIAddr == "" {
		cfg.APIAddr = "127.0.0.1:0"
	}
	cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.MDNS = false
	cfg.DataDir = filepath.Join(s.dataDir, fmt.Sprintf("node%d", i+1))
	cfg.Domains = ns.Domains
	cfg.Describe = ns.Describe
	cfg.Name = fmt.Sprintf("node%d", i+1)
	cfg.SwarmKey = s.swarmKey
	if s.cloudSrv != nil {
		cfg.CloudURL, cfg.CloudModel = s.cloudSrv.URL(), sim.ProfileCloudFM
	}
	for _, prev := range s.bootstrapFor() {
		for _, a := range prev.Addrs() {
			cfg.Bootstrap = append(cfg.Bootstrap, a.String())
		}
	}
	if s.spec.Configure != nil {
		s.spec.Configure(i, &cfg)
	}
	return cfg
}

// bootstrapFor picks the started nodes a new node bootstraps from
// (Spec.Bootstrap).
func (s *Swarm) bootstrapFor() []*node.Node {
	k, n := s.spec.Bootstrap, len(s.Nodes)
	if k <= 0 || k >= n {
		return s.Nodes
	}
	out := make([]*node.Node, 0, k)
	for _, j := range s.rng.Perm(n)[:k] {
		out = append(out, s.Nodes[j])
	}
	return out
}

// WaitJoined waits until every node holds a capability record from every
// other node (which implies they are connected and gossip flows). Listing a
// node's records builds a view of each, so a node is polled only until it
// has joined, and a large swarm is polled less often (every n ms, at least
// 10 ms): a 50-node swarm polled flat out spends a core on it.
func (s *Swarm) WaitJoined(ctx context.Context) error {
	want := len(s.Nodes)
	tick := time.NewTicker(max(10*time.Millisecond, time.Duration(want)*time.Millisecond))
	defer tick.Stop()
	done := make([]bool, want)
	for {
		joined := true
		for i, n := range s.Nodes {
			if !done[i] {
				done[i] = len(n.Records(ctx)) >= want
				joined = joined && done[i]
			}
		}
		if joined {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d nodes to know each other: %w", want, ctx.Err())
		case <-tick.C:
		}
	}
}

// SLMURL is the simulated Ollama's base URL.
func (s *Swarm) SLMURL() string { return s.slmSrv.URL() }

// APIURL is node i's HTTP API base URL.
func (s *Swarm) APIURL(i int) string { return "http://" + s.Nodes[i].APIAddr() }

// Close stops every node and backend and removes the temporary data.
func (s *Swarm) Close() error {
	s.cancel()
	// All at once: closed one by one, the nodes still running spend the
	// teardown redialling those gone (a 50-node swarm took 10-17 s).
	nodeErrs := make([][]error, len(s.Nodes))
	var wg sync.WaitGroup
	for i, n := range s.Nodes {
		wg.Go(func() {
			if err := n.Close(); err != nil {
				nodeErrs[i] = append(nodeErrs[i], fmt.Errorf("close node %d: %w", i+1, err))
			}
			if err := <-s.runDone[i]; err != nil {
				nodeErrs[i] = append(nodeErrs[i], fmt.Errorf("run node %d: %w", i+1, err))
			}
		})
	}
	wg.Wait()
	errs := slices.Concat(nodeErrs...)
	for _, srv := range []*sim.Server{s.slmSrv, s.cloudSrv} {
		if srv != nil {
			if err := srv.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
	}
	return errors.Join(errs...)
}
