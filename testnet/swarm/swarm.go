package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/swarmllm/swarmllm/node"
	"github.com/swarmllm/swarmllm/node/config"
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
	// NodeOptions are passed to every node.New after the harness's own.
	NodeOptions []node.Option
}

// Swarm is a running harness swarm.
type Swarm struct {
	Nodes []*node.Node
	SLM   *sim.SLM
	Cloud *sim.Cloud // nil without Spec.Cloud

	slmSrv, cloudSrv *sim.Server
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
	s := &Swarm{}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	dataDir := spec.DataDir
	if dataDir == "" {
		if s.tmp, err = os.MkdirTemp("", "swarmllm-harness-"); err != nil {
			return nil, fmt.Errorf("start swarm: %w", err)
		}
		dataDir = s.tmp
	}

	simOpts := []sim.Option{sim.WithSeed(spec.Seed), sim.WithLatencyScale(spec.LatencyScale), sim.WithLogger(log)}
	if s.SLM, err = sim.NewSLM(wl, sim.BuiltinProfiles(), simOpts...); err != nil {
		return nil, fmt.Errorf("start swarm: %w", err)
	}
	if s.slmSrv, err = s.SLM.Start(runCtx, "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start swarm: %w", err)
	}
	if spec.Cloud {
		if s.Cloud, err = sim.NewCloud(wl, sim.DefaultCloudProfile(), simOpts...); err != nil {
			return nil, fmt.Errorf("start swarm: %w", err)
		}
		if s.cloudSrv, err = sim.Serve(runCtx, "127.0.0.1:0", s.Cloud); err != nil {
			return nil, fmt.Errorf("start swarm: %w", err)
		}
	}

	for i, ns := range spec.Nodes {
		cfg := config.Default()
		cfg.Model = ns.Model
		cfg.OllamaURL = s.slmSrv.URL()
		cfg.APIAddr = ns.APIAddr
		if cfg.APIAddr == "" {
			cfg.APIAddr = "127.0.0.1:0"
		}
		cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
		cfg.MDNS = false
		cfg.DataDir = filepath.Join(dataDir, fmt.Sprintf("node%d", i+1))
		cfg.Domains = ns.Domains
		cfg.Describe = ns.Describe
		cfg.Name = fmt.Sprintf("node%d", i+1)
		if s.cloudSrv != nil {
			cfg.CloudURL, cfg.CloudModel = s.cloudSrv.URL(), sim.ProfileCloudFM
		}
		// Each node bootstraps from the ones before it: a chain is enough,
		// the DHT and gossip introduce the rest.
		for _, prev := range s.Nodes {
			for _, a := range prev.Addrs() {
				cfg.Bootstrap = append(cfg.Bootstrap, a.String())
			}
		}
		if spec.Configure != nil {
			spec.Configure(i, &cfg)
		}
		n, err := node.New(cfg, append([]node.Option{node.WithLogger(log.With("node", cfg.Name))}, spec.NodeOptions...)...)
		if err != nil {
			return nil, fmt.Errorf("start swarm: node %d: %w", i+1, err)
		}
		s.Nodes = append(s.Nodes, n)
		done := make(chan error, 1)
		s.runDone = append(s.runDone, done)
		go func() { done <- n.Run(runCtx) }()
	}
	if err := s.WaitJoined(ctx); err != nil {
		return nil, fmt.Errorf("start swarm: %w", err)
	}
	return s, nil
}

// WaitJoined waits until every node holds a capability record from every
// other node (which implies they are connected and gossip flows).
func (s *Swarm) WaitJoined(ctx context.Context) error {
	want := len(s.Nodes)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		joined := true
		for _, n := range s.Nodes {
			if len(n.Records(ctx)) < want {
				joined = false
				break
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

// APIURL is node i's HTTP API base URL.
func (s *Swarm) APIURL(i int) string { return "http://" + s.Nodes[i].APIAddr() }

// Close stops every node and backend and removes the temporary data.
func (s *Swarm) Close() error {
	var errs []error
	s.cancel()
	for i, n := range s.Nodes {
		if err := n.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close node %d: %w", i+1, err))
		}
		if err := <-s.runDone[i]; err != nil {
			errs = append(errs, fmt.Errorf("run node %d: %w", i+1, err))
		}
	}
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
