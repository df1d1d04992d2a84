package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/swarm"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

func runDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("swarmllm demo", flag.ContinueOnError)
	basePort := fs.Int("port", 8700, "HTTP API port of the first node; the others take the next ports")
	easy := fs.Int("easy", 5, "easy sample queries")
	hard := fs.Int("hard", 5, "hard sample queries")
	safety := fs.Int("safety", 2, "safety sample queries (the shipped workload's mix is about 3 easy : 3 hard : 1 safety)")
	latency := fs.Float64("latency-scale", 0.25, "multiply the simulated models' latencies (0 = instant)")
	serve := fs.Bool("serve", true, "keep serving the API after the sample until interrupted")
	verbose := fs.Bool("v", false, "log what the nodes do")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: swarmllm demo [flags]

Starts three nodes on 127.0.0.1, each on a different simulated SLM (a test
instrument standing in for Ollama), plus a simulated cloud FM, joins them into
one swarm by bootstrap (mDNS off: loopback carries no multicast), runs a sample
of easy, hard and safety queries through them, and keeps serving.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if *verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	nodes := swarm.DefaultNodes()
	for i := range nodes {
		nodes[i].APIAddr = fmt.Sprintf("127.0.0.1:%d", *basePort+i)
	}
	fmt.Println("starting three nodes and the simulated backends on 127.0.0.1 …")
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	sw, err := swarm.Start(startCtx, swarm.Spec{Nodes: nodes, Cloud: true, LatencyScale: *latency, Log: log})
	if err != nil {
		return err
	}
	defer sw.Close()
	fmt.Printf("swarm joined in %v: every node holds every other node's capability record\n\n", time.Since(start).Round(time.Millisecond))
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tAPI\tMODEL (simulated)\tDOMAINS\tPEER ID")
	for i, n := range sw.Nodes {
		fmt.Fprintf(tw, "node%d\t%s\t%s\t%s\t%s\n", i+1, sw.APIURL(i), nodes[i].Model, strings.Join(nodes[i].Domains, ","), n.ID())
	}
	tw.Flush()
	fmt.Println()

	items := sample(workload.Default(), map[string]int{workload.DatasetEasy: *easy, workload.DatasetHard: *hard, workload.DatasetSafety: *safety})
	results := make([]demoResult, 0, len(items))
	for i, it := range items {
		r := askDemo(ctx, sw.APIURL(i%len(sw.Nodes)), i%len(sw.Nodes), it)
		results = append(results, r)
		printResult(os.Stdout, r)
	}
	printSummary(os.Stdout, results)

	if !*serve {
		return nil
	}
	addrs := make([]string, len(sw.Nodes))
	for i, n := range sw.Nodes {
		addrs[i] = n.APIAddr()
	}
	fmt.Print("\nThe swarm keeps serving. Try:\n" + demoHint(addrs) + "Ctrl-C stops.\n")
	<-ctx.Done()
	fmt.Println("stopping …")
	return nil
}

// sample takes the first perClass[class] items of each class, spread over the workload's domains.
func sample(wl *workload.Workload, perClass map[string]int) []workload.Item {
	var out []workload.Item
	for _, ds := range []string{workload.DatasetEasy, workload.DatasetHard, workload.DatasetSafety} {
		n := perClass[ds]
		seen := map[string]int{}
		var picked []workload.Item
		for pass := 0; len(picked) < n && pass < 3; pass++ {
			for _, it := range wl.Items() {
				if it.Dataset != ds || seen[it.Domain] != pass || len(picked) >= n || contains(picked, it.QID) {
					continue
				}
				seen[it.Domain]++
				picked = append(picked, it)
			}
		}
		out = append(out, picked...)
	}
	return out
}

func contains(items []workload.Item, qid string) bool {
	for _, it := range items {
		if it.QID == qid {
			return true
		}
	}
	return false
}

type demoResult struct {
	item    workload.Item
	node    int
	answer  string
	trace   router.Trace
	correct bool
	err     error
	elapsed time.Duration
}

func askDemo(ctx context.Context, url string, node int, it workload.Item) demoResult {
	r := demoResult{item: it, node: node}
	c, err := api.NewClient(url)
	if err != nil {
		r.err = err
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := c.Ask(ctx, api.AskRequest{Prompt: it.Prompt})
	r.elapsed = time.Since(start)
	if err != nil {
		r.err = err
		return r
	}
	r.answer, r.trace = res.Answer, res.Trace
	r.correct = workload.Correct(it, res.Answer, res.Trace.Route.String())
	return r
}

func printResult(w io.Writer, r demoResult) {
	mark := "✗"
	if r.correct {
		mark = "✓"
	}
	fmt.Fprintf(w, "%s %-10s node%d  %q\n", mark, r.item.QID, r.node+1, r.item.Prompt)
	if r.err != nil {
		fmt.Fprintf(w, "    error: %v\n\n", r.err)
		return
	}
	t := r.trace
	fmt.Fprintf(w, "    route %-5s %s\n", t.Route, t.Reason)
	if t.Local != nil {
		fmt.Fprintf(w, "    local  %s conf %.2f: %q\n", t.Local.Model, t.Local.Confidence, clip(t.Local.Answer, 60))
	}
	for i, p := range t.Peers {
		votes := 0
		for _, b := range t.Ballots {
			if b.Choice == i {
				votes++
			}
		}
		who := "peer "
		if p.Peer == t.Node {
			who = "self "
		}
		if p.Err != "" {
			fmt.Fprintf(w, "    %s  %s failed: %s\n", who, p.Model, clip(p.Err, 60))
			continue
		}
		fmt.Fprintf(w, "    %s  %s conf %.2f votes %d: %q\n", who, p.Model, p.Confidence, votes, clip(p.Answer, 60))
	}
	if t.Tally != nil {
		fmt.Fprintf(w, "    tally  %s (%d ballots, quorum %d)\n", t.Tally.Outcome, t.Tally.Ballots, t.Tally.Quorum)
	}
	if t.Cloud != nil && t.Cloud.Summoned {
		fmt.Fprintf(w, "    cloud  %s, %d+%d tokens\n", t.Cloud.Model, t.Cloud.PromptTokens, t.Cloud.CompletionTokens)
	}
	ref := r.item.Answer
	if ref == "" {
		ref = "(safety: escalate or refuse)"
	}
	fmt.Fprintf(w, "    answer %q  (reference %s)  %v\n\n", clip(r.answer, 80), ref, r.elapsed.Round(time.Millisecond))
}

func printSummary(w io.Writer, results []demoResult) {
	type agg struct{ n, correct, cloud int }
	by := map[string]*agg{}
	total := &agg{}
	for _, r := range results {
		a := by[r.item.Dataset]
		if a == nil {
			a = &agg{}
			by[r.item.Dataset] = a
		}
		for _, x := range []*agg{a, total} {
			x.n++
			if r.correct {
				x.correct++
			}
			if r.err == nil && r.trace.Route == router.RouteCloud {
				x.cloud++
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLASS\tQUERIES\tACCURACY\tCLOUD SHARE")
	for _, ds := range []string{workload.DatasetEasy, workload.DatasetHard, workload.DatasetSafety} {
		if a := by[ds]; a != nil {
			fmt.Fprintf(tw, "%s\t%d\t%.0f%%\t%.0f%%\n", ds, a.n, pct(a.correct, a.n), pct(a.cloud, a.n))
		}
	}
	fmt.Fprintf(tw, "all\t%d\t%.0f%%\t%.0f%%\n", total.n, pct(total.correct, total.n), pct(total.cloud, total.n))
	tw.Flush()
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// demoHint is what to try once the demo serves, for nodes at addrs (three):
// the README shows the same commands (a test keeps the two in step).
func demoHint(addrs []string) string {
	return fmt.Sprintf(`  go run ./node/cmd/swarmllm ask --api %[2]s --trace "What is the capital of Australia?"
  go run ./node/cmd/swarmllm peers --api %[1]s
  curl -s %[1]s/v1/chat/completions -H 'Content-Type: application/json' -d '{"model":"swarm","messages":[{"role":"user","content":"What is 17 * 23?"}]}'
  OLLAMA_HOST=%[3]s ollama run swarm "Which protocol resolves domain names?"
or open http://%[1]s/ for the dashboard.
`, addrs[0], addrs[1], addrs[2])
}
