package sim

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"regexp"
	"strings"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

// examples are the questions the README, the demo and the CLI help show a
// newcomer, where the workload has no item for them: the simulated models
// answer them as easy items of their domain, so a first query never looks
// broken. They are only looked up, never part of an evaluation.
var examples = []workload.Item{
	{Dataset: workload.DatasetEasy, QID: "sim-example-1", Prompt: "What is 17 * 23?", Answer: "391", Domain: "arithmetic"},
	{Dataset: workload.DatasetEasy, QID: "sim-example-2", Prompt: "Which protocol resolves domain names?", Answer: "DNS", Domain: "networking"},
	{Dataset: workload.DatasetEasy, QID: "sim-example-3", Prompt: "What is 2 + 2?", Answer: "4", Domain: "arithmetic"},
}

// withExamples returns wl plus the examples it does not already hold.
func withExamples(wl *workload.Workload) (*workload.Workload, []workload.Item, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"dataset", "qid", "prompt", "answer", "domain"})
	for _, it := range wl.Items() {
		_ = w.Write([]string{it.Dataset, it.QID, it.Prompt, it.Answer, it.Domain})
	}
	var added []workload.Item
	for _, ex := range examples {
		if it, ok := wl.Lookup(ex.Prompt); ok && workload.Normalize(it.Prompt) == workload.Normalize(ex.Prompt) {
			continue // the workload asks it itself
		}
		_ = w.Write([]string{ex.Dataset, ex.QID, ex.Prompt, ex.Answer, ex.Domain})
		added = append(added, ex)
	}
	w.Flush()
	all, err := workload.Load(&buf)
	if err != nil {
		return nil, nil, fmt.Errorf("add the example questions to the workload: %w", err)
	}
	return all, added, nil
}

// Turn is one message of a conversation, as the simulator reads it.
type Turn struct{ Role, Text string }

// refersBack matches a user turn that is about the conversation above it (a
// request to check or refine an earlier answer) rather than a new question.
var refersBack = regexp.MustCompile(`(?i)\b(above|previous|earlier|draft)\b`)

// question picks the text a simulated model answers in a conversation: the
// last user turn, as a real model answers the latest question; a system
// message may carry the question's context. Only a last turn that refers
// back to the conversation ("Above is a draft answer…") reads the user turn
// before it. Earlier questions are never answered again.
func (e *engine) question(turns []Turn) string {
	last, prev := -1, -1
	var system strings.Builder
	for i, t := range turns {
		switch t.Role {
		case "user":
			last, prev = i, last
		case "system":
			system.WriteString(t.Text)
			system.WriteString("\n")
		}
	}
	if last < 0 {
		return system.String()
	}
	q := turns[last].Text
	if _, ok := e.wl.Lookup(q); ok {
		return q
	}
	if system.Len() > 0 {
		if _, ok := e.wl.Lookup(system.String() + q); ok {
			return system.String() + q
		}
	}
	if prev >= 0 && refersBack.MatchString(q) {
		return turns[prev].Text + "\n" + q
	}
	return q
}
