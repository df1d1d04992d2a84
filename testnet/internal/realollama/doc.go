// Package realollama runs real `ollama serve` processes for tests: each on a
// free 127.0.0.1 port, with its own temporary model store and home, loaded
// with the tiny GGUF models of testnet/internal/gguf.
//
// It owns finding the Ollama binary that scripts/build-ollama.sh caches,
// the process lifecycle (start, readiness, process-group shutdown) and model
// creation through the Ollama API. It must not listen or connect anywhere but
// loopback, build Ollama itself, or be imported by production code.
package realollama
