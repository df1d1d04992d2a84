package node

import (
	"context"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
)

// Running lists the local model while Ollama holds it in memory, with
// Ollama's own figures (`ollama ps` against a node shows what `ollama ps`
// against its Ollama would, for the node's model).
func (n *Node) Running(ctx context.Context) []nodeapi.RunningModel {
	loaded, err := n.backend.Loaded(ctx)
	if err != nil {
		n.log.Debug("list running models", "err", err)
		return []nodeapi.RunningModel{}
	}
	if loaded == nil {
		return []nodeapi.RunningModel{}
	}
	m := nodeapi.RunningModel{ModelInfo: nodeapi.ModelInfo{Name: n.cfg.Model, Digest: loaded.Digest, Size: loaded.Size},
		SizeVRAM: loaded.SizeVRAM, ContextLength: loaded.ContextLength, ExpiresAt: loaded.ExpiresAt}
	if f := n.modelFacts(); f != nil {
		m.Family, m.ParameterSize, m.Quantization, m.Format = f.Family, f.ParameterSize, f.Quantization, f.Format
	}
	return []nodeapi.RunningModel{m}
}
