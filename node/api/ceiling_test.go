package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/swarmllm/swarmllm/router"
)

// TestPolicyCeiling: on a node whose operator chose local-only, no request
// (header or native body field) can send a query further; narrowing works.
func TestPolicyCeiling(t *testing.T) {
	srv, f := newTestServer(t, WithPolicyCeiling(router.PolicyLocalOnly))
	cases := []struct {
		name   string
		header string
		body   string // native "policy" field
		status int
		want   router.Policy // what the engine runs under
	}{
		{"no policy: the operator's", "", "", 200, router.PolicyLocalOnly},
		{"same policy", "local-only", "", 200, router.PolicyLocalOnly},
		{"header widens to cloud-only", "cloud-only", "", 403, ""},
		{"header widens to swarm", "swarm", "", 403, ""},
		{"header widens to cascade", "cascade", "", 403, ""},
		{"header widens to always-swarm", "always-swarm", "", 403, ""},
		{"native field widens to cloud-only", "", "cloud-only", 403, ""},
	}
	for _, c := range cases {
		for _, a := range apis {
			if c.body != "" && a.name != "native" {
				continue
			}
			t.Run(c.name+"/"+a.name, func(t *testing.T) {
				before := f.askCount()
				h := http.Header{"Content-Type": {"application/json"}}
				if c.header != "" {
					h.Set(HeaderPolicy, c.header)
				}
				body := a.body(okPrompt, "")
				if c.body != "" {
					body = mustJSON(AskRequest{Prompt: okPrompt, Policy: c.body})
				}
				status, _, got := send(t, srv, http.MethodPost, a.path, "", body, h)
				if status != c.status {
					t.Fatalf("status = %d, want %d (%s)", status, c.status, got)
				}
				if status != http.StatusOK {
					a.check(t, got, CodePolicyAboveCeiling)
					if f.askCount() != before {
						t.Fatal("the engine was asked")
					}
					return
				}
				if p := f.lastAsk(t).Policy; p != c.want {
					t.Errorf("engine ran under %q, want %q", p, c.want)
				}
			})
		}
	}
}

// TestPolicyCeilingNarrows: under swarm, a request may drop peers or stay home.
func TestPolicyCeilingNarrows(t *testing.T) {
	srv, f := newTestServer(t, WithPolicyCeiling(router.PolicySwarm))
	for _, p := range router.Policies {
		t.Run(string(p), func(t *testing.T) {
			status, _, body := send(t, srv, http.MethodPost, "/swarm/v1/ask", "", mustJSON(AskRequest{Prompt: okPrompt, Policy: string(p)}), jsonHeader)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			if got := f.lastAsk(t).Policy; got != p {
				t.Errorf("engine ran under %q, want %q", got, p)
			}
		})
	}
}

func TestNewServerRefusesUnknownCeiling(t *testing.T) {
	if _, err := NewServer(newFakeEngine(), WithPolicyCeiling("yolo")); err == nil {
		t.Fatal("unknown ceiling accepted")
	}
}

// TestCapsAreRefusedNotRerouted: a query beyond the caps the swarm can carry
// gets a 400 in its API's shape, never a silently different route.
func TestCapsAreRefusedNotRerouted(t *testing.T) {
	srv, f := newTestServer(t)
	many := make([]map[string]string, MaxMessages+1)
	for i := range many {
		many[i] = map[string]string{"role": "user", "content": "hi"}
	}
	cases := []struct {
		name string
		api  string
		body string
		code string
	}{
		{"openai max_tokens", "openai", mustJSON(map[string]any{"messages": []map[string]string{{"role": "user", "content": okPrompt}}, "max_tokens": 1000000}), CodeMaxTokensTooLarge},
		{"openai max_completion_tokens", "openai", mustJSON(map[string]any{"messages": []map[string]string{{"role": "user", "content": okPrompt}}, "max_completion_tokens": MaxCompletionTokens + 1}), CodeMaxTokensTooLarge},
		{"ollama num_predict", "ollama-chat", mustJSON(map[string]any{"messages": []map[string]string{{"role": "user", "content": okPrompt}}, "options": map[string]any{"num_predict": 1000000}}), CodeMaxTokensTooLarge},
		{"ollama generate num_predict", "ollama-generate", mustJSON(map[string]any{"prompt": okPrompt, "options": map[string]any{"num_predict": 1000000}}), CodeMaxTokensTooLarge},
		{"native max_tokens", "native", mustJSON(AskRequest{Prompt: okPrompt, MaxTokens: 1000000}), CodeMaxTokensTooLarge},
		{"openai too many messages", "openai", mustJSON(map[string]any{"messages": many}), CodeTooManyMessages},
		{"ollama too many messages", "ollama-chat", mustJSON(map[string]any{"messages": many}), CodeTooManyMessages},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var a queryAPI
			for _, x := range apis {
				if x.name == c.api {
					a = x
				}
			}
			status, _, body := send(t, srv, http.MethodPost, a.path, "", c.body, jsonHeader)
			if status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400 (%s)", status, body)
			}
			a.check(t, body, c.code)
			if !strings.Contains(string(body), "cap") {
				t.Errorf("message does not name the cap: %s", body)
			}
		})
	}
	if n := f.askCount(); n != 0 {
		t.Fatalf("engine asked %d times", n)
	}
	// At the caps exactly, the query goes through.
	at := mustJSON(map[string]any{"messages": many[:MaxMessages], "max_tokens": MaxCompletionTokens})
	if status, _, body := send(t, srv, http.MethodPost, "/v1/chat/completions", "", at, jsonHeader); status != http.StatusOK {
		t.Fatalf("at the caps: status %d (%s)", status, body)
	}
}
