package sim

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

// Cloud is the OpenAI-compatible stand-in for the cloud foundation model: an
// http.Handler with /v1/chat/completions (JSON or SSE streaming with usage),
// /v1/models, and a /sim/ control plane (down, up, stats) that needs no key.
// Its mutable state is guarded by mu.
type Cloud struct {
	eng     *engine
	opts    options
	profile Profile
	created int64
	mux     *http.ServeMux

	mu    sync.Mutex
	down  bool
	stats CloudStats
}

// CloudStats is the body of GET /sim/stats on the cloud stand-in.
type CloudStats struct {
	Down             bool `json:"down"`
	Calls            int  `json:"calls"`    // completions answered
	Rejected         int  `json:"rejected"` // refused: outage, bad key, bad request
	PromptTokens     int  `json:"prompt_tokens"`
	CompletionTokens int  `json:"completion_tokens"`
	// Calls per workload dataset (easy, hard, safety, unknown).
	ByDataset map[string]int `json:"by_dataset"`
}

// NewCloud returns the cloud stand-in serving one model described by p (see
// DefaultCloudProfile), answering from wl.
func NewCloud(wl *workload.Workload, p Profile, opts ...Option) (*Cloud, error) {
	if wl == nil {
		return nil, errors.New("new simulated cloud: workload is required")
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("new simulated cloud: %w", err)
	}
	if o.fault.Embed != FailNone {
		return nil, errors.New("new simulated cloud: the cloud serves no embeddings to fail")
	}
	p.Capabilities = []string{CapCompletion}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("new simulated cloud: %w", err)
	}
	eng, err := newEngine(wl)
	if err != nil {
		return nil, fmt.Errorf("new simulated cloud: %w", err)
	}
	c := &Cloud{
		eng: eng, opts: o, profile: p,
		created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix(),
		stats:   CloudStats{ByDataset: map[string]int{}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", c.handleCompletions)
	mux.HandleFunc("GET /v1/models", c.handleModels)
	mux.HandleFunc("POST /sim/down", c.handleDown(true))
	mux.HandleFunc("POST /sim/up", c.handleDown(false))
	mux.HandleFunc("GET /sim/stats", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, c.Stats()) })
	c.mux = mux
	return c, nil
}

// Start serves the stand-in on addr until ctx is cancelled or Close.
func (c *Cloud) Start(ctx context.Context, addr string) (*Server, error) {
	return Serve(ctx, addr, c)
}

// Model is the served model name.
func (c *Cloud) Model() string { return c.profile.Name }

// Answer is the reply /v1/chat/completions gives for a prompt with this
// sampling, computed without HTTP, latency or counters.
func (c *Cloud) Answer(prompt string, samp Sampling) Reply {
	return c.eng.answer(&c.profile, c.opts.seed, prompt, samp, 0, true)
}

// SetDown switches the simulated outage: every /v1/ request gets 503.
func (c *Cloud) SetDown(down bool) {
	c.mu.Lock()
	c.down = down
	c.mu.Unlock()
	c.opts.log.Info("simulated cloud availability changed", "down", down)
}

// Stats returns a snapshot of the counters.
func (c *Cloud) Stats() CloudStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.Down = c.down
	st.ByDataset = make(map[string]int, len(c.stats.ByDataset))
	for k, v := range c.stats.ByDataset {
		st.ByDataset[k] = v
	}
	return st
}

// ServeHTTP implements http.Handler.
func (c *Cloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		if c.opts.apiKey != "" && !c.authorized(r) {
			c.reject()
			writeOpenAIError(w, http.StatusUnauthorized, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
			return
		}
		c.mu.Lock()
		down := c.down
		c.mu.Unlock()
		if down {
			c.reject()
			writeOpenAIError(w, http.StatusServiceUnavailable, "simulated outage: the cloud FM is unavailable (POST /sim/up to restore)", "server_error", "service_unavailable")
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
	if r.URL.Path == "/v1/chat/completions" && inject(w, r, c.opts.fault.Complete, func(w http.ResponseWriter, status int, msg string) {
		c.reject()
		writeOpenAIError(w, status, msg, "server_error", "")
	}) {
		return
	}
	c.mux.ServeHTTP(w, r)
}

func (c *Cloud) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(c.opts.apiKey)) == 1
}

func (c *Cloud) reject() {
	c.mu.Lock()
	c.stats.Rejected++
	c.mu.Unlock()
}

func (c *Cloud) handleDown(down bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		c.SetDown(down)
		writeJSON(w, http.StatusOK, c.Stats())
	}
}

func (c *Cloud) handleModels(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data": []map[string]any{{
			"id": c.profile.Name, "object": "model", "created": c.created, "owned_by": "swarmllm-sim",
		}},
	})
}

// chatRequest is the part of an OpenAI chat completion request the stand-in reads.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Temperature         *float64 `json:"temperature"`
	Seed                *int64   `json:"seed"`
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	N                   *int     `json:"n"`
}

// messageText reads a message content: a string or an array of parts, of
// which the text parts count.
func messageText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("message content must be a string or an array of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

func (c *Cloud) handleCompletions(w http.ResponseWriter, r *http.Request) {
	fail := func(w http.ResponseWriter, status int, msg string) {
		c.reject()
		writeOpenAIError(w, status, msg, "invalid_request_error", "")
	}
	var req chatRequest
	if !decodeBody(w, r, &req, fail) {
		return
	}
	switch {
	case req.Model == "":
		fail(w, http.StatusBadRequest, "you must provide a model parameter")
		return
	case req.Model != c.profile.Name:
		c.reject()
		writeOpenAIError(w, http.StatusNotFound, fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", req.Model), "invalid_request_error", "model_not_found")
		return
	case len(req.Messages) == 0:
		fail(w, http.StatusBadRequest, "'messages' must contain at least one message")
		return
	case req.N != nil && *req.N != 1:
		fail(w, http.StatusBadRequest, "the simulated cloud supports only n=1")
		return
	}
	var samp Sampling
	if req.Temperature != nil {
		if *req.Temperature < 0 || *req.Temperature > 2 {
			fail(w, http.StatusBadRequest, "temperature must be between 0 and 2")
			return
		}
		samp.Temperature = *req.Temperature
	}
	if req.Seed != nil {
		samp.Seed = *req.Seed
	}
	for _, mt := range []*int{req.MaxTokens, req.MaxCompletionTokens} {
		if mt != nil {
			if *mt < 1 {
				fail(w, http.StatusBadRequest, "max_tokens must be at least 1")
				return
			}
			samp.NumPredict = *mt
		}
	}
	promptTokens := 3 // every reply is primed with <|start|>assistant<|message|>
	turns := make([]Turn, 0, len(req.Messages))
	for i, m := range req.Messages {
		text, err := messageText(m.Content)
		if err != nil {
			fail(w, http.StatusBadRequest, fmt.Sprintf("messages[%d]: %v", i, err))
			return
		}
		turns = append(turns, Turn{Role: m.Role, Text: text})
		promptTokens += countTokens(text) + 4
	}
	prompt := c.eng.question(turns)

	samp.MinTokens = c.opts.answerTokens
	reply := c.Answer(prompt, samp)
	c.opts.log.Debug("simulated cloud answer", "qid", reply.Item.QID, "outcome", reply.Outcome.String(), "prompt", prompt, "answer", reply.Text)
	wait := c.opts.scale(c.profile.Overhead)
	if !req.Stream { // a stream spends the token latency between its chunks
		wait += time.Duration(len(reply.Tokens)) * c.opts.tokenLatency(c.profile.TokenLatency)
	}
	if err := sleep(r.Context(), wait); err != nil {
		return
	}
	dataset := reply.Item.Dataset
	if reply.Outcome == OutcomeUnknown {
		dataset = "unknown"
	}
	usage := map[string]int{
		"prompt_tokens": promptTokens, "completion_tokens": len(reply.Tokens),
		"total_tokens": promptTokens + len(reply.Tokens),
	}
	c.mu.Lock()
	c.stats.Calls++
	c.stats.PromptTokens += promptTokens
	c.stats.CompletionTokens += len(reply.Tokens)
	c.stats.ByDataset[dataset]++
	id := "chatcmpl-sim-" + strconv.Itoa(c.stats.Calls)
	c.mu.Unlock()

	finish := "stop"
	if reply.Truncated {
		finish = "length"
	}
	now := time.Now().Unix()
	if !req.Stream {
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "object": "chat.completion", "created": now, "model": c.profile.Name,
			"system_fingerprint": "swarmllm-sim",
			"choices": []map[string]any{{
				"index": 0, "finish_reason": finish, "logprobs": nil,
				"message": map[string]any{"role": "assistant", "content": reply.Text, "refusal": nil},
			}},
			"usage": usage,
		})
		return
	}
	c.stream(r.Context(), w, id, now, reply, finish, usage, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
}

// stream writes the answer as OpenAI server-sent events: a role chunk, one
// chunk per token, a finish chunk, the usage chunk (empty choices) when the
// request asked for it, and [DONE].
func (c *Cloud) stream(ctx context.Context, w http.ResponseWriter, id string, created int64, reply Reply, finish string, usage map[string]int, includeUsage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	send := func(v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return ctx.Err() == nil
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": c.profile.Name,
			"system_fingerprint": "swarmllm-sim",
			"choices":            []map[string]any{{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}},
		}
	}
	if !send(chunk(map[string]any{"role": "assistant", "content": ""}, nil)) {
		return
	}
	for _, t := range reply.Tokens {
		if sleep(ctx, c.opts.tokenLatency(c.profile.TokenLatency)) != nil || !send(chunk(map[string]any{"content": t.Text}, nil)) {
			return
		}
	}
	if !send(chunk(map[string]any{}, finish)) {
		return
	}
	if includeUsage {
		if !send(map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": c.profile.Name,
			"choices": []any{}, "usage": usage,
		}) {
			return
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

// writeOpenAIError answers in OpenAI's error shape.
func writeOpenAIError(w http.ResponseWriter, status int, msg, typ, code string) {
	var codeVal any
	if code != "" {
		codeVal = code
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": codeVal,
	}})
}
