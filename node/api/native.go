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

func parseAsk(body []byte, maxPromptBytes int, policyHeader string) (Request, *apiError) {
	var in AskRequest
	if e := decodeJSON(body, &in); e != nil {
		return Request{}, e
	}
	policy := in.Policy
	if policy == "" {
		policy = policyHeader
	}
	req := Request{Model: in.Model, Options: Options{Temperature: in.Temperature, MaxTokens: in.MaxTokens, Seed: in.Seed}}
	var e *apiError
	if req.Policy, e = parsePolicy(policy); e != nil {
		return Request{}, e
	}
	if in.System != "" {
		req.Messages = append(req.Messages, Message{Role: RoleSystem, Content: in.System})
	}
	req.Messages = append(req.Messages, Message{Role: RoleUser, Content: in.Prompt})
	if e := validateRequest(&req, maxPromptBytes); e != nil {
		e.param = nativeParam(e.param)
		return Request{}, e
	}
	return req, nil
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
	var req Request
	if e == nil {
		req, e = parseAsk(body, s.cfg.maxPromptBytes, r.Header.Get(HeaderPolicy))
	}
	var resp *Response
	if e == nil {
		resp, e = s.ask(r.Context(), req)
	}
	if e != nil {
		s.writeError(w, r, kindNative, e)
		return
	}
	w.Header().Set(HeaderRoute, resp.Trace.Route.String())
	s.writeJSON(w, r, kindNative, http.StatusOK, AskResult{
		Answer: resp.Text, Model: answerModel(resp, req.Model), FinishReason: finishReason(resp),
		PromptTokens: resp.PromptTokens, CompletionTokens: resp.CompletionTokens, Trace: resp.Trace,
	})
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
