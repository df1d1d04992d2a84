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
