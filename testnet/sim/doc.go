// Package sim owns the simulated model backends: a test instrument, not a
// model. It serves
//
//   - SLM: an Ollama-API-compatible server (/api/chat with logprobs and NDJSON
//     streaming, /api/generate, /api/embed, /api/show, /api/tags, /api/ps,
//     /api/version) whose "models" are Profiles: domains, accuracy per
//     difficulty in and out of domain, latency, and logprobs that are
//     informative but imperfect; and
//   - Cloud: an OpenAI-compatible stand-in for the cloud foundation model
//     (/v1/chat/completions with SSE streaming and usage, /v1/models).
//
// Both answer from a workload (testnet/workload): they find the item behind
// the prompt and answer it right or wrong, deterministically from a hash of
// (seed, model, qid, sampling options) against the profile's accuracy. A wrong
// answer is a plausible distractor. The example questions the README and the
// demo show are known too (as easy items outside the workload, so evaluations
// never see them), and a conversation is answered from its last user turn.
// A prompt carrying retrieved passages (node/knowledge.Prompt) is answered
// from them alone: the sentence sharing the question's most telling words,
// with its source, or "I don't know" (context.go). Every model name starts with "sim-",
// /api/version reports "<ollama version>-swarmllm-sim", and both servers have
// a /sim/ control plane (down, up, stats) for tests.
//
// Production packages (node, cms, router, slm, protocol) must not import this
// package; only node/cmd/swarmllm's sim and demo subcommands, the eval harness and
// tests do. It must not know about peers, routing or scoring.
package sim
