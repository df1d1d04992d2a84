package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	ollama "github.com/ollama/ollama/api"

	"github.com/swarmllm/swarmllm/router"
)

func newOllamaClient(t *testing.T, srv *httptest.Server) *ollama.Client {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return ollama.NewClient(u, srv.Client())
}

func TestOllamaClientChat(t *testing.T) {
	for _, stream := range []bool{true, false} {
		name := map[bool]string{true: "stream", false: "no-stream"}[stream]
		t.Run(name, func(t *testing.T) {
			srv, f := newTestServer(t)
			client := newOllamaClient(t, srv)
			var content strings.Builder
			var final ollama.ChatResponse
			objects := 0
			err := client.Chat(t.Context(), &ollama.ChatRequest{
				Model:    "sim-geo:1b",
				Messages: []ollama.Message{{Role: "user", Content: "What is the capital of France?"}},
				Stream:   &stream,
				Options:  map[string]any{"temperature": 0.0, "num_predict": 32, "seed": 3},
			}, func(r ollama.ChatResponse) error {
				objects++
				content.WriteString(r.Message.Content)
				if r.Done {
					final = r
				}
				return nil
			})
			if err != nil {
				t.Fatalf("chat: %v", err)
			}
			if content.String() != f.resp.Text {
				t.Errorf("content = %q, want %q", content.String(), f.resp.Text)
			}
			wantObjects := 1
			if stream {
				wantObjects = len(strings.Fields(f.resp.Text)) + 1
			}
			if objects != wantObjects {
				t.Errorf("got %d objects, want %d", objects, wantObjects)
			}
			if !final.Done || final.DoneReason != "stop" || final.EvalCount != 7 || final.PromptEvalCount != 12 {
				t.Errorf("final object = %+v", final)
			}
			if final.Message.Role != "assistant" || final.Model != "sim-geo:3b" {
				t.Errorf("final role %q model %q", final.Message.Role, final.Model)
			}
			o := f.lastAsk(t).Options
			if o.Temperature == nil || *o.Temperature != 0 || o.MaxTokens != 32 || o.Seed == nil || *o.Seed != 3 {
				t.Errorf("engine got options %+v", o)
			}
		})
	}
}

func TestOllamaClientGenerate(t *testing.T) {
	srv, f := newTestServer(t)
	client := newOllamaClient(t, srv)
	var text strings.Builder
	err := client.Generate(t.Context(), &ollama.GenerateRequest{
		Model: testModel, System: "Be brief.", Prompt: "What is the capital of France?",
	}, func(r ollama.GenerateResponse) error {
		text.WriteString(r.Response)
		return nil
	})
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	if text.String() != f.resp.Text {
		t.Errorf("response = %q", text.String())
	}
	req := f.lastAsk(t)
	if len(req.Messages) != 2 || req.Messages[0] != (Message{RoleSystem, "Be brief."}) || req.Messages[1].Role != RoleUser {
		t.Errorf("engine got %+v", req.Messages)
	}
}

// TestOllamaCLIRunSequence replays what `ollama run MODEL` sends: show (with
// the deprecated name field), a prompt-less generate that only loads the
// model, then the chat itself.
func TestOllamaCLIRunSequence(t *testing.T) {
	srv, f := newTestServer(t)
	client := newOllamaClient(t, srv)
	//lint:ignore SA1019 the CLI's request, deprecated field and all, is what this test replays
	info, err := client.Show(t.Context(), &ollama.ShowRequest{Name: testModel})
	if err != nil {
		t.Fatalf("show: %v", err)
	}
	if len(info.Capabilities) != 1 || info.Capabilities[0] != "completion" || info.Details.Family != "llama" ||
		info.ModelInfo["general.architecture"] != "llama" || info.Details.QuantizationLevel != "Q4_0" {
		t.Errorf("show = %+v", info)
	}
	var load ollama.GenerateResponse
	if err := client.Generate(t.Context(), &ollama.GenerateRequest{Model: testModel}, func(r ollama.GenerateResponse) error {
		load = r
		return nil
	}); err != nil {
		t.Fatalf("load: %v", err)
	}
	if !load.Done || load.DoneReason != "load" || load.Model != testModel {
		t.Errorf("load answer = %+v", load)
	}
	var unload ollama.ChatResponse
	if err := client.Chat(t.Context(), &ollama.ChatRequest{Model: testModel, KeepAlive: &ollama.Duration{}},
		func(r ollama.ChatResponse) error { unload = r; return nil }); err != nil {
		t.Fatalf("unload: %v", err)
	}
	if unload.DoneReason != "unload" {
		t.Errorf("unload answer = %+v", unload)
	}
	if f.askCount() != 0 {
		t.Errorf("loading asked the engine %d times", f.askCount())
	}
}

func TestOllamaClientListShowVersion(t *testing.T) {
	srv, f := newTestServer(t)
	client := newOllamaClient(t, srv)
	list, err := client.List(t.Context())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Models) != 2 || list.Models[0].Name != testModel || list.Models[0].Size != 734003200 ||
		list.Models[0].Details.ParameterSize != "1B" || !list.Models[0].ModifiedAt.Equal(fixedTime) {
		t.Errorf("list = %+v", list)
	}
	v, err := client.Version(t.Context())
	if err != nil || v != OllamaAPIVersion+"+swarmllm.0.1.0" {
		t.Errorf("version = %q, %v", v, err)
	}
	sw, err := client.Show(t.Context(), &ollama.ShowRequest{Model: "swarm"})
	if err != nil || sw.ModelInfo["general.architecture"] != "swarm" || sw.ModelInfo["swarm.context_length"] != 8192.0 {
		t.Errorf("show swarm = %+v, %v (model_info built from family and context length)", sw, err)
	}
	_, err = client.Show(t.Context(), &ollama.ShowRequest{Model: "missing"})
	var se ollama.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound || !strings.Contains(se.ErrorMessage, "not found") {
		t.Errorf("show missing model: %v", err)
	}
	if f.showCount() != 1 {
		t.Errorf("engine.Show called %d times, want once (not for the unknown model)", f.showCount())
	}
}

// TestOllamaStreamShape checks the raw NDJSON: the route header, a content
// type Ollama clients expect, and the trace on the final object only.
func TestOllamaStreamShape(t *testing.T) {
	srv, _ := newTestServer(t)
	status, hdr, body := postJSON(t, srv, "/api/chat", map[string]any{
		"model": testModel, "messages": []map[string]string{{"role": "user", "content": "Capital of France?"}},
	})
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	if hdr.Get(HeaderRoute) != "swarm" || hdr.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("headers = %v", hdr)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	var lines []map[string]json.RawMessage
	for sc.Scan() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	for i, m := range lines {
		_, hasTrace := m["swarm"]
		if last := i == len(lines)-1; hasTrace != last {
			t.Errorf("line %d: swarm present = %v", i, hasTrace)
		}
	}
	var tr router.Trace
	if err := json.Unmarshal(lines[len(lines)-1]["swarm"], &tr); err != nil || tr.Route != router.RouteSwarm {
		t.Errorf("trace = %+v, %v", tr, err)
	}
	golden(t, "ollama_chat_stream.ndjson", body)
}

// The ollama CLI prints m.Digest[:12] for every model `ollama list` and
// `ollama ps` show: a model without a digest of its own (the virtual swarm
// model) must still get a full one, stable across calls.
func TestOllamaListDigests(t *testing.T) {
	srv, f := newTestServer(t)
	f.running = []RunningModel{{ModelInfo: f.models[0], SizeVRAM: 1 << 20, ContextLength: 4096, ExpiresAt: fixedTime},
		{ModelInfo: ModelInfo{Name: "no-digest"}}}
	client := newOllamaClient(t, srv)
	list, err := client.List(t.Context())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	ps, err := client.ListRunning(t.Context())
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	again, err := client.List(t.Context())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if list.Models[0].Digest != "sha256:abc123" {
		t.Errorf("a model's own digest was replaced: %q", list.Models[0].Digest)
	}
	if d := list.Models[1].Digest; len(d) != 64 || d != again.Models[1].Digest {
		t.Errorf("swarm model digest %q (again %q): want a stable 64-hex digest", d, again.Models[1].Digest)
	}
	if len(ps.Models) != 2 {
		t.Fatalf("ps = %+v", ps)
	}
	if m := ps.Models[0]; m.Name != testModel || m.Size != 734003200 || m.SizeVRAM != 1<<20 || m.ContextLength != 4096 ||
		!m.ExpiresAt.Equal(fixedTime) || m.Details.Family != "llama" {
		t.Errorf("ps[0] = %+v", m)
	}
	if len(ps.Models[1].Digest) != 64 {
		t.Errorf("ps[1] digest %q", ps.Models[1].Digest)
	}
}

// `ollama pull` of a model the swarm serves succeeds without downloading;
// of any other it fails the way Ollama's does (a streamed error after
// "pulling manifest"), naming what the swarm serves; `ollama run` of an
// unknown model goes through this pull.
func TestOllamaPull(t *testing.T) {
	srv, f := newTestServer(t)
	client := newOllamaClient(t, srv)
	noStream := false
	tests := []struct {
		name    string
		model   string
		stream  *bool
		wantErr string // "" = success
		status  int    // for a non-streamed error
	}{
		{"known model streamed", testModel, nil, "", 0},
		{"known model without tag", "SIM-GEO:1b", nil, "", 0},
		{"known model not streamed", "swarm", &noStream, "", 0},
		{"unknown model streamed", "llama3", nil, "model 'llama3' not found", 0},
		{"unknown model not streamed", "llama3", &noStream, "model 'llama3' not found", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var statuses []string
			err := client.Pull(t.Context(), &ollama.PullRequest{Model: tc.model, Stream: tc.stream},
				func(p ollama.ProgressResponse) error { statuses = append(statuses, p.Status); return nil })
			if tc.wantErr == "" {
				if err != nil || len(statuses) == 0 || statuses[len(statuses)-1] != "success" {
					t.Fatalf("pull: %v, statuses %q", err, statuses)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), testModel) {
				t.Fatalf("pull error = %v, want %q naming the served models", err, tc.wantErr)
			}
			var se ollama.StatusError
			if gotStatus := errors.As(err, &se); gotStatus != (tc.status != 0) || (gotStatus && se.StatusCode != tc.status) {
				t.Errorf("error %#v: want status %d (0 = streamed after a 200)", err, tc.status)
			}
			if tc.stream == nil && (len(statuses) != 1 || statuses[0] != "pulling manifest") {
				t.Errorf("statuses before the error = %q", statuses)
			}
		})
	}
	status, _, body := postJSON(t, srv, "/api/pull", map[string]any{})
	if status != http.StatusBadRequest || !strings.Contains(string(body), "model is required") {
		t.Errorf("pull without a model: %d %s", status, body)
	}
	if f.askCount() != 0 {
		t.Errorf("pull asked the engine %d times", f.askCount())
	}
}

func TestOllamaVersionString(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "github.com/ollama/ollama v"+OllamaAPIVersion+"\n") {
		t.Errorf("OllamaAPIVersion %q is not the go.mod version of github.com/ollama/ollama", OllamaAPIVersion)
	}
	tests := []struct{ ours, want string }{
		{"0.1.0", OllamaAPIVersion + "+swarmllm.0.1.0"},
		{"v0.2.0-rc1", OllamaAPIVersion + "+swarmllm.0.2.0-rc1"},
		{"v0.0.0-20261129224304-cafeedb12875+dirty", OllamaAPIVersion + "+swarmllm.0.0.0-20261129224304-cafeedb12875.dirty"},
	}
	for _, tc := range tests {
		if got := OllamaVersion(tc.ours); got != tc.want {
			t.Errorf("OllamaVersion(%q) = %q, want %q", tc.ours, got, tc.want)
		}
	}
}
