package cms

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/swarmllm/swarmllm/cms/cmspb"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type identity struct {
	priv crypto.PrivKey
	id   peer.ID
}

func newIdentity(t testing.TB) identity {
	t.Helper()
	priv, id := p2ptest.NewIdentity(t)
	return identity{priv, id}
}

// testFields is a complete, valid record of id issued at now.
func testFields(id peer.ID, seq uint64, now time.Time) *cmspb.CapabilityRecord {
	return &cmspb.CapabilityRecord{
		SchemaVersion: SchemaVersion,
		PeerId:        []byte(id),
		Addrs:         [][]byte{ma.StringCast("/ip4/127.0.0.1/tcp/4001").Bytes()},
		Seq:           seq,
		IssuedUnixMs:  now.UnixMilli(),
		ExpiresUnixMs: now.Add(time.Minute).UnixMilli(),
		Model: &cmspb.Model{
			Name: "qwen2.5:1.5b", Family: "qwen2", ParameterSize: "1.5B",
			Quantization: "Q4_K_M", ContextLength: 32768,
		},
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
	}
}

// sealRaw signs f without Seal's checks, to build records validators must refuse.
func sealRaw(t testing.TB, priv crypto.PrivKey, r record.Record) []byte {
	t.Helper()
	env, err := record.Seal(r, priv)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// otherPayload has our domain but a foreign payload type.
type otherPayload struct{ payload }

func (*otherPayload) Codec() []byte { return []byte("/other/record") }

func TestValidatorValidate(t *testing.T) {
	a, b := newIdentity(t), newIdentity(t)
	good := testFields(a.id, 1, testNow)
	goodRaw, err := Seal(a.priv, good)
	if err != nil {
		t.Fatal(err)
	}
	with := func(mod func(f *cmspb.CapabilityRecord)) []byte {
		f := testFields(a.id, 1, testNow)
		mod(f)
		return sealRaw(t, a.priv, &payload{rec: f})
	}
	tampered := bytes.Clone(goodRaw)
	i := bytes.Index(tampered, []byte("clinical"))
	tampered[i] ^= 0x20
	manyDomains := make([]string, MaxListLen+1)
	for i := range manyDomains {
		manyDomains[i] = "d" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}

	cases := []struct {
		name  string
		key   string
		value []byte
		want  error
	}{
		{"valid", Key(a.id), goodRaw, nil},
		{"forged: names a, signed by b", Key(a.id), sealRaw(t, b.priv, &payload{rec: testFields(a.id, 1, testNow)}), ErrWrongOwner},
		{"b's record under a's key", Key(a.id), sealRaw(t, b.priv, &payload{rec: testFields(b.id, 1, testNow)}), ErrWrongOwner},
		{"tampered payload", Key(a.id), tampered, ErrMalformed},
		{"truncated", Key(a.id), goodRaw[:len(goodRaw)-10], ErrMalformed},
		{"garbage", Key(a.id), []byte("definitely not an envelope"), ErrMalformed},
		{"empty", Key(a.id), nil, ErrMalformed},
		{"oversized", Key(a.id), make([]byte, MaxRecordBytes+1), ErrTooLarge},
		{"expired", Key(a.id), with(func(f *cmspb.CapabilityRecord) {
			f.IssuedUnixMs = testNow.Add(-2 * time.Minute).UnixMilli()
			f.ExpiresUnixMs = testNow.Add(-time.Second).UnixMilli()
		}), ErrExpired},
		{"expires exactly now", Key(a.id), with(func(f *cmspb.CapabilityRecord) {
			f.IssuedUnixMs = testNow.Add(-time.Minute).UnixMilli()
			f.ExpiresUnixMs = testNow.UnixMilli()
		}), ErrExpired},
		{"expiry too far ahead", Key(a.id), with(func(f *cmspb.CapabilityRecord) {
			f.ExpiresUnixMs = testNow.Add(MaxTTL + MaxClockSkew + time.Minute).UnixMilli()
		}), ErrInvalidField},
		{"expires before issued", Key(a.id), with(func(f *cmspb.CapabilityRecord) {
			f.IssuedUnixMs = f.ExpiresUnixMs + 1
		}), ErrInvalidField},
		{"schema version 0", Key(a.id), with(func(f *cmspb.CapabilityRecord) { f.SchemaVersion = 0 }), ErrSchemaVersion},
		{"schema version from the future", Key(a.id), with(func(f *cmspb.CapabilityRecord) { f.SchemaVersion = SchemaVersion + 1 }), ErrSchemaVersion},
		{"no peer id", Key(a.id), with(func(f *cmspb.CapabilityRecord) { f.PeerId = nil }), ErrInvalidField},
		{"embedding dim mismatch", Key(a.id), with(func(f *cmspb.CapabilityRecord) { f.DescriptionEmbedding.Dim = 4 }), ErrInvalidField},
		{"embedding NaN", Key(a.id), with(func(f *cmspb.CapabilityRecord) {
			f.DescriptionEmbedding.Vector[0] = float32(math.NaN())
		}), ErrInvalidField},
		{"knowledge terms and vector", Key(a.id), with(func(f *cmspb.CapabilityRecord) {
			f.KnowledgeSources = []*cmspb.Source{{Name: "manuals", Kind: "rag-index", Terms: []string{"lathe", "korvath"},
				Embedding: &cmspb.Embedding{Model: LexicalModel, Dim: MaxKnowledgeDim, Vector: make([]float32, MaxKnowledgeDim)}}}
		}), nil},
		{"knowledge vector too long", Key(a.id), with(func(f *cmspb.CapabilityRecord) {
			f.KnowledgeSources = []*cmspb.Source{{Name: "manuals", Kind: "rag-index",
				Embedding: &cmspb.Embedding{Model: "m", Dim: MaxKnowledgeDim + 1, Vector: make([]float32, MaxKnowledgeDim+1)}}}
		}), ErrInvalidField},
		{"too many knowledge vectors", Key(a.id), with(func(f *cmspb.CapabilityRecord) {
			for range MaxKnowledgeVectors + 1 {
				f.KnowledgeSources = append(f.KnowledgeSources, &cmspb.Source{Name: "c", Kind: "rag-index",
					Embedding: &cmspb.Embedding{Model: "m", Dim: 4, Vector: make([]float32, 4)}})
			}
		}), ErrInvalidField},
		{"knowledge term too long", Key(a.id), with(func(f *cmspb.CapabilityRecord) {
			f.KnowledgeSources = []*cmspb.Source{{Name: "manuals", Terms: []string{string(bytes.Repeat([]byte("t"), MaxNameBytes+1))}}}
		}), ErrInvalidField},
		{"domain not normalized", Key(a.id), with(func(f *cmspb.CapabilityRecord) { f.Domains = []string{"Medicine"} }), ErrInvalidField},
		{"too many domains", Key(a.id), with(func(f *cmspb.CapabilityRecord) { f.Domains = manyDomains }), ErrInvalidField},
		{"bad multiaddr", Key(a.id), with(func(f *cmspb.CapabilityRecord) { f.Addrs = [][]byte{{0xff, 0xff}} }), ErrInvalidField},
		{"negative tokens/s", Key(a.id), with(func(f *cmspb.CapabilityRecord) { f.Performance.TokensPerSecond = -1 }), ErrInvalidField},
		{"description too long", Key(a.id), with(func(f *cmspb.CapabilityRecord) {
			f.Description = string(bytes.Repeat([]byte("x"), MaxDescriptionBytes+1))
		}), ErrInvalidField},
		{"foreign payload type", Key(a.id), sealRaw(t, a.priv, &otherPayload{payload{rec: good}}), ErrMalformed},
		{"foreign signature domain", Key(a.id), func() []byte {
			rec := peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: a.id})
			return sealRaw(t, a.priv, rec)
		}(), ErrMalformed},
		{"key in another namespace", "/ipns/" + a.id.String(), goodRaw, ErrBadKey},
		{"key not a peer id", "/swarmcap/notapeer", goodRaw, ErrBadKey},
	}
	v := Validator{Now: func() time.Time { return testNow }}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Validate(tc.key, tc.value)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Validate = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSealRefuses(t *testing.T) {
	a, b := newIdentity(t), newIdentity(t)
	cases := []struct {
		name string
		f    *cmspb.CapabilityRecord
		priv crypto.PrivKey
		want error
	}{
		{"someone else's record", testFields(b.id, 1, testNow), a.priv, ErrWrongOwner},
		{"nil", nil, a.priv, ErrInvalidField},
		{"too large", func() *cmspb.CapabilityRecord {
			f := testFields(a.id, 1, testNow)
			// Every field at its cap still fits; an oversized vector must not.
			f.DescriptionEmbedding = &cmspb.Embedding{Model: "m", Dim: MaxEmbeddingDim, Vector: make([]float32, MaxEmbeddingDim)}
			f.Description = string(bytes.Repeat([]byte("x"), MaxDescriptionBytes))
			for range MaxListLen - len(f.KnowledgeSources) {
				f.KnowledgeSources = append(f.KnowledgeSources, &cmspb.Source{Name: "n", Description: string(bytes.Repeat([]byte("y"), MaxDescriptionBytes))})
			}
			return f
		}(), a.priv, ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Seal(tc.priv, tc.f); !errors.Is(err, tc.want) {
				t.Fatalf("Seal = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestOpenRoundTrip(t *testing.T) {
	a := newIdentity(t)
	f := testFields(a.id, 7, testNow)
	raw, err := Seal(a.priv, f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(raw, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if r.Peer != a.id || r.Seq() != 7 || !r.Expires.Equal(testNow.Add(time.Minute)) || !r.HasDomain(" Medicine ") {
		t.Fatalf("opened %+v", r)
	}
	if r.Fields.GetModel().GetName() != "qwen2.5:1.5b" || r.Fields.GetDescriptionEmbedding().GetDim() != 3 {
		t.Fatalf("fields lost: %v", r.Fields)
	}
}

func TestValidatorSelect(t *testing.T) {
	a := newIdentity(t)
	mk := func(seq uint64, expires time.Duration) []byte {
		f := testFields(a.id, seq, testNow)
		f.ExpiresUnixMs = testNow.Add(expires).UnixMilli()
		raw, err := Seal(a.priv, f)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	expired := func() []byte {
		f := testFields(a.id, 99, testNow.Add(-time.Hour))
		raw, err := Seal(a.priv, f)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}()
	s1, s2, s2later := mk(1, time.Minute), mk(2, time.Minute), mk(2, 2*time.Minute)
	cases := []struct {
		name   string
		values [][]byte
		want   int
		err    bool
	}{
		{"higher seq wins", [][]byte{s1, s2}, 1, false},
		{"higher seq first", [][]byte{s2, s1}, 0, false},
		{"equal seq: later expiry", [][]byte{s2, s2later, s1}, 1, false},
		{"identical: first", [][]byte{s2, s2}, 0, false},
		{"expired loses despite higher seq", [][]byte{expired, s1}, 1, false},
		{"garbage loses", [][]byte{[]byte("junk"), s1}, 1, false},
		{"nothing valid", [][]byte{[]byte("junk"), expired}, 0, true},
		{"empty", nil, 0, true},
	}
	v := Validator{Now: func() time.Time { return testNow }}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Select(Key(a.id), tc.values)
			if (err != nil) != tc.err {
				t.Fatalf("Select err = %v, want error %v", err, tc.err)
			}
			if !tc.err && got != tc.want {
				t.Fatalf("Select = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDomainCID(t *testing.T) {
	a, err := DomainCID("Medicine ")
	if err != nil {
		t.Fatal(err)
	}
	b, err := DomainCID("medicine")
	if err != nil {
		t.Fatal(err)
	}
	c, err := DomainCID("law")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Equals(b) || a.Equals(c) {
		t.Fatalf("domain cids: %s %s %s", a, b, c)
	}
	if _, err := DomainCID("  "); !errors.Is(err, ErrInvalidField) {
		t.Fatalf("empty domain: %v", err)
	}
}

func TestKeyRoundTrip(t *testing.T) {
	a := newIdentity(t)
	got, err := ParseKey(Key(a.id))
	if err != nil || got != a.id {
		t.Fatalf("ParseKey(Key) = %s, %v", got, err)
	}
}

func FuzzOpen(f *testing.F) {
	a := newIdentity(f)
	raw, err := Seal(a.priv, testFields(a.id, 1, testNow))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add([]byte{})
	f.Add([]byte("\x0a\x04junk"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(data, testNow)
		if err != nil {
			return
		}
		// Whatever opens must be self-consistent and survive validation again.
		if owner, _ := peer.IDFromBytes(r.Fields.GetPeerId()); owner != r.Peer {
			t.Fatalf("peer %s, fields name %s", r.Peer, owner)
		}
		if err := (Validator{Now: func() time.Time { return testNow }}).Validate(Key(r.Peer), data); err != nil {
			t.Fatalf("opened but not valid: %v", err)
		}
	})
}
