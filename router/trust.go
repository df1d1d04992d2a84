package router

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// SwarmKind is what the node knows about who can join its swarm, which sets
// how far a peer it has never judged is trusted.
type SwarmKind string

const (
	// SwarmPrivate: only holders of the swarm key can connect; a newcomer
	// is a member, trusted to be a member but not yet to be right.
	SwarmPrivate SwarmKind = "private"
	// SwarmOpen: anyone can join; a newcomer starts lower.
	SwarmOpen SwarmKind = "open"
)

// Evidence is how the node came to know whether a peer's answer was right,
// which sets how much one outcome moves the peer's record.
type Evidence string

const (
	// EvidenceCloud: the cloud FM answered the same query.
	EvidenceCloud Evidence = "cloud"
	// EvidencePeers: independent peers agreed on an answer (without the peer judged).
	EvidencePeers Evidence = "peers"
	// EvidenceLocal: the node's own model answered confidently.
	EvidenceLocal Evidence = "local"
)

// evidenceStrength scales an outcome by how sure the node is of it.
var evidenceStrength = map[Evidence]float64{EvidenceCloud: 1, EvidencePeers: 0.6, EvidenceLocal: 0.4}

// anyDomain keys a peer's record over all domains.
const anyDomain = "*"

// TrustParams shape a TrackRecord.
type TrustParams struct {
	// Prior is the weight of a peer never judged (0…1).
	Prior float64
	// Severity is how much of its weight a peer loses for one wrong answer
	// given at confidence 1 on the strongest evidence: weight × (1 −
	// Severity × confidence × strength). At 0.7, three confident wrong
	// answers leave 0.3³ ≈ 3 % of the weight.
	Severity float64
	// Gain is how far one right answer (strongest evidence) moves the weight
	// towards 1: slow, so trust lost in three answers takes tens to regain.
	Gain float64
	// Floor is the lowest weight (so a reformed peer can climb back).
	Floor float64
	// Capacity bounds the (peer, domain) records kept; the least recently
	// judged are forgotten first, so a flood of identities costs bounded memory.
	Capacity int
}

// DefaultTrustParams are the defaults for a kind of swarm: members of a
// private swarm start neutral (0.5), peers of an open swarm lower (0.2).
func DefaultTrustParams(kind SwarmKind) TrustParams {
	p := TrustParams{Prior: 0.5, Severity: 0.7, Gain: 0.03, Floor: 0.001, Capacity: 4096}
	if kind != SwarmPrivate {
		p.Prior = 0.2
	}
	return p
}

// Validate reports settings out of range.
func (p TrustParams) Validate() error {
	unit := func(v float64) bool { return !math.IsNaN(v) && v >= 0 && v <= 1 }
	switch {
	case !unit(p.Floor) || !unit(p.Prior) || p.Prior < p.Floor:
		return fmt.Errorf("trust: prior %v and floor %v: want 0 ≤ floor ≤ prior ≤ 1: %w", p.Prior, p.Floor, ErrInvalidConfig)
	case !unit(p.Severity) || p.Severity == 0:
		return fmt.Errorf("trust: severity %v: want 0 < severity ≤ 1: %w", p.Severity, ErrInvalidConfig)
	case !unit(p.Gain) || p.Gain == 0:
		return fmt.Errorf("trust: gain %v: want 0 < gain ≤ 1: %w", p.Gain, ErrInvalidConfig)
	case p.Capacity < 1:
		return fmt.Errorf("trust: capacity %d: want ≥ 1: %w", p.Capacity, ErrInvalidConfig)
	}
	return nil
}

// Outcome is one checked answer of a peer.
type Outcome struct {
	Peer       string
	Domains    []string // the query's domains (normalized); none = only the overall record
	Right      bool
	Confidence float64 // what the peer claimed (0…1): confident wrong answers cost most
	Evidence   Evidence
}

// PeerTrust is a peer's weight for a query, and why.
type PeerTrust struct {
	Weight float64 `json:"weight"`
	// Basis names the record the weight comes from: "prior", "overall", or
	// the domains whose records were averaged.
	Basis string `json:"basis"`
	Right int    `json:"right"` // outcomes behind the weight
	Wrong int    `json:"wrong"`
}

// TrackRecord is one node's per-peer, per-domain record of outcomes it could
// check. A peer's weight in discovery and votes comes from it, never from
// what the peer claims. Wrong answers cut a weight multiplicatively (the
// more confident, the deeper) and right ones earn it back additively and
// slowly. Safe for concurrent use; pure otherwise (no clock, no I/O).
type TrackRecord struct {
	p TrustParams

	mu      sync.Mutex
	clock   uint64
	records map[recordKey]*trustEntry
	// newcomers judges peers as one by their first checked answer: what
	// an unsure voter risks deferring to a peer never checked (Earned).
	newcomers trustEntry
}

type recordKey struct{ peer, domain string }

type trustEntry struct {
	weight       float64
	right, wrong int
	seen         uint64
}

// NewTrackRecord returns an empty record.
func NewTrackRecord(p TrustParams) (*TrackRecord, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &TrackRecord{p: p, records: make(map[recordKey]*trustEntry), newcomers: trustEntry{weight: 1}}, nil
}

// Observe records o against the peer's overall record and each of the
// query's domains. It refuses an outcome without a peer or with an unknown
// kind of evidence.
func (t *TrackRecord) Observe(o Outcome) error { return t.observe(o, true) }

// ObserveOwn records an outcome of this node's own answer (o.Peer is this
// node): its ballots are weighed by its record like any voter's, so a model
// caught confidently wrong in a domain stops outvoting its peers there. This
// node is no newcomer: the newcomers' standing (Earned) does not move.
func (t *TrackRecord) ObserveOwn(o Outcome) error { return t.observe(o, false) }

func (t *TrackRecord) observe(o Outcome, newcomer bool) error {
	strength, ok := evidenceStrength[o.Evidence]
	if !ok {
		return fmt.Errorf("observe trust outcome: evidence %q: %w", o.Evidence, ErrInvalidConfig)
	}
	if o.Peer == "" {
		return fmt.Errorf("observe trust outcome: no peer: %w", ErrInvalidConfig)
	}
	conf := o.Confidence
	if math.IsNaN(conf) {
		conf = 1 // a peer that claims nonsense is judged as if sure
	}
	conf = min(max(conf, 0), 1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, known := t.records[recordKey{o.Peer, anyDomain}]; !known && newcomer {
		t.judgeLocked(&t.newcomers, o.Right, conf, strength)
	}
	t.observeLocked(recordKey{o.Peer, anyDomain}, o.Right, conf, strength)
	for _, d := range dedupe(o.Domains) {
		t.observeLocked(recordKey{o.Peer, d}, o.Right, conf, strength)
	}
	return nil
}

func (t *TrackRecord) observeLocked(k recordKey, right bool, conf, strength float64) {
	e, ok := t.records[k]
	if !ok {
		if len(t.records) >= t.p.Capacity {
			t.evictLocked()
		}
		e = &trustEntry{weight: t.p.Prior}
		t.records[k] = e
	}
	t.judgeLocked(e, right, conf, strength)
	t.clock++
	e.seen = t.clock
}

// judgeLocked moves e's weight and counts by one outcome.
func (t *TrackRecord) judgeLocked(e *trustEntry, right bool, conf, strength float64) {
	if right {
		e.right++
		e.weight += t.p.Gain * strength * (1 - e.weight)
	} else {
		e.wrong++
		e.weight *= 1 - t.p.Severity*conf*strength
	}
	e.weight = min(max(e.weight, t.p.Floor), 1)
}

// evictLocked forgets the record judged least recently (a scan: it runs only
// when a new record arrives at a full table).
func (t *TrackRecord) evictLocked() {
	var oldest recordKey
	first := true
	for k, e := range t.records {
		if first || e.seen < t.records[oldest].seen {
			oldest, first = k, false
		}
	}
	delete(t.records, oldest)
}

// Trust is the peer's weight for a query in domains: the mean of its records
// in those domains it has one for; else its overall record; else the prior.
func (t *TrackRecord) Trust(peer string, domains []string) PeerTrust {
	t.mu.Lock()
	defer t.mu.Unlock()
	var (
		sum   float64
		basis []string
		out   PeerTrust
	)
	for _, d := range dedupe(domains) {
		if e, ok := t.records[recordKey{peer, d}]; ok {
			sum += e.weight
			basis = append(basis, d)
			out.Right += e.right
			out.Wrong += e.wrong
		}
	}
	switch {
	case len(basis) > 0:
		out.Weight, out.Basis = sum/float64(len(basis)), strings.Join(basis, ",")
	case t.records[recordKey{peer, anyDomain}] != nil:
		e := t.records[recordKey{peer, anyDomain}]
		out = PeerTrust{Weight: e.weight, Basis: "overall", Right: e.right, Wrong: e.wrong}
	default:
		out = PeerTrust{Weight: t.p.Prior, Basis: "prior"}
	}
	return out
}

// dedupe drops empty and repeated domains (and the reserved overall key).
func dedupe(domains []string) []string {
	var out []string
	for _, d := range domains {
		if d != "" && d != anyDomain && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// trackRecordVersion is the encoding's version; Decode refuses others.
const trackRecordVersion = 1

// MaxTrackRecordBytes bounds an encoded track record DecodeTrackRecord reads.
const MaxTrackRecordBytes = 8 << 20

type trackRecordFile struct {
	Version int           `json:"version"`
	Records []trustRecord `json:"records"`
	// Newcomers is the newcomers' record (peer and domain empty); files
	// written before it existed lack it, and start it afresh.
	Newcomers *trustRecord `json:"newcomers,omitempty"`
}

type trustRecord struct {
	Peer   string  `json:"peer"`
	Domain string  `json:"domain"` // "*" = overall
	Weight float64 `json:"weight"`
	Right  int     `json:"right"`
	Wrong  int     `json:"wrong"`
}

// Encode serializes the record for persistence (JSON, most recently judged
// last, so a decode into a smaller capacity keeps the freshest).
func (t *TrackRecord) Encode() ([]byte, error) {
	t.mu.Lock()
	type keyed struct {
		recordKey
		trustEntry
	}
	all := make([]keyed, 0, len(t.records))
	for k, e := range t.records {
		all = append(all, keyed{k, *e})
	}
	nc := t.newcomers
	t.mu.Unlock()
	slices.SortFunc(all, func(a, b keyed) int { return cmp.Compare(a.seen, b.seen) })
	f := trackRecordFile{Version: trackRecordVersion, Records: make([]trustRecord, len(all)),
		Newcomers: &trustRecord{Weight: nc.weight, Right: nc.right, Wrong: nc.wrong}}
	for i, r := range all {
		f.Records[i] = trustRecord{Peer: r.peer, Domain: r.domain, Weight: r.weight, Right: r.right, Wrong: r.wrong}
	}
	out, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode track record: %w", err)
	}
	return out, nil
}

// DecodeTrackRecord rebuilds a record saved by Encode under params p. Bad
// input is refused whole (ErrBadTrackRecord), never half-loaded; weights are
// clamped to p's floor, and past p.Capacity the oldest records are dropped.
func DecodeTrackRecord(data []byte, p TrustParams) (*TrackRecord, error) {
	t, err := NewTrackRecord(p)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxTrackRecordBytes {
		return nil, fmt.Errorf("decode track record: %d bytes, cap %d: %w", len(data), MaxTrackRecordBytes, ErrBadTrackRecord)
	}
	var f trackRecordFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode track record: %w: %w", ErrBadTrackRecord, err)
	}
	if f.Version != trackRecordVersion {
		return nil, fmt.Errorf("decode track record: version %d, want %d: %w", f.Version, trackRecordVersion, ErrBadTrackRecord)
	}
	if nc := f.Newcomers; nc != nil {
		if err := nc.check(); err != nil {
			return nil, fmt.Errorf("decode track record: newcomers: %w", err)
		}
		t.newcomers = trustEntry{weight: max(nc.Weight, p.Floor), right: nc.Right, wrong: nc.Wrong}
	}
	for i, r := range f.Records {
		if r.Peer == "" || r.Domain == "" {
			return nil, fmt.Errorf("decode track record: record %d has no peer or domain: %w", i, ErrBadTrackRecord)
		}
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("decode track record: record %d: %w", i, err)
		}
		k := recordKey{r.Peer, r.Domain}
		if _, dup := t.records[k]; dup {
			return nil, fmt.Errorf("decode track record: record %d repeats %s/%s: %w", i, r.Peer, r.Domain, ErrBadTrackRecord)
		}
		t.clock++
		t.records[k] = &trustEntry{weight: max(r.Weight, p.Floor), right: r.Right, wrong: r.Wrong, seen: t.clock}
	}
	// Oldest first in the file: past the capacity, forget the oldest.
	for _, r := range f.Records[:max(len(f.Records)-p.Capacity, 0)] {
		delete(t.records, recordKey{r.Peer, r.Domain})
	}
	return t, nil
}

// check refuses a weight or counts out of range.
func (r trustRecord) check() error {
	switch {
	case math.IsNaN(r.Weight) || r.Weight < 0 || r.Weight > 1:
		return fmt.Errorf("weight %v: %w", r.Weight, ErrBadTrackRecord)
	case r.Right < 0 || r.Wrong < 0:
		return fmt.Errorf("counts %d/%d: %w", r.Right, r.Wrong, ErrBadTrackRecord)
	}
	return nil
}

// Prior is the weight of a peer never judged.
func (t *TrackRecord) Prior() float64 { return t.p.Prior }

// Weight is the peer's overall weight (the prior if never judged): what a
// tallier that does not know the query's domains scales ballots with.
func (t *TrackRecord) Weight(peer string) float64 { return t.Trust(peer, nil).Weight }

// Snapshot copies every judged peer's overall weight, for the dashboard,
// discovery and gossip scores.
func (t *TrackRecord) Snapshot() map[string]float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]float64)
	for k, e := range t.records {
		if k.domain == anyDomain {
			out[k.peer] = e.weight
		}
	}
	return out
}

// GossipStanding maps a peer's weight to its standing in gossip, −1…1: a
// peer above the prior earns up to 1 as it nears full trust; below the prior
// the deficit counts to the fourth power, so an honest peer a few mistakes under the
// prior loses little while one whose record fell to the floor nears −1 (the
// node graylists it).
func GossipStanding(weight, prior float64) float64 {
	weight = clamp01(weight)
	switch {
	case weight >= prior && prior < 1:
		return (weight - prior) / (1 - prior)
	case weight < prior:
		d := 1 - weight/prior
		return -d * d * d * d
	}
	return 0
}

// DeferEarned is what an author needs of TrackRecord.Earned for an unsure
// voter to defer to its proposal. A peer caught wrong and never right loses
// it at once. Honest models keep it: the answers the node can check are
// mostly the hard ones, where honest peers are often wrong too, and a bar of
// one half cost the honest swarm 15 points of cloud share (escalations where
// deference had found the answer). Newcomers lose it together once two of
// them were caught confidently wrong at their first check (0.3² < 0.2).
const DeferEarned = 0.2

// Earned is the share of the peer's checked answers that were right over
// all domains. A peer never checked gets the newcomers' standing: peers are
// judged as one by their first checked answer, with the severity and gain of
// a peer's weight, from 1; so newcomers are not suspect until fresh
// identities have been caught confidently wrong, and then none is deferred
// to before it earns a record of its own. A Sybil's many fresh identities
// thus get the deference of about two, while an honest swarm, whose
// newcomers are mostly right at their first check, keeps deferring to them
// (no deference to any peer never checked cost it 3 points of cloud share,
// one escalation per peer and node before each earned a record).
func (t *TrackRecord) Earned(peer string) float64 {
	pt := t.Trust(peer, nil)
	if pt.Right+pt.Wrong == 0 {
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.newcomers.weight
	}
	return float64(pt.Right) / float64(pt.Right+pt.Wrong)
}

// StandingShare is the share of its checked answers in a query's domains a
// peer must have had right to keep its full standing, however often it was
// also caught wrong.
const StandingShare = 0.25

// Standing is the factor a peer's record puts on its ballots: the better of
// its weight for the domains over the prior and its share of checked
// answers right there over StandingShare, at most 1. A peer the node has
// not judged counts fully; so does an honest model right about as often as
// small models are, though its confident slips cut its weight deep (the
// weight alone took honest voters to a tenth of a newcomer's ballot within
// one run of the workload, so whoever had been checked least outvoted the
// rest). A peer that is confidently wrong again and again, and never right,
// is silenced.
func (t *TrackRecord) Standing(peer string, domains []string) float64 {
	pt := t.Trust(peer, domains)
	st := pt.Weight
	if t.p.Prior > 0 {
		st /= t.p.Prior
	}
	if n := pt.Right + pt.Wrong; n > 0 {
		st = max(st, float64(pt.Right)/float64(n)/StandingShare)
	}
	return clamp01(st)
}
