package api

import (
	"bytes"
	"crypto/ed25519"
	"net/http"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/cms/cmspb"
)

// TestRecordsGolden pins the body of GET /swarm/v1/cms, which the dashboard,
// `swarmllm peers` and Client.Records read, for records signed with fixed
// keys and rendered by cms.Record.View exactly as the node serves them.
func TestRecordsGolden(t *testing.T) {
	own := signedRecord(t, 7, &cmspb.CapabilityRecord{
		Addrs: [][]byte{ma.StringCast("/ip4/127.0.0.1/tcp/4001").Bytes()},
		Model: &cmspb.Model{Name: "qwen2.5:1.5b", Family: "qwen2", ParameterSize: "1.5B",
			Quantization: "Q4_K_M", ContextLength: 32768},
		Capabilities:         []string{"completion", "tools"},
		Domains:              []string{"medicine"},
		Description:          "Answers clinical questions: symptoms, diagnosis, drug dosage.",
		DescriptionEmbedding: &cmspb.Embedding{Model: "nomic-embed-text", Dim: 3, Vector: []float32{0.1, 0.2, 0.3}},
		KnowledgeSources:     []*cmspb.Source{{Name: "pubmed", Kind: "rag-index"}},
		DataSources:          []*cmspb.Source{{Name: "ward-stats", Kind: "sql"}},
		Performance:          &cmspb.Performance{TokensPerSecond: 42, LatencyMs: 120},
		Load:                 &cmspb.Load{InFlight: 1, Queued: 2, Slots: 4},
		Health:               cmspb.Health_HEALTH_OK,
		SoftwareVersion:      "swarmllm/0.1.0",
	})
	// A peer with the least a record can say, and a degraded backend.
	other := signedRecord(t, 8, &cmspb.CapabilityRecord{
		Model:  &cmspb.Model{Name: "sim-geo:3b"},
		Health: cmspb.Health_HEALTH_DEGRADED,
	})
	srv, f := newTestServer(t)
	f.records = []cms.RecordView{own.View(true), other.View(false)}
	status, _, body := do(t, srv, http.MethodGet, "/swarm/v1/cms", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	golden(t, "native_cms.json", body)
}

// signedRecord seals f as the record of the key derived from seed, issued at
// fixedTime for a minute, and opens it as a peer would.
func signedRecord(t *testing.T, seed byte, f *cmspb.CapabilityRecord) *cms.Record {
	t.Helper()
	priv, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	f.SchemaVersion, f.PeerId, f.Seq = cms.SchemaVersion, []byte(id), 42
	f.IssuedUnixMs, f.ExpiresUnixMs = fixedTime.UnixMilli(), fixedTime.Add(time.Minute).UnixMilli()
	raw, err := cms.Seal(priv, f)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := cms.Open(raw, fixedTime)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
