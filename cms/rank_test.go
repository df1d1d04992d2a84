package cms

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms/cmspb"
)

// profile is one specialist of the discovery tests and the queries it must win.
type profile struct {
	domain, description string
	queries             []string
}

var specialists = []profile{
	{
		domain:      "medicine",
		description: "Clinical assistant for medicine and health: symptoms, diagnosis, diseases, treatment, drug dosage and side effects, for adults and children.",
		queries: []string{
			"What dose of ibuprofen is safe for a child with a fever?",
			"Which symptoms suggest appendicitis?",
			"What are the treatment options for type 2 diabetes?",
		},
	},
	{
		domain:      "law",
		description: "Legal questions: contracts, tenancy and landlord disputes, deposits, fines, court procedure, consumer rights and employment law.",
		queries: []string{
			"Can my landlord keep my deposit after I move out?",
			"How do I contest a parking fine in court?",
			"What makes a contract legally binding?",
		},
	},
	{
		domain:      "programming",
		description: "Software engineering help: debugging programs in Go, Python and C, data structures such as linked lists, concurrency with goroutines and channels, crashes.",
		queries: []string{
			"Why does my goroutine leak when the channel is never closed?",
			"How do I reverse a linked list in Python?",
			"My C program crashes with a segmentation fault, how do I debug it?",
		},
	},
}

// topicEmbedder is a fake "shared embedding model": one axis per topic,
// scored by keyword stems, so it understands queries the lexical embedder
// would miss (no shared words). It counts the texts it embeds.
type topicEmbedder struct {
	model string
	texts atomic.Int64
}

var topicStems = [][]string{
	{"medic", "clinic", "symptom", "diagnos", "dose", "fever", "diabet", "append", "health", "ill", "sick", "pain"},
	{"law", "legal", "contract", "landlord", "tenan", "deposit", "court", "fine", "sue", "lawyer"},
	{"program", "software", "debug", "goroutine", "channel", "python", "linked list", "crash", "segmentation", "code", "compile"},
}

func (e *topicEmbedder) Model() string { return e.model }
func (e *topicEmbedder) Dim() int      { return len(topicStems) + 1 }
func (e *topicEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.texts.Add(int64(len(texts)))
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, e.Dim())
		v[len(topicStems)] = 0.1 // bias so no vector is zero
		lt := strings.ToLower(t)
		for axis, stems := range topicStems {
			for _, s := range stems {
				v[axis] += float32(strings.Count(lt, s))
			}
		}
		out[i] = v
	}
	return out, nil
}

// newRecord seals and opens a record of a fresh identity.
func newRecord(t testing.TB, seq uint64, mod func(f *cmspb.CapabilityRecord)) *Record {
	t.Helper()
	id := newIdentity(t)
	f := testFields(id.id, seq, testNow)
	f.DescriptionEmbedding = nil
	f.KnowledgeSources = nil
	mod(f)
	raw, err := Seal(id.priv, f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(raw, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// specialistRecords returns one record per specialist; embed (if non-nil)
// fills each record's description embedding.
func specialistRecords(t testing.TB, embed Embedder) []*Record {
	t.Helper()
	var recs []*Record
	for _, p := range specialists {
		recs = append(recs, newRecord(t, 1, func(f *cmspb.CapabilityRecord) {
			f.Domains = []string{p.domain}
			f.Description = p.description
			if embed != nil {
				vs, err := embed.Embed(context.Background(), []string{ProfileText(f)})
				if err != nil {
					t.Fatal(err)
				}
				f.DescriptionEmbedding = &cmspb.Embedding{Model: embed.Model(), Dim: uint32(embed.Dim()), Vector: vs[0]}
			}
		}))
	}
	return recs
}

func TestRankDiscovery(t *testing.T) {
	shared := &topicEmbedder{model: "fake-shared-embed"}
	cases := []struct {
		name       string
		ranker     Embedder
		recordsBy  Embedder // model whose vectors records carry (nil: none)
		wantRecVec bool
	}{
		{"lexical fallback, records without vectors", LexicalEmbedder{}, nil, false},
		{"lexical ranker ignores another model's vectors", LexicalEmbedder{}, shared, false},
		{"shared embedding model, vectors from records", shared, shared, true},
		{"shared embedding model, records without vectors", shared, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs := specialistRecords(t, tc.recordsBy)
			r := NewRanker(tc.ranker)
			for i, p := range specialists {
				for _, q := range p.queries {
					got, err := r.Rank(context.Background(), q, recs, 2, RankOptions{})
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != 2 {
						t.Fatalf("Rank(%q) returned %d, want 2", q, len(got))
					}
					if got[0].Record != recs[i] {
						t.Errorf("Rank(%q): first is %v (sim %.3f), want %s (second sim %.3f)",
							q, got[0].Record.Fields.GetDomains(), got[0].Similarity, p.domain, got[1].Similarity)
					}
					if got[0].RecordVector != tc.wantRecVec {
						t.Errorf("RecordVector = %v, want %v", got[0].RecordVector, tc.wantRecVec)
					}
				}
			}
		})
	}
}

func TestRankNeverComparesAcrossModels(t *testing.T) {
	shared := &topicEmbedder{model: "fake-shared-embed"}
	recs := specialistRecords(t, nil)
	// The medicine record carries a vector of another model that, read as
	// shared's space, points at law. It must be ignored, not compared.
	med := recs[0]
	bogus := newRecord(t, 2, func(f *cmspb.CapabilityRecord) {
		f.Domains = med.Fields.Domains
		f.Description = med.Fields.Description
		f.DescriptionEmbedding = &cmspb.Embedding{Model: "other-model", Dim: uint32(shared.Dim()), Vector: []float32{0, 1, 0, 0}}
	})
	recs[0] = bogus
	got, err := NewRanker(shared).Rank(context.Background(), "Which symptoms suggest appendicitis?", recs, 1, RankOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Record != bogus || got[0].RecordVector {
		t.Fatalf("first = %v (record vector %v), want the medicine record by its text", got[0].Record.Fields.GetDomains(), got[0].RecordVector)
	}
}

func TestRankCachesVectors(t *testing.T) {
	shared := &topicEmbedder{model: "fake-shared-embed"}
	recs := specialistRecords(t, nil) // no vectors: the ranker embeds their text
	r := NewRanker(shared)
	ctx := context.Background()
	for range 3 {
		if _, err := r.Rank(ctx, "contract law", recs, 0, RankOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// 3 queries + the 3 profiles once.
	if n := shared.texts.Load(); n != 6 {
		t.Fatalf("embedded %d texts, want 6", n)
	}
	// A republished record (new seq) with the same text is not embedded again.
	again := newRecord(t, 2, func(f *cmspb.CapabilityRecord) {
		f.Domains = recs[1].Fields.Domains
		f.Description = recs[1].Fields.Description
	})
	if _, err := r.Rank(ctx, "contract law", append(recs, again), 0, RankOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := shared.texts.Load(); n != 7 {
		t.Fatalf("embedded %d texts, want 7", n)
	}
}

func TestRankScoreParts(t *testing.T) {
	same := func(mod func(f *cmspb.CapabilityRecord)) func(f *cmspb.CapabilityRecord) {
		return func(f *cmspb.CapabilityRecord) {
			f.Domains = []string{"law"}
			f.Description = specialists[1].description
			f.Load = &cmspb.Load{Slots: 1}
			f.Health = cmspb.Health_HEALTH_OK
			mod(f)
		}
	}
	idle := newRecord(t, 1, same(func(*cmspb.CapabilityRecord) {}))
	busy := newRecord(t, 1, same(func(f *cmspb.CapabilityRecord) { f.Load = &cmspb.Load{InFlight: 1, Queued: 2, Slots: 1} }))
	degraded := newRecord(t, 1, same(func(f *cmspb.CapabilityRecord) { f.Health = cmspb.Health_HEALTH_DEGRADED }))
	down := newRecord(t, 1, same(func(f *cmspb.CapabilityRecord) { f.Health = cmspb.Health_HEALTH_DOWN }))
	unrelatedIdle := newRecord(t, 1, func(f *cmspb.CapabilityRecord) {
		f.Domains = []string{"cooking"}
		f.Description = "Recipes, baking bread, knife skills."
		f.Load = &cmspb.Load{Slots: 8}
	})
	all := []*Record{busy, down, degraded, unrelatedIdle, idle}
	q := "Can my landlord keep my deposit?"

	cases := []struct {
		name  string
		opts  RankOptions
		order []*Record
	}{
		{"health and load break ties, down left out, relevance first", RankOptions{},
			[]*Record{idle, degraded, busy, unrelatedIdle}},
		{"include down", RankOptions{IncludeDown: true},
			[]*Record{idle, degraded, busy, down, unrelatedIdle}},
		{"calibration lifts a busy peer", RankOptions{Calibration: func(p peer.ID) (float64, bool) {
			return 1, p == busy.Peer
		}, Weights: Weights{Similarity: 0.5, Health: 0.1, Load: 0.1, Calibration: 0.3}},
			[]*Record{busy, idle, degraded, unrelatedIdle}},
		{"domain hint", RankOptions{Domains: []string{"Cooking"}, Weights: Weights{Similarity: 0.1, Domain: 0.8, Health: 0.05, Load: 0.05}},
			[]*Record{unrelatedIdle, idle, degraded, busy}},
	}
	r := NewRanker(nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Rank(context.Background(), q, all, 0, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range got {
				names = append(names, fmt.Sprintf("%s/%s/%v=%.3f", s.Record.Fields.GetDomains(),
					s.Record.Fields.GetHealth(), s.Record.Fields.GetLoad().GetInFlight(), s.Score))
			}
			if len(got) != len(tc.order) {
				t.Fatalf("got %v", names)
			}
			for i := range got {
				if got[i].Record != tc.order[i] {
					t.Fatalf("order %v", names)
				}
				s := got[i]
				for _, part := range []float64{s.Similarity, s.Relevance, s.Domain, s.Health, s.Load, s.Calibration} {
					if part < 0 || part > 1 || math.IsNaN(part) {
						t.Fatalf("part out of [0,1]: %+v", s)
					}
				}
			}
		})
	}
}

func TestRankConcurrent(t *testing.T) {
	recs := specialistRecords(t, nil)
	r := NewRanker(nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			q := specialists[i%3].queries[0]
			got, err := r.Rank(context.Background(), q, recs, 1, RankOptions{})
			if err != nil || got[0].Record != recs[i%3] {
				t.Errorf("Rank(%q) = %v, %v", q, got, err)
			}
		})
	}
	wg.Wait()
}

// badEmbedder returns vectors of the wrong dimension.
type badEmbedder struct{ topicEmbedder }

func (*badEmbedder) Dim() int { return 99 }

func TestRankEmbedderErrors(t *testing.T) {
	recs := specialistRecords(t, nil)
	if _, err := NewRanker(&badEmbedder{}).Rank(context.Background(), "q", recs, 1, RankOptions{}); err == nil {
		t.Fatal("wrong-dimension embedder accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewRanker(nil).Rank(ctx, "q", recs, 1, RankOptions{}); err == nil {
		t.Fatal("cancelled context accepted")
	}
}

func TestLexicalEmbedder(t *testing.T) {
	vs, err := LexicalEmbedder{}.Embed(context.Background(), []string{
		"treatment of diabetes", "Treatments for DIABETES!", "landlord deposit dispute", "", "the of and",
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs[:3] {
		if n := dot(v, v); math.Abs(n-1) > 1e-5 {
			t.Errorf("vector %d norm² %v, want 1", i, n)
		}
	}
	if near, far := dot(vs[0], vs[1]), dot(vs[0], vs[2]); near < 0.5 || far > 0.2 {
		t.Errorf("similar texts %.3f, unrelated %.3f", near, far)
	}
	for _, i := range []int{3, 4} {
		if n := dot(vs[i], vs[i]); n != 0 {
			t.Errorf("text %d has no content words but norm² %v", i, n)
		}
	}
}

// BenchmarkRank100 ranks 100 records whose vectors are cached after the
// first call: with the lexical embedder (query embedded every call) and with
// a 768-dim shared model whose vectors the records carry.
func BenchmarkRank100(b *testing.B) {
	mk := func(e Embedder) []*Record {
		recs := make([]*Record, 100)
		for i := range recs {
			p := specialists[i%3]
			recs[i] = newRecord(b, 1, func(f *cmspb.CapabilityRecord) {
				f.Domains = []string{p.domain}
				f.Description = fmt.Sprintf("%s (node %d)", p.description, i)
				if e != nil {
					vs, _ := e.Embed(context.Background(), []string{ProfileText(f)})
					f.DescriptionEmbedding = &cmspb.Embedding{Model: e.Model(), Dim: uint32(e.Dim()), Vector: vs[0]}
				}
			})
		}
		return recs
	}
	for _, bc := range []struct {
		name  string
		e     Embedder
		inRec bool
	}{
		{"lexical", LexicalEmbedder{}, false},
		{"shared768", &denseEmbedder{dim: 768}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var recs []*Record
			if bc.inRec {
				recs = mk(bc.e)
			} else {
				recs = mk(nil)
			}
			r := NewRanker(bc.e)
			ctx := context.Background()
			if _, err := r.Rank(ctx, specialists[0].queries[0], recs, 5, RankOptions{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Rank(ctx, specialists[0].queries[0], recs, 5, RankOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// denseEmbedder is a deterministic stand-in for a dense embedding model.
type denseEmbedder struct{ dim int }

func (e *denseEmbedder) Model() string { return fmt.Sprintf("fake-dense-%d", e.dim) }
func (e *denseEmbedder) Dim() int      { return e.dim }
func (e *denseEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, e.dim)
		for j, c := range t {
			v[(j*31+int(c))%e.dim] += 1
		}
		out[i] = v
	}
	return out, nil
}

// Of two equally capable peers, the one that just said it is busy (in an
// ack or a BUSY refusal) ranks below the idle one, whatever their records
// (as old as the records) say.
func TestRankPrefersTheIdleByFreshLoad(t *testing.T) {
	same := func(f *cmspb.CapabilityRecord) {
		f.Domains, f.Description = []string{"law"}, specialists[1].description
		f.Health, f.Load = cmspb.Health_HEALTH_OK, &cmspb.Load{Slots: 1}
	}
	a, b := newRecord(t, 1, same), newRecord(t, 1, same)
	query := specialists[1].queries[0]
	tests := []struct {
		name     string
		busy     peer.ID // reported full just now
		wantBest peer.ID
	}{
		{"a reported busy", a.Peer, b.Peer},
		{"b reported busy", b.Peer, a.Peer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fresh := func(p peer.ID) (*cmspb.Load, bool) {
				if p == tt.busy {
					return &cmspb.Load{InFlight: 4, Slots: 4}, true
				}
				return nil, false
			}
			got, err := NewRanker(nil).Rank(context.Background(), query, []*Record{a, b}, 0, RankOptions{Load: fresh})
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Record.Peer != tt.wantBest || got[0].Load != 1 || got[1].Load != 0.5 {
				t.Errorf("ranked %s (load %.2f) first, then load %.2f; want the idle %s first", got[0].Record.Peer, got[0].Load, got[1].Load, tt.wantBest)
			}
		})
	}
}
