package slm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ollama/ollama/api"
)

// ErrBadSpans means the model's answer to FindPersonalData was not the JSON asked for.
var ErrBadSpans = errors.New("model did not list personal data as asked")

// PersonalSpan is one piece of personal data the model found: its kind (one
// of those it was offered) and its text exactly as written.
type PersonalSpan struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// maxSpans bounds what one answer may list.
const maxSpans = 64

const findPersonalInstruction = `You find personal data in text. List every piece of personal data in the user's ` +
	`message: names of private people, e-mail addresses, phone numbers, dates of birth and personal dates, street ` +
	`addresses, postcodes, bank and card numbers, identity and passport numbers, IP addresses. Do not list public ` +
	`figures, places in general questions, historical dates or product numbers. Copy each piece exactly as it is ` +
	`written. Answer only with JSON of the form {"spans":[{"kind":"...","text":"..."}]}; kind is one of: `

// personalSchema is the JSON schema of the answer (Ollama structured output):
// a list of spans whose kind is one of kinds.
func personalSchema(kinds []string) json.RawMessage {
	schema := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"spans": map[string]any{
				"type": "array",
				"items": map[string]any{
					"type": "object",
					"properties": map[string]any{
						"kind": map[string]any{"type": "string", "enum": kinds},
						"text": map[string]any{"type": "string"},
					},
					"required": []string{"kind", "text"},
				},
			},
		},
		"required": []string{"spans"},
	}
	b, _ := json.Marshal(schema) // maps of strings and slices always marshal
	return b
}

// FindPersonalData asks this node's own model which spans of text are
// personal data, through Ollama's structured output (a JSON schema in
// "format" on /api/chat), at temperature 0. The text goes only to the
// Ollama this client talks to, the device's own. Spans whose text does not
// occur in text (the model invented or reworded it) and kinds not offered
// are dropped. ctx bounds the call: the caller falls back to its detectors
// when it fails.
func (o *Ollama) FindPersonalData(ctx context.Context, text string, kinds []string) ([]PersonalSpan, error) {
	stream := false
	creq := &api.ChatRequest{
		Model: o.model,
		Messages: []api.Message{
			{Role: "system", Content: findPersonalInstruction + strings.Join(kinds, ", ") + "."},
			{Role: "user", Content: text},
		},
		Stream:  &stream,
		Format:  personalSchema(kinds),
		Options: map[string]any{"temperature": 0},
	}
	resp, err := o.chatOnce(ctx, creq)
	if err != nil {
		return nil, fmt.Errorf("find personal data with %s: %w", o.model, classify(err))
	}
	spans, err := parseSpans(resp.Message.Content, text, kinds)
	if err != nil {
		return nil, fmt.Errorf("find personal data with %s: %w", o.model, err)
	}
	return spans, nil
}

// parseSpans decodes the model's answer and keeps the spans whose kind was
// offered and whose text occurs in text, at most maxSpans of them.
func parseSpans(content, text string, kinds []string) ([]PersonalSpan, error) {
	var ans struct {
		Spans []PersonalSpan `json:"spans"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(content)), &ans); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSpans, err)
	}
	var out []PersonalSpan
	for _, s := range ans.Spans {
		s.Text = strings.TrimSpace(s.Text)
		if len(out) == maxSpans {
			break
		}
		if s.Text == "" || !strings.Contains(text, s.Text) || !slices.Contains(kinds, s.Kind) {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}
