package eval

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/swarm"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// StreamSpec measures the early decision (issue 12): the workload asked as
// streams under the swarm policy, once with every local answer judged whole
// (--prefix-tokens 0, today's decision) and once per prefix rule, each on a
// fresh in-process swarm, in one run.
type StreamSpec struct {
	PrefixTokens []int   // the rules' --prefix-tokens (nil = 2, 4, 8)
	Margin       float64 // their --prefix-margin
	// AnswerTokens pads the simulated answers to a realistic length
	// (sim.WithAnswerTokens; 0 = 40).
	AnswerTokens int
	Workload     *workload.Workload
	Items        []workload.Item // the items asked (nil = all of the workload's)
	Seed         uint64
	LatencyScale float64
	Concurrency  int
	Command      string // for the report
	Progress     *Progress
	Log          *slog.Logger
}

// StreamRun is one side: its rule (0 tokens: the whole answer decides) and results.
type StreamRun struct {
	PrefixTokens int
	Results      []Result
}

// StreamReport is the whole-answer side and every prefix side.
type StreamReport struct {
	Spec StreamSpec
	Runs []StreamRun
}

// RunStream runs the whole-answer side, then each prefix rule.
func RunStream(ctx context.Context, spec StreamSpec) (*StreamReport, error) {
	if spec.PrefixTokens == nil {
		spec.PrefixTokens = []int{2, 4, 8}
	}
	if spec.AnswerTokens == 0 {
		spec.AnswerTokens = 40
	}
	wl := spec.Workload
	if wl == nil {
		wl = workload.Default()
	}
	if spec.Items == nil {
		spec.Items = wl.Items()
	}
	rep := &StreamReport{Spec: spec}
	for _, n := range append([]int{0}, spec.PrefixTokens...) {
		results, err := runStreamSide(ctx, spec, wl, n)
		if err != nil {
			return nil, err
		}
		rep.Runs = append(rep.Runs, StreamRun{PrefixTokens: n, Results: results})
	}
	return rep, nil
}

func runStreamSide(ctx context.Context, spec StreamSpec, wl *workload.Workload, tokens int) ([]Result, error) {
	label := sideName(tokens)
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	sw, err := swarm.Start(startCtx, swarm.Spec{
		Nodes: swarm.DefaultNodes(), Workload: wl, Cloud: true, LatencyScale: spec.LatencyScale, Seed: spec.Seed, Log: spec.Log,
		SimOptions: []sim.Option{sim.WithAnswerTokens(spec.AnswerTokens)},
		Configure: func(_ int, c *config.Config) {
			c.PrefixTokens, c.PrefixMargin = tokens, spec.Margin
			c.CloudMaxShare = 0 // no cap: the cap would pick which queries reach the cloud, on both sides differently
		},
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", label, err)
	}
	defer sw.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: max(spec.Concurrency, 4)}
	defer transport.CloseIdleConnections()
	targets := make([]Asker, len(sw.Nodes))
	for i := range targets {
		if targets[i], err = api.NewClient(sw.APIURL(i), api.WithHTTPClient(&http.Client{Transport: transport})); err != nil {
			return nil, fmt.Errorf("stream %s: %w", label, err)
		}
	}
	opts := []Option{WithProgress(spec.Progress), WithStream()}
	if spec.Concurrency > 0 {
		opts = append(opts, WithConcurrency(spec.Concurrency))
	}
	r, err := NewRunner(targets, opts...)
	if err != nil {
		return nil, err
	}
	results, err := r.Run(ctx, label, string(router.PolicySwarm), spec.Items)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", label, err)
	}
	return results, nil
}

func sideName(tokens int) string {
	if tokens == 0 {
		return "whole answer"
	}
	return fmt.Sprintf("first %d tokens", tokens)
}

// StreamFigures are one side's figures.
type StreamFigures struct {
	Queries, Answered, Correct, Cloud int
	Verdicts                          map[string]int // prefix verdicts
	// FirstText and Latency per route: when the first words and the whole
	// answer arrived.
	FirstText, Latency map[string]Percentiles
	// Confident local answers (local route, not best-effort): time to the
	// first words as a share of the time to the whole answer.
	ConfidentLocal           int
	ShareP50, ShareP95, Mean float64
}

// Figures sums one side up.
func (r StreamRun) Figures() StreamFigures {
	f := StreamFigures{Queries: len(r.Results), Verdicts: map[string]int{},
		FirstText: map[string]Percentiles{}, Latency: map[string]Percentiles{}}
	first, whole := map[string][]time.Duration{}, map[string][]time.Duration{}
	var shares []float64
	for _, res := range r.Results {
		if res.Outcome != Answered {
			continue
		}
		f.Answered++
		if res.Correct {
			f.Correct++
		}
		if res.Route == router.RouteCloud.String() {
			f.Cloud++
		}
		if res.Prefix != "" {
			f.Verdicts[res.Prefix]++
		}
		first[res.Route] = append(first[res.Route], res.FirstText)
		whole[res.Route] = append(whole[res.Route], res.Latency)
		if res.Route == router.RouteLocal.String() && !slices.Contains(res.Flags, router.FlagBestEffort) && res.Latency > 0 {
			shares = append(shares, float64(res.FirstText)/float64(res.Latency))
		}
	}
	for route := range first {
		f.FirstText[route], f.Latency[route] = percentiles(first[route]), percentiles(whole[route])
	}
	f.ConfidentLocal = len(shares)
	if len(shares) > 0 {
		slices.Sort(shares)
		at := func(q float64) float64 {
			return shares[max(0, min(int(float64(len(shares))*q+0.999999)-1, len(shares)-1))]
		}
		f.ShareP50, f.ShareP95 = at(0.5), at(0.95)
		sum := 0.0
		for _, s := range shares {
			sum += s
		}
		f.Mean = sum / float64(len(shares))
	}
	return f
}

// WriteMarkdown writes the report: accuracy and cloud share per side with
// the change against the whole-answer side, the verdicts, and time to first
// words per route.
func (r *StreamReport) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Streaming and early decisions (issue 12)\n\n")
	if r.Spec.Command != "" {
		fmt.Fprintf(&b, "Command: `%s`. ", r.Spec.Command)
	}
	fmt.Fprintf(&b, "Three simulated nodes (swarm.DefaultNodes) and a simulated cloud FM, swarm policy, no cloud cap, seed %d, "+
		"latency scale %g, answers padded to %d tokens (sim.WithAnswerTokens); every query asked as a stream "+
		"(/swarm/v1/ask, \"stream\": true), round robin, on a fresh swarm per side. The whole-answer side is today's "+
		"decision (--prefix-tokens 0); each prefix side judges the local answer's first N tokens (--prefix-margin %g).\n\n",
		r.Spec.Seed, r.Spec.LatencyScale, r.Spec.AnswerTokens, r.Spec.Margin)
	b.WriteString("| decision | answered | accuracy | Δ accuracy | cloud share | Δ cloud | commit / escalate / wait | confident local: first words / whole answer, p50 (p95) |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---|---:|\n")
	pct := func(n, of int) float64 {
		if of == 0 {
			return 0
		}
		return 100 * float64(n) / float64(of)
	}
	var base StreamFigures
	for i, run := range r.Runs {
		f := run.Figures()
		if i == 0 {
			base = f
		}
		acc, cloud := pct(f.Correct, f.Queries), pct(f.Cloud, f.Queries)
		fmt.Fprintf(&b, "| %s | %d/%d | %.1f%% | %+.1f | %.1f%% | %+.1f | %d / %d / %d | %.0f%% (%.0f%%) of %d |\n",
			sideName(run.PrefixTokens), f.Answered, f.Queries, acc, acc-pct(base.Correct, base.Queries), cloud, cloud-pct(base.Cloud, base.Queries),
			f.Verdicts["commit"], f.Verdicts["escalate"], f.Verdicts["wait"], 100*f.ShareP50, 100*f.ShareP95, f.ConfidentLocal)
	}
	b.WriteString("\nTime to the first words and to the whole answer, per route, p50 / p95 (n):\n\n")
	b.WriteString("| decision | route | first words | whole answer |\n|---|---|---:|---:|\n")
	for _, run := range r.Runs {
		f := run.Figures()
		for _, route := range []router.Route{router.RouteLocal, router.RouteSwarm, router.RouteCloud} {
			ft, ok := f.FirstText[route.String()]
			if !ok {
				continue
			}
			lt := f.Latency[route.String()]
			fmt.Fprintf(&b, "| %s | %s | %s / %s | %s / %s (%d) |\n", sideName(run.PrefixTokens), route,
				msString(ft.P50), msString(ft.P95), msString(lt.P50), msString(lt.P95), lt.N)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func msString(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}
