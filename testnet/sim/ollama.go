package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

// OllamaVersion is the Ollama API version the SLM simulator mimics; its
// /api/version reports it with VersionSuffix so no one mistakes it for Ollama.
const (
	OllamaVersion = "0.17.4"
	VersionSuffix = "-swarmllm-sim"
)

// MaxRequestBody caps a request body (413 beyond).
const MaxRequestBody = 8 << 20

var (
	// ErrUnknownModel is returned by SetDown for a model the server does not serve.
	ErrUnknownModel = errors.New("unknown simulated model")
	// ErrNoProfiles is returned by NewSLM without profiles.
	ErrNoProfiles = errors.New("no simulated model profiles")
)

// SLM is the simulated Ollama server: an http.Handler serving one or more
// profiles. Its mutable state (outages, counters) is guarded by mu.
type SLM struct {
	eng      *engine
	opts     options
	profiles []Profile // in the order given; names unique
	modified time.Time
	mux      *http.ServeMux
	public   map[string]bool // capitalised runs the model knows as public, see publicEntities

	inFlight atomic.Int64 // /api/ requests being served

	mu        sync.Mutex
	down      bool            // the whole server answers 503
	modelDown map[string]bool // these models are "not pulled": 404
	stats     map[string]*ModelStats
}

// ModelStats counts what one simulated model served.
type ModelStats struct {
	Calls            int `json:"calls"` // chat and generate requests answered
	Embeds           int `json:"embeds"`
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// SLMStats is the body of GET /sim/stats on the SLM simulator.
type SLMStats struct {
	InFlight   int                   `json:"in_flight"` // /api/ requests being served now
	Down       bool                  `json:"down"`
	DownModels []string              `json:"down_models,omitempty"`
	Models     map[string]ModelStats `json:"models"`
}

// NewSLM returns a simulated Ollama server for the given profiles, answering
// from wl. Profiles are validated; names must be unique.
func NewSLM(wl *workload.Workload, profiles []Profile, opts ...Option) (*SLM, error) {
	if wl == nil {
		return nil, errors.New("new simulated SLM: workload is required")
	}
	if len(profiles) == 0 {
		return nil, fmt.Errorf("new simulated SLM: %w", ErrNoProfiles)
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("new simulated SLM: %w", err)
	}
	if o.apiKey != "" {
		return nil, errors.New("new simulated SLM: WithAPIKey applies to the cloud stand-in only")
	}
	eng, err := newEngine(wl)
	if err != nil {
		return nil, fmt.Errorf("new simulated SLM: %w", err)
	}
	s := &SLM{
		eng:       eng,
		opts:      o,
		public:    publicEntities(wl),
		modified:  time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		modelDown: make(map[string]bool),
		stats:     make(map[string]*ModelStats),
	}
	for _, p := range profiles {
		p.Capabilities = slices.Clone(p.Capabilities)
		p.Domains = slices.Clone(p.Domains)
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("new simulated SLM: %w", err)
		}
		if s.profile(p.Name) != nil {
			return nil, fmt.Errorf("new simulated SLM: %w: %q given twice", ErrInvalidProfile, p.Name)
		}
		s.profiles = append(s.profiles, p)
		s.stats[p.Name] = &ModelStats{}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleRoot)
	mux.HandleFunc("HEAD /{$}", s.handleRoot)
	mux.HandleFunc("GET /api/version", s.handleVersion)
	mux.HandleFunc("HEAD /api/version", s.handleVersion)
	mux.HandleFunc("POST /api/chat", s.handleChat)
	mux.HandleFunc("POST /api/generate", s.handleGenerate)
	mux.HandleFunc("POST /api/embed", s.handleEmbed)
	mux.HandleFunc("POST /api/show", s.handleShow)
	mux.HandleFunc("GET /api/tags", s.handleTags)
	mux.HandleFunc("GET /api/ps", s.handlePs)
	mux.HandleFunc("POST /sim/down", s.handleDown(true))
	mux.HandleFunc("POST /sim/up", s.handleDown(false))
	mux.HandleFunc("GET /sim/stats", s.handleStats)
	s.mux = mux
	return s, nil
}

// Start serves the simulator on addr until ctx is cancelled or Close.
func (s *SLM) Start(ctx context.Context, addr string) (*Server, error) {
	return Serve(ctx, addr, s)
}

// ServeHTTP implements http.Handler.
func (s *SLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		if s.isDown() {
			writeOllamaError(w, http.StatusServiceUnavailable, "simulated outage: the Ollama server is down (POST /sim/up to restore)")
			return
		}
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
	switch r.URL.Path {
	case "/api/chat", "/api/generate":
		if inject(w, r, s.opts.fault.Complete, writeOllamaError) {
			return
		}
	case "/api/embed":
		if inject(w, r, s.opts.fault.Embed, writeOllamaError) {
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// Models lists the served model names in order.
func (s *SLM) Models() []string {
	out := make([]string, len(s.profiles))
	for i, p := range s.profiles {
		out[i] = p.Name
	}
	return out
}

// SetDown takes the whole server (model "") or one model down or back up.
// A down server answers every /api/ request with 503; a down model is as if
// never pulled: 404 and absent from /api/tags.
func (s *SLM) SetDown(modelName string, down bool) error {
	if modelName != "" && s.profile(modelName) == nil {
		return fmt.Errorf("set %q down=%v: %w", modelName, down, ErrUnknownModel)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if modelName == "" {
		s.down = down
	} else {
		s.modelDown[modelName] = down
	}
	s.opts.log.Info("simulated SLM availability changed", "model", modelName, "down", down)
	return nil
}

// Answer is what model would reply to prompt, computed without HTTP, latency
// or counters: the same reply /api/chat gives for the same prompt and
// sampling (topK alternatives per token; 0 for none). Eval sweeps and tests
// use it to read the ground truth (Reply.Outcome) behind an answer.
func (s *SLM) Answer(modelName, prompt string, samp Sampling, topK int) (Reply, error) {
	p := s.profile(modelName)
	if p == nil {
		return Reply{}, fmt.Errorf("answer with %q: %w", modelName, ErrUnknownModel)
	}
	if !p.Has(CapCompletion) {
		return Reply{}, fmt.Errorf("answer with %q: %w: it is an embedding model", modelName, ErrUnknownModel)
	}
	return s.eng.answer(p, s.opts.seed, prompt, samp, min(max(topK, 0), maxTopK), false), nil
}

// Stats returns a snapshot of the counters and outages.
func (s *SLM) Stats() SLMStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SLMStats{InFlight: int(s.inFlight.Load()), Down: s.down, Models: make(map[string]ModelStats, len(s.stats))}
	for n, m := range s.stats {
		st.Models[n] = *m
		if s.modelDown[n] {
			st.DownModels = append(st.DownModels, n)
		}
	}
	slices.Sort(st.DownModels)
	return st
}

func (s *SLM) isDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

func (s *SLM) profile(name string) *Profile {
	for i := range s.profiles {
		if s.profiles[i].Name == name {
			return &s.profiles[i]
		}
	}
	return nil
}

// lookupModel resolves a request's model the way Ollama reports failures.
// Names without a tag also match ":latest".
func (s *SLM) lookupModel(w http.ResponseWriter, name string) *Profile {
	if name == "" {
		writeOllamaError(w, http.StatusBadRequest, "model is required")
		return nil
	}
	p := s.profile(name)
	if p == nil && strings.HasSuffix(name, ":latest") {
		p = s.profile(strings.TrimSuffix(name, ":latest"))
	}
	if p != nil {
		s.mu.Lock()
		down := s.modelDown[p.Name]
		s.mu.Unlock()
		if !down {
			return p
		}
	}
	writeOllamaError(w, http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", name))
	return nil
}

func (s *SLM) count(name string, f func(*ModelStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.stats[name])
}

func (s *SLM) handleRoot(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "Ollama is running (simulated by swarmllm testnet/sim)")
}

func (s *SLM) handleVersion(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": OllamaVersion + VersionSuffix})
}

// decodeBody reads a JSON request body into v, answering Ollama-style errors.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, fail func(w http.ResponseWriter, status int, msg string)) bool {
	err := json.NewDecoder(r.Body).Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.Is(err, io.EOF):
		fail(w, http.StatusBadRequest, "missing request body")
	case errors.As(err, &tooBig):
		fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", tooBig.Limit))
	default:
		fail(w, http.StatusBadRequest, err.Error())
	}
	return false
}

// completionRequest checks what /api/chat and /api/generate share: the
// logprob count, a model that completes, and the sampling options. On a
// problem it has written the error and reports false.
func (s *SLM) completionRequest(w http.ResponseWriter, model string, topLogprobs int, options map[string]any, verb string) (*Profile, Sampling, bool) {
	if topLogprobs < 0 || topLogprobs > maxTopK {
		writeOllamaError(w, http.StatusBadRequest, "top_logprobs must be between 0 and 20")
		return nil, Sampling{}, false
	}
	p := s.lookupModel(w, model)
	if p == nil {
		return nil, Sampling{}, false
	}
	if !p.Has(CapCompletion) {
		writeOllamaError(w, http.StatusBadRequest, fmt.Sprintf("%q does not support %s", model, verb))
		return nil, Sampling{}, false
	}
	samp, err := parseSampling(options)
	if err != nil {
		writeOllamaError(w, http.StatusBadRequest, err.Error())
		return nil, Sampling{}, false
	}
	return p, samp, true
}

func (s *SLM) handleChat(w http.ResponseWriter, r *http.Request) {
	var req api.ChatRequest
	if !decodeBody(w, r, &req, writeOllamaError) {
		return
	}
	p, samp, ok := s.completionRequest(w, req.Model, req.TopLogprobs, req.Options, "chat")
	if !ok {
		return
	}
	if len(req.Messages) == 0 { // Ollama's "load the model" request
		writeJSON(w, http.StatusOK, api.ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(),
			Message: api.Message{Role: "assistant"}, Done: true, DoneReason: "load"})
		return
	}
	if len(req.Format) > 0 { // structured output: the node's on-device privacy layer
		s.answerPersonalData(w, p, req)
		return
	}
	turns := make([]Turn, len(req.Messages))
	promptTokens := 0
	for i, m := range req.Messages {
		turns[i] = Turn{Role: m.Role, Text: m.Content}
		promptTokens += countTokens(m.Content) + 4 // role and template tokens
	}
	prompt := s.eng.question(turns)
	g := s.generation(p, turns, prompt, promptTokens, samp, req.Logprobs, req.TopLogprobs)
	stream := req.Stream == nil || *req.Stream
	g.run(r.Context(), w, stream, func(m api.Metrics, content string, lps []api.Logprob, done bool, reason string) any {
		return api.ChatResponse{
			Model: req.Model, CreatedAt: time.Now().UTC(),
			Message: api.Message{Role: "assistant", Content: content},
			Done:    done, DoneReason: reason, Logprobs: lps, Metrics: m,
		}
	})
}

func (s *SLM) handleGenerate(w http.ResponseWriter, r *http.Request) {
	var req api.GenerateRequest
	if !decodeBody(w, r, &req, writeOllamaError) {
		return
	}
	p, samp, ok := s.completionRequest(w, req.Model, req.TopLogprobs, req.Options, "generate")
	if !ok {
		return
	}
	if req.Prompt == "" { // Ollama's "load the model" request
		writeJSON(w, http.StatusOK, api.GenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Done: true, DoneReason: "load"})
		return
	}
	prompt := req.Prompt
	if _, ok := s.eng.wl.Lookup(prompt); !ok && req.System != "" {
		prompt = req.System + "\n" + req.Prompt
	}
	g := s.generation(p, []Turn{{Role: "system", Text: req.System}, {Role: "user", Text: req.Prompt}}, prompt, countTokens(req.System)+countTokens(req.Prompt)+4, samp, req.Logprobs, req.TopLogprobs)
	stream := req.Stream == nil || *req.Stream
	g.run(r.Context(), w, stream, func(m api.Metrics, content string, lps []api.Logprob, done bool, reason string) any {
		return api.GenerateResponse{
			Model: req.Model, CreatedAt: time.Now().UTC(), Response: content,
			Done: done, DoneReason: reason, Logprobs: lps, Metrics: m,
		}
	})
}

// parseSampling reads the options that change a simulated answer.
func parseSampling(opts map[string]any) (Sampling, error) {
	var s Sampling
	num := func(key string) (float64, bool, error) {
		v, ok := opts[key]
		if !ok || v == nil {
			return 0, false, nil
		}
		f, ok := v.(float64)
		if !ok {
			return 0, false, fmt.Errorf("option %q must be a number, got %T", key, v)
		}
		return f, true, nil
	}
	if f, ok, err := num("seed"); err != nil {
		return s, err
	} else if ok {
		s.Seed = int64(f)
	}
	if f, ok, err := num("temperature"); err != nil {
		return s, err
	} else if ok {
		if f < 0 {
			return s, fmt.Errorf("option \"temperature\" must not be negative")
		}
		s.Temperature = f
	}
	if f, ok, err := num("num_predict"); err != nil {
		return s, err
	} else if ok && f > 0 {
		s.NumPredict = int(f)
	}
	return s, nil
}

// generation is one simulated answer being delivered.
type generation struct {
	s            *SLM
	p            *Profile
	reply        Reply
	promptTokens int
	logprobs     bool
}

func (s *SLM) generation(p *Profile, turns []Turn, prompt string, promptTokens int, samp Sampling, logprobs bool, topK int) *generation {
	if !logprobs {
		topK = 0
	}
	samp.MinTokens = s.opts.answerTokens
	reply, ok := s.eng.fromPassages(p, s.opts.seed, turns, samp, topK) // context.go
	if !ok {
		reply = s.eng.answer(p, s.opts.seed, prompt, samp, topK, false)
	}
	s.opts.log.Debug("simulated SLM answer", "model", p.Name, "qid", reply.Item.QID, "outcome", reply.Outcome.String(), "prompt", prompt, "answer", reply.Text)
	return &generation{s: s, p: p, reply: reply, promptTokens: promptTokens, logprobs: logprobs}
}

type frameFunc func(m api.Metrics, content string, lps []api.Logprob, done bool, reason string) any

// run waits out the simulated latency and writes the answer: one NDJSON line
// per token and a final done line when streaming, else one JSON object. A
// cancelled request stops at the next token.
func (g *generation) run(ctx context.Context, w http.ResponseWriter, stream bool, frame frameFunc) {
	start := time.Now()
	o := &g.s.opts
	if err := sleep(ctx, o.scale(g.p.Overhead)); err != nil {
		return
	}
	promptDone := time.Now()
	reason := "stop"
	if g.reply.Truncated {
		reason = "length"
	}
	var flusher http.Flusher
	if stream {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		flusher, _ = w.(http.Flusher)
	}
	enc := json.NewEncoder(w)
	for _, t := range g.reply.Tokens {
		if err := sleep(ctx, o.tokenLatency(g.p.TokenLatency)); err != nil {
			return
		}
		if stream {
			if err := enc.Encode(frame(api.Metrics{}, t.Text, g.apiLogprobs([]Token{t}), false, "")); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
	end := time.Now()
	m := api.Metrics{
		TotalDuration:      max(end.Sub(start), time.Microsecond),
		LoadDuration:       time.Microsecond,
		PromptEvalCount:    g.promptTokens,
		PromptEvalDuration: max(promptDone.Sub(start), time.Microsecond),
		EvalCount:          len(g.reply.Tokens),
		EvalDuration:       max(end.Sub(promptDone), time.Microsecond),
	}
	g.s.count(g.p.Name, func(st *ModelStats) {
		st.Calls++
		st.PromptTokens += m.PromptEvalCount
		st.CompletionTokens += m.EvalCount
	})
	if stream {
		enc.Encode(frame(m, "", nil, true, reason))
		return
	}
	writeJSON(w, http.StatusOK, frame(m, g.reply.Text, g.apiLogprobs(g.reply.Tokens), true, reason))
}

func (g *generation) apiLogprobs(toks []Token) []api.Logprob {
	if !g.logprobs {
		return nil
	}
	out := make([]api.Logprob, len(toks))
	for i, t := range toks {
		out[i] = api.Logprob{TokenLogprob: api.TokenLogprob{Token: t.Text, Logprob: t.Logprob, Bytes: byteInts(t.Text)}}
		for _, a := range t.Top {
			out[i].TopLogprobs = append(out[i].TopLogprobs, api.TokenLogprob{Token: a.Text, Logprob: a.Logprob, Bytes: byteInts(a.Text)})
		}
	}
	return out
}

func byteInts(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}

func (s *SLM) handleEmbed(w http.ResponseWriter, r *http.Request) {
	var req api.EmbedRequest
	if !decodeBody(w, r, &req, writeOllamaError) {
		return
	}
	p := s.lookupModel(w, req.Model)
	if p == nil {
		return
	}
	if !p.Has(CapEmbedding) {
		writeOllamaError(w, http.StatusBadRequest, fmt.Sprintf("%q does not support embeddings", req.Model))
		return
	}
	var inputs []string
	switch in := req.Input.(type) {
	case nil:
	case string:
		if in != "" {
			inputs = []string{in}
		}
	case []any:
		for _, v := range in {
			s, ok := v.(string)
			if !ok {
				writeOllamaError(w, http.StatusBadRequest, "invalid input type")
				return
			}
			inputs = append(inputs, s)
		}
	default:
		writeOllamaError(w, http.StatusBadRequest, "invalid input type")
		return
	}
	if req.Dimensions < 0 {
		writeOllamaError(w, http.StatusBadRequest, "dimensions must not be negative")
		return
	}
	start := time.Now()
	if err := sleep(r.Context(), s.opts.scale(p.Overhead)); err != nil {
		return
	}
	resp := api.EmbedResponse{Model: req.Model, Embeddings: [][]float32{}}
	for _, in := range inputs {
		resp.Embeddings = append(resp.Embeddings, truncateVector(embedText(p.Name, in, p.EmbeddingLength), req.Dimensions))
		resp.PromptEvalCount += countTokens(in)
	}
	resp.TotalDuration = max(time.Since(start), time.Microsecond)
	s.count(p.Name, func(st *ModelStats) { st.Embeds++; st.PromptTokens += resp.PromptEvalCount })
	writeJSON(w, http.StatusOK, resp)
}

func (s *SLM) handleShow(w http.ResponseWriter, r *http.Request) {
	var req api.ShowRequest
	if !decodeBody(w, r, &req, writeOllamaError) {
		return
	}
	if req.Model == "" {
		//lint:ignore SA1019 real Ollama still accepts the deprecated field, and so must its stand-in
		req.Model = req.Name
	}
	p := s.lookupModel(w, req.Model)
	if p == nil {
		return
	}
	info := map[string]any{
		"general.architecture":       p.Family,
		"general.basename":           p.Name,
		"general.parameter_count":    int64(parameterCount(p.ParameterSize)),
		p.Family + ".context_length": p.ContextLength,
		"swarmllm.simulated":         true,
	}
	if p.Has(CapEmbedding) {
		info[p.Family+".embedding_length"] = p.EmbeddingLength
	}
	caps := make([]model.Capability, len(p.Capabilities))
	for i, c := range p.Capabilities {
		caps[i] = model.Capability(c)
	}
	writeJSON(w, http.StatusOK, api.ShowResponse{
		Modelfile:    "# Simulated model served by swarmllm testnet/sim; not a real model.\nFROM " + p.Name + "\n",
		Template:     "{{ .Prompt }}",
		Details:      s.details(p),
		ModelInfo:    info,
		Capabilities: caps,
		ModifiedAt:   s.modified,
	})
}

func (s *SLM) details(p *Profile) api.ModelDetails {
	return api.ModelDetails{Format: "gguf", Family: p.Family, Families: []string{p.Family},
		ParameterSize: p.ParameterSize, QuantizationLevel: p.Quantization}
}

// upProfiles lists the models not taken down, in order.
func (s *SLM) upProfiles() []*Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Profile
	for i := range s.profiles {
		if !s.modelDown[s.profiles[i].Name] {
			out = append(out, &s.profiles[i])
		}
	}
	return out
}

func (s *SLM) handleTags(w http.ResponseWriter, _ *http.Request) {
	resp := api.ListResponse{Models: []api.ListModelResponse{}}
	for _, p := range s.upProfiles() {
		resp.Models = append(resp.Models, api.ListModelResponse{
			Name: p.Name, Model: p.Name, ModifiedAt: s.modified, Size: modelSize(p),
			Digest: digest(p.Name), Details: s.details(p),
		})
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *SLM) handlePs(w http.ResponseWriter, _ *http.Request) {
	resp := api.ProcessResponse{Models: []api.ProcessModelResponse{}}
	for _, p := range s.upProfiles() {
		resp.Models = append(resp.Models, api.ProcessModelResponse{
			Name: p.Name, Model: p.Name, Size: modelSize(p), Digest: digest(p.Name), Details: s.details(p),
			ExpiresAt: time.Now().Add(5 * time.Minute).UTC(), ContextLength: p.ContextLength,
		})
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *SLM) handleDown(down bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("model")
		if err := s.SetDown(name, down); err != nil {
			writeOllamaError(w, http.StatusNotFound, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.Stats())
	}
}

func (s *SLM) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

// modelSize estimates the bytes of weights from the parameter count and the
// quantization's bits per weight.
func modelSize(p *Profile) int64 {
	bits := map[string]float64{"Q4_0": 4.5, "Q4_K_M": 4.8, "Q5_K_M": 5.7, "Q8_0": 8.5, "F16": 16, "BF16": 16, "F32": 32}[p.Quantization]
	if bits == 0 {
		bits = 8
	}
	return int64(parameterCount(p.ParameterSize) * bits / 8)
}

func digest(name string) string {
	sum := sha256.Sum256([]byte("swarmllm-sim:" + name))
	return hex.EncodeToString(sum[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeOllamaError answers in Ollama's error shape: {"error": "..."}.
func writeOllamaError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
