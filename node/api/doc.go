// Package api is the node's HTTP surface:
//
//   - OpenAI-compatible POST /v1/chat/completions (plain and SSE streaming)
//     and GET /v1/models;
//   - Ollama-compatible POST /api/chat, POST /api/generate (NDJSON streaming
//     by default), GET /api/tags, POST /api/show, GET /api/version, so the
//     ollama CLI and Ollama clients work against a node (OLLAMA_HOST);
//   - native POST /swarm/v1/ask, GET /swarm/v1/peers, GET /swarm/v1/cms,
//     GET /swarm/v1/activity (recent queries, routes per minute, cloud
//     budget, peer trust) and GET /swarm/v1/events (the same, and the
//     swarm's health, peers and records, live as server-sent events);
//   - GET /healthz, GET /metrics and the dashboard at / (one page, no
//     external assets, its script allowed by a per-response CSP nonce).
//
// The dashboard's activity comes from an Activity the node supplies
// (WithActivity): a QueryLog, the bounded ring of query summaries the
// node's pipeline records each answer into (route, reason, latency, peers,
// cloud; never a prompt or an answer), plus the node's budget and
// reputation. An event stream runs in its request's goroutine, waits on
// Activity.Changed rather than polling, sends a heartbeat when idle, and ends
// when the client goes or the http.Server shuts down; WithMaxEventStreams
// bounds how many are open.
//
// Every answer carries its router.Trace (the extra "swarm" field in OpenAI
// and Ollama bodies, "trace" in the native one) and an X-Swarm-Route header.
// Bad input is refused with a 4xx in the error shape of the API it hit,
// before the Engine is asked anything. The package also holds the native
// Client and FormatTrace used by the CLI.
//
// Before any endpoint, a guard checks every request (guard.go, auth.go): the
// Host must be one of the node's own names or addresses (DNS rebinding), a
// cross-origin request needs an origin listed with WithCORSOrigins (which
// then get CORS preflights), an API key (keys.go: Bearer tokens kept as
// SHA-256, compared in constant time) is needed off loopback, POST bodies
// must be declared JSON, and a body has WithBodyTimeout to arrive. The
// operator's policy is the ceiling of a request's (WithPolicyCeiling), and a
// key's queries are charged to its quota (WithBudget). NewHTTPServer gives
// the http.Server deadlines a node facing untrusted clients needs.
//
// It owns request decoding, validation, caps, access checks and response encoding. The
// bodies are its own types, except two it serves as their packages define
// them: router.Trace (the trace of an answer) and cms.RecordView (the
// records of GET /swarm/v1/cms), so there is one type for each. It must
// not route, vote, call models or open libp2p streams (that is the Engine,
// implemented by package node, which imports this package and not the other
// way round).
package api
