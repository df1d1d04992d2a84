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
	got := scoreRogues(RogueScenario{"one rogue", 1, false}, results)
	want := RogueResult{Scenario: RogueScenario{"one rogue", 1, false}, Queries: 5, Rogue: 2, Correct: 1, Cloud: 1, Lost: 1}
	if got != want {
		t.Errorf("scoreRogues = %+v, want %+v", got, want)
	}
	var md strings.Builder
	if err := (&RogueReport{Results: []RogueResult{got}}).WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| one rogue | private | 5 | 2 (40.0%) | 20.0% | 20.0% | 1 |") {
		t.Errorf("report row missing:\n%s", md.String())
	}
}

// Insider rogues over the real ask protocol and gossipsub (nodes of the
// private swarm that claim every domain, answer everything wrong at
// confidence ~1 and vote for themselves) steer few of the shipped workload's
// answers: one rogue at most 5%, a Sybil of five identities at most 10%
// (issue 10), and no query is lost. The Sybil's eight-node swarm takes
// minutes under the race detector on a loaded machine, so it runs without
// it (the one-rogue swarm runs the same protocols under it).
func TestRoguesSteerFewAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole workload on an in-process swarm")
	}
	tests := []struct {
		scenario RogueScenario
		most     float64
		race     bool // runs under the race detector too
	}{
		{RogueScenario{"one rogue", 1, false}, 0.05, true},
		{RogueScenario{"Sybil (5 identities)", 5, false}, 0.10, false},
	}
	for _, tt := range tests {
		t.Run(tt.scenario.Name, func(t *testing.T) {
			if raceEnabled && !tt.race {
				t.Skip("minutes under the race detector: run without -race")
			}
			rep, err := RunRogues(t.Context(), RogueSpec{Scenarios: []RogueScenario{tt.scenario}, Concurrency: 4})
			if err != nil {
				t.Fatal(err)
			}
			res := rep.Results[0]
			t.Logf("%+v", res)
			if res.Lost > 0 {
				t.Errorf("%d queries lost", res.Lost)
			}
			if share := float64(res.Rogue) / float64(res.Queries); share > tt.most {
				t.Errorf("the rogues' answers are %.1f%% of all, want at most %.0f%%", 100*share, 100*tt.most)
			}
		})
	}
}
