package slm

import (
	"context"
	"fmt"
	"sync"
)

// OllamaEmbedder embeds texts with one Ollama embedding model. It satisfies
// the CMS's Embedder interface, so discovery can use a model the swarm shares.
type OllamaEmbedder struct {
	backend *Ollama
	model   string

	mu  sync.Mutex // owns dim
	dim int        // learned from the first answer (or /api/show)
}

// NewOllamaEmbedder returns an embedder for model served by the same Ollama as backend.
func NewOllamaEmbedder(backend *Ollama, model string) (*OllamaEmbedder, error) {
	if model == "" {
		return nil, fmt.Errorf("new ollama embedder: empty model name")
	}
	return &OllamaEmbedder{backend: backend, model: model}, nil
}

// Model names the embedding model; vectors from different models are never compared.
func (e *OllamaEmbedder) Model() string { return e.model }

// Dim is the vector length, 0 until the first successful Embed.
func (e *OllamaEmbedder) Dim() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dim
}

// Embed returns one vector per text.
func (e *OllamaEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	vecs, err := e.backend.Embed(ctx, e.model, texts)
	if err != nil {
		return nil, err
	}
	if len(vecs) > 0 {
		e.mu.Lock()
		e.dim = len(vecs[0])
		e.mu.Unlock()
	}
	return vecs, nil
}
