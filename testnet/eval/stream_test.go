package eval

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

func TestStreamFigures(t *testing.T) {
	item := workload.Item{Dataset: "easy", QID: "easy_001", Prompt: "Capital of France?", Answer: "Paris"}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	run := StreamRun{PrefixTokens: 4, Results: []Result{
		{Item: item, Outcome: Answered, Route: "local", Correct: true, Prefix: "commit", FirstText: ms(100), Latency: ms(1000)},
		{Item: item, Outcome: Answered, Route: "local", Correct: true, Prefix: "commit", FirstText: ms(300), Latency: ms(1000)},
		{Item: item, Outcome: Answered, Route: "local", Prefix: "wait", FirstText: ms(500), Latency: ms(500),
			Flags: []string{router.FlagBestEffort}}, // not a confident answer
		{Item: item, Outcome: Answered, Route: "swarm", Correct: true, Prefix: "escalate", FirstText: ms(900), Latency: ms(900)},
		{Item: item, Outcome: Answered, Route: "cloud", Correct: true, Prefix: "escalate", FirstText: ms(1200), Latency: ms(1300)},
		{Item: item, Outcome: Lost},
	}}
	f := run.Figures()
	if f.Queries != 6 || f.Answered != 5 || f.Correct != 4 || f.Cloud != 1 || f.ConfidentLocal != 2 {
		t.Errorf("counts %+v", f)
	}
	if f.Verdicts["commit"] != 2 || f.Verdicts["escalate"] != 2 || f.Verdicts["wait"] != 1 {
		t.Errorf("verdicts %v", f.Verdicts)
	}
	if f.ShareP50 != 0.1 || f.ShareP95 != 0.3 || f.Mean != 0.2 {
		t.Errorf("first words / whole answer: p50 %v, p95 %v, mean %v; want 0.1, 0.3, 0.2", f.ShareP50, f.ShareP95, f.Mean)
	}
	if f.FirstText["local"].P50 != ms(300) || f.Latency["cloud"].P50 != ms(1300) {
		t.Errorf("per route: first %v, whole %v", f.FirstText, f.Latency)
	}
	var md strings.Builder
	if err := (&StreamReport{Runs: []StreamRun{{Results: run.Results[:1]}, run}}).WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| first 4 tokens | 5/6 | 66.7% | -33.3 | 16.7% | +16.7 | 2 / 2 / 1 | 10% (30%) of 2 |") {
		t.Errorf("report row missing:\n%s", md.String())
	}
}

// The early decision runs end to end on an in-process swarm: every query
// is answered on both sides, confident local answers stream before they
// are complete (their first words come with fewer tokens than the whole),
// and escalations are hedged.
func TestRunStream(t *testing.T) {
	if testing.Short() {
		t.Skip("runs part of the workload on in-process swarms")
	}
	items := workload.Default().Items()
	rep, err := RunStream(context.Background(), StreamSpec{PrefixTokens: []int{4}, Margin: router.DefaultPrefixRule().Margin,
		Items: append(items[:12:12], items[len(items)-12:]...), Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 {
		t.Fatalf("%d sides, want the whole answer and one prefix", len(rep.Runs))
	}
	for _, run := range rep.Runs {
		if f := run.Figures(); f.Answered != f.Queries {
			t.Errorf("%s: %d of %d answered", sideName(run.PrefixTokens), f.Answered, f.Queries)
		}
	}
	if f := rep.Runs[1].Figures(); f.Verdicts["commit"]+f.Verdicts["escalate"] == 0 {
		t.Errorf("the prefix side decided nothing early: %v", f.Verdicts)
	}
}
