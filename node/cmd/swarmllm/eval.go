package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/eval"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/swarm"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

func runEval(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("swarmllm eval", flag.ContinueOnError)
	wlPath := fs.String("workload", "", "workload CSV with columns dataset,qid,prompt,answer[,domain] (default: the shipped one)")
	nodeURLs := fs.String("node", "", "node API URLs to query, comma separated, round robin (default: start an in-process swarm on simulated models)")
	policies := fs.String("policy", "local-only,cascade,swarm,always-swarm,cloud-only", "policies to compare, comma separated")
	concurrency := fs.Int("concurrency", 8, "queries in flight")
	out := fs.String("out", "eval-out", "directory for report.md, the CSVs and the plot")
	perClass := fs.Int("limit", 0, "use only the first N items of each class (0: all)")
	latency := fs.Float64("latency-scale", 1, "in-process: simulated latencies × this for the policy table (the sweep runs at 0)")
	confident := fs.Float64("confident", router.DefaultThresholds().Confident, "in-process: the nodes' --confident for the policy table")
	caps := fs.String("cloud-max-share", "0,0.25", "in-process: the nodes' --cloud-max-share values to run the table with, comma separated (0: no cap)")
	sweep := fs.String("sweep", "0.3:1:0.05", "in-process: --confident values to sweep for swarm and cascade, a list or lo:hi:step (empty: no sweep)")
	sweepCap := fs.Float64("sweep-cloud-max-share", 0, "in-process: the nodes' --cloud-max-share during the sweep (0: no cap)")
	seed := fs.Uint64("seed", 0, "in-process: simulator seed")
	openPolicies := fs.String("open-policies", string(router.PolicySwarm), "in-process: policies also run on an open swarm (no swarm key), reported beside the table of private swarms; empty: none")
	profileSets := fs.String("profiles", strings.Join(sim.ProfileSets, ","), "in-process: simulated SLM profile sets ("+
		strings.Join(sim.ProfileSets, ", ")+"), comma separated: the first runs the study, the others the sweep and local-only and cloud-only, to measure routing on them too")
	verbose := fs.Bool("v", false, "log what the nodes do")
	load := fs.Int("load", 0, "load mode: send N queries to one node of an in-process swarm on the fast simulated model and report throughput, latency, failures, goroutines and heap")
	inflight := fs.Int("inflight", 64, "load mode: queries in flight")
	loadNodes := fs.Int("load-nodes", 3, "load mode: swarm size (every query goes to the first node)")
	scale := fs.String("scale", "", "scale mode: start an N-node in-process swarm and report record propagation, DHT lookups and vote rounds; a list (10,50,100,200) runs each size in turn and adds a table and scale.svg")
	loadRounds := fs.Int("load-rounds", 1, "load mode: run the load this many times (memory and goroutines are measured after each)")
	privacy := fs.Bool("privacy", false, "privacy mode: run the privacy benchmark (redact and block; the detectors alone and with the on-device model) and report leaks per kind, precision and words kept")
	privacyOllama := fs.String("privacy-ollama", "", "privacy mode: Ollama URL of the on-device model (default: a simulated one in-process)")
	privacyModel := fs.String("privacy-model", "", "privacy mode: that Ollama's model")
	privacyCases := fs.String("privacy-cases", "", "privacy mode: a benchmark in JSON Lines (default: the shipped one, testnet/eval/testdata/privacy.jsonl)")
	rogues := fs.Bool("rogues", false, "rogues mode: run the workload under the swarm policy with 0, 1 and 2 insider rogues and a 5-identity Sybil (claim every domain, answer wrong at confidence ~1, vote for themselves) and report the share of answers that are theirs, accuracy and cloud share")
	knowledgeMode := fs.Bool("knowledge", false, "knowledge mode: ask the knowledge workload (made-up facts only one node's documents hold) at every node, without and with that node's --knowledge, and report accuracy, citations and cloud share")
	stream := fs.Bool("stream", false, "stream mode: ask the workload as streams with every local answer judged whole, then judged on its first --stream-prefix tokens, and report accuracy, cloud share and time to first words per route")
	streamPrefix := fs.String("stream-prefix", "2,4,8", "stream mode: the --prefix-tokens values to compare with the whole-answer decision, comma separated")
	streamMargin := fs.Float64("stream-margin", router.DefaultPrefixRule().Margin, "stream mode: the --prefix-margin of the prefix sides")
	loadPause := fs.Duration("load-pause", 0, "load mode: idle this long before each round after the first (e.g. 150s, past the 2-minute cache lifetimes)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: swarmllm eval [flags]

Runs a workload through a node's API under each policy, scores the answers
(testnet/workload.Correct) and writes a table per class — accuracy, share of
local/swarm/cloud answers, p50/p95 latency per route, tokens sent to the cloud —
as Markdown and CSV, plus every query's outcome.

Without --node it starts its own three-node swarm on 127.0.0.1 with simulated
models (a test instrument) and a simulated cloud FM — a fresh swarm per run —
and also sweeps the confidence threshold for swarm and cascade to plot
accuracy against cloud share (curve.svg).`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if *verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	progress := eval.NewProgress(os.Stderr, isTerminal(os.Stderr))
	if *privacy {
		spec := eval.PrivacySpec{OllamaURL: *privacyOllama, Model: *privacyModel, Command: "swarmllm eval " + strings.Join(args, " ")}
		if *privacyCases != "" {
			f, err := os.Open(*privacyCases)
			if err != nil {
				return err
			}
			spec.Cases, err = eval.ReadPrivacyCases(f)
			f.Close()
			if err != nil {
				return err
			}
		}
		rep, err := eval.RunPrivacyStudy(ctx, spec)
		if err != nil {
			return err
		}
		return printReport(rep, *out, "privacy.md", set["out"])
	}
	if *knowledgeMode {
		rep, err := eval.RunKnowledge(ctx, eval.KnowledgeSpec{Seed: *seed, Concurrency: *concurrency, Progress: progress, Log: log,
			Command: "swarmllm eval " + strings.Join(args, " ")})
		if err != nil {
			return err
		}
		return printReport(rep, *out, "knowledge.md", set["out"])
	}
	if *rogues {
		rep, err := eval.RunRogues(ctx, eval.RogueSpec{Seed: *seed, Concurrency: *concurrency, Progress: progress, Log: log,
			Command: "swarmllm eval " + strings.Join(args, " ")})
		if err != nil {
			return err
		}
		return printReport(rep, *out, "rogues.md", set["out"])
	}
	if *stream {
		var tokens []int
		for _, f := range strings.Split(*streamPrefix, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return fmt.Errorf("--stream-prefix %q: want whole numbers ≥ 1", *streamPrefix)
			}
			tokens = append(tokens, n)
		}
		rep, err := eval.RunStream(ctx, eval.StreamSpec{PrefixTokens: tokens, Margin: *streamMargin,
			Seed: *seed, LatencyScale: *latency, Concurrency: *concurrency, Progress: progress, Log: log,
			Command: "swarmllm eval " + strings.Join(args, " ")})
		if err != nil {
			return err
		}
		return printReport(rep, *out, "stream.md", set["out"])
	}
	if *scale != "" {
		sizes, err := scaleSizes(*scale)
		if err != nil {
			return err
		}
		return evalScale(ctx, sizes, eval.ScaleSpec{Seed: *seed, Log: log, Phases: os.Stderr}, *out, set["out"])
	}
	if *load > 0 {
		return evalLoad(ctx, eval.LoadSpec{Queries: *load, InFlight: *inflight, Rounds: *loadRounds, Pause: *loadPause, Nodes: *loadNodes, Seed: *seed,
			Policy: firstPolicy(set["policy"], *policies), Progress: progress, Log: log}, *out, set["out"])
	}

	wl := workload.Default()
	if *wlPath != "" {
		var err error
		if wl, err = workload.LoadFile(*wlPath); err != nil {
			return err
		}
	}
	items := firstPerClass(wl.Items(), *perClass)
	pols, err := parsePolicies(*policies)
	if err != nil {
		return fmt.Errorf("--policy: %w", err)
	}
	about := fmt.Sprintf("Command: `swarmllm eval %s`. Workload: %d items (%s).", strings.Join(args, " "), len(items), workloadName(*wlPath))

	if *nodeURLs != "" {
		for _, name := range []string{"latency-scale", "confident", "cloud-max-share", "sweep", "sweep-cloud-max-share", "seed", "open-policies", "profiles"} {
			if set[name] {
				return fmt.Errorf("--%s configures the in-process swarm; a node given with --node keeps its own flags", name)
			}
		}
		res, err := evalNodes(ctx, strings.Split(*nodeURLs, ","), pols, items, *concurrency, progress)
		if err != nil {
			return err
		}
		return writeEvalReport(*out, about+" Nodes: "+*nodeURLs+" (their own settings).", res)
	}

	capList, err := parseFloats(*caps)
	if err != nil {
		return fmt.Errorf("--cloud-max-share: %w", err)
	}
	sweepList, err := parseSweep(*sweep)
	if err != nil {
		return fmt.Errorf("--sweep: %w", err)
	}
	var openPols []string
	if *openPolicies != "" {
		if openPols, err = parsePolicies(*openPolicies); err != nil {
			return fmt.Errorf("--open-policies: %w", err)
		}
	}
	sets, err := parseProfileSets(*profileSets)
	if err != nil {
		return fmt.Errorf("--profiles: %w", err)
	}
	local := eval.Local{LatencyScale: *latency, Seed: *seed, Concurrency: *concurrency, Progress: progress, Log: log,
		Workload: wl, ProfileSet: sets[0]}
	study := eval.Study{Policies: pols, Confident: *confident, Caps: capList, Sweep: sweepList, SweepCap: *sweepCap,
		Open: openPols, OtherSets: sets[1:]}
	res, err := local.RunStudy(ctx, study, items)
	if err != nil {
		return err
	}
	about += fmt.Sprintf(" In-process swarm: three nodes on simulated SLMs (%s; %s profile set) and a simulated cloud FM, seed %d, a fresh private swarm per run;"+
		" policy table at latency scale %s, sweep at 0, sweep cloud cap %s.", describeNodes(), sets[0], *seed,
		strconv.FormatFloat(*latency, 'f', -1, 64), capName(*sweepCap))
	if len(sets) > 1 {
		about += fmt.Sprintf(" Routing also measured on the %s profile set (sweep, local-only and cloud-only).", strings.Join(sets[1:], ", "))
	}
	return writeEvalReport(*out, about, res)
}

// evalLoad runs the load mode; it fails when a query failed or was lost or
// goroutines did not come back to their level before the load.
func evalLoad(ctx context.Context, spec eval.LoadSpec, dir string, write bool) error {
	rep, err := eval.RunLoad(ctx, spec)
	if err != nil {
		return err
	}
	if err := printReport(rep, dir, "load.md", write); err != nil {
		return err
	}
	if failed, lost := rep.Failures(); failed > 0 || lost > 0 || rep.Leaked() {
		return fmt.Errorf("load: %d failed, %d lost, goroutines back to their level before the load: %v", failed, lost, !rep.Leaked())
	}
	return nil
}

// scaleSizes parses --scale: one swarm size or a comma-separated list.
func scaleSizes(v string) ([]int, error) {
	var sizes []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return nil, fmt.Errorf("--scale %q: want swarm sizes of at least 2 nodes", v)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// evalScale runs the scale mode: one size as a report, several as a series
// with a table and, with write, its plot.
func evalScale(ctx context.Context, sizes []int, spec eval.ScaleSpec, dir string, write bool) error {
	fmt.Fprintf(os.Stderr, "starting %v nodes on 127.0.0.1, one swarm at a time …\n", sizes)
	if len(sizes) == 1 {
		spec.Nodes = sizes[0]
		rep, err := eval.RunScale(ctx, spec)
		if err != nil {
			return err
		}
		return printReport(rep, dir, "scale.md", write)
	}
	series, err := eval.RunScales(ctx, sizes, spec)
	if err != nil {
		return err
	}
	if err := printReport(series, dir, "scale.md", write); err != nil {
		return err
	}
	if !write || len(series.Reports) < 2 {
		return series.Err
	}
	var svg strings.Builder
	if err := series.WriteSVG(&svg); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "scale.svg"), []byte(svg.String()), 0o644); err != nil {
		return err
	}
	return series.Err
}

// printReport prints a report's Markdown and, with write, saves it as dir/name.
func printReport(rep interface{ WriteMarkdown(io.Writer) error }, dir, name string, write bool) error {
	var md strings.Builder
	if err := rep.WriteMarkdown(&md); err != nil {
		return err
	}
	fmt.Print(md.String())
	if !write {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), []byte(md.String()), 0o644)
}

// firstPolicy is the policy for load mode: the only one given, else swarm.
func firstPolicy(given bool, list string) string {
	if !given {
		return string(router.PolicySwarm)
	}
	return strings.TrimSpace(strings.Split(list, ",")[0])
}

// evalNodes runs each policy against nodes started elsewhere.
func evalNodes(ctx context.Context, urls []string, pols []string, items []workload.Item, concurrency int,
	progress *eval.Progress) (eval.Results, error) {
	var targets []eval.Asker
	for _, u := range urls {
		c, err := api.NewClient(strings.TrimSpace(u))
		if err != nil {
			return eval.Results{}, err
		}
		targets = append(targets, c)
	}
	r, err := eval.NewRunner(targets, eval.WithConcurrency(concurrency), eval.WithProgress(progress))
	if err != nil {
		return eval.Results{}, err
	}
	var res eval.Results
	for _, p := range pols {
		setup := eval.Setup{Policy: p, Confident: math.NaN(), CloudMaxShare: math.NaN()}
		results, err := r.Run(ctx, setup.Label(), p, items)
		if err != nil {
			return res, err
		}
		res.Table = append(res.Table, eval.Run{Setup: setup, Results: results})
	}
	return res, nil
}

func writeEvalReport(dir, about string, res eval.Results) error {
	if err := eval.WriteReport(dir, about, res); err != nil {
		return err
	}
	report, err := os.ReadFile(dir + "/" + eval.FileReport)
	if err != nil {
		return err
	}
	fmt.Print(string(report))
	fmt.Fprintf(os.Stderr, "wrote %s/{%s,%s,%s}", dir, eval.FileReport, eval.FilePolicies, eval.FileResults)
	if len(res.Sweep) > 0 {
		fmt.Fprintf(os.Stderr, " and %s/{%s,%s}", dir, eval.FileSweep, eval.FilePlot)
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

// firstPerClass keeps the first n items of each class (all when n ≤ 0), in file order.
func firstPerClass(items []workload.Item, n int) []workload.Item {
	if n <= 0 {
		return items
	}
	seen := map[string]int{}
	var out []workload.Item
	for _, it := range items {
		if seen[it.Dataset] < n {
			seen[it.Dataset]++
			out = append(out, it)
		}
	}
	return out
}

func parsePolicies(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		p, err := router.ParsePolicy(f)
		if err != nil {
			return nil, err
		}
		out = append(out, string(p))
	}
	return out, nil
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v < 0 || v > 1 {
			return nil, fmt.Errorf("%q is not a number in 0..1", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// parseProfileSets reads a list of known profile sets, none twice.
func parseProfileSets(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if _, err := sim.ProfileSet(f); err != nil {
			return nil, err
		}
		if slices.Contains(out, f) {
			return nil, fmt.Errorf("profile set %q given twice", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// parseSweep reads "0.3,0.5,0.7" or "lo:hi:step"; "" is no sweep.
func parseSweep(s string) ([]float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) == 1 {
		return parseFloats(s)
	}
	if len(parts) != 3 {
		return nil, errors.New("want a list or lo:hi:step")
	}
	v, err := parseFloats(strings.Join(parts, ","))
	if err != nil {
		return nil, err
	}
	lo, hi, step := v[0], v[1], v[2]
	if step <= 0 || hi < lo || (hi-lo)/step > 100 {
		return nil, fmt.Errorf("lo:hi:step %q: want lo ≤ hi and at most 100 steps", s)
	}
	var out []float64
	for i := 0; ; i++ {
		t := math.Round((lo+float64(i)*step)*1e6) / 1e6 // no 0.30000000000000004
		if t > hi+1e-9 {
			return out, nil
		}
		out = append(out, t)
	}
}

func capName(v float64) string {
	if v == 0 {
		return "none"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func workloadName(path string) string {
	if path == "" {
		return "the shipped workload"
	}
	return path
}

func describeNodes() string {
	var parts []string
	for _, n := range swarm.DefaultNodes() {
		parts = append(parts, n.Model+": "+strings.Join(n.Domains, ", "))
	}
	return strings.Join(parts, "; ")
}

// isTerminal reports whether f is a character device (a terminal), where a
// progress bar may redraw in place.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
