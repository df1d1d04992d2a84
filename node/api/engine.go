package api

import (
	"context"
	"errors"
	"time"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/router"
)

// Engine is what the HTTP API needs from a node. The node implements it; the
// API never routes, votes or calls a model itself.
type Engine interface {
	// Ask answers one query through the swarm. The request has already been
	// validated (non-empty, within MaxPromptBytes, known model, known policy).
	Ask(ctx context.Context, req Request) (*Response, error)
	// Models lists the models a caller may name: the node's local model, the
	// virtual "swarm", and the models its peers serve (Peer set).
	Models(ctx context.Context) []ModelInfo
	// Show describes one model named in Models; ErrUnknownModel otherwise.
	Show(ctx context.Context, name string) (*ModelDetails, error)
	// Running lists the models loaded in memory now (Ollama's /api/ps).
	Running(ctx context.Context) []RunningModel
	// Peers lists who is in the swarm as this node sees it.
	Peers(ctx context.Context) []PeerInfo
	// Records lists the capability records this node knows (the CMS view).
	Records(ctx context.Context) []cms.RecordView
	// Health says whether the node can answer, and what to do when it cannot.
	Health(ctx context.Context) Health
}

// Sentinel errors an Engine returns (wrapped is fine); the API maps them to
// statuses: ErrUnknownModel 404, ErrBadRequest 400, ErrUnavailable 503. A
// context.DeadlineExceeded maps to 504; anything else to 500.
var (
	ErrUnknownModel = errors.New("unknown model")
	ErrBadRequest   = errors.New("bad request")
	ErrUnavailable  = errors.New("unavailable")
)

// Message roles the API accepts (OpenAI's "developer" is folded into system).
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Options are the sampling options every API can express. Nil means the
// model's default.
type Options struct {
	Temperature *float64 `json:"temperature,omitempty"` // 0…2
	MaxTokens   int      `json:"max_tokens,omitempty"`  // 0 means the model's default
	Seed        *int64   `json:"seed,omitempty"`
}

// Request is one validated query, whichever API it came through.
type Request struct {
	Messages []Message
	Model    string        // "" means the node's default model
	Policy   router.Policy // "" means the node's default policy
	Options  Options
	Caller   string // name of the API key the request came with ("" without one): its cloud quota applies
	// Sink, when set, receives the answer's text while it is generated: the
	// caller asked for a stream (stream.go). Nil: the answer is wanted whole.
	Sink Sink
}

// Finish reasons, as OpenAI and Ollama spell them.
const (
	FinishStop   = "stop"
	FinishLength = "length"
)

// Response is one answer and the trace of how it was reached.
type Response struct {
	Text             string
	Model            string // the model that produced Text (local, a peer's, or the cloud FM)
	FinishReason     string // FinishStop (also when empty) or FinishLength
	PromptTokens     int
	CompletionTokens int
	Trace            router.Trace
}

// ModelInfo is one entry of /v1/models and /api/tags.
type ModelInfo struct {
	Name          string    `json:"name"`
	Family        string    `json:"family,omitempty"`
	ParameterSize string    `json:"parameter_size,omitempty"`
	Quantization  string    `json:"quantization,omitempty"`
	Format        string    `json:"format,omitempty"` // e.g. "gguf"
	Size          int64     `json:"size,omitempty"`   // bytes on disk
	Digest        string    `json:"digest,omitempty"`
	ModifiedAt    time.Time `json:"modified_at,omitzero"`
	// Peer is the peer id of the node serving the model when it is a peer's
	// (a request naming it is answered by that peer); "" for this node's own
	// model and the virtual "swarm".
	Peer string `json:"peer,omitempty"`
}

// RunningModel is one entry of /api/ps: a model in memory now.
type RunningModel struct {
	ModelInfo
	SizeVRAM      int64     `json:"size_vram"`
	ContextLength int       `json:"context_length,omitempty"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"` // when it unloads; zero = never
}

// ModelDetails is what /api/show reports about one model.
type ModelDetails struct {
	ModelInfo
	ContextLength int      `json:"context_length,omitempty"`
	Capabilities  []string `json:"capabilities,omitempty"` // "completion", "embedding", "tools", "vision"…
	// Info is the backend's model_info, passed through. When nil, /api/show
	// builds the two keys `ollama show` prints from Family and ContextLength.
	Info       map[string]any `json:"model_info,omitempty"`
	Parameters string         `json:"parameters,omitempty"`
	Template   string         `json:"template,omitempty"`
	System     string         `json:"system,omitempty"`
	License    string         `json:"license,omitempty"`
}

// PeerInfo is one peer as this node sees it.
type PeerInfo struct {
	ID        string   `json:"id"`
	Addrs     []string `json:"addrs,omitempty"`
	Model     string   `json:"model,omitempty"` // from its capability record, when known
	Domains   []string `json:"domains,omitempty"`
	Healthy   bool     `json:"healthy"`
	LatencyMS float64  `json:"latency_ms,omitempty"` // last measured round trip
}

// Health is the node's own view of whether it can answer.
type Health struct {
	Healthy bool   `json:"healthy"`
	Node    string `json:"node,omitempty"`    // peer id
	Model   string `json:"model,omitempty"`   // local model name
	Backend string `json:"backend,omitempty"` // backend URL or name
	Problem string `json:"problem,omitempty"` // what is wrong, when unhealthy
	Hint    string `json:"hint,omitempty"`    // what to do, e.g. "ollama pull qwen2.5:0.5b"
	Peers   int    `json:"peers"`
	// Warning is what limits a node that can answer, e.g. "no peers yet:
	// bootstrap /ip4/…/p2p/12D3… unreachable: connection refused".
	Warning string `json:"warning,omitempty"`
}
