package cms

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms/cmspb"
)

// Weights combine the score parts of Rank (each part is in [0, 1]):
//
//	score = Similarity·rel + Domain·domain + Health·health + Load·load + Calibration·cal
//
//	sim    cosine similarity of the query and ProfileText(record), clamped to [0, 1]
//	rel    sim / max(best sim among the ranked records, MinRelevanceScale): the best
//	       match gets 1, so relevance weighs the same with any embedder (lexical
//	       cosines are small, dense ones large); when nothing is similar (best
//	       sim < MinRelevanceScale) relevance stays small and health, load and
//	       calibration pick among equally unrelated peers
//	domain 1 if the record declares one of RankOptions.Domains, else 0
//	health OK 1, DEGRADED 0.5, unspecified 0.5, DOWN 0
//	load   1 / (1 + (in_flight + queued) / max(slots, 1)): idle 1, one full queue 0.5
//	cal    the caller's calibration / track-record score, 0.5 when unknown
type Weights struct {
	Similarity, Domain, Health, Load, Calibration float64
}

// DefaultWeights keep relevance first: the best match, even busy and
// degraded, outranks an idle, healthy peer that does not match at all.
func DefaultWeights() Weights {
	return Weights{Similarity: 0.55, Domain: 0.15, Health: 0.1, Load: 0.1, Calibration: 0.1}
}

// MinRelevanceScale is the smallest best similarity that counts as a match
// (see Weights): below it, similarities are mostly hashing or embedding noise.
const MinRelevanceScale = 0.1

// NeutralCalibration is the calibration part of a peer without a track record.
const NeutralCalibration = 0.5

// RankOptions tune one Rank call. The zero value uses DefaultWeights, no
// domain hint, neutral calibration, and leaves out DOWN peers.
type RankOptions struct {
	// Weights; the zero value means DefaultWeights().
	Weights Weights
	// Domains the query was classified into (normalized by Rank).
	Domains []string
	// Calibration returns a peer's calibration / track-record score in
	// [0, 1] and whether it has one; nil means none known.
	Calibration func(peer.ID) (score float64, known bool)
	// IncludeDown keeps peers whose health is DOWN (ranked with health 0).
	IncludeDown bool
	// Load returns a peer's load as the caller saw it last (in an ask's ack
	// or BUSY refusal) and whether that is recent; it replaces the record's,
	// which is as old as the record. Nil: the records' loads.
	Load func(peer.ID) (*cmspb.Load, bool)
}

// Scored is one ranked record with its score and the parts it came from.
type Scored struct {
	Record *Record
	Score  float64
	// Parts, each in [0, 1], before weighting (Similarity is the raw
	// cosine; Relevance is what the score uses, see Weights).
	Similarity, Relevance, Domain, Health, Load, Calibration float64
	// RecordVector is true when the similarity used the record's own
	// description embedding (same model as the query), false when the
	// ranker embedded the record's text itself.
	RecordVector bool
}

// maxCachedVectors bounds each vector cache; when full it is emptied (the
// next Rank re-embeds what it needs), which keeps memory bounded without an
// eviction policy to maintain.
const maxCachedVectors = 4096

type recordKey struct {
	peer peer.ID
	seq  uint64
}

// Ranker ranks records for queries with one Embedder, caching each record's
// unit vector per (peer, seq) — the embedding model is fixed per Ranker — and
// each embedded profile text by its hash, so a republished record whose text
// did not change is not embedded again. Safe for concurrent use.
type Ranker struct {
	emb Embedder

	mu       sync.Mutex // owns byRecord and byText
	byRecord map[recordKey]cachedVector
	byText   map[[sha256.Size]byte][]float32
}

type cachedVector struct {
	vec          []float32
	recordVector bool
}

// NewRanker returns a Ranker embedding with e; nil means LexicalEmbedder.
func NewRanker(e Embedder) *Ranker {
	if e == nil {
		e = LexicalEmbedder{}
	}
	return &Ranker{
		emb:      e,
		byRecord: make(map[recordKey]cachedVector),
		byText:   make(map[[sha256.Size]byte][]float32),
	}
}

// Embedder is the embedder the ranker compares with.
func (r *Ranker) Embedder() Embedder { return r.emb }

// Rank scores records for query (see Weights for the formula) and returns the
// best k, highest score first (ties by peer id); k <= 0 returns all. Records
// whose description embedding comes from the ranker's model are compared by
// that vector; all others by embedding their ProfileText with the ranker's
// embedder, so vectors of different models never meet. It calls the embedder
// once for the query and at most once more for all uncached records.
func (r *Ranker) Rank(ctx context.Context, query string, records []*Record, k int, opts RankOptions) ([]Scored, error) {
	w := opts.Weights
	if w == (Weights{}) {
		w = DefaultWeights()
	}
	qv, err := r.embed(ctx, []string{query})
	if err != nil {
		return nil, fmt.Errorf("rank: embed query: %w", err)
	}
	q := qv[0]

	kept := make([]*Record, 0, len(records))
	for _, rec := range records {
		if rec == nil || (!opts.IncludeDown && rec.Fields.GetHealth() == cmspb.Health_HEALTH_DOWN) {
			continue
		}
		kept = append(kept, rec)
	}
	vecs, err := r.vectors(ctx, kept)
	if err != nil {
		return nil, fmt.Errorf("rank: %w", err)
	}

	domains := make(map[string]bool, len(opts.Domains))
	for _, d := range opts.Domains {
		domains[NormalizeDomain(d)] = true
	}
	sims := make([]float64, len(kept))
	scale := MinRelevanceScale
	for i, v := range vecs {
		sims[i] = clamp01(dot(q, v.vec))
		scale = max(scale, sims[i])
	}
	out := make([]Scored, len(kept))
	for i, rec := range kept {
		s := Scored{
			Record:       rec,
			Similarity:   sims[i],
			Health:       healthScore(rec.Fields.GetHealth()),
			Load:         loadScore(loadOf(rec, opts.Load)),
			Calibration:  NeutralCalibration,
			RecordVector: vecs[i].recordVector,
		}
		for _, d := range rec.Fields.GetDomains() {
			if domains[d] {
				s.Domain = 1
				break
			}
		}
		if opts.Calibration != nil {
			if c, ok := opts.Calibration(rec.Peer); ok {
				s.Calibration = clamp01(c)
			}
		}
		s.Relevance = s.Similarity / scale
		s.Score = w.Similarity*s.Relevance + w.Domain*s.Domain + w.Health*s.Health + w.Load*s.Load + w.Calibration*s.Calibration
		out[i] = s
	}
	slices.SortFunc(out, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return strings.Compare(string(a.Record.Peer), string(b.Record.Peer))
	})
	if k > 0 && k < len(out) {
		out = out[:k]
	}
	return out, nil
}

// vectors returns each record's unit vector in the ranker's model space.
func (r *Ranker) vectors(ctx context.Context, recs []*Record) ([]cachedVector, error) {
	out := make([]cachedVector, len(recs))
	type miss struct {
		idx  int
		text string
		sum  [sha256.Size]byte
	}
	var misses []miss
	model, dim := r.emb.Model(), r.emb.Dim()

	r.mu.Lock()
	for i, rec := range recs {
		key := recordKey{rec.Peer, rec.Seq()}
		if cv, ok := r.byRecord[key]; ok {
			out[i] = cv
			continue
		}
		if e := rec.Fields.GetDescriptionEmbedding(); e.GetModel() == model && int(e.GetDim()) == dim {
			v := slices.Clone(e.GetVector())
			normalize(v)
			out[i] = cachedVector{vec: v, recordVector: true}
			r.putRecordLocked(key, out[i])
			continue
		}
		text := ProfileText(rec.Fields)
		sum := sha256.Sum256([]byte(text))
		if v, ok := r.byText[sum]; ok {
			out[i] = cachedVector{vec: v}
			r.putRecordLocked(key, out[i])
			continue
		}
		misses = append(misses, miss{idx: i, text: text, sum: sum})
	}
	r.mu.Unlock()
	if len(misses) == 0 {
		return out, nil
	}

	texts := make([]string, len(misses))
	for i, m := range misses {
		texts[i] = m.text
	}
	vs, err := r.embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("embed %d record profiles: %w", len(texts), err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.byText)+len(misses) > maxCachedVectors {
		clear(r.byText)
	}
	for i, m := range misses {
		out[m.idx] = cachedVector{vec: vs[i]}
		r.byText[m.sum] = vs[i]
		r.putRecordLocked(recordKey{recs[m.idx].Peer, recs[m.idx].Seq()}, out[m.idx])
	}
	return out, nil
}

func (r *Ranker) putRecordLocked(k recordKey, cv cachedVector) {
	if len(r.byRecord) >= maxCachedVectors {
		clear(r.byRecord)
	}
	r.byRecord[k] = cv
}

// embed calls the embedder and checks what it returns, normalizing each vector.
func (r *Ranker) embed(ctx context.Context, texts []string) ([][]float32, error) {
	vs, err := r.emb.Embed(ctx, texts)
	if err != nil {
		return nil, err
	}
	if len(vs) != len(texts) {
		return nil, fmt.Errorf("embedder %s returned %d vectors for %d texts", r.emb.Model(), len(vs), len(texts))
	}
	for _, v := range vs {
		if len(v) != r.emb.Dim() {
			return nil, fmt.Errorf("embedder %s returned dim %d, declared %d", r.emb.Model(), len(v), r.emb.Dim())
		}
		normalize(v)
	}
	return vs, nil
}

// ProfileText is the text a record is matched on, and the text whose
// embedding a node publishes: declared domains, description, and the names
// and descriptions of its knowledge sources.
func ProfileText(f *cmspb.CapabilityRecord) string {
	var b strings.Builder
	if d := f.GetDomains(); len(d) > 0 {
		b.WriteString("Domains: ")
		b.WriteString(strings.Join(d, ", "))
		b.WriteString(".\n")
	}
	b.WriteString(f.GetDescription())
	for _, s := range f.GetKnowledgeSources() {
		b.WriteString("\nKnowledge: ")
		b.WriteString(s.GetName())
		if s.GetDescription() != "" {
			b.WriteString(": ")
			b.WriteString(s.GetDescription())
		}
	}
	return b.String()
}

func healthScore(h cmspb.Health) float64 {
	switch h {
	case cmspb.Health_HEALTH_OK:
		return 1
	case cmspb.Health_HEALTH_DOWN:
		return 0
	default: // unspecified, degraded, or a value from a newer schema
		return 0.5
	}
}

// loadOf is the fresher of the caller's view of rec's peer's load and the
// record's own.
func loadOf(rec *Record, fresh func(peer.ID) (*cmspb.Load, bool)) *cmspb.Load {
	if fresh != nil {
		if l, ok := fresh(rec.Peer); ok {
			return l
		}
	}
	return rec.Fields.GetLoad()
}

func loadScore(l *cmspb.Load) float64 {
	slots := max(l.GetSlots(), 1)
	return 1 / (1 + (float64(l.GetInFlight())+float64(l.GetQueued()))/float64(slots))
}

func clamp01(x float64) float64 { return min(max(x, 0), 1) }
