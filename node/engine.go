package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/slm"
)

// The node is the HTTP API's engine.
var _ nodeapi.Engine = (*Node)(nil)

// SwarmModel is the virtual model name that means "let the swarm decide"; the
// local model's own name means the same on this node, since any node answers any query.
const SwarmModel = "swarm"

func (n *Node) httpHandler() http.Handler {
	srv, err := nodeapi.NewServer(n,
		nodeapi.WithRegistry(n.reg),
		nodeapi.WithLogger(n.log),
		nodeapi.WithVersion(Version),
		nodeapi.WithAskTimeout(n.cfg.LocalTimeout+n.cfg.RoundTimeout),
		nodeapi.WithListenAddr(n.APIAddr()),
		nodeapi.WithAllowedHosts(n.cfg.APIHosts...),
		nodeapi.WithCORSOrigins(n.cfg.CORSOrigins...),
		nodeapi.WithKeys(n.apiKeys),
		nodeapi.WithInsecure(n.cfg.APIInsecure),
		nodeapi.WithPolicyCeiling(n.cfg.Policy),
		nodeapi.WithBudget(n.budget),
	)
	if err != nil {
		// Options were validated with the config; only a duplicate metrics
		// registration can fail here: a programming error.
		panic(fmt.Sprintf("build HTTP API: %v", err))
	}
	return srv
}

// Models lists the local model and the virtual "swarm" model.
func (n *Node) Models(ctx context.Context) []nodeapi.ModelInfo {
	local := nodeapi.ModelInfo{Name: n.cfg.Model}
	if f := n.modelFacts(); f != nil {
		local.Family, local.ParameterSize, local.Quantization, local.Format = f.Family, f.ParameterSize, f.Quantization, f.Format
		local.Digest, local.Size, local.ModifiedAt = f.Digest, f.Size, f.ModifiedAt
	}
	return []nodeapi.ModelInfo{local, {Name: SwarmModel, Family: "swarmllm"}}
}

// Show describes the local model (from Ollama) or the virtual swarm model.
func (n *Node) Show(ctx context.Context, name string) (*nodeapi.ModelDetails, error) {
	switch name {
	case SwarmModel:
		return &nodeapi.ModelDetails{
			ModelInfo:    nodeapi.ModelInfo{Name: SwarmModel, Family: "swarmllm"},
			Capabilities: []string{"completion"},
			System:       "Answers from the local model, the swarm's vote, or the cloud FM; the response's swarm trace says which.",
		}, nil
	case n.cfg.Model:
	default:
		return nil, fmt.Errorf("show %q: %w", name, nodeapi.ErrUnknownModel)
	}
	f, err := n.backend.Show(ctx)
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
func (n *Node) Peers(ctx context.Context) []nodeapi.PeerInfo {
	var out []nodeapi.PeerInfo
	recs := n.recordsByPeer()
	for _, p := range n.host.Network().Peers() {
		if n.host.Network().Connectedness(p) != network.Connected {
			continue
		}
		info := nodeapi.PeerInfo{ID: p.String()}
		for _, c := range n.host.Network().ConnsToPeer(p) {
			info.Addrs = append(info.Addrs, c.RemoteMultiaddr().String())
		}
		if rtt := n.host.Peerstore().LatencyEWMA(p); rtt > 0 {
			info.LatencyMS = float64(rtt) / float64(time.Millisecond)
		}
		describePeer(&info, recs[p.String()])
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b nodeapi.PeerInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Health says whether the local model can answer and what to do if not.
func (n *Node) Health(ctx context.Context) nodeapi.Health {
	h := nodeapi.Health{
		Node:    n.host.ID().String(),
		Model:   n.cfg.Model,
		Backend: n.backend.BaseURL(),
		Peers:   len(n.host.Network().Peers()),
	}
	if n.conn != nil {
		h.Warning = n.conn.PeerProblem(n.cfg.MDNS)
	}
	st := n.backendStatus()
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

func (n *Node) backendStatus() slm.Status {
	if n.monitor == nil {
		return slm.Status{State: slm.StateUnknown, Hint: "the node is starting"}
	}
	return n.monitor.Status()
}

func (n *Node) modelFacts() *slm.ModelFacts { return n.backendStatus().Facts }

// chatMessages converts API messages into the backend's.
func chatMessages(msgs []nodeapi.Message) []slm.Message {
	out := make([]slm.Message, len(msgs))
	for i, m := range msgs {
		out[i] = slm.Message{Role: m.Role, Content: m.Content}
	}
	return out
}

// lastUserPrompt is the text the classifier and discovery judge: the latest user turn.
func lastUserPrompt(msgs []nodeapi.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == nodeapi.RoleUser {
			return msgs[i].Content
		}
	}
	if len(msgs) > 0 {
		return msgs[len(msgs)-1].Content
	}
	return ""
}

// backendError turns a backend failure into the API's sentinel, keeping the
// cause, and asks the monitor to re-check at once.
func (n *Node) backendError(action string, err error) error {
	if n.monitor != nil {
		n.monitor.Check()
	}
	if errors.Is(err, slm.ErrUnreachable) || errors.Is(err, slm.ErrModelMissing) {
		return fmt.Errorf("%s: %w: %w (%s)", action, nodeapi.ErrUnavailable, err,
			slm.Hint(n.backend.BaseURL(), n.cfg.Model, n.backendStatus().State))
	}
	return fmt.Errorf("%s: %w", action, err)
}
