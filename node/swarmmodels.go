package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/cms/cmspb"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// Every model the swarm serves can be named on every node: the models of
// the connected peers are listed next to the node's own and "swarm", and a
// request naming one is answered by a peer serving it, asked directly.

// servedModel is one peer's model, as its capability record says.
type servedModel struct {
	host router.ModelHost
	rec  *cms.Record
}

// servedModels reads the connected peers' records: model name → the peers
// serving it, by peer id.
func servedModels(h host.Host, store *cms.Store) map[string][]servedModel {
	out := map[string][]servedModel{}
	for _, r := range store.Records() {
		name := r.Fields.GetModel().GetName()
		if r.Peer == h.ID() || name == "" || h.Network().Connectedness(r.Peer) != network.Connected {
			continue
		}
		out[name] = append(out[name], servedModel{rec: r, host: router.ModelHost{
			Peer:    r.Peer.String(),
			Healthy: r.Fields.GetHealth() == cmspb.Health_HEALTH_OK,
			Load:    int(r.Fields.GetLoad().GetInFlight() + r.Fields.GetLoad().GetQueued()),
		}})
	}
	for _, hosts := range out {
		slices.SortFunc(hosts, func(a, b servedModel) int { return cmp.Compare(a.host.Peer, b.host.Peer) })
	}
	return out
}

// peerModels lists the peers' models not already in listed, by name; each
// names the first peer (by id) serving it.
func (e *engine) peerModels(listed []nodeapi.ModelInfo) []nodeapi.ModelInfo {
	served := servedModels(e.host, e.store)
	var out []nodeapi.ModelInfo
	for name, hosts := range served {
		if slices.ContainsFunc(listed, func(m nodeapi.ModelInfo) bool { return m.Name == name }) {
			continue
		}
		out = append(out, peerModelInfo(name, hosts[0]))
	}
	slices.SortFunc(out, func(a, b nodeapi.ModelInfo) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func peerModelInfo(name string, s servedModel) nodeapi.ModelInfo {
	m := s.rec.Fields.GetModel()
	return nodeapi.ModelInfo{Name: name, Family: m.GetFamily(), ParameterSize: m.GetParameterSize(),
		Quantization: m.GetQuantization(), Peer: s.host.Peer}
}

// peerModelDetails describes a peer's model from its record; nil when no
// connected peer serves name.
func (e *engine) peerModelDetails(name string) *nodeapi.ModelDetails {
	hosts := servedModels(e.host, e.store)[name]
	if len(hosts) == 0 {
		return nil
	}
	f := hosts[0].rec.Fields
	return &nodeapi.ModelDetails{
		ModelInfo:     peerModelInfo(name, hosts[0]),
		ContextLength: int(f.GetModel().GetContextLength()),
		Capabilities:  slices.Clone(f.GetCapabilities()),
		System:        f.GetDescription(),
	}
}

// serving lists the connected peers serving model (the pipeline's peerFinder).
func (f *finder) serving(model string) []router.ModelHost {
	var out []router.ModelHost
	for _, s := range servedModels(f.host, f.store)[model] {
		out = append(out, s.host)
	}
	return out
}

// namesPeerModel reports whether a request names a model only peers serve.
func (p *pipeline) namesPeerModel(model string) bool {
	return model != "" && model != SwarmModel && model != p.model.Name()
}

// viaNamedModel answers a request that names a peer's model: the peers
// serving it are asked directly, in the router's order, until one answers.
func (p *pipeline) viaNamedModel(ctx context.Context, q *query) (*nodeapi.Response, error) {
	hosts := p.peers.serving(q.req.Model)
	d, order, err := router.DecideNamedModel(q.req.Model, hosts, q.rules)
	switch {
	case errors.Is(err, router.ErrNamedModelUnserved): // the peer left since the model was listed
		return nil, fmt.Errorf("ask for %s: %w: %w", q.req.Model, nodeapi.ErrUnknownModel, err)
	case err != nil:
		return nil, fmt.Errorf("ask for %s: %w: %w", q.req.Model, nodeapi.ErrBadRequest, err)
	}
	q.note(d)
	req := p.askRequest(q, protocol.Purpose_ANSWER, p.forPeers(ctx, q, q.msgs)) // privacy.go
	start := time.Now()
	for _, i := range order {
		id, err := peer.Decode(hosts[i].Peer)
		if err != nil {
			continue // from a validated record: cannot happen
		}
		t := time.Now()
		resp, err := p.swarm.Ask(ctx, id, req)
		prop := router.Proposal{Peer: hosts[i].Peer, Model: q.req.Model, LatencyMS: ms(time.Since(t))}
		switch {
		case err != nil:
			prop.Err = err.Error()
		case resp.GetErrorCode() != protocol.ErrorCode_OK:
			prop.Err = resp.GetErrorCode().String()
		case resp.GetAnswer() == "":
			prop.Err = "empty answer"
		default:
			prop.Model, prop.Answer, prop.Confidence = resp.GetModel(), resp.GetAnswer(), resp.GetConfidence()
			prop.PromptTokens, prop.CompletionTokens = int(resp.GetPromptTokens()), int(resp.GetCompletionTokens())
		}
		q.trace.Peers = append(q.trace.Peers, prop)
		q.trace.Timings.PeersMS = ms(time.Since(start))
		if prop.Err == "" {
			return p.respond(q, router.RouteSwarm, prop.Answer, prop.Model, prop.PromptTokens, prop.CompletionTokens), nil
		}
		p.log.Info("peer serving a named model failed", "peer", id, "model", q.req.Model, "err", prop.Err)
	}
	p.metrics.failed.Inc()
	return nil, fmt.Errorf("ask for %s: %w: no peer serving it answered", q.req.Model, nodeapi.ErrUnavailable)
}
