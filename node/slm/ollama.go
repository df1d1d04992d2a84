package slm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

var (
	// ErrUnreachable means the Ollama server did not answer at all.
	ErrUnreachable = errors.New("ollama unreachable")
	// ErrModelMissing means Ollama answered but does not have the model.
	ErrModelMissing = errors.New("model not found in ollama")
	// ErrEmptyAnswer means the model returned no text.
	ErrEmptyAnswer = errors.New("model returned an empty answer")
)

// DefaultTopLogprobs is how many alternatives per token we ask Ollama for: enough
// for an entropy estimate, cheap to carry.
const DefaultTopLogprobs = 5

// Message is one chat turn.
type Message struct {
	Role    string // system | user | assistant
	Content string
}

// ChatRequest is one completion request to the local model.
type ChatRequest struct {
	Messages    []Message
	MaxTokens   int      // 0 = model default
	Temperature *float64 // nil = model default
	Seed        *int     // nil = random
	Logprobs    bool     // ask for token log-probabilities (and top alternatives)
}

// ChatResult is the model's answer with what we need to judge it.
type ChatResult struct {
	Text             string
	Model            string
	Logprobs         []api.Logprob
	PromptTokens     int
	CompletionTokens int
	EvalDuration     time.Duration // generation time as Ollama measured it
	Latency          time.Duration // wall time of the call as we saw it
}

// TokensPerSecond is the generation speed Ollama measured for this answer.
func (r *ChatResult) TokensPerSecond() float64 {
	if r.EvalDuration <= 0 || r.CompletionTokens == 0 {
		return 0
	}
	return float64(r.CompletionTokens) / r.EvalDuration.Seconds()
}

// ModelFacts is what /api/show says about the model, flattened for the CMS.
type ModelFacts struct {
	Name          string
	Family        string
	ParameterSize string
	Quantization  string
	Format        string
	ContextLength int
	EmbeddingDim  int
	Capabilities  []string // completion, embedding, tools, vision, …
	// From /api/tags: what `ollama list` shows of the model.
	Digest     string // hex sha256 of the manifest
	Size       int64  // bytes on disk
	ModifiedAt time.Time
}

// LoadedModel is the model as Ollama's /api/ps lists it while it is in memory.
type LoadedModel struct {
	Digest        string
	Size          int64 // bytes in memory
	SizeVRAM      int64 // of which on the GPU
	ContextLength int
	ExpiresAt     time.Time
}

// Ollama is a client for one model on one Ollama server. Safe for concurrent use.
type Ollama struct {
	client      *api.Client
	http        *http.Client // for chatOnce; the same one client uses
	base        string
	model       string
	topLogprobs int
}

// OllamaOption configures an Ollama client.
type OllamaOption func(*Ollama)

// WithHTTPClient replaces the HTTP client (its Timeout bounds every call).
func WithHTTPClient(c *http.Client) OllamaOption {
	return func(o *Ollama) { o.http, o.client = c, api.NewClient(mustParse(o.base), c) }
}

// WithTopLogprobs sets how many alternatives per token to request (0..20).
func WithTopLogprobs(n int) OllamaOption { return func(o *Ollama) { o.topLogprobs = n } }

// NewOllama returns a client for model at baseURL (e.g. http://127.0.0.1:11434).
func NewOllama(baseURL, model string, opts ...OllamaOption) (*Ollama, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("new ollama client: base URL %q is not an http(s) URL", baseURL)
	}
	if strings.TrimSpace(model) == "" {
		return nil, fmt.Errorf("new ollama client: empty model name")
	}
	o := &Ollama{
		base:        strings.TrimSuffix(baseURL, "/"),
		model:       model,
		topLogprobs: DefaultTopLogprobs,
		// Generation can legitimately take minutes on a Pi; callers bound it with ctx.
		http: &http.Client{Transport: ollamaTransport()},
	}
	o.client = api.NewClient(u, o.http)
	for _, opt := range opts {
		opt(o)
	}
	if o.topLogprobs < 0 || o.topLogprobs > 20 {
		return nil, fmt.Errorf("new ollama client: top logprobs %d out of 0..20", o.topLogprobs)
	}
	return o, nil
}

// ollamaTransport keeps enough idle connections for the queries a node runs
// at once (the default keeps 2 per host and re-dials under load).
func ollamaTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

func mustParse(s string) *url.URL {
	u, _ := url.Parse(s) // validated in NewOllama before options run
	return u
}

// Model is the model name this client serves.
func (o *Ollama) Model() string { return o.model }

// BaseURL is the Ollama server's base URL.
func (o *Ollama) BaseURL() string { return o.base }

// Chat asks the model for one complete (non-streamed) answer.
func (o *Ollama) Chat(ctx context.Context, req ChatRequest) (*ChatResult, error) {
	start := time.Now()
	resp, err := o.chatOnce(ctx, o.chatRequest(req, false))
	if err != nil {
		return nil, fmt.Errorf("chat with %s: %w", o.model, classify(err))
	}
	return o.result(*resp, start)
}

// chatRequest is req as Ollama's /api/chat takes it.
func (o *Ollama) chatRequest(req ChatRequest, stream bool) *api.ChatRequest {
	msgs := make([]api.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = api.Message{Role: m.Role, Content: m.Content}
	}
	options := map[string]any{}
	if req.MaxTokens > 0 {
		options["num_predict"] = req.MaxTokens
	}
	if req.Temperature != nil {
		options["temperature"] = *req.Temperature
	}
	if req.Seed != nil {
		options["seed"] = *req.Seed
	}
	creq := &api.ChatRequest{Model: o.model, Messages: msgs, Stream: &stream, Options: options}
	if req.Logprobs {
		creq.Logprobs = true
		creq.TopLogprobs = o.topLogprobs
	}
	return creq
}

// result is Ollama's final answer as a ChatResult; a blank answer is an error.
func (o *Ollama) result(resp api.ChatResponse, start time.Time) (*ChatResult, error) {
	text := strings.TrimSpace(resp.Message.Content)
	if text == "" {
		return nil, fmt.Errorf("chat with %s: %w", o.model, ErrEmptyAnswer)
	}
	model := resp.Model
	if model == "" {
		model = o.model
	}
	return &ChatResult{
		Text:             text,
		Model:            model,
		Logprobs:         resp.Logprobs,
		PromptTokens:     resp.PromptEvalCount,
		CompletionTokens: resp.EvalCount,
		EvalDuration:     resp.EvalDuration,
		Latency:          time.Since(start),
	}, nil
}

// Token is one piece of a streamed answer as Ollama sends it: its text and
// the log-probabilities of the tokens in it (empty without Logprobs).
type Token struct {
	Text     string
	Logprobs []api.Logprob
}

// maxStreamLineBytes bounds one line of a streamed answer (one token and its
// alternatives, or the final line with the metrics).
const maxStreamLineBytes = 1 << 20

// ChatStream asks the model for one answer streamed token by token (Ollama
// sends each token's logprobs with it): onToken runs on the caller's
// goroutine for every piece as it arrives, and the result is what Chat
// would have returned. An error after the first token still ends the call
// with an error.
func (o *Ollama) ChatStream(ctx context.Context, req ChatRequest, onToken func(Token)) (*ChatResult, error) {
	start := time.Now()
	creq := o.chatRequest(req, true)
	body, err := json.Marshal(creq)
	if err != nil {
		return nil, fmt.Errorf("chat with %s: %w", o.model, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base+"/api/chat", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("chat with %s: %w", o.model, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/x-ndjson")
	hresp, err := o.http.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("chat with %s: %w", o.model, classify(err))
	}
	defer hresp.Body.Close()
	if hresp.StatusCode >= http.StatusBadRequest {
		return nil, fmt.Errorf("chat with %s: %w", o.model, classify(statusError(hresp)))
	}
	sc := bufio.NewScanner(hresp.Body)
	sc.Buffer(make([]byte, 0, 4096), maxStreamLineBytes)
	var text strings.Builder
	var lps []api.Logprob
	var last api.ChatResponse
	for sc.Scan() {
		var line struct {
			api.ChatResponse
			Error string `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("chat with %s: decode streamed line: %w", o.model, err)
		}
		if line.Error != "" { // Ollama reports a failure mid-stream as a line of its own
			return nil, fmt.Errorf("chat with %s: %w", o.model, classify(api.StatusError{StatusCode: http.StatusInternalServerError, ErrorMessage: line.Error}))
		}
		if line.Message.Content != "" || len(line.Logprobs) > 0 {
			text.WriteString(line.Message.Content)
			lps = append(lps, line.Logprobs...)
			onToken(Token{Text: line.Message.Content, Logprobs: line.Logprobs})
		}
		if line.Done {
			last = line.ChatResponse
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("chat with %s: read stream: %w", o.model, classify(err))
	}
	if !last.Done {
		return nil, fmt.Errorf("chat with %s: the stream ended before the answer did: %w", o.model, io.ErrUnexpectedEOF)
	}
	last.Message.Content, last.Logprobs = text.String(), lps
	return o.result(last, start)
}

// maxChatResponseBytes bounds one non-streamed chat answer from Ollama.
const maxChatResponseBytes = 16 << 20

// chatOnce posts one non-streamed /api/chat. api.Client.Chat would do, but it
// allocates an 8 MiB line buffer on every call (it always reads as a stream),
// which costs milliseconds per answer and megabytes per concurrent query on a
// Raspberry Pi; the request and response types are still Ollama's own.
func (o *Ollama) chatOnce(ctx context.Context, creq *api.ChatRequest) (*api.ChatResponse, error) {
	body, err := json.Marshal(creq)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base+"/api/chat", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hresp, err := o.http.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	if hresp.StatusCode >= http.StatusBadRequest {
		return nil, statusError(hresp)
	}
	dec := json.NewDecoder(io.LimitReader(hresp.Body, maxChatResponseBytes))
	var resp api.ChatResponse
	if err := dec.Decode(&resp); err != nil {
		return nil, fmt.Errorf("decode chat response: %w", err)
	}
	return &resp, nil
}

// statusError reads Ollama's error body of a failed call.
func statusError(hresp *http.Response) api.StatusError {
	se := api.StatusError{StatusCode: hresp.StatusCode, Status: hresp.Status}
	var e struct {
		Error string `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(hresp.Body, maxChatResponseBytes)).Decode(&e) == nil {
		se.ErrorMessage = e.Error
	}
	return se
}

// Version returns the Ollama server's version; it doubles as a liveness probe.
func (o *Ollama) Version(ctx context.Context) (string, error) {
	v, err := o.client.Version(ctx)
	if err != nil {
		return "", fmt.Errorf("ollama version: %w", classify(err))
	}
	return v, nil
}

// Show reads the model's facts from /api/show.
func (o *Ollama) Show(ctx context.Context) (*ModelFacts, error) {
	return o.ShowModel(ctx, o.model)
}

// ShowModel reads any model's facts from /api/show (e.g. the embedding model).
func (o *Ollama) ShowModel(ctx context.Context, name string) (*ModelFacts, error) {
	resp, err := o.client.Show(ctx, &api.ShowRequest{Model: name})
	if err != nil {
		return nil, fmt.Errorf("show %s: %w", name, classify(err))
	}
	f := &ModelFacts{
		Name:          name,
		Family:        resp.Details.Family,
		ParameterSize: resp.Details.ParameterSize,
		Quantization:  resp.Details.QuantizationLevel,
		Format:        resp.Details.Format,
	}
	for _, c := range resp.Capabilities {
		f.Capabilities = append(f.Capabilities, string(c))
	}
	// model_info keys are "<arch>.context_length" etc.; the arch prefix varies.
	for k, v := range resp.ModelInfo {
		switch {
		case strings.HasSuffix(k, ".context_length"):
			f.ContextLength = toInt(v)
		case strings.HasSuffix(k, ".embedding_length"):
			f.EmbeddingDim = toInt(v)
		}
	}
	// /api/show has no digest or size: /api/tags has.
	list, err := o.client.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list models for %s: %w", name, classify(err))
	}
	for _, m := range list.Models {
		if sameModel(m.Name, name) {
			f.Digest, f.Size, f.ModifiedAt = m.Digest, m.Size, m.ModifiedAt
			break
		}
	}
	return f, nil
}

// Loaded reports the model as /api/ps lists it, or nil when it is not in memory.
func (o *Ollama) Loaded(ctx context.Context) (*LoadedModel, error) {
	ps, err := o.client.ListRunning(ctx)
	if err != nil {
		return nil, fmt.Errorf("list running models: %w", classify(err))
	}
	for _, m := range ps.Models {
		if sameModel(m.Name, o.model) {
			return &LoadedModel{Digest: m.Digest, Size: m.Size, SizeVRAM: m.SizeVRAM,
				ContextLength: m.ContextLength, ExpiresAt: m.ExpiresAt}, nil
		}
	}
	return nil, nil
}

// sameModel says whether two names mean the same Ollama model, as Ollama
// compares them: case-insensitive, a missing tag meaning ":latest".
func sameModel(a, b string) bool {
	na, nb := model.ParseName(a), model.ParseName(b)
	if !na.IsValid() || !nb.IsValid() {
		return strings.EqualFold(a, b)
	}
	return na.EqualFold(nb)
}

func toInt(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return 0
}

// Embed returns one vector per text from an Ollama embedding model.
func (o *Ollama) Embed(ctx context.Context, model string, texts []string) ([][]float32, error) {
	resp, err := o.client.Embed(ctx, &api.EmbedRequest{Model: model, Input: texts})
	if err != nil {
		return nil, fmt.Errorf("embed with %s: %w", model, classify(err))
	}
	if len(resp.Embeddings) != len(texts) {
		return nil, fmt.Errorf("embed with %s: got %d vectors for %d texts", model, len(resp.Embeddings), len(texts))
	}
	return resp.Embeddings, nil
}

// classify maps transport and status errors onto our sentinels, keeping the cause.
func classify(err error) error {
	var se api.StatusError
	if errors.As(err, &se) {
		if se.StatusCode == http.StatusNotFound || strings.Contains(se.ErrorMessage, "not found") {
			return fmt.Errorf("%w: %s", ErrModelMissing, se.ErrorMessage)
		}
		return err
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || (errors.As(err, &ne) && !errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	if strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}
