package sim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/ollama/ollama/api"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

// A chat request with a "format" (Ollama's structured output) is how the
// node asks its own model for the personal data in a prompt. The simulated
// model answers with a simple method, not a model: e-mail addresses, and
// runs of two or three capitalised words that do not open a sentence, taken
// for names of people unless the model "knows" them: a run that appears in
// the questions or answers of the workload it answers from (South America,
// the Ottoman Empire, Christopher Columbus) is public knowledge, as a real
// model knows famous places and people, not personal data. That is roughly
// what a small model catches that fixed detectors miss (a name outside every
// lexicon), and it makes mistakes of the same sort (a capitalised place it
// has not heard of), so the path is tested end to end without pretending to
// be a real model.

var (
	simEmailRe = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	simNameRe  = regexp.MustCompile(`\p{Lu}[\p{Ll}'’-]+(?:[ \t]+\p{Lu}[\p{Ll}'’-]+){1,2}`)
)

// simNotNames are capitalised words the method never takes for names.
var simNotNames = map[string]bool{"I": true, "The": true, "A": true, "My": true, "Please": true, "What": true,
	"How": true, "Why": true, "When": true, "Where": true, "Who": true, "Which": true, "Is": true, "Can": true}

type simSpan struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// publicEntities are the capitalised runs of the workload's questions and
// answers: what the simulated model knows as places, events and public
// figures. Safety items are left out: their prompts are where personal data
// would be.
func publicEntities(wl *workload.Workload) map[string]bool {
	known := make(map[string]bool)
	for _, it := range wl.Items() {
		if it.Dataset == "safety" {
			continue
		}
		for _, text := range []string{it.Prompt, it.Answer} {
			for _, run := range simNameRe.FindAllString(text, -1) {
				known[run] = true
			}
		}
	}
	return known
}

// personalSpans applies the simple method to the user messages of a request;
// known holds the runs the model knows as public (nil: none).
func personalSpans(msgs []api.Message, known map[string]bool) []simSpan {
	spans := []simSpan{}
	for _, m := range msgs {
		if m.Role != "user" {
			continue
		}
		text := m.Content
		for _, e := range simEmailRe.FindAllString(text, -1) {
			spans = append(spans, simSpan{Kind: "email", Text: e})
		}
		for _, loc := range simNameRe.FindAllStringIndex(text, -1) {
			name := text[loc[0]:loc[1]]
			if opensSentence(text, loc[0]) || simNotNames[strings.Fields(name)[0]] || known[name] {
				continue
			}
			spans = append(spans, simSpan{Kind: "person-name", Text: name})
		}
	}
	return spans
}

// opensSentence: only spaces, and before them a sentence end or nothing, precede i.
func opensSentence(text string, i int) bool {
	before := strings.TrimRightFunc(text[:i], unicode.IsSpace)
	return before == "" || strings.ContainsAny(before[len(before)-1:], ".!?:\n")
}

// answerPersonalData writes the spans as the JSON content of one complete chat answer.
func (s *SLM) answerPersonalData(w http.ResponseWriter, p *Profile, req api.ChatRequest) {
	content, _ := json.Marshal(map[string]any{"spans": personalSpans(req.Messages, s.public)})
	s.count(p.Name, func(st *ModelStats) { st.Calls++ })
	writeJSON(w, http.StatusOK, api.ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(),
		Message: api.Message{Role: "assistant", Content: string(content)}, Done: true, DoneReason: "stop"})
}
