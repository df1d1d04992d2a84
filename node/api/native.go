package api

import (
	"net/http"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/router"
)

// AskRequest is the body of POST /swarm/v1/ask.
type AskRequest struct {
	Prompt      string   `json:"prompt"`
	Policy      string   `json:"policy,omitempty"` // a router.Policy name; "" means the node's default
	Model       string   `json:"model,omitempty"`  // "" means the node's default
	System      string   `json:"system,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Seed        *int64   `json:"seed,omitempty"`
	// Stream asks for the answer as NDJSON AskChunks while it is generated.
	Stream bool `json:"stream,omitempty"`
}

// AskChunk is one line of a streamed /swarm/v1/ask: a piece of the answer's
// text; or, last, the whole result (Done); or an error that ends the stream.
type AskChunk struct {
	Text   string       `json:"text,omitempty"`
	Done   bool         `json:"done,omitempty"`
	Result *AskResult   `json:"result,omitempty"`
	Error  *nativeError `json:"error,omitempty"`
}

// AskResult is the answer of POST /swarm/v1/ask: the text and the full trace.
type AskResult struct {
	Answer           string       `json:"answer"`
	Model            string       `json:"model"`
	FinishReason     string       `json:"finish_reason"`
	PromptTokens     int          `json:"prompt_tokens"`
	CompletionTokens int          `json:"completion_tokens"`
	Trace            router.Trace `json:"trace"`
}

// PeersResult is the body of GET /swarm/v1/peers.
type PeersResult struct {
	Peers []PeerInfo `json:"peers"`
}

// RecordsResult is the body of GET /swarm/v1/cms.
type RecordsResult struct {
	Records []cms.RecordView `json:"records"`
}

// askParams is a parsed /swarm/v1/ask request.
type askParams struct {
	req    Request
	stream bool
}

func parseAsk(body []byte, maxPromptBytes int, policyHeader string) (askParams, *apiError) {
	var in AskRequest
	if e := decodeJSON(body, &in); e != nil {
		return askParams{}, e
	}
	policy := in.Policy
	if policy == "" {
		policy = policyHeader
	}
	req := Request{Model: in.Model, Options: Options{Temperature: in.Temperature, MaxTokens: in.MaxTokens, Seed: in.Seed}}
	var e *apiError
	if req.Policy, e = parsePolicy(policy); e != nil {
		return askParams{}, e
	}
	if in.System != "" {
		req.Messages = append(req.Messages, Message{Role: RoleSystem, Content: in.System})
	}
	req.Messages = append(req.Messages, Message{Role: RoleUser, Content: in.Prompt})
	if e := validateRequest(&req, maxPromptBytes); e != nil {
		e.param = nativeParam(e.param)
		return askParams{}, e
	}
	return askParams{req: req, stream: in.Stream}, nil
}

// nativeParam renames the chat-shaped field a shared check names to the native field.
func nativeParam(p string) string {
	if p == "messages" {
		return "prompt"
	}
	return p
}

func (s *Server) handleAsk(w http.ResponseWriter, r *http.Request) {
	body, e := s.readBody(w, r)
	var p askParams
	if e == nil {
		p, e = parseAsk(body, s.cfg.maxPromptBytes, r.Header.Get(HeaderPolicy))
	}
	var live *liveStream
	if e == nil && p.stream {
		live = newLiveStream(w, r, nativeStream)
		p.req.Sink = live.sink
	}
	var resp *Response
	if e == nil {
		resp, e = s.ask(r.Context(), p.req)
	}
	if live != nil && live.started {
		s.endLive(live, resp, e, func(rest string) ([]byte, error) {
			return frames("", "\n", nativeTail(rest, askResult(resp, p.req.Model))...)
		})
		return
	}
	if e != nil {
		s.writeError(w, r, kindNative, e)
		return
	}
	result := askResult(resp, p.req.Model)
	if !p.stream {
		w.Header().Set(HeaderRoute, resp.Trace.Route.String())
		s.writeJSON(w, r, kindNative, http.StatusOK, result)
		return
	}
	out, err := frames("", "\n", nativeTail(resp.Text, result)...)
	if err != nil {
		s.writeError(w, r, kindNative, encodeError(err))
		return
	}
	writeAnswer(w, resp, "application/x-ndjson", out)
}

func askResult(resp *Response, requested string) AskResult {
	return AskResult{
		Answer: resp.Text, Model: answerModel(resp, requested), FinishReason: finishReason(resp),
		PromptTokens: resp.PromptTokens, CompletionTokens: resp.CompletionTokens, Trace: resp.Trace,
	}
}

// nativeStream renders a live stream's lines.
var nativeStream = streamFormat{
	contentType: "application/x-ndjson",
	piece:       func(pc Piece) []byte { return mustFrames("", "\n", AskChunk{Text: pc.Text}) },
	fail: func(e *apiError) []byte {
		return mustFrames("", "\n", AskChunk{Error: &nativeError{Code: e.code, Message: e.msg}})
	},
}

// nativeTail is the end of a stream: text (what is left to send) in
// word-sized chunks, then the result.
func nativeTail(text string, result AskResult) []any {
	var out []any
	for _, piece := range splitText(text) {
		out = append(out, AskChunk{Text: piece})
	}
	return append(out, AskChunk{Done: true, Result: &result})
}

func (s *Server) handlePeers(w http.ResponseWriter, r *http.Request) {
	out := PeersResult{Peers: s.engine.Peers(r.Context())}
	if out.Peers == nil {
		out.Peers = []PeerInfo{}
	}
	s.writeJSON(w, r, kindNative, http.StatusOK, out)
}

func (s *Server) handleRecords(w http.ResponseWriter, r *http.Request) {
	out := RecordsResult{Records: s.engine.Records(r.Context())}
	if out.Records == nil {
		out.Records = []cms.RecordView{}
	}
	s.writeJSON(w, r, kindNative, http.StatusOK, out)
}

// handleHealth answers 200 when the node can answer and 503 (with the
// problem and a hint) when it cannot, so load balancers and scripts can poll it.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := s.engine.Health(r.Context())
	status := http.StatusOK
	if !h.Healthy {
		status = http.StatusServiceUnavailable
	}
	s.writeJSON(w, r, kindNative, status, h)
}
