package node

import (
	"context"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
)

// Running lists the local model while Ollama holds it in memory, with
// Ollama's own figures (`ollama ps` against a node shows what `ollama ps`
// against its Ollama would, for the node's model).
func (e *engine) Running(ctx context.Context) []nodeapi.RunningModel {
	loaded, err := e.model.backend.Loaded(ctx)
	if err != nil {
		e.log.Debug("list running models", "err", err)
		return []nodeapi.RunningModel{}
	}
	if loaded == nil {
		return []nodeapi.RunningModel{}
	}
	m := nodeapi.RunningModel{ModelInfo: nodeapi.ModelInfo{Name: e.model.Name(), Digest: loaded.Digest, Size: loaded.Size},
		SizeVRAM: loaded.SizeVRAM, ContextLength: loaded.ContextLength, ExpiresAt: loaded.ExpiresAt}
	if f := e.model.status().Facts; f != nil {
		m.Family, m.ParameterSize, m.Quantization, m.Format = f.Family, f.ParameterSize, f.Quantization, f.Format
	}
	return []nodeapi.RunningModel{m}
}
