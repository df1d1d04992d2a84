package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"go.uber.org/goleak"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startSLM serves the built-in profiles with no latency on a free loopback port.
func startSLM(t *testing.T, opts ...Option) (*SLM, *Server, *api.Client) {
	t.Helper()
	return startProfiles(t, BuiltinProfiles(), opts...)
}

// startProfiles serves profiles at latency scale 0 until the test ends.
func startProfiles(t *testing.T, profiles []Profile, opts ...Option) (*SLM, *Server, *api.Client) {
	t.Helper()
	s, err := NewSLM(workload.Default(), profiles, append([]Option{WithLatencyScale(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return s, srv, api.NewClient(u, &http.Client{Timeout: 10 * time.Second})
}

func ptr[T any](v T) *T { return &v }

func TestOllamaClientChat(t *testing.T) {
	_, _, c := startSLM(t)
	ctx := context.Background()
	const topK = 5
	req := &api.ChatRequest{
		Model:       ProfileQwen,
		Messages:    []api.Message{{Role: "system", Content: "Answer briefly."}, {Role: "user", Content: "What is the capital of Burkina Faso?"}},
		Logprobs:    true,
		TopLogprobs: topK,
	}

	var chunks []api.ChatResponse
	if err := c.Chat(ctx, req, func(r api.ChatResponse) error { chunks = append(chunks, r); return nil }); err != nil {
		t.Fatalf("streaming chat: %v", err)
	}
	if len(chunks) < 2 {
		t.Fatalf("streaming chat gave %d chunks, want one per token plus a final one", len(chunks))
	}
	var streamed strings.Builder
	var streamedLP []api.Logprob
	for _, ch := range chunks[:len(chunks)-1] {
		if ch.Done || len(ch.Logprobs) != 1 {
			t.Fatalf("token chunk %+v: want done=false and one logprob", ch)
		}
		streamed.WriteString(ch.Message.Content)
		streamedLP = append(streamedLP, ch.Logprobs...)
	}
	final := chunks[len(chunks)-1]
	if !final.Done || final.DoneReason != "stop" || final.Message.Content != "" {
		t.Fatalf("final chunk %+v: want done, stop, no content", final)
	}
	if final.EvalCount != len(chunks)-1 || final.PromptEvalCount == 0 || final.EvalDuration <= 0 || final.TotalDuration <= 0 {
		t.Fatalf("final metrics %+v: eval_count must equal the token chunks and durations be set", final.Metrics)
	}

	req.Stream = ptr(false)
	var whole api.ChatResponse
	n := 0
	if err := c.Chat(ctx, req, func(r api.ChatResponse) error { whole = r; n++; return nil }); err != nil {
		t.Fatalf("chat stream=false: %v", err)
	}
	if n != 1 || !whole.Done || whole.Message.Role != "assistant" {
		t.Fatalf("stream=false gave %d responses, last %+v", n, whole)
	}
	if whole.Message.Content != streamed.String() {
		t.Fatalf("non-streamed %q != streamed %q", whole.Message.Content, streamed.String())
	}
	if len(whole.Logprobs) != whole.EvalCount {
		t.Fatalf("%d logprobs for %d tokens", len(whole.Logprobs), whole.EvalCount)
	}
	for i, lp := range whole.Logprobs {
		if !equalLogprob(lp, streamedLP[i]) {
			t.Fatalf("token %d: streamed %+v, whole %+v", i, streamedLP[i], lp)
		}
		if lp.Logprob >= 0 || len(lp.TopLogprobs) != topK {
			t.Fatalf("token %d: logprob %v with %d top logprobs, want <0 and %d", i, lp.Logprob, len(lp.TopLogprobs), topK)
		}
		if lp.TopLogprobs[0].Token != lp.Token || lp.TopLogprobs[0].Logprob != lp.Logprob {
			t.Fatalf("token %d: top_logprobs[0] %+v is not the token itself", i, lp.TopLogprobs[0])
		}
		if string(intsToBytes(lp.Bytes)) != lp.Token {
			t.Fatalf("token %d: bytes %v do not spell %q", i, lp.Bytes, lp.Token)
		}
		var mass float64
		for j, a := range lp.TopLogprobs {
			mass += math.Exp(a.Logprob)
			if j > 0 && (a.Logprob > lp.TopLogprobs[j-1].Logprob || a.Token == lp.Token) {
				t.Fatalf("token %d: top logprobs not sorted or repeat the token: %+v", i, lp.TopLogprobs)
			}
		}
		if mass > 1+1e-9 {
			t.Fatalf("token %d: top-k probability mass %v > 1", i, mass)
		}
	}

	req.Logprobs = false
	if err := c.Chat(ctx, req, func(r api.ChatResponse) error { whole = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if whole.Logprobs != nil {
		t.Fatalf("logprobs returned without being asked for: %+v", whole.Logprobs)
	}

	req.Logprobs, req.TopLogprobs = true, 0
	if err := c.Chat(ctx, req, func(r api.ChatResponse) error { whole = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(whole.Logprobs) == 0 || whole.Logprobs[0].TopLogprobs != nil {
		t.Fatalf("top_logprobs=0 should give token logprobs only: %+v", whole.Logprobs)
	}
}

func equalLogprob(a, b api.Logprob) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func intsToBytes(in []int) []byte {
	out := make([]byte, len(in))
	for i, v := range in {
		out[i] = byte(v)
	}
	return out
}

func TestOllamaClientGenerateShowListVersion(t *testing.T) {
	_, _, c := startSLM(t)
	ctx := context.Background()

	var gen api.GenerateResponse
	err := c.Generate(ctx, &api.GenerateRequest{Model: ProfileLlama, Prompt: "What is the capital of France?", Stream: ptr(false), Logprobs: true},
		func(r api.GenerateResponse) error { gen = r; return nil })
	if err != nil || !gen.Done || gen.Response == "" || len(gen.Logprobs) != gen.EvalCount {
		t.Fatalf("generate = %+v, %v", gen, err)
	}
	var parts strings.Builder
	err = c.Generate(ctx, &api.GenerateRequest{Model: ProfileLlama, Prompt: "What is the capital of France?"},
		func(r api.GenerateResponse) error { parts.WriteString(r.Response); return nil })
	if err != nil || parts.String() != gen.Response {
		t.Fatalf("streamed generate %q, %v; want %q", parts.String(), err, gen.Response)
	}

	show, err := c.Show(ctx, &api.ShowRequest{Model: ProfileQwen})
	if err != nil {
		t.Fatal(err)
	}
	if show.Details.Family != "qwen2" || show.Details.ParameterSize != "494.03M" || show.Details.QuantizationLevel != "Q4_K_M" {
		t.Fatalf("show details %+v", show.Details)
	}
	if len(show.Capabilities) != 1 || show.Capabilities[0] != "completion" {
		t.Fatalf("show capabilities %v", show.Capabilities)
	}
	if cl, _ := show.ModelInfo["qwen2.context_length"].(float64); cl != 32768 {
		t.Fatalf("model_info context length %v in %v", show.ModelInfo["qwen2.context_length"], show.ModelInfo)
	}
	emb, err := c.Show(ctx, &api.ShowRequest{Model: ProfileEmbed})
	if err != nil || len(emb.Capabilities) != 1 || emb.Capabilities[0] != "embedding" || emb.ModelInfo["nomic-bert.embedding_length"] != float64(256) {
		t.Fatalf("show embed model = %+v, %v", emb, err)
	}

	list, err := c.List(ctx)
	if err != nil || len(list.Models) != len(BuiltinProfiles()) {
		t.Fatalf("list = %+v, %v", list, err)
	}
	for _, m := range list.Models {
		if !strings.HasPrefix(m.Name, NamePrefix) || m.Size <= 0 || len(m.Digest) != 64 {
			t.Fatalf("listed model %+v", m)
		}
	}
	ps, err := c.ListRunning(ctx)
	if err != nil || len(ps.Models) != len(BuiltinProfiles()) {
		t.Fatalf("ps = %+v, %v", ps, err)
	}

	v, err := c.Version(ctx)
	if err != nil || v != OllamaVersion+VersionSuffix {
		t.Fatalf("version = %q, %v", v, err)
	}
}

func TestOllamaClientEmbed(t *testing.T) {
	_, _, c := startSLM(t)
	ctx := context.Background()
	texts := []string{
		"What is the capital of France?",
		"Paris is the capital city of France.",
		"How many usable host addresses are in a /26 subnet?",
	}
	resp, err := c.Embed(ctx, &api.EmbedRequest{Model: ProfileEmbed, Input: texts})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 3 || len(resp.Embeddings[0]) != 256 || resp.PromptEvalCount == 0 {
		t.Fatalf("embed gave %d vectors of %d", len(resp.Embeddings), len(resp.Embeddings[0]))
	}
	cos := func(a, b []float32) float64 {
		var s float64
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	related, unrelated := cos(resp.Embeddings[0], resp.Embeddings[1]), cos(resp.Embeddings[0], resp.Embeddings[2])
	if self := cos(resp.Embeddings[0], resp.Embeddings[0]); math.Abs(self-1) > 1e-5 {
		t.Fatalf("vectors not unit length: %v", self)
	}
	if related < 0.4 || unrelated > 0.2 || related <= unrelated {
		t.Fatalf("cosine related=%.3f unrelated=%.3f; related texts must be closer", related, unrelated)
	}
	t.Logf("cosine related=%.3f unrelated=%.3f", related, unrelated)

	again, err := c.Embed(ctx, &api.EmbedRequest{Model: ProfileEmbed, Input: texts[0], Dimensions: 64})
	if err != nil || len(again.Embeddings) != 1 || len(again.Embeddings[0]) != 64 {
		t.Fatalf("embed with dimensions 64 = %+v, %v", again, err)
	}
	var norm float64 // the truncated vector is the full one's prefix, re-normalized
	for _, x := range resp.Embeddings[0][:64] {
		norm += float64(x) * float64(x)
	}
	for i, x := range again.Embeddings[0] {
		if d := float64(x)*math.Sqrt(norm) - float64(resp.Embeddings[0][i]); math.Abs(d) > 1e-5 {
			t.Fatalf("truncated vector component %d = %v, not the prefix re-normalized", i, x)
		}
	}
}

// post sends a raw request and returns status and body.
func post(t *testing.T, method, u, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestSLMBadInput(t *testing.T) {
	_, srv, _ := startSLM(t)
	tests := []struct {
		name, method, path, body string
		status                   int
		wantErr                  string // substring of the "error" field; "" for non-JSON bodies
	}{
		{"malformed json", "POST", "/api/chat", `{"model":`, 400, "unexpected EOF"},
		{"empty body", "POST", "/api/chat", ``, 400, "missing request body"},
		{"no model", "POST", "/api/chat", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "model is required"},
		{"unknown model", "POST", "/api/chat", `{"model":"x","messages":[{"role":"user","content":"hi"}]}`, 404, `model "x" not found, try pulling it first`},
		{"unknown model generate", "POST", "/api/generate", `{"model":"llama3","prompt":"hi"}`, 404, `model "llama3" not found, try pulling it first`},
		{"unknown model show", "POST", "/api/show", `{"model":"x"}`, 404, `model "x" not found`},
		{"top_logprobs too high", "POST", "/api/chat", `{"model":"sim-fast","logprobs":true,"top_logprobs":21,"messages":[]}`, 400, "top_logprobs must be between 0 and 20"},
		{"negative top_logprobs", "POST", "/api/generate", `{"model":"sim-fast","top_logprobs":-1,"prompt":"x"}`, 400, "top_logprobs must be between 0 and 20"},
		{"option of wrong type", "POST", "/api/chat", `{"model":"sim-fast","options":{"seed":"x"},"messages":[{"role":"user","content":"hi"}]}`, 400, `option "seed" must be a number`},
		{"negative temperature", "POST", "/api/chat", `{"model":"sim-fast","options":{"temperature":-1},"messages":[{"role":"user","content":"hi"}]}`, 400, "temperature"},
		{"embed with a chat model", "POST", "/api/embed", `{"model":"sim-fast","input":"hi"}`, 400, "does not support embeddings"},
		{"chat with an embedding model", "POST", "/api/chat", `{"model":"sim-embed","messages":[{"role":"user","content":"hi"}]}`, 400, "does not support chat"},
		{"embed input of wrong type", "POST", "/api/embed", `{"model":"sim-embed","input":[1,2]}`, 400, "invalid input type"},
		{"embed negative dimensions", "POST", "/api/embed", `{"model":"sim-embed","input":"x","dimensions":-3}`, 400, "dimensions"},
		{"body over the limit", "POST", "/api/chat", `{"model":"sim-fast","messages":[{"role":"user","content":"` + strings.Repeat("a", MaxRequestBody) + `"}]}`, 413, "request body larger than"},
		{"wrong method", "GET", "/api/chat", ``, 405, ""},
		{"unknown path", "GET", "/api/nope", ``, 404, ""},
		{"set unknown model down", "POST", "/sim/down?model=x", ``, 404, "unknown simulated model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, tc.method, srv.URL()+tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d (body %.200s)", status, tc.status, body)
			}
			if tc.wantErr == "" {
				return
			}
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Error, tc.wantErr) {
				t.Fatalf("body %.200s: want {\"error\": …%s…}", body, tc.wantErr)
			}
		})
	}
}

func TestSLMLoadRequests(t *testing.T) {
	_, srv, _ := startSLM(t)
	for _, tc := range []struct{ path, body string }{
		{"/api/chat", `{"model":"sim-fast","messages":[]}`},
		{"/api/generate", `{"model":"sim-fast"}`},
	} {
		status, body := post(t, "POST", srv.URL()+tc.path, tc.body)
		if status != 200 || !strings.Contains(body, `"done_reason":"load"`) {
			t.Fatalf("%s load request: %d %s", tc.path, status, body)
		}
	}
}

func TestSLMDownAndUp(t *testing.T) {
	s, srv, c := startSLM(t)
	ctx := context.Background()
	chat := func() error {
		return c.Chat(ctx, &api.ChatRequest{Model: ProfileSmol, Stream: ptr(false),
			Messages: []api.Message{{Role: "user", Content: "Which organ produces insulin?"}}}, func(api.ChatResponse) error { return nil })
	}

	if err := s.SetDown(ProfileSmol, true); err != nil {
		t.Fatal(err)
	}
	var se api.StatusError
	if err := chat(); !errors.As(err, &se) || se.StatusCode != 404 || !strings.Contains(se.ErrorMessage, "try pulling it first") {
		t.Fatalf("chat with model down: %v, want 404 not found", err)
	}
	if _, err := c.Show(ctx, &api.ShowRequest{Model: ProfileSmol}); !errors.As(err, &se) || se.StatusCode != 404 {
		t.Fatalf("show with model down: %v", err)
	}
	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list.Models {
		if m.Name == ProfileSmol {
			t.Fatal("a model that is down is still listed")
		}
	}
	if err := s.SetDown(ProfileSmol, false); err != nil || chat() != nil {
		t.Fatalf("model back up: %v / %v", err, chat())
	}

	if status, _ := post(t, "POST", srv.URL()+"/sim/down", ""); status != 200 {
		t.Fatalf("POST /sim/down: %d", status)
	}
	if _, err := c.Version(ctx); !errors.As(err, &se) || se.StatusCode != 503 {
		t.Fatalf("version while down: %v, want 503", err)
	}
	if err := chat(); !errors.As(err, &se) || se.StatusCode != 503 {
		t.Fatalf("chat while down: %v, want 503", err)
	}
	status, body := post(t, "GET", srv.URL()+"/sim/stats", "")
	if status != 200 || !strings.Contains(body, `"down":true`) {
		t.Fatalf("stats while down: %d %s", status, body)
	}
	if status, _ := post(t, "POST", srv.URL()+"/sim/up", ""); status != 200 {
		t.Fatalf("POST /sim/up: %d", status)
	}
	if _, err := c.Version(ctx); err != nil {
		t.Fatalf("version after up: %v", err)
	}
	if st := s.Stats(); st.Down || st.Models[ProfileSmol].Calls != 1 || st.Models[ProfileSmol].CompletionTokens == 0 {
		t.Fatalf("stats after the test: %+v", st)
	}
}

func TestSLMLatencyAndCancel(t *testing.T) {
	slow := BuiltinProfiles()[0]
	slow.Name, slow.Overhead, slow.TokenLatency = "sim-slow", Duration(20*time.Millisecond), Duration(30*time.Millisecond)
	s, err := NewSLM(workload.Default(), []Profile{slow})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	u, _ := url.Parse(srv.URL())
	c := api.NewClient(u, http.DefaultClient)
	req := &api.ChatRequest{Model: "sim-slow", Stream: ptr(false), Messages: []api.Message{{Role: "user", Content: "Which bacterium causes tuberculosis?"}}}

	start := time.Now()
	var resp api.ChatResponse
	if err := c.Chat(context.Background(), req, func(r api.ChatResponse) error { resp = r; return nil }); err != nil {
		t.Fatal(err)
	}
	want := 20*time.Millisecond + time.Duration(resp.EvalCount)*30*time.Millisecond
	if took := time.Since(start); took < want {
		t.Fatalf("answer of %d tokens took %v, want at least %v", resp.EvalCount, took, want)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = c.Chat(ctx, req, func(api.ChatResponse) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("cancelled chat: %v after %v", err, time.Since(start))
	}

	// Close cancels a request in flight instead of waiting for it.
	errc := make(chan error, 1)
	go func() { errc <- c.Chat(context.Background(), req, func(api.ChatResponse) error { return nil }) }()
	deadline := time.Now().Add(2 * time.Second)
	for s.Stats().InFlight == 0 {
		if time.Now().After(deadline) {
			t.Fatal("request never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	start = time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("Close took %v with a request in flight", time.Since(start))
	}
	<-errc
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	s, err := NewSLM(workload.Default(), BuiltinProfiles()[:1])
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := s.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for {
		resp, err := http.Get(srv.URL() + "/api/version")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still answers after its context was cancelled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(context.Background(), "256.0.0.1:0"); err == nil {
		t.Fatal("Start on an invalid address succeeded")
	}
}

func TestNewSLMValidates(t *testing.T) {
	wl := workload.Default()
	bad := BuiltinProfiles()[0]
	bad.Calibration = 2
	tests := []struct {
		name     string
		wl       *workload.Workload
		profiles []Profile
		opts     []Option
	}{
		{"no workload", nil, BuiltinProfiles(), nil},
		{"no profiles", wl, nil, nil},
		{"invalid profile", wl, []Profile{bad}, nil},
		{"duplicate profile", wl, []Profile{BuiltinProfiles()[0], BuiltinProfiles()[0]}, nil},
		{"negative latency scale", wl, BuiltinProfiles(), []Option{WithLatencyScale(-1)}},
		{"nil logger", wl, BuiltinProfiles(), []Option{WithLogger(nil)}},
		{"cloud-only option", wl, BuiltinProfiles(), []Option{WithAPIKey("k")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSLM(tc.wl, tc.profiles, tc.opts...); err == nil {
				t.Fatal("NewSLM succeeded")
			}
		})
	}
	if err := (&SLM{}).SetDown("sim-nope", true); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("SetDown(unknown) = %v", err)
	}
}

// TestAnswerTokens: a padded answer is as long as asked, says the same
// thing (it still scores right, or wrong, the same way) and is no longer
// padded than asked when already long enough.
func TestAnswerTokens(t *testing.T) {
	wl := workload.Default()
	plain, err := NewSLM(wl, BuiltinProfiles(), WithLatencyScale(0))
	if err != nil {
		t.Fatal(err)
	}
	padded, err := NewSLM(wl, BuiltinProfiles(), WithLatencyScale(0), WithAnswerTokens(24))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSLM(wl, BuiltinProfiles(), WithAnswerTokens(-1)); err == nil {
		t.Error("a negative answer length was accepted")
	}
	for _, it := range wl.Items()[:20] {
		a, err := plain.Answer(ProfileQwen, it.Prompt, Sampling{}, 5)
		if err != nil {
			t.Fatal(err)
		}
		g := padded.generation(padded.profile(ProfileQwen), []Turn{{Role: "user", Text: it.Prompt}}, it.Prompt, 1, Sampling{}, true, 5)
		b := g.reply
		if len(b.Tokens) < 24 {
			t.Errorf("%s: %d tokens, want at least 24", it.QID, len(b.Tokens))
		}
		if workload.Correct(it, a.Text, "local") != workload.Correct(it, b.Text, "local") || a.Outcome != b.Outcome {
			t.Errorf("%s: padded %q scores unlike %q", it.QID, b.Text, a.Text)
		}
		if !strings.HasPrefix(b.Text, a.Text) {
			t.Errorf("%s: padded %q does not begin with the answer %q", it.QID, b.Text, a.Text)
		}
	}
}
