package cms

import (
	"strings"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/swarmllm/swarmllm/cms/cmspb"
)

// RecordView is a record as JSON for GET /swarm/v1/cms and `swarmllm peers`.
type RecordView struct {
	Peer             string       `json:"peer"`
	Self             bool         `json:"self,omitempty"`
	Addrs            []string     `json:"addrs,omitempty"`
	Model            ModelView    `json:"model"`
	Capabilities     []string     `json:"capabilities,omitempty"`
	Domains          []string     `json:"domains,omitempty"`
	Description      string       `json:"description,omitempty"`
	EmbedModel       string       `json:"embed_model,omitempty"`
	EmbedDim         int          `json:"embed_dim,omitempty"`
	KnowledgeSources []SourceView `json:"knowledge_sources,omitempty"`
	DataSources      []SourceView `json:"data_sources,omitempty"`
	TokensPerSecond  float64      `json:"tokens_per_second"`
	LatencyMs        float64      `json:"latency_ms"`
	Load             LoadView     `json:"load"`
	Health           string       `json:"health"` // ok | degraded | down | unknown
	SoftwareVersion  string       `json:"software_version,omitempty"`
	SchemaVersion    uint32       `json:"schema_version"`
	Seq              uint64       `json:"seq"`
	Issued           time.Time    `json:"issued"`
	Expires          time.Time    `json:"expires"`
	AgeSeconds       float64      `json:"age_s"`        // since issued
	ExpiresInSeconds float64      `json:"expires_in_s"` // until expiry
}

// ModelView is the hosted model in a RecordView.
type ModelView struct {
	Name          string `json:"name"`
	Family        string `json:"family,omitempty"`
	ParameterSize string `json:"parameter_size,omitempty"`
	Quantization  string `json:"quantization,omitempty"`
	ContextLength uint32 `json:"context_length,omitempty"`
}

// SourceView is a knowledge or data source in a RecordView.
type SourceView struct {
	Name        string `json:"name"`
	Kind        string `json:"kind,omitempty"`
	Description string `json:"description,omitempty"`
}

// LoadView is the load in a RecordView.
type LoadView struct {
	InFlight uint32 `json:"in_flight"`
	Queued   uint32 `json:"queued"`
	Slots    uint32 `json:"slots,omitempty"`
}

// View renders r for JSON at time now; self marks this node's own record.
func (r *Record) View(now time.Time, self bool) RecordView {
	f := r.Fields
	v := RecordView{
		Peer:             r.Peer.String(),
		Self:             self,
		Capabilities:     f.GetCapabilities(),
		Domains:          f.GetDomains(),
		Description:      f.GetDescription(),
		KnowledgeSources: sourceViews(f.GetKnowledgeSources()),
		DataSources:      sourceViews(f.GetDataSources()),
		TokensPerSecond:  float64(f.GetPerformance().GetTokensPerSecond()),
		LatencyMs:        float64(f.GetPerformance().GetLatencyMs()),
		Load: LoadView{
			InFlight: f.GetLoad().GetInFlight(),
			Queued:   f.GetLoad().GetQueued(),
			Slots:    f.GetLoad().GetSlots(),
		},
		Health:           HealthName(f.GetHealth()),
		SoftwareVersion:  f.GetSoftwareVersion(),
		SchemaVersion:    f.GetSchemaVersion(),
		Seq:              f.GetSeq(),
		Issued:           r.Issued.UTC(),
		Expires:          r.Expires.UTC(),
		AgeSeconds:       now.Sub(r.Issued).Seconds(),
		ExpiresInSeconds: r.Expires.Sub(now).Seconds(),
	}
	if m := f.GetModel(); m != nil {
		v.Model = ModelView{
			Name: m.GetName(), Family: m.GetFamily(), ParameterSize: m.GetParameterSize(),
			Quantization: m.GetQuantization(), ContextLength: m.GetContextLength(),
		}
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

// HealthName is the lower-case name of h: ok, degraded, down or unknown.
func HealthName(h cmspb.Health) string {
	switch h {
	case cmspb.Health_HEALTH_OK, cmspb.Health_HEALTH_DEGRADED, cmspb.Health_HEALTH_DOWN:
		return strings.ToLower(strings.TrimPrefix(h.String(), "HEALTH_"))
	default:
		return "unknown"
	}
}

func sourceViews(in []*cmspb.Source) []SourceView {
	var out []SourceView
	for _, s := range in {
		out = append(out, SourceView{Name: s.GetName(), Kind: s.GetKind(), Description: s.GetDescription()})
	}
	return out
}
