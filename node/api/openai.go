package api

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/swarmllm/swarmllm/router"
)

// OpenAI-compatible chat completions.
//
// Streaming is live when the engine can commit early (stream.go): a
// confident local answer streams token by token once its first tokens are
// judged, a cloud answer as it arrives. Otherwise the route is only known once
// the answer is (the vote decides it), and the decided answer is sent as
// word-sized chunks. The last chunk before [DONE] carries the "swarm" trace.
// Errors before the first byte get a plain JSON error with a 4xx/5xx status;
// after it, an error event ends the stream (no [DONE]).

type chatCompletionRequest struct {
	Model               string          `json:"model"`
	Messages            []openAIMessage `json:"messages"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	Temperature         *float64        `json:"temperature"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Seed                *int64          `json:"seed"`
	N                   *int            `json:"n"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type openAIMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"` // a string, null, or an array of content parts
}

type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// chatParams is a parsed chat completion request.
type chatParams struct {
	req          Request
	stream       bool
	includeUsage bool
}

// parseChatCompletion decodes and validates an OpenAI chat request without
// touching the engine (the model is resolved later).
func parseChatCompletion(body []byte, maxPromptBytes int, policyHeader string) (chatParams, *apiError) {
	var in chatCompletionRequest
	if e := decodeJSON(body, &in); e != nil {
		return chatParams{}, e
	}
	if in.N != nil && *in.N != 1 {
		return chatParams{}, badRequest(CodeBadRequest, "n", "n must be 1: the swarm returns one answer")
	}
	p := chatParams{stream: in.Stream, includeUsage: in.StreamOptions != nil && in.StreamOptions.IncludeUsage}
	p.req.Model = in.Model
	p.req.Options = Options{Temperature: in.Temperature, Seed: in.Seed}
	switch {
	case in.MaxCompletionTokens != nil:
		p.req.Options.MaxTokens = *in.MaxCompletionTokens
	case in.MaxTokens != nil:
		p.req.Options.MaxTokens = *in.MaxTokens
	}
	for i, m := range in.Messages {
		text, e := openAIContentText(m.Content, i)
		if e != nil {
			return chatParams{}, e
		}
		role := strings.ToLower(m.Role)
		if role == "developer" { // OpenAI's newer name for system instructions
			role = RoleSystem
		}
		p.req.Messages = append(p.req.Messages, Message{Role: role, Content: text})
	}
	var e *apiError
	if p.req.Policy, e = parsePolicy(policyHeader); e != nil {
		return chatParams{}, e
	}
	if e := validateRequest(&p.req, maxPromptBytes); e != nil {
		return chatParams{}, e
	}
	return p, nil
}

func openAIContentText(raw json.RawMessage, i int) (string, *apiError) {
	param := fmt.Sprintf("messages[%d].content", i)
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", badRequest(CodeMalformedJSON, param, "%s: %v", param, err)
		}
		return s, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", badRequest(CodeMalformedJSON, param, "%s: want a string or an array of text parts: %v", param, err)
	}
	var b strings.Builder
	for j, part := range parts {
		if part.Type != "text" {
			return "", badRequest(CodeBadRequest, param, "%s[%d]: content type %q is not supported (text only)", param, j, part.Type)
		}
		b.WriteString(part.Text)
	}
	return b.String(), nil
}

// chatCompletion is both the whole response and one stream chunk (OpenAI
// uses the same envelope; "object" and message/delta tell them apart).
type chatCompletion struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
	Choices           []chatChoice  `json:"choices"`
	Usage             *openAIUsage  `json:"usage,omitempty"`
	Swarm             *router.Trace `json:"swarm,omitempty"`
}

type chatChoice struct {
	Index        int             `json:"index"`
	Message      *chatMessageOut `json:"message,omitempty"`
	Delta        *chatMessageOut `json:"delta,omitempty"`
	Logprobs     *struct{}       `json:"logprobs"` // always null: the trace carries confidence instead
	FinishReason *string         `json:"finish_reason"`
}

type chatMessageOut struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type openAIUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func (s *Server) handleChatCompletions(w http.ResponseWriter, r *http.Request) {
	body, e := s.readBody(w, r)
	if e == nil {
		var p chatParams
		if p, e = parseChatCompletion(body, s.cfg.maxPromptBytes, r.Header.Get(HeaderPolicy)); e == nil {
			var live *liveStream
			if p.stream {
				live = newLiveStream(w, r, s.openAIStream(p))
				p.req.Sink = live.sink
			}
			var resp *Response
			resp, e = s.ask(r.Context(), p.req)
			switch {
			case live != nil && live.started:
				s.endLive(live, resp, e, func(rest string) ([]byte, error) {
					base := s.openAIBase(live.first.QueryID, cmp.Or(live.first.Model, p.req.Model), s.now().Unix())
					out, err := frames("data: ", "\n\n", openAITail(base, p, resp, rest)...)
					return append(out, "data: [DONE]\n\n"...), err
				})
				return
			case e == nil:
				e = s.writeChatCompletion(w, p, resp)
			}
		}
	}
	if e != nil {
		s.writeError(w, r, kindOpenAI, e)
	}
}

// openAIBase is the envelope every chunk of one completion shares.
func (s *Server) openAIBase(queryID, model string, created int64) chatCompletion {
	return chatCompletion{ID: "chatcmpl-" + queryID, Created: created, Model: model, SystemFingerprint: "swarmllm-" + s.cfg.version}
}

func openAIChunk(base chatCompletion, delta chatMessageOut, finish *string) chatCompletion {
	c := base
	c.Object = "chat.completion.chunk"
	c.Choices = []chatChoice{{Delta: &delta, FinishReason: finish}}
	return c
}

func openAIRoleChunk(base chatCompletion) chatCompletion {
	empty := ""
	return openAIChunk(base, chatMessageOut{Role: RoleAssistant, Content: &empty}, nil)
}

// openAIStream renders a live stream's chunks.
func (s *Server) openAIStream(p chatParams) streamFormat {
	created := s.now().Unix()
	base := func(pc Piece) chatCompletion {
		return s.openAIBase(pc.QueryID, cmp.Or(pc.Model, p.req.Model), created)
	}
	return streamFormat{
		contentType: "text/event-stream",
		open:        func(pc Piece) []byte { return mustFrames("data: ", "\n\n", openAIRoleChunk(base(pc))) },
		piece: func(pc Piece) []byte {
			return mustFrames("data: ", "\n\n", openAIChunk(base(pc), chatMessageOut{Content: &pc.Text}, nil))
		},
		fail: func(e *apiError) []byte { return mustFrames("data: ", "\n\n", errorBody(kindOpenAI, e)) },
	}
}

// openAITail is a stream's chunks after the opening one: text in word-sized
// pieces, the finish chunk, the usage chunk when asked for, and the trace on
// the last of them.
func openAITail(base chatCompletion, p chatParams, resp *Response, text string) []any {
	var chunks []chatCompletion
	for _, piece := range splitText(text) {
		chunks = append(chunks, openAIChunk(base, chatMessageOut{Content: &piece}, nil))
	}
	finish := finishReason(resp)
	chunks = append(chunks, openAIChunk(base, chatMessageOut{}, &finish))
	if p.includeUsage {
		c := base
		c.Object = "chat.completion.chunk"
		c.Choices = []chatChoice{}
		c.Usage = &openAIUsage{resp.PromptTokens, resp.CompletionTokens, resp.PromptTokens + resp.CompletionTokens}
		chunks = append(chunks, c)
	}
	chunks[len(chunks)-1].Swarm = &resp.Trace
	out := make([]any, len(chunks))
	for i, c := range chunks {
		out[i] = c
	}
	return out
}

func (s *Server) writeChatCompletion(w http.ResponseWriter, p chatParams, resp *Response) *apiError {
	base := s.openAIBase(queryID(resp), answerModel(resp, p.req.Model), s.now().Unix())
	if !p.stream {
		finish := finishReason(resp)
		c := base
		c.Object = "chat.completion"
		c.Choices = []chatChoice{{Message: &chatMessageOut{Role: RoleAssistant, Content: &resp.Text}, FinishReason: &finish}}
		c.Usage, c.Swarm = &openAIUsage{resp.PromptTokens, resp.CompletionTokens, resp.PromptTokens + resp.CompletionTokens}, &resp.Trace
		out, err := json.Marshal(c)
		if err != nil {
			return encodeError(err)
		}
		writeAnswer(w, resp, "application/json; charset=utf-8", append(out, '\n'))
		return nil
	}
	out, err := frames("data: ", "\n\n", append([]any{openAIRoleChunk(base)}, openAITail(base, p, resp, resp.Text)...)...)
	if err != nil {
		return encodeError(err)
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeAnswer(w, resp, "text/event-stream", append(out, "data: [DONE]\n\n"...))
	return nil
}

func (s *Server) handleOpenAIModels(w http.ResponseWriter, r *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, m := range s.engine.Models(r.Context()) {
		var created int64
		if !m.ModifiedAt.IsZero() {
			created = m.ModifiedAt.Unix()
		}
		owner := "swarmllm"
		if m.Peer != "" {
			owner = "swarmllm peer " + m.Peer
		}
		list.Data = append(list.Data, model{ID: m.Name, Object: "model", Created: created, OwnedBy: owner})
	}
	s.writeJSON(w, r, kindOpenAI, http.StatusOK, list)
}

func encodeError(err error) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: CodeInternal, msg: fmt.Sprintf("encode response: %v", err)}
}

// queryID names a completion after the swarm's query id, so a client's
// completion id finds the node's logs and trace.
func queryID(resp *Response) string {
	if resp.Trace.QueryID != "" {
		return resp.Trace.QueryID
	}
	return strings.ToLower(rand.Text())
}

// answerModel is the model that answered, or the requested one when the engine did not say.
func answerModel(resp *Response, requested string) string {
	if resp.Model != "" {
		return resp.Model
	}
	return requested
}
