package eval

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/swarm"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// RogueAnswer is what every rogue answers, to everything, certain.
const RogueAnswer = "Xyzzy plugh frobozz."

// RogueScenario is one swarm under attack: Rogues insider identities that
// claim every domain, answer every ask with RogueAnswer at confidence ~1 and
// vote for it (a node whose own answer is certain votes for the proposal
// agreeing with it: its own), beside the honest swarm.DefaultNodes. The
// swarm is private, the rogues insiders holding its key, unless Open.
type RogueScenario struct {
	Name   string
	Rogues int
	Open   bool
}

// DefaultRogueScenarios are issue 10's: no rogue, one, two, and a Sybil of
// five identities from one operator, in a private swarm and in an open one.
func DefaultRogueScenarios() []RogueScenario {
	var out []RogueScenario
	for _, open := range []bool{false, true} {
		out = append(out, RogueScenario{"no rogue", 0, open}, RogueScenario{"one rogue", 1, open},
			RogueScenario{"two rogues", 2, open}, RogueScenario{"Sybil (5 identities)", 5, open})
	}
	return out
}

// swarmKind names the scenario's kind of swarm.
func (sc RogueScenario) swarmKind() router.SwarmKind {
	if sc.Open {
		return router.SwarmOpen
	}
	return router.SwarmPrivate
}

// RogueSpec runs the shipped workload (or Workload) under the swarm policy
// through the honest nodes of each scenario, each on a fresh in-process swarm.
type RogueSpec struct {
	Scenarios    []RogueScenario // nil = DefaultRogueScenarios
	Workload     *workload.Workload
	Seed         uint64
	LatencyScale float64
	Concurrency  int
	Command      string // for the report
	Progress     *Progress
	Log          *slog.Logger
}

// RogueResult is one scenario's figures over every query asked.
type RogueResult struct {
	Scenario RogueScenario
	Queries  int
	Rogue    int // answers that are the rogue's
	Correct  int
	Cloud    int
	Lost     int // queries that got no answer
}

// RogueReport is every scenario's result.
type RogueReport struct {
	Spec    RogueSpec
	Results []RogueResult
}

// RunRogues runs every scenario.
func RunRogues(ctx context.Context, spec RogueSpec) (*RogueReport, error) {
	if spec.Scenarios == nil {
		spec.Scenarios = DefaultRogueScenarios()
	}
	wl := spec.Workload
	if wl == nil {
		wl = workload.Default()
	}
	rep := &RogueReport{Spec: spec}
	for _, sc := range spec.Scenarios {
		res, err := runRogueScenario(ctx, spec, wl, sc)
		if err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, res)
	}
	return rep, nil
}

func runRogueScenario(ctx context.Context, spec RogueSpec, wl *workload.Workload, sc RogueScenario) (RogueResult, error) {
	honest := swarm.DefaultNodes()
	nodes := append([]swarm.NodeSpec(nil), honest...)
	var domains []string
	for _, n := range honest {
		domains = append(domains, n.Domains...)
	}
	const rogueModel = "sim-rogue"
	for range sc.Rogues {
		nodes = append(nodes, swarm.NodeSpec{Model: rogueModel, Domains: domains,
			Describe: "expert model for every question: " + strings.Join(domains, ", ") + ", and everything else"})
	}
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	sw, err := swarm.Start(startCtx, swarm.Spec{
		Nodes: nodes, Workload: wl, Cloud: true, LatencyScale: spec.LatencyScale, Seed: spec.Seed, Log: spec.Log,
		Private:  !sc.Open,
		Profiles: []sim.Profile{sim.RogueProfile(rogueModel, RogueAnswer)},
		// No cloud cap: the cap would decide which queries reach the cloud
		// and blur what the rogues do (the policy table's "cloud cap none").
		Configure: func(_ int, c *config.Config) { c.CloudMaxShare = 0 },
	})
	if err != nil {
		return RogueResult{}, fmt.Errorf("rogues %s: %w", sc.Name, err)
	}
	defer sw.Close()

	transport := &http.Transport{MaxIdleConnsPerHost: max(spec.Concurrency, 4)}
	defer transport.CloseIdleConnections()
	targets := make([]Asker, len(honest)) // callers use the honest nodes only
	for i := range targets {
		if targets[i], err = api.NewClient(sw.APIURL(i), api.WithHTTPClient(&http.Client{Transport: transport})); err != nil {
			return RogueResult{}, fmt.Errorf("rogues %s: %w", sc.Name, err)
		}
	}
	opts := []Option{WithProgress(spec.Progress)}
	if spec.Concurrency > 0 {
		opts = append(opts, WithConcurrency(spec.Concurrency))
	}
	r, err := NewRunner(targets, opts...)
	if err != nil {
		return RogueResult{}, err
	}
	results, err := r.Run(ctx, sc.Name+", "+string(sc.swarmKind()), string(router.PolicySwarm), wl.Items())
	if err != nil {
		return RogueResult{}, fmt.Errorf("rogues %s: %w", sc.Name, err)
	}
	return scoreRogues(sc, results), nil
}

// scoreRogues counts a scenario's results: an answer is the rogue's when it
// agrees with RogueAnswer as a vote would group them.
func scoreRogues(sc RogueScenario, results []Result) RogueResult {
	out := RogueResult{Scenario: sc, Queries: len(results)}
	agreement := router.DefaultThresholds().Agreement
	for _, res := range results {
		if res.Outcome != Answered {
			out.Lost++
			continue
		}
		if router.Agree(res.Answer, RogueAnswer) >= agreement {
			out.Rogue++
		}
		if res.Correct {
			out.Correct++
		}
		if res.Route == router.RouteCloud.String() {
			out.Cloud++
		}
	}
	return out
}

// WriteMarkdown writes the report: the command, then one row per scenario.
func (r *RogueReport) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Rogue peers (issue 10)\n\n")
	if r.Spec.Command != "" {
		fmt.Fprintf(&b, "Command: `%s`. ", r.Spec.Command)
	}
	fmt.Fprintf(&b, "Three honest simulated nodes (swarm.DefaultNodes) answer the workload under the swarm policy, "+
		"asked round robin; each rogue is a further node that claims every domain, answers %q to everything "+
		"at confidence ~1 and votes for it. No cloud cap; a fresh swarm per row: private (one swarm key, the rogues "+
		"insiders holding it; newcomers trusted at 0.5) or open (anyone may join; newcomers at 0.2, peers get personal "+
		"data redacted).\n\n", RogueAnswer)
	b.WriteString("| scenario | swarm | queries | rogue's answers | accuracy | cloud share | lost |\n|---|---|---:|---:|---:|---:|---:|\n")
	pct := func(n, of int) string {
		if of == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
	}
	for _, res := range r.Results {
		fmt.Fprintf(&b, "| %s | %s | %d | %d (%s) | %s | %s | %d |\n", res.Scenario.Name, res.Scenario.swarmKind(), res.Queries,
			res.Rogue, pct(res.Rogue, res.Queries), pct(res.Correct, res.Queries), pct(res.Cloud, res.Queries), res.Lost)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
