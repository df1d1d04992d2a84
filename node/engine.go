package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/swarmllm/swarmllm/cms"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
)

// engine is what the HTTP API serves: queries go to the pipeline; the views
// read the local model, the host and the capability store.
type engine struct {
	*pipeline
	model *localModel
	host  host.Host
	store *cms.Store
	// peerProblem says why the node has no peers, if it can tell ("" when
	// it has some).
	peerProblem func() string
}

var _ nodeapi.Engine = (*engine)(nil)

// SwarmModel is the virtual model name that means "let the swarm decide"; the
// local model's own name means the same on this node, since any node answers any query.
const SwarmModel = "swarm"

// Models lists the local model, the virtual "swarm" model and the peers'
// models (swarmmodels.go).
func (e *engine) Models(ctx context.Context) []nodeapi.ModelInfo {
	local := nodeapi.ModelInfo{Name: e.model.Name()}
	if f := e.model.status().Facts; f != nil {
		local.Family, local.ParameterSize, local.Quantization, local.Format = f.Family, f.ParameterSize, f.Quantization, f.Format
		local.Digest, local.Size, local.ModifiedAt = f.Digest, f.Size, f.ModifiedAt
	}
	own := []nodeapi.ModelInfo{local, {Name: SwarmModel, Family: "swarmllm"}}
	return append(own, e.peerModels(own)...)
}

// Show describes the local model (from Ollama) or the virtual swarm model.
func (e *engine) Show(ctx context.Context, name string) (*nodeapi.ModelDetails, error) {
	switch name {
	case SwarmModel:
		return &nodeapi.ModelDetails{
			ModelInfo:    nodeapi.ModelInfo{Name: SwarmModel, Family: "swarmllm"},
			Capabilities: []string{"completion"},
			System:       "Answers from the local model, the swarm's vote, or the cloud FM; the response's swarm trace says which.",
		}, nil
	case e.model.Name():
	default:
		if d := e.peerModelDetails(name); d != nil {
			return d, nil
		}
		return nil, fmt.Errorf("show %q: %w", name, nodeapi.ErrUnknownModel)
	}
	f, err := e.model.backend.Show(ctx)
	if err != nil {
		return nil, fmt.Errorf("show %q: %w: %w", name, nodeapi.ErrUnavailable, err)
	}
	return &nodeapi.ModelDetails{
		ModelInfo:     nodeapi.ModelInfo{Name: name, Family: f.Family, ParameterSize: f.ParameterSize, Quantization: f.Quantization, Format: f.Format},
		ContextLength: f.ContextLength,
		Capabilities:  f.Capabilities,
	}, nil
}

// Peers lists the connected peers with what their capability records say.
func (e *engine) Peers(ctx context.Context) []nodeapi.PeerInfo {
	var out []nodeapi.PeerInfo
	recs := e.recordsByPeer()
	for _, p := range e.host.Network().Peers() {
		if e.host.Network().Connectedness(p) != network.Connected {
			continue
		}
		info := nodeapi.PeerInfo{ID: p.String()}
		for _, c := range e.host.Network().ConnsToPeer(p) {
			info.Addrs = append(info.Addrs, c.RemoteMultiaddr().String())
		}
		if rtt := e.host.Peerstore().LatencyEWMA(p); rtt > 0 {
			info.LatencyMS = float64(rtt) / float64(time.Millisecond)
		}
		describePeer(&info, recs[p.String()])
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b nodeapi.PeerInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Health says whether the local model can answer and what to do if not.
func (e *engine) Health(ctx context.Context) nodeapi.Health {
	h := nodeapi.Health{
		Node:    e.host.ID().String(),
		Model:   e.model.Name(),
		Backend: e.model.backend.BaseURL(),
		Peers:   len(e.host.Network().Peers()),
	}
	h.Warning = e.peerProblem()
	st := e.model.status()
	h.Healthy = st.Healthy()
	if !h.Healthy {
		h.Problem = st.State.String()
		if st.Err != "" {
			h.Problem += ": " + st.Err
		}
		h.Hint = st.Hint
	}
	return h
}
