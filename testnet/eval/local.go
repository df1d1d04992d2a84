package eval

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/swarm"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// startTimeout bounds bringing up one in-process swarm.
const startTimeout = 60 * time.Second

// Local runs setups on in-process swarms: simulated SLMs and cloud FM
// (testnet/sim) behind real nodes on 127.0.0.1 (testnet/swarm). Each setup
// gets a fresh swarm, so budgets and voters' track records start clean and
// no run depends on the one before.
// The swarm is private (one swarm key, as the compose testnets run) unless
// the setup asks for an open one.
type Local struct {
	Nodes    []swarm.NodeSpec   // nil = swarm.DefaultNodes()
	Workload *workload.Workload // nil = the shipped workload
	// ProfileSet names the simulated SLMs' set (sim.ProfileSets; "" = shipped).
	ProfileSet   string
	LatencyScale float64 // simulated latencies × this (0 = instant)
	Seed         uint64
	Concurrency  int // queries in flight (default 4)
	Progress     *Progress
	Log          *slog.Logger
}

// Run starts a swarm configured as setup says (--confident and
// --cloud-max-share on every node; NaN keeps the default), asks items
// round robin over its nodes under setup.Policy, and closes the swarm.
func (l Local) Run(ctx context.Context, setup Setup, items []workload.Item) (Run, error) {
	nodes := l.Nodes
	if nodes == nil {
		nodes = swarm.DefaultNodes()
	}
	var base []sim.Profile
	if l.ProfileSet != "" {
		var err error
		if base, err = sim.ProfileSet(l.ProfileSet); err != nil {
			return Run{Setup: setup}, fmt.Errorf("run %s: %w", setup.Label(), err)
		}
	}
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	sw, err := swarm.Start(startCtx, swarm.Spec{
		Nodes: nodes, Workload: l.Workload, Cloud: true, LatencyScale: l.LatencyScale, Seed: l.Seed, Log: l.Log, Base: base,
		Private:   !setup.Open,
		Configure: func(_ int, c *config.Config) { configure(c, setup) },
	})
	if err != nil {
		return Run{Setup: setup}, fmt.Errorf("run %s: %w", setup.Label(), err)
	}
	defer sw.Close()

	transport := &http.Transport{MaxIdleConnsPerHost: max(l.Concurrency, 4)}
	defer transport.CloseIdleConnections()
	targets := make([]Asker, len(sw.Nodes))
	for i := range sw.Nodes {
		c, err := api.NewClient(sw.APIURL(i), api.WithHTTPClient(&http.Client{Transport: transport}))
		if err != nil {
			return Run{Setup: setup}, fmt.Errorf("run %s: %w", setup.Label(), err)
		}
		targets[i] = c
	}
	opts := []Option{WithProgress(l.Progress)}
	if l.Concurrency > 0 {
		opts = append(opts, WithConcurrency(l.Concurrency))
	}
	r, err := NewRunner(targets, opts...)
	if err != nil {
		return Run{Setup: setup}, err
	}
	start := time.Now()
	label := setup.Label()
	if l.ProfileSet != "" && l.ProfileSet != sim.ProfileSetShipped {
		label += " " + l.ProfileSet // the progress line tells the sets' runs apart
	}
	results, err := r.Run(ctx, label, setup.Policy, items)
	return Run{Setup: setup, Results: results, Wall: time.Since(start)}, err
}

// configure applies a setup's node settings; NaN leaves the default.
func configure(c *config.Config, s Setup) {
	if !math.IsNaN(s.Confident) {
		c.Confident = s.Confident
	}
	if !math.IsNaN(s.CloudMaxShare) {
		c.CloudMaxShare = s.CloudMaxShare
	}
}
