package cms

import (
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/swarmllm/swarmllm/cms/cmspb"
)

// RecordView is one capability record as GET /swarm/v1/cms serves it (the
// elements of its "records" list), and as the dashboard, `swarmllm peers` and
// the API client read it.
type RecordView struct {
	Peer          string    `json:"peer"`
	Self          bool      `json:"self,omitempty"` // the serving node's own record
	Addrs         []string  `json:"addrs,omitempty"`
	Model         string    `json:"model"`
	Family        string    `json:"family,omitempty"`
	ParameterSize string    `json:"parameter_size,omitempty"`
	Quantization  string    `json:"quantization,omitempty"`
	ContextLength int       `json:"context_length,omitempty"`
	Capabilities  []string  `json:"capabilities,omitempty"`
	Domains       []string  `json:"domains,omitempty"`
	Description   string    `json:"description,omitempty"`
	EmbedModel    string    `json:"embed_model,omitempty"`
	EmbedDim      int       `json:"embed_dim,omitempty"`
	TokensPerSec  float64   `json:"tokens_per_sec,omitempty"`
	LatencyMS     float64   `json:"latency_ms,omitempty"`
	InFlight      int       `json:"in_flight"`
	Queue         int       `json:"queue"`
	Healthy       bool      `json:"healthy"`                // health is ok (not degraded, down or unknown)
	Knowledge     []string  `json:"knowledge,omitempty"`    // knowledge source names
	DataSources   []string  `json:"data_sources,omitempty"` // data source names
	Version       string    `json:"version,omitempty"`      // software version
	Seq           uint64    `json:"seq"`
	Expires       time.Time `json:"expires,omitzero"`
}

// View renders r for JSON; self marks this node's own record.
func (r *Record) View(self bool) RecordView {
	f := r.Fields
	v := RecordView{
		Peer:         r.Peer.String(),
		Self:         self,
		Capabilities: f.GetCapabilities(),
		Domains:      f.GetDomains(),
		Description:  f.GetDescription(),
		TokensPerSec: float64(f.GetPerformance().GetTokensPerSecond()),
		LatencyMS:    float64(f.GetPerformance().GetLatencyMs()),
		InFlight:     int(f.GetLoad().GetInFlight()),
		Queue:        int(f.GetLoad().GetQueued()),
		Healthy:      f.GetHealth() == cmspb.Health_HEALTH_OK,
		Knowledge:    sourceNames(f.GetKnowledgeSources()),
		DataSources:  sourceNames(f.GetDataSources()),
		Version:      f.GetSoftwareVersion(),
		Seq:          f.GetSeq(),
		Expires:      r.Expires.UTC(),
	}
	if m := f.GetModel(); m != nil {
		v.Model, v.Family, v.ParameterSize = m.GetName(), m.GetFamily(), m.GetParameterSize()
		v.Quantization, v.ContextLength = m.GetQuantization(), int(m.GetContextLength())
	}
	if e := f.GetDescriptionEmbedding(); e != nil {
		v.EmbedModel, v.EmbedDim = e.GetModel(), int(e.GetDim())
	}
	for _, b := range f.GetAddrs() {
		if a, err := ma.NewMultiaddrBytes(b); err == nil {
			v.Addrs = append(v.Addrs, a.String())
		}
	}
	return v
}

func sourceNames(in []*cmspb.Source) []string {
	var out []string
	for _, s := range in {
		out = append(out, s.GetName())
	}
	return out
}
