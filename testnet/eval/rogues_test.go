package eval

import (
	"strings"
	"testing"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

func TestScoreRogues(t *testing.T) {
	item := workload.Item{Dataset: "easy", QID: "easy_001", Prompt: "Capital of France?", Answer: "Paris"}
	results := []Result{
		{Item: item, Outcome: Answered, Answer: RogueAnswer, Route: "swarm"},
		{Item: item, Outcome: Answered, Answer: strings.ToLower(RogueAnswer), Route: "swarm"}, // grouped as a vote would
		{Item: item, Outcome: Answered, Answer: "Paris", Route: "cloud", Correct: true},
		{Item: item, Outcome: Answered, Answer: "Lyon", Route: "local"},
		{Item: item, Outcome: Lost},
	}
	got := scoreRogues(RogueScenario{"one rogue", 1}, results)
	want := RogueResult{Scenario: RogueScenario{"one rogue", 1}, Queries: 5, Rogue: 2, Correct: 1, Cloud: 1, Lost: 1}
	if got != want {
		t.Errorf("scoreRogues = %+v, want %+v", got, want)
	}
	var md strings.Builder
	if err := (&RogueReport{Results: []RogueResult{got}}).WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| one rogue | 5 | 2 (40.0%) | 20.0% | 20.0% | 1 |") {
		t.Errorf("report row missing:\n%s", md.String())
	}
}

// One insider rogue over the real ask protocol and gossipsub (a node that
// claims every domain, answers everything wrong at confidence ~1 and votes
// for itself) steers at most 5% of the shipped workload's answers.
func TestOneRogueSteersFewAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole workload on an in-process swarm")
	}
	rep, err := RunRogues(t.Context(), RogueSpec{Scenarios: []RogueScenario{{"one rogue", 1}}, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Results[0]
	t.Logf("%+v", res)
	if res.Lost > 0 {
		t.Errorf("%d queries lost", res.Lost)
	}
	if share := float64(res.Rogue) / float64(res.Queries); share > 0.05 {
		t.Errorf("the rogue's answers are %.1f%% of all, want at most 5%%", 100*share)
	}
}
