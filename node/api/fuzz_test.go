package api

import (
	"strings"
	"testing"
)

// Each request decoder must, for any bytes, either refuse them with a 4xx or
// produce a request the engine can take: non-empty, within the prompt cap,
// known roles. Never a panic.

const fuzzPromptCap = 256

func checkParsed(t *testing.T, req Request, e *apiError) {
	t.Helper()
	if e != nil {
		if e.status < 400 || e.status > 499 || e.msg == "" || e.code == "" {
			t.Fatalf("refusal %+v is not a 4xx with a code and message", e)
		}
		return
	}
	size := 0
	blank := true
	for _, m := range req.Messages {
		size += len(m.Content)
		switch m.Role {
		case RoleSystem:
		case RoleUser, RoleAssistant, RoleTool:
			blank = blank && strings.TrimSpace(m.Content) == ""
		default:
			t.Fatalf("accepted role %q", m.Role)
		}
	}
	if blank || size > fuzzPromptCap {
		t.Fatalf("accepted a blank or oversized prompt: %+v", req)
	}
}

func FuzzParseChatCompletion(f *testing.F) {
	f.Add([]byte(chatBody(okPrompt, "m")), "")
	f.Add([]byte(`{"messages":[{"role":"developer","content":[{"type":"text","text":"x"}]},{"role":"user","content":"y"}],"stream":true}`), "swarm")
	f.Add([]byte(`{"messages":[{"role":"user","content":null}],"n":1,"max_completion_tokens":3}`), "cascade")
	f.Fuzz(func(t *testing.T, body []byte, policy string) {
		p, e := parseChatCompletion(body, fuzzPromptCap, policy)
		checkParsed(t, p.req, e)
	})
}

func FuzzParseOllamaChat(f *testing.F) {
	f.Add([]byte(chatBody(okPrompt, "m")), "")
	f.Add([]byte(`{"model":"m","messages":[],"keep_alive":0}`), "")
	f.Add([]byte(`{"messages":[{"role":"USER","content":"x"}],"stream":false,"options":{"num_predict":-1,"seed":1}}`), "local-only")
	f.Fuzz(func(t *testing.T, body []byte, policy string) {
		p, e := parseOllamaChat(body, fuzzPromptCap, policy)
		if e == nil && p.load != "" {
			return // a load request carries no prompt by design
		}
		checkParsed(t, p.req, e)
	})
}

func FuzzParseOllamaGenerate(f *testing.F) {
	f.Add([]byte(`{"model":"m","prompt":"hi","system":"s"}`), "")
	f.Add([]byte(`{"model":"m","keep_alive":"5m"}`), "")
	f.Add([]byte(`{"prompt":"hi","images":[],"options":{"temperature":0.5}}`), "swarm")
	f.Fuzz(func(t *testing.T, body []byte, policy string) {
		p, e := parseOllamaGenerate(body, fuzzPromptCap, policy)
		if e == nil && p.load != "" {
			return
		}
		checkParsed(t, p.req, e)
	})
}

func FuzzParseAsk(f *testing.F) {
	f.Add([]byte(`{"prompt":"hi","policy":"swarm"}`), "")
	f.Add([]byte(`{"prompt":"hi","system":"s","temperature":1,"seed":2,"max_tokens":3}`), "cloud-only")
	f.Add([]byte(`{"prompt":""}`), "x")
	f.Add([]byte(`{"prompt":"hi","stream":true}`), "")
	f.Fuzz(func(t *testing.T, body []byte, policy string) {
		p, e := parseAsk(body, fuzzPromptCap, policy)
		checkParsed(t, p.req, e)
	})
}
