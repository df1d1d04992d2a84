package node

import (
	"context"
	"slices"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/cms/cmspb"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/slm"
)

// CapabilityRecord describes this node for the CMS: model facts from Ollama's
// /api/show, the configured domains and description, and measured speed,
// load and health. The store signs, sequences and embeds it.
func (n *Node) CapabilityRecord(ctx context.Context) (*cmspb.CapabilityRecord, error) {
	st := n.backendStatus()
	rec := &cmspb.CapabilityRecord{
		Model:           &cmspb.Model{Name: n.cfg.Model},
		Domains:         n.cfg.Domains,
		Description:     n.cfg.Describe,
		SoftwareVersion: Version,
		Health:          healthOf(st),
	}
	if f := st.Facts; f != nil {
		rec.Model.Family, rec.Model.ParameterSize, rec.Model.Quantization = f.Family, f.ParameterSize, f.Quantization
		rec.Model.ContextLength = uint32(max(f.ContextLength, 0))
		rec.Capabilities = f.Capabilities
	}
	inFlight, tps, latency := n.load.snapshot()
	rec.Load = &cmspb.Load{InFlight: uint32(max(inFlight, 0)), Slots: 1}
	rec.Performance = &cmspb.Performance{TokensPerSecond: float32(tps), LatencyMs: float32(latency)}
	return rec, nil
}

var _ cms.SelfSource = (*Node)(nil)

func healthOf(st slm.Status) cmspb.Health {
	switch st.State {
	case slm.StateHealthy:
		return cmspb.Health_HEALTH_OK
	case slm.StateUnknown:
		return cmspb.Health_HEALTH_UNSPECIFIED
	}
	return cmspb.Health_HEALTH_DOWN
}

// candidate is a peer that discovery picked for a query.
type candidate struct {
	id      peer.ID
	model   string
	domains []string
	score   float64
}

// discover ranks the connected peers' records for prompt (classified into
// domains) and returns the top
// k that can answer now. Peers without a record yet, or whose model is down,
// are not asked.
func (n *Node) discover(ctx context.Context, prompt string, domains []string, k int) []candidate {
	var recs []*cms.Record
	for _, r := range n.cms.Records() {
		if r.Peer != n.host.ID() && n.host.Network().Connectedness(r.Peer) == network.Connected {
			recs = append(recs, r)
		}
	}
	if len(recs) == 0 {
		return nil
	}
	scored, err := n.ranker.Rank(ctx, prompt, recs, k, cms.RankOptions{
		Domains:     domains,
		Calibration: n.calibration,
	})
	if err != nil {
		n.log.Warn("rank peers", "err", err)
		return nil
	}
	out := make([]candidate, len(scored))
	for i, s := range scored {
		out[i] = candidate{id: s.Record.Peer, model: s.Record.Fields.GetModel().GetName(),
			domains: s.Record.Fields.GetDomains(), score: s.Score}
	}
	return out
}

// offDomain reports whether the query's domains are declared by one of the
// candidates and by none of this node's own domains.
func (n *Node) offDomain(queryDomains []string, cands []candidate) bool {
	declares := func(have []string) bool {
		for _, d := range queryDomains {
			if slices.Contains(have, cms.NormalizeDomain(d)) {
				return true
			}
		}
		return false
	}
	if len(queryDomains) == 0 || declares(n.selfDomains) {
		return false
	}
	return slices.ContainsFunc(cands, func(c candidate) bool { return declares(c.domains) })
}

// calibration is a peer's track record as the ranking sees it.
func (n *Node) calibration(p peer.ID) (float64, bool) {
	snap := n.reputation.Snapshot()
	w, ok := snap[p.String()]
	return w, ok
}

// Records lists every capability record this node knows, its own first.
func (n *Node) Records(context.Context) []cms.RecordView { return n.cms.Views() }

// recordsByPeer indexes the cached records for lookups by peer.
func (n *Node) recordsByPeer() map[string]*cms.Record {
	out := map[string]*cms.Record{}
	for _, r := range n.cms.Records() {
		out[r.Peer.String()] = r
	}
	return out
}

// describePeer fills a connected peer's model and domains from its record.
func describePeer(info *nodeapi.PeerInfo, r *cms.Record) {
	if r == nil {
		return
	}
	info.Model = r.Fields.GetModel().GetName()
	info.Domains = slices.Clone(r.Fields.GetDomains())
	info.Healthy = r.Fields.GetHealth() == cmspb.Health_HEALTH_OK
}
