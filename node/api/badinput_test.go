package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

const okPrompt = "What is the capital of France?"

// queryAPI is one endpoint that answers queries, with how to build a request
// for it and how to check an error body in its shape.
type queryAPI struct {
	name  string
	path  string
	body  func(prompt, model string) string
	check func(t *testing.T, body []byte, code string)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func chatBody(prompt, model string) string {
	return mustJSON(map[string]any{"model": model, "messages": []map[string]string{{"role": "user", "content": prompt}}})
}

func checkOpenAIError(t *testing.T, body []byte, code string) {
	t.Helper()
	var e struct {
		Error struct {
			Message *string `json:"message"`
			Type    *string `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == nil || *e.Error.Message == "" || e.Error.Type == nil {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	if e.Error.Code == nil || *e.Error.Code != code {
		t.Errorf("OpenAI error code = %v, want %q (%s)", e.Error.Code, code, body)
	}
}

func checkOllamaError(t *testing.T, body []byte, _ string) {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	if msg, ok := e["error"].(string); !ok || msg == "" || len(e) != 1 {
		t.Errorf("not an Ollama error body {\"error\": \"…\"}: %s", body)
	}
}

func checkNativeError(t *testing.T, body []byte, code string) {
	t.Helper()
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Error.Message == "" {
		t.Fatalf("not a native error body: %s", body)
	}
	if e.Error.Code != code {
		t.Errorf("native error code = %q, want %q (%s)", e.Error.Code, code, body)
	}
}

var apis = []queryAPI{
	{"openai", "/v1/chat/completions", chatBody, checkOpenAIError},
	{"ollama-chat", "/api/chat", chatBody, checkOllamaError},
	{"ollama-generate", "/api/generate", func(p, m string) string {
		return mustJSON(map[string]any{"model": m, "prompt": p})
	}, checkOllamaError},
	{"native", "/swarm/v1/ask", func(p, m string) string {
		return mustJSON(AskRequest{Prompt: p, Model: m})
	}, checkNativeError},
}

// unsized hides a body's length so the client sends it chunked, without Content-Length.
type unsized struct{ io.Reader }

// TestBadInput feeds every kind of bad input to every query API and checks
// the status, the error shape of that API, and that the engine was never asked.
func TestBadInput(t *testing.T) {
	srv, f := newTestServer(t)
	huge := `{"pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	cases := []struct {
		name   string
		method string
		body   func(a queryAPI) io.Reader
		header http.Header
		status int
		code   string
		allow  string
	}{
		{name: "malformed JSON", body: func(queryAPI) io.Reader { return strings.NewReader(`{"model": `) },
			status: 400, code: CodeMalformedJSON},
		{name: "wrong JSON type", body: func(queryAPI) io.Reader { return strings.NewReader(`{"model": 42}`) },
			status: 400, code: CodeMalformedJSON},
		{name: "empty body", body: func(queryAPI) io.Reader { return strings.NewReader(``) },
			status: 400, code: CodeMalformedJSON},
		{name: "unknown model", body: func(a queryAPI) io.Reader { return strings.NewReader(a.body(okPrompt, "no-such-model")) },
			status: 404, code: CodeUnknownModel},
		{name: "blank prompt", body: func(a queryAPI) io.Reader { return strings.NewReader(a.body(" \n\t", "")) },
			status: 400, code: CodeEmptyPrompt},
		{name: "oversized prompt", body: func(a queryAPI) io.Reader {
			return strings.NewReader(a.body(strings.Repeat("x", MaxPromptBytes+1), ""))
		}, status: 400, code: CodePromptTooLarge},
		{name: "body over the limit", body: func(queryAPI) io.Reader { return strings.NewReader(huge) },
			status: 413, code: CodeBodyTooLarge},
		{name: "body over the limit, chunked", body: func(queryAPI) io.Reader { return unsized{strings.NewReader(huge)} },
			status: 413, code: CodeBodyTooLarge},
		{name: "wrong method", method: http.MethodGet, status: 405, code: CodeMethodNotAllowed, allow: "POST"},
		{name: "unknown policy", body: func(a queryAPI) io.Reader { return strings.NewReader(a.body(okPrompt, "")) },
			header: http.Header{HeaderPolicy: {"yolo"}}, status: 400, code: CodeUnknownPolicy},
	}
	for _, c := range cases {
		for _, a := range apis {
			t.Run(c.name+"/"+a.name, func(t *testing.T) {
				method := c.method
				if method == "" {
					method = http.MethodPost
				}
				var body io.Reader
				if c.body != nil {
					body = c.body(a)
				}
				status, hdr, got := do(t, srv, method, a.path, body, c.header)
				if status != c.status {
					t.Errorf("status = %d, want %d (%s)", status, c.status, got)
				}
				if hdr.Get("Allow") != c.allow {
					t.Errorf("Allow = %q, want %q", hdr.Get("Allow"), c.allow)
				}
				if hdr.Get(HeaderRoute) != "" {
					t.Errorf("an error carries %s", HeaderRoute)
				}
				a.check(t, got, c.code)
				if n := f.askCount(); n != 0 {
					t.Fatalf("engine was asked %d times", n)
				}
			})
		}
	}
}

// TestBadInputPerAPI covers bad input only one API can express.
func TestBadInputPerAPI(t *testing.T) {
	srv, f := newTestServer(t)
	openai, ollama, native := apis[0], apis[1], apis[3]
	cases := []struct {
		name   string
		api    queryAPI
		method string
		path   string
		body   string
		status int
		code   string
		allow  string
	}{
		{"openai no messages", openai, "POST", "", `{"model":"","messages":[]}`, 400, CodeEmptyPrompt, ""},
		{"openai unknown role", openai, "POST", "", `{"messages":[{"role":"wizard","content":"hi"}]}`, 400, CodeBadRequest, ""},
		{"openai system message only", openai, "POST", "", `{"messages":[{"role":"system","content":"hi"}]}`, 400, CodeEmptyPrompt, ""},
		{"openai image part", openai, "POST", "", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, CodeBadRequest, ""},
		{"openai content number", openai, "POST", "", `{"messages":[{"role":"user","content":5}]}`, 400, CodeMalformedJSON, ""},
		{"openai n=2", openai, "POST", "", `{"n":2,"messages":[{"role":"user","content":"hi"}]}`, 400, CodeBadRequest, ""},
		{"openai temperature 3", openai, "POST", "", `{"temperature":3,"messages":[{"role":"user","content":"hi"}]}`, 400, CodeBadRequest, ""},
		{"openai negative max_tokens", openai, "POST", "", `{"max_tokens":-1,"messages":[{"role":"user","content":"hi"}]}`, 400, CodeBadRequest, ""},
		{"openai trailing garbage", openai, "POST", "", `{"messages":[{"role":"user","content":"hi"}]} x`, 400, CodeMalformedJSON, ""},
		{"openai models wrong method", openai, "POST", "/v1/models", ``, 405, CodeMethodNotAllowed, "GET, HEAD"},
		{"openai unknown path", openai, "GET", "/v1/completions", ``, 404, CodeNotFound, ""},
		{"ollama images", ollama, "POST", "", `{"messages":[{"role":"user","content":"hi","images":["aGk="]}]}`, 400, CodeBadRequest, ""},
		{"ollama generate images", ollama, "POST", "/api/generate", `{"prompt":"hi","images":["aGk="]}`, 400, CodeBadRequest, ""},
		{"ollama options wrong type", ollama, "POST", "", `{"messages":[{"role":"user","content":"hi"}],"options":{"temperature":"hot"}}`, 400, CodeMalformedJSON, ""},
		{"ollama blank message", ollama, "POST", "", `{"messages":[{"role":"user","content":""}]}`, 400, CodeEmptyPrompt, ""},
		{"ollama show without model", ollama, "POST", "/api/show", `{}`, 400, CodeBadRequest, ""},
		{"ollama show unknown model", ollama, "POST", "/api/show", `{"model":"nope"}`, 404, CodeUnknownModel, ""},
		{"ollama show malformed", ollama, "POST", "/api/show", `{`, 400, CodeMalformedJSON, ""},
		{"ollama load unknown model", ollama, "POST", "/api/generate", `{"model":"nope"}`, 404, CodeUnknownModel, ""},
		{"ollama tags wrong method", ollama, "POST", "/api/tags", ``, 405, CodeMethodNotAllowed, "GET, HEAD"},
		{"ollama version wrong method", ollama, "DELETE", "/api/version", ``, 405, CodeMethodNotAllowed, "GET, HEAD"},
		{"ollama show wrong method", ollama, "GET", "/api/show", ``, 405, CodeMethodNotAllowed, "POST"},
		{"ollama unknown path", ollama, "POST", "/api/no-such-thing", `{}`, 404, CodeNotFound, ""},
		{"native body policy", native, "POST", "", `{"prompt":"hi","policy":"yolo"}`, 400, CodeUnknownPolicy, ""},
		{"native empty prompt", native, "POST", "", `{"prompt":""}`, 400, CodeEmptyPrompt, ""},
		{"native negative max_tokens", native, "POST", "", `{"prompt":"hi","max_tokens":-5}`, 400, CodeBadRequest, ""},
		{"native peers wrong method", native, "POST", "/swarm/v1/peers", ``, 405, CodeMethodNotAllowed, "GET, HEAD"},
		{"native cms wrong method", native, "PUT", "/swarm/v1/cms", ``, 405, CodeMethodNotAllowed, "GET, HEAD"},
		{"healthz wrong method", native, "POST", "/healthz", ``, 405, CodeMethodNotAllowed, "GET, HEAD"},
		{"metrics wrong method", native, "POST", "/metrics", ``, 405, CodeMethodNotAllowed, "GET, HEAD"},
		{"dashboard wrong method", native, "POST", "/", ``, 405, CodeMethodNotAllowed, "GET, HEAD"},
		{"native unknown path", native, "GET", "/swarm/v1/nope", ``, 404, CodeNotFound, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path
			if path == "" {
				path = c.api.path
			}
			status, hdr, body := do(t, srv, c.method, path, strings.NewReader(c.body), nil)
			if status != c.status {
				t.Errorf("status = %d, want %d (%s)", status, c.status, body)
			}
			if hdr.Get("Allow") != c.allow {
				t.Errorf("Allow = %q, want %q", hdr.Get("Allow"), c.allow)
			}
			c.api.check(t, body, c.code)
			if n, m := f.askCount(), f.showCount(); n != 0 || m != 0 {
				t.Fatalf("engine was asked %d times, shown %d models", n, m)
			}
		})
	}
}
