// Package slm talks to models: the node's own small language model through
// Ollama's API (github.com/ollama/ollama/api), and the cloud foundation model
// through any OpenAI-compatible endpoint (github.com/openai/openai-go).
//
// It owns the model clients and the backend health monitor. It knows nothing
// about peers, routing or the swarm: the node decides when to call which model.
package slm
