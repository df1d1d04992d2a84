package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	ollama "github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"github.com/swarmllm/swarmllm/router"
)

// Ollama-compatible endpoints, so the ollama CLI and Ollama clients can point
// at a node (OLLAMA_HOST). Like Ollama, /api/chat and /api/generate stream
// NDJSON unless "stream": false; as with the OpenAI API, the stream is live
// when the engine commits early and otherwise starts once the swarm has
// decided (see openai.go, stream.go); the final ("done") object carries the
// trace as an extra "swarm" field, and an error after the first byte is an
// {"error": …} line, as Ollama sends one.
//
// Like Ollama, a chat without messages or a generate without a prompt only
// loads (or, with keep_alive 0, unloads) the model: `ollama run` sends one
// before its prompt. It answers "done_reason": "load" and asks no one. A
// prompt that is present but blank is an error.

type ollamaMessage struct {
	Role    string            `json:"role"`
	Content string            `json:"content"`
	Images  []json.RawMessage `json:"images"`
}

// ollamaOptions holds the options we honour; others are ignored, as Ollama
// ignores options a model does not use. Pointers keep "0" apart from "unset".
type ollamaOptions struct {
	Temperature *float64 `json:"temperature"`
	NumPredict  *int     `json:"num_predict"`
	Seed        *int64   `json:"seed"`
}

func (o ollamaOptions) options() Options {
	out := Options{Temperature: o.Temperature, Seed: o.Seed}
	// Ollama's -1 (no limit) and -2 (fill the context) both mean "the model's default" here.
	if o.NumPredict != nil && *o.NumPredict > 0 {
		out.MaxTokens = *o.NumPredict
	}
	return out
}

type ollamaChatRequest struct {
	Model     string           `json:"model"`
	Messages  []ollamaMessage  `json:"messages"`
	Stream    *bool            `json:"stream"`
	Options   ollamaOptions    `json:"options"`
	KeepAlive *ollama.Duration `json:"keep_alive"`
}

type ollamaGenerateRequest struct {
	Model     string            `json:"model"`
	Prompt    string            `json:"prompt"`
	System    string            `json:"system"`
	Images    []json.RawMessage `json:"images"`
	Stream    *bool             `json:"stream"`
	Options   ollamaOptions     `json:"options"`
	KeepAlive *ollama.Duration  `json:"keep_alive"`
}

// ollamaParams is a parsed /api/chat or /api/generate request.
type ollamaParams struct {
	req    Request
	stream bool
	load   string // "load" or "unload" when the request only (un)loads the model
}

func loadReason(keepAlive *ollama.Duration) string {
	if keepAlive != nil && keepAlive.Duration == 0 {
		return "unload"
	}
	return "load"
}

func parseOllamaChat(body []byte, maxPromptBytes int, policyHeader string) (ollamaParams, *apiError) {
	var in ollamaChatRequest
	if e := decodeJSON(body, &in); e != nil {
		return ollamaParams{}, e
	}
	p := ollamaParams{stream: in.Stream == nil || *in.Stream}
	p.req.Model, p.req.Options = in.Model, in.Options.options()
	for i, m := range in.Messages {
		if len(m.Images) > 0 {
			return ollamaParams{}, badRequest(CodeBadRequest, "messages", "messages[%d]: images are not supported", i)
		}
		p.req.Messages = append(p.req.Messages, Message{Role: strings.ToLower(m.Role), Content: m.Content})
	}
	return p.finish(len(in.Messages) == 0, in.KeepAlive, maxPromptBytes, policyHeader)
}

func parseOllamaGenerate(body []byte, maxPromptBytes int, policyHeader string) (ollamaParams, *apiError) {
	var in ollamaGenerateRequest
	if e := decodeJSON(body, &in); e != nil {
		return ollamaParams{}, e
	}
	if len(in.Images) > 0 {
		return ollamaParams{}, badRequest(CodeBadRequest, "images", "images are not supported")
	}
	p := ollamaParams{stream: in.Stream == nil || *in.Stream}
	p.req.Model, p.req.Options = in.Model, in.Options.options()
	if in.System != "" {
		p.req.Messages = append(p.req.Messages, Message{Role: RoleSystem, Content: in.System})
	}
	p.req.Messages = append(p.req.Messages, Message{Role: RoleUser, Content: in.Prompt})
	return p.finish(in.Prompt == "", in.KeepAlive, maxPromptBytes, policyHeader)
}

// finish applies the policy and validation shared by chat and generate.
func (p ollamaParams) finish(loadOnly bool, keepAlive *ollama.Duration, maxPromptBytes int, policyHeader string) (ollamaParams, *apiError) {
	var e *apiError
	if p.req.Policy, e = parsePolicy(policyHeader); e != nil {
		return ollamaParams{}, e
	}
	if loadOnly {
		p.load = loadReason(keepAlive)
		return p, nil
	}
	if e := validateRequest(&p.req, maxPromptBytes); e != nil {
		return ollamaParams{}, e
	}
	return p, nil
}

// ollamaChatOut and ollamaGenerateOut are Ollama's own response types plus the trace.
type ollamaChatOut struct {
	ollama.ChatResponse
	Swarm *router.Trace `json:"swarm,omitempty"`
}

type ollamaGenerateOut struct {
	ollama.GenerateResponse
	Swarm *router.Trace `json:"swarm,omitempty"`
}

// ollamaObj is what chat and generate objects share; render turns it into
// the endpoint's own Ollama type.
type ollamaObj struct {
	text    string
	done    bool
	model   string
	created time.Time
	reason  string
	metrics ollama.Metrics
	swarm   *router.Trace
}

type ollamaParser func(body []byte, maxPromptBytes int, policyHeader string) (ollamaParams, *apiError)

func (s *Server) handleOllamaChat(w http.ResponseWriter, r *http.Request) {
	s.serveOllama(w, r, parseOllamaChat, func(o ollamaObj) any {
		return ollamaChatOut{ChatResponse: ollama.ChatResponse{
			Model: o.model, CreatedAt: o.created, Message: ollama.Message{Role: RoleAssistant, Content: o.text},
			Done: o.done, DoneReason: o.reason, Metrics: o.metrics,
		}, Swarm: o.swarm}
	})
}

func (s *Server) handleOllamaGenerate(w http.ResponseWriter, r *http.Request) {
	s.serveOllama(w, r, parseOllamaGenerate, func(o ollamaObj) any {
		return ollamaGenerateOut{GenerateResponse: ollama.GenerateResponse{
			Model: o.model, CreatedAt: o.created, Response: o.text,
			Done: o.done, DoneReason: o.reason, Metrics: o.metrics,
		}, Swarm: o.swarm}
	})
}

// serveOllama runs /api/chat or /api/generate.
func (s *Server) serveOllama(w http.ResponseWriter, r *http.Request, parse ollamaParser, render func(ollamaObj) any) {
	body, e := s.readBody(w, r)
	var p ollamaParams
	if e == nil {
		p, e = parse(body, s.cfg.maxPromptBytes, r.Header.Get(HeaderPolicy))
	}
	if e == nil && p.load != "" {
		if p.req.Model, e = s.resolveModel(r.Context(), p.req.Model); e == nil {
			s.writeJSON(w, r, kindOllama, http.StatusOK,
				render(ollamaObj{done: true, model: p.req.Model, created: s.now().UTC(), reason: p.load}))
		}
	}
	if e == nil && p.load == "" {
		start := s.now()
		var live *liveStream
		if p.stream {
			live = newLiveStream(w, r, ollamaStream(render, p.req.Model, start))
			p.req.Sink = live.sink
		}
		var resp *Response
		resp, e = s.ask(r.Context(), p.req)
		switch {
		case live != nil && live.started:
			s.endLive(live, resp, e, func(rest string) ([]byte, error) {
				base := ollamaObj{model: cmp.Or(live.first.Model, p.req.Model), created: s.now().UTC()}
				return frames("", "\n", ollamaTail(base, p, resp, s.now().Sub(start), rest, render)...)
			})
			return
		case e == nil:
			e = s.writeOllamaAnswer(w, p, resp, s.now().Sub(start), render)
		}
	}
	if e != nil {
		s.writeError(w, r, kindOllama, e)
	}
}

func (s *Server) writeOllamaAnswer(w http.ResponseWriter, p ollamaParams, resp *Response, took time.Duration,
	render func(ollamaObj) any) *apiError {
	contentType := "application/json; charset=utf-8"
	if p.stream {
		contentType = "application/x-ndjson"
	}
	base := ollamaObj{model: answerModel(resp, p.req.Model), created: s.now().UTC()}
	out, err := frames("", "\n", ollamaTail(base, p, resp, took, resp.Text, render)...)
	if err != nil {
		return encodeError(err)
	}
	writeAnswer(w, resp, contentType, out)
	return nil
}

// ollamaTail is the end of an answer: when streaming, text (what is left
// to send) in word-sized objects and a final one; else one object with text.
func ollamaTail(base ollamaObj, p ollamaParams, resp *Response, took time.Duration, text string, render func(ollamaObj) any) []any {
	var objs []any
	final := base
	final.done, final.reason, final.swarm = true, finishReason(resp), &resp.Trace
	final.metrics = ollama.Metrics{TotalDuration: took, PromptEvalCount: resp.PromptTokens, EvalCount: resp.CompletionTokens}
	if !p.stream {
		final.text = text
		return []any{render(final)}
	}
	for _, piece := range splitText(text) {
		o := base
		o.text = piece
		objs = append(objs, render(o))
	}
	return append(objs, render(final))
}

// ollamaStream renders a live stream's objects.
func ollamaStream(render func(ollamaObj) any, requested string, start time.Time) streamFormat {
	return streamFormat{
		contentType: "application/x-ndjson",
		piece: func(pc Piece) []byte {
			return mustFrames("", "\n", render(ollamaObj{text: pc.Text, model: cmp.Or(pc.Model, requested), created: start.UTC()}))
		},
		fail: func(e *apiError) []byte { return mustFrames("", "\n", errorBody(kindOllama, e)) },
	}
}

func (s *Server) handleOllamaTags(w http.ResponseWriter, r *http.Request) {
	list := ollama.ListResponse{Models: []ollama.ListModelResponse{}}
	for _, m := range s.engine.Models(r.Context()) {
		list.Models = append(list.Models, ollama.ListModelResponse{
			Name: m.Name, Model: m.Name, ModifiedAt: m.ModifiedAt, Size: m.Size, Digest: modelDigest(m),
			Details: ollamaDetails(m), RemoteModel: remoteModel(m), RemoteHost: remoteHost(m),
		})
	}
	s.writeJSON(w, r, kindOllama, http.StatusOK, list)
}

// handleOllamaPs answers `ollama ps`: the models in memory now.
func (s *Server) handleOllamaPs(w http.ResponseWriter, r *http.Request) {
	list := ollama.ProcessResponse{Models: []ollama.ProcessModelResponse{}}
	for _, m := range s.engine.Running(r.Context()) {
		list.Models = append(list.Models, ollama.ProcessModelResponse{
			Name: m.Name, Model: m.Name, Size: m.Size, Digest: modelDigest(m.ModelInfo), Details: ollamaDetails(m.ModelInfo),
			ExpiresAt: m.ExpiresAt, SizeVRAM: m.SizeVRAM, ContextLength: m.ContextLength,
		})
	}
	s.writeJSON(w, r, kindOllama, http.StatusOK, list)
}

// remoteModel and remoteHost describe a peer's model the way Ollama
// describes a model another server runs: the ollama CLI then lists its size
// as "-" and `ollama run` says it connects to it instead of loading it.
func remoteModel(m ModelInfo) string {
	if m.Peer == "" {
		return ""
	}
	return m.Name
}

func remoteHost(m ModelInfo) string {
	if m.Peer == "" {
		return ""
	}
	return "/p2p/" + m.Peer
}

// modelDigest is the model's digest, or for a model with none (the virtual
// "swarm" model) a stable one derived from its name: Ollama clients take it
// apart (the ollama CLI prints its first 12 characters), so it is never empty.
func modelDigest(m ModelInfo) string {
	if len(m.Digest) >= 12 {
		return m.Digest
	}
	sum := sha256.Sum256([]byte("swarmllm-model:" + m.Name))
	return hex.EncodeToString(sum[:])
}

// handleOllamaPull answers `ollama pull` and the pull `ollama run` makes for
// a model it does not find. A node cannot download models (each device pulls
// its own into its own Ollama), so it reports success for a model it already
// serves and, as Ollama does for a name the registry does not know, a
// streamed error after "pulling manifest" for any other.
func (s *Server) handleOllamaPull(w http.ResponseWriter, r *http.Request) {
	body, e := s.readBody(w, r)
	var in ollama.PullRequest
	if e == nil {
		e = decodeJSON(body, &in)
	}
	//lint:ignore SA1019 older Ollama clients send the deprecated field; an Ollama-compatible server reads it
	name := cmp.Or(in.Model, in.Name)
	if e == nil && strings.TrimSpace(name) == "" {
		e = badRequest(CodeBadRequest, "model", "model is required")
	}
	if e != nil {
		s.writeError(w, r, kindOllama, e)
		return
	}
	_, unknown := s.resolveModel(r.Context(), name)
	if unknown != nil {
		unknown.msg = fmt.Sprintf("pull model manifest: %s: a swarmllm node serves only the swarm's models (%s)",
			unknown.msg, strings.Join(s.modelNames(r.Context()), ", "))
	}
	if in.Stream != nil && !*in.Stream {
		if unknown != nil {
			s.writeError(w, r, kindOllama, unknown)
			return
		}
		s.writeJSON(w, r, kindOllama, http.StatusOK, ollama.ProgressResponse{Status: "success"})
		return
	}
	lines := []any{ollama.ProgressResponse{Status: "pulling manifest"}, ollama.ProgressResponse{Status: "success"}}
	if unknown != nil {
		lines[1] = errorBody(kindOllama, unknown)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // plain structs of strings: cannot fail
	for _, l := range lines {
		_ = enc.Encode(l)
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	_, _ = w.Write(buf.Bytes())
}

// handleOllamaManage answers Ollama's model-management endpoints (`ollama
// rm`, `cp`, `create`, `push`): a node serves the swarm's models but manages
// none of them, so it says where to do it instead of "no such endpoint".
func (s *Server) handleOllamaManage(verb string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, kindOllama, &apiError{status: http.StatusNotImplemented, code: CodeNotImplemented,
			msg: fmt.Sprintf("a swarmllm node does not %s models: each device manages its own in its own Ollama (run this with OLLAMA_HOST pointing at it)", verb)})
	}
}

func (s *Server) modelNames(ctx context.Context) []string {
	var names []string
	for _, m := range s.engine.Models(ctx) {
		names = append(names, m.Name)
	}
	return names
}

func ollamaDetails(m ModelInfo) ollama.ModelDetails {
	d := ollama.ModelDetails{Format: m.Format, Family: m.Family, ParameterSize: m.ParameterSize, QuantizationLevel: m.Quantization}
	if m.Family != "" {
		d.Families = []string{m.Family}
	}
	return d
}

func (s *Server) handleOllamaShow(w http.ResponseWriter, r *http.Request) {
	body, e := s.readBody(w, r)
	var in ollama.ShowRequest
	if e == nil {
		e = decodeJSON(body, &in)
	}
	name := in.Model
	if name == "" {
		//lint:ignore SA1019 the ollama CLI still sends the deprecated field; an Ollama-compatible server reads it
		name = in.Name
	}
	if e == nil && strings.TrimSpace(name) == "" {
		e = badRequest(CodeBadRequest, "model", "model is required")
	}
	if e == nil {
		name, e = s.resolveModel(r.Context(), name)
	}
	var d *ModelDetails
	if e == nil {
		var err error
		if d, err = s.engine.Show(r.Context(), name); err != nil {
			e = engineError(err)
		}
	}
	if e != nil {
		s.writeError(w, r, kindOllama, e)
		return
	}
	out := ollama.ShowResponse{
		License: d.License, Parameters: d.Parameters, Template: d.Template, System: d.System,
		Details: ollamaDetails(d.ModelInfo), ModelInfo: d.Info, ModifiedAt: d.ModifiedAt,
		RemoteModel: remoteModel(d.ModelInfo), RemoteHost: remoteHost(d.ModelInfo),
	}
	if out.ModelInfo == nil && d.Family != "" {
		out.ModelInfo = map[string]any{"general.architecture": d.Family}
		if d.ContextLength > 0 {
			out.ModelInfo[d.Family+".context_length"] = d.ContextLength
		}
	}
	for _, c := range d.Capabilities {
		out.Capabilities = append(out.Capabilities, model.Capability(c))
	}
	s.writeJSON(w, r, kindOllama, http.StatusOK, out)
}

func (s *Server) handleOllamaVersion(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, kindOllama, http.StatusOK, map[string]string{"version": OllamaVersion(s.cfg.version)})
}

// ollamaModule is the Ollama module whose API the node speaks.
const ollamaModule = "github.com/ollama/ollama"

// OllamaAPIVersion is the Ollama release whose API the node speaks: the
// version of the module it is built against (the fallback matches go.mod;
// a test checks it).
var OllamaAPIVersion = func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == ollamaModule {
				return strings.TrimPrefix(d.Version, "v")
			}
		}
	}
	return "0.17.4"
}()

// OllamaVersion is what /api/version reports for a node of version ours: the
// Ollama API version it speaks, with ours as semver build metadata
// ("0.17.4+swarmllm.0.1.0"), so Ollama clients that compare versions see the
// API they know, and `ollama -v` shows both.
func OllamaVersion(ours string) string {
	meta := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '.' {
			return r
		}
		return '.'
	}, strings.TrimPrefix(ours, "v"))
	return OllamaAPIVersion + "+swarmllm." + meta
}
