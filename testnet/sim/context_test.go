package sim

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/node/knowledge"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// The knowledge workload: facts only its documents hold.
const (
	knowledgeDocs      = "../eval/testdata/knowledge/kestrel-bay"
	knowledgeQuestions = "../eval/testdata/knowledge/questions.csv"
)

// TestAnswersFromPassagesOnly: with the retrieved passages in the prompt
// the simulated model answers every knowledge question right, citing the
// passage's document; without them it knows none of the facts.
func TestAnswersFromPassagesOnly(t *testing.T) {
	qs, err := workload.LoadFile(knowledgeQuestions)
	if err != nil {
		t.Fatal(err)
	}
	x, err := knowledge.New(knowledgeDocs, t.TempDir(), cms.LexicalEmbedder{}, knowledge.WithInterval(time.Hour),
		knowledge.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	p2ptest.Eventually(t, func() bool { return x.Summary().Documents == 4 }, p2ptest.Patience)
	e, err := newEngine(workload.Default())
	if err != nil {
		t.Fatal(err)
	}
	p := &BuiltinProfiles()[2] // the weakest model
	for _, it := range qs.Items() {
		t.Run(it.QID, func(t *testing.T) {
			ps, err := x.Retrieve(context.Background(), it.Prompt, 3)
			if err != nil {
				t.Fatal(err)
			}
			withContext, ok := e.fromPassages(p, 0, []Turn{{Role: "system", Text: knowledge.Prompt(ps)}, {Role: "user", Text: it.Prompt}}, Sampling{}, 5)
			if !ok || withContext.Outcome != OutcomeContext || !workload.Correct(it, withContext.Text, "swarm") {
				t.Errorf("with passages: %q (%v), want %q", withContext.Text, withContext.Outcome, it.Answer)
			}
			if _, ok := e.fromPassages(p, 0, []Turn{{Role: "user", Text: it.Prompt}}, Sampling{}, 5); ok {
				t.Error("a prompt without passages was read as one with them")
			}
			alone := e.answer(p, 0, it.Prompt, Sampling{}, 5, false)
			if workload.Correct(it, alone.Text, "local") {
				t.Errorf("without passages the model knew %q", alone.Text)
			}
		})
	}
}

func TestAbstainsWhenPassagesLackTheAnswer(t *testing.T) {
	e, err := newEngine(workload.Default())
	if err != nil {
		t.Fatal(err)
	}
	ps := []knowledge.Passage{{Source: "log.txt", Text: "The weather mast is 14 metres tall. The radar was serviced in August."}}
	r, ok := e.fromPassages(&BuiltinProfiles()[0], 0, []Turn{{Role: "system", Text: knowledge.Prompt(ps)},
		{Role: "user", Text: "Who founded the Kestrel Bay field station?"}}, Sampling{}, 5)
	if !ok || r.Outcome != OutcomeUnknown || r.Text != noContextAnswer {
		t.Fatalf("fromPassages = %q (%v), want the abstention", r.Text, r.Outcome)
	}
}
