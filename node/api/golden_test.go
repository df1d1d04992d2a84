package api

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/swarmllm/swarmllm/router"
)

// TestResponseGoldens pins the exact wire shape of each API's answer and
// error, with the clock fixed, so a change to any of them shows in review.
func TestResponseGoldens(t *testing.T) {
	cases := []struct {
		name   string
		path   string
		body   string
		status int
	}{
		{"openai_chat.json", "/v1/chat/completions", chatBody(okPrompt, testModel), 200},
		{"openai_chat_stream.sse", "/v1/chat/completions",
			`{"model":"sim-geo:1b","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Capital of France?"}]}`, 200},
		{"ollama_generate.json", "/api/generate", `{"model":"sim-geo:1b","prompt":"Capital of France?","stream":false}`, 200},
		{"native_ask.json", "/swarm/v1/ask", `{"prompt":"Capital of France?","policy":"swarm"}`, 200},
		{"openai_error.json", "/v1/chat/completions", chatBody(okPrompt, "nope"), 404},
		{"ollama_error.json", "/api/chat", chatBody(okPrompt, "nope"), 404},
		{"native_error.json", "/swarm/v1/ask", `{"prompt":"hi","policy":"yolo"}`, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := newTestServer(t)
			status, _, body := do(t, srv, http.MethodPost, c.path, strings.NewReader(c.body), nil)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			golden(t, c.name, body)
		})
	}
}

func TestFormatTrace(t *testing.T) {
	cloud := sampleTrace()
	cloud.Route, cloud.Reason = router.RouteCloud, "vote split 0.52 < 0.60; summoned the FM"
	cloud.Classification.PII = []router.PIIKind{router.PIIEmail}
	cloud.Classification.Safety = router.SafetyMedicalDosing
	cloud.Peers[1].Err, cloud.Peers[1].Answer = "deadline exceeded", ""
	cloud.Ballots[1].Choice = router.Escalate
	cloud.Tally.Outcome = router.OutcomeSplit
	cloud.Cloud = &router.CloudInfo{Summoned: true, Model: "fm-70b", Redactions: []string{"email"}, LatencyMS: 420,
		PromptTokens: 30, CompletionTokens: 12}
	cloud.Flags = []string{"redacted"}
	cloud.Timings.CloudMS = 420
	local := router.Trace{Route: router.RouteLocal, Policy: router.PolicyLocalOnly, Reason: "policy local-only",
		Local: &router.LocalInfo{Model: testModel, Confidence: 0.9}, Timings: router.Timings{LocalMS: 8, TotalMS: 8.2}}
	streamed := local
	streamed.Policy, streamed.Reason = router.PolicySwarm, "on the first 4 tokens, local confidence 0.93 reaches the bar 0.81"
	streamed.Prefix = &router.PrefixInfo{Verdict: router.PrefixCommit, Tokens: 4, Text: " Paris is the capital", Confidence: 0.93,
		AtMS: 61.5, FirstTextMS: 61.7}
	for name, tr := range map[string]router.Trace{"swarm": sampleTrace(), "cloud": cloud, "local": local, "streamed": streamed} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := FormatTrace(&buf, &tr); err != nil {
				t.Fatal(err)
			}
			golden(t, "trace_"+name+".txt", buf.Bytes())
		})
	}
}
