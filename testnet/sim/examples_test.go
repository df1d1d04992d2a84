package sim

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

// docQuestion is a quoted question in the docs or the demo's hint.
var docQuestion = regexp.MustCompile(`"([A-Z][^"\\]{5,100}\?)\\?"`)

// Every example question a newcomer is shown (README, the demo's hint) is one
// the simulated models know: none gets "I am not sure about that.".
func TestDocumentedQuestionsAreKnown(t *testing.T) {
	var questions []string
	for _, f := range []string{"../../README.md", "../../node/cmd/swarmllm/demo.go", "../../scripts/testnet.sh"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range docQuestion.FindAllStringSubmatch(string(b), -1) {
			questions = append(questions, m[1])
		}
	}
	if len(questions) < 3 {
		t.Fatalf("found only %q in the docs: has the pattern gone stale?", questions)
	}
	s, err := NewSLM(workload.Default(), BuiltinProfiles())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range questions {
		for _, p := range BuiltinProfiles() {
			if !p.Has(CapCompletion) {
				continue
			}
			r, err := s.Answer(p.Name, q, Sampling{}, 0)
			if err != nil || r.Outcome == OutcomeUnknown {
				t.Errorf("%s answers %q with %q (%v): the question is unknown to the simulator", p.Name, q, r.Text, err)
			}
		}
	}
}

// The examples never enter the evaluation: the workload keeps its items and
// its items keep their distractors.
func TestExamplesLeaveTheWorkloadAlone(t *testing.T) {
	wl := workload.Default()
	plain := &engine{wl: wl, distractors: map[string][]string{}}
	for _, it := range wl.Items() {
		if it.Dataset != workload.DatasetSafety {
			plain.distractors[it.QID] = distractorsFor(it, wl.Items())
		}
	}
	e, err := newEngine(wl)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range wl.Items() {
		if got, want := strings.Join(e.distractors[it.QID], "|"), strings.Join(plain.distractors[it.QID], "|"); got != want {
			t.Errorf("%s distractors %q, without examples %q", it.QID, got, want)
		}
		if got, ok := e.wl.Lookup(it.Prompt); !ok || got.QID != it.QID {
			t.Errorf("%s prompt now finds %+v", it.QID, got)
		}
	}
	if wl.Len() != workload.Default().Len() {
		t.Errorf("the shipped workload grew to %d items", wl.Len())
	}
}

// A simulated model answers the last user turn of a conversation, as a real
// one does: turn 3 of an interactive session gets turn 3's answer, never an
// earlier one's, even when turn 3 is a question it does not know.
func TestChatAnswersTheLastTurn(t *testing.T) {
	_, _, client := startSLM(t)
	const model = ProfileQwen
	wl := workload.Default()
	first, second := wl.Items()[0], wl.Items()[1]
	answerOf := func(t *testing.T, msgs []api.Message) string {
		t.Helper()
		stream := false
		var out string
		if err := client.Chat(t.Context(), &api.ChatRequest{Model: model, Messages: msgs, Stream: &stream},
			func(r api.ChatResponse) error { out += r.Message.Content; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	alone := func(q string) string { return answerOf(t, []api.Message{{Role: "user", Content: q}}) }
	tests := []struct {
		name string
		msgs []api.Message
		want string
	}{
		{"third turn", []api.Message{
			{Role: "user", Content: first.Prompt}, {Role: "assistant", Content: "x"},
			{Role: "user", Content: "What is 17 * 23?"}, {Role: "assistant", Content: "y"},
			{Role: "user", Content: second.Prompt}}, alone(second.Prompt)},
		{"unknown third turn", []api.Message{
			{Role: "user", Content: first.Prompt}, {Role: "assistant", Content: "x"},
			{Role: "user", Content: "Tell me something nice"}}, unsureAnswer},
		{"system context", []api.Message{
			{Role: "system", Content: "You are terse."}, {Role: "user", Content: second.Prompt}}, alone(second.Prompt)},
		{"refine the draft above", []api.Message{
			{Role: "user", Content: first.Prompt}, {Role: "assistant", Content: "draft"},
			{Role: "user", Content: "Above is a draft answer from a smaller model. Check it and reply with the corrected, final answer only."}},
			alone(first.Prompt)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := answerOf(t, tc.msgs); got != tc.want {
				t.Errorf("answer %q, want %q", got, tc.want)
			}
		})
	}
}
