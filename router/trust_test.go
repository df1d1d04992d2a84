package router

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func newTrack(t *testing.T, p TrustParams) *TrackRecord {
	t.Helper()
	tr, err := NewTrackRecord(p)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func observe(t *testing.T, tr *TrackRecord, n int, o Outcome) {
	t.Helper()
	for range n {
		if err := tr.Observe(o); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTrackRecordWeights(t *testing.T) {
	const rogue = "rogue"
	wrong := func(conf float64, ev Evidence) Outcome {
		return Outcome{Peer: rogue, Domains: []string{"medicine"}, Confidence: conf, Evidence: ev}
	}
	right := Outcome{Peer: rogue, Domains: []string{"medicine"}, Right: true, Confidence: 0.9, Evidence: EvidenceCloud}
	type step struct {
		n int
		o Outcome
	}
	tests := []struct {
		name       string
		kind       SwarmKind
		steps      []step
		lo, hi     float64 // want lo ≤ weight ≤ hi for medicine
		wantBasis  string
		wantCounts [2]int // right, wrong
	}{
		{"newcomer in a private swarm starts neutral", SwarmPrivate, nil, 0.5, 0.5, "prior", [2]int{}},
		{"newcomer in an open swarm starts lower", SwarmOpen, nil, 0.2, 0.2, "prior", [2]int{}},
		{"three confident wrong answers: about zero", SwarmPrivate,
			[]step{{3, wrong(1, EvidenceCloud)}}, 0, 0.02, "medicine", [2]int{0, 3}},
		{"unsure wrong answers cost far less", SwarmPrivate,
			[]step{{3, wrong(0.2, EvidenceCloud)}}, 0.3, 0.4, "medicine", [2]int{0, 3}},
		{"the local model's word counts less than the cloud's", SwarmPrivate,
			[]step{{3, wrong(1, EvidenceLocal)}}, 0.18, 0.19, "medicine", [2]int{0, 3}},
		{"ten good answers do not undo three confident wrong ones", SwarmPrivate,
			[]step{{3, wrong(1, EvidenceCloud)}, {10, right}}, 0.2, 0.3, "medicine", [2]int{10, 3}},
		{"forty good answers earn it back", SwarmPrivate,
			[]step{{3, wrong(1, EvidenceCloud)}, {40, right}}, 0.65, 0.75, "medicine", [2]int{40, 3}},
		{"good answers never reach more than 1", SwarmOpen,
			[]step{{1000, right}}, 0.99, 1, "medicine", [2]int{1000, 0}},
		{"the floor leaves a way back", SwarmPrivate,
			[]step{{1000, wrong(1, EvidenceCloud)}}, 0.001, 0.001, "medicine", [2]int{0, 1000}},
		{"NaN confidence is judged as sure", SwarmPrivate,
			[]step{{3, wrong(math.NaN(), EvidenceCloud)}}, 0, 0.02, "medicine", [2]int{0, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTrack(t, DefaultTrustParams(tt.kind))
			for _, st := range tt.steps {
				observe(t, tr, st.n, st.o)
			}
			got := tr.Trust(rogue, []string{"medicine"})
			if got.Weight < tt.lo || got.Weight > tt.hi {
				t.Errorf("weight %.4f, want %.4f…%.4f", got.Weight, tt.lo, tt.hi)
			}
			if got.Basis != tt.wantBasis || got.Right != tt.wantCounts[0] || got.Wrong != tt.wantCounts[1] {
				t.Errorf("trust %+v, want basis %q and right/wrong %v", got, tt.wantBasis, tt.wantCounts)
			}
		})
	}
}

func TestTrackRecordDomains(t *testing.T) {
	tr := newTrack(t, DefaultTrustParams(SwarmPrivate))
	// Wrong three times in medicine, right twice in geography.
	observe(t, tr, 3, Outcome{Peer: "p", Domains: []string{"medicine", "medicine", ""}, Confidence: 1, Evidence: EvidenceCloud})
	observe(t, tr, 2, Outcome{Peer: "p", Domains: []string{"geography"}, Right: true, Confidence: 1, Evidence: EvidencePeers})
	tests := []struct {
		name      string
		domains   []string
		wantBasis string
		lo, hi    float64
	}{
		{"its bad domain", []string{"medicine"}, "medicine", 0, 0.02},
		{"its good domain", []string{"geography"}, "geography", 0.5, 0.53},
		{"both: the mean", []string{"geography", "medicine"}, "geography,medicine", 0.25, 0.28},
		{"a domain it never answered: its overall record", []string{"law"}, "overall", 0.02, 0.05},
		{"no domain: its overall record", nil, "overall", 0.02, 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tr.Trust("p", tt.domains)
			if got.Basis != tt.wantBasis || got.Weight < tt.lo || got.Weight > tt.hi {
				t.Errorf("trust %+v, want basis %q and weight %.2f…%.2f", got, tt.wantBasis, tt.lo, tt.hi)
			}
		})
	}
	if got := tr.Trust("stranger", []string{"medicine"}); got.Basis != "prior" || got.Weight != 0.5 {
		t.Errorf("a peer never judged: %+v, want the prior", got)
	}
}

func TestTrackRecordForgetsTheLeastRecentlyJudged(t *testing.T) {
	p := DefaultTrustParams(SwarmPrivate)
	p.Capacity = 3
	tr := newTrack(t, p)
	for _, peer := range []string{"a", "b", "c", "a", "d"} { // d evicts b, judged least recently
		observe(t, tr, 1, Outcome{Peer: peer, Confidence: 1, Evidence: EvidenceCloud})
	}
	for peer, want := range map[string]string{"a": "overall", "b": "prior", "c": "overall", "d": "overall"} {
		if got := tr.Trust(peer, nil).Basis; got != want {
			t.Errorf("%s: basis %q, want %q", peer, got, want)
		}
	}
}

func TestTrackRecordRefusesBadOutcomes(t *testing.T) {
	tr := newTrack(t, DefaultTrustParams(SwarmOpen))
	tests := []struct {
		name string
		o    Outcome
	}{
		{"no peer", Outcome{Evidence: EvidenceCloud}},
		{"unknown evidence", Outcome{Peer: "p", Evidence: "rumour"}},
		{"no evidence", Outcome{Peer: "p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tr.Observe(tt.o); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err %v, want ErrInvalidConfig", err)
			}
		})
	}
	if got := tr.Trust("p", nil); got.Basis != "prior" {
		t.Errorf("a refused outcome changed the record: %+v", got)
	}
}

func TestTrustParamsValidate(t *testing.T) {
	base := DefaultTrustParams(SwarmPrivate)
	tests := []struct {
		name string
		edit func(*TrustParams)
	}{
		{"prior above 1", func(p *TrustParams) { p.Prior = 1.5 }},
		{"prior below the floor", func(p *TrustParams) { p.Prior, p.Floor = 0.1, 0.2 }},
		{"NaN prior", func(p *TrustParams) { p.Prior = math.NaN() }},
		{"zero severity", func(p *TrustParams) { p.Severity = 0 }},
		{"severity above 1", func(p *TrustParams) { p.Severity = 2 }},
		{"zero gain", func(p *TrustParams) { p.Gain = 0 }},
		{"zero capacity", func(p *TrustParams) { p.Capacity = 0 }},
	}
	if err := base.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			tt.edit(&p)
			if _, err := NewTrackRecord(p); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestTrackRecordEncodeDecode(t *testing.T) {
	p := DefaultTrustParams(SwarmPrivate)
	tr := newTrack(t, p)
	observe(t, tr, 3, Outcome{Peer: "rogue", Domains: []string{"medicine"}, Confidence: 1, Evidence: EvidenceCloud})
	observe(t, tr, 5, Outcome{Peer: "honest", Domains: []string{"geography", "history"}, Right: true, Confidence: 0.8, Evidence: EvidencePeers})
	raw, err := tr.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeTrackRecord(raw, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		peer    string
		domains []string
	}{{"rogue", []string{"medicine"}}, {"rogue", nil}, {"honest", []string{"history"}}, {"honest", []string{"law"}}, {"new", nil}} {
		if a, b := tr.Trust(q.peer, q.domains), back.Trust(q.peer, q.domains); a != b {
			t.Errorf("%s %v: %+v before encoding, %+v after", q.peer, q.domains, a, b)
		}
	}

	// A smaller capacity keeps the most recently judged records.
	small := p
	small.Capacity = 3
	kept, err := DecodeTrackRecord(raw, small)
	if err != nil {
		t.Fatal(err)
	}
	if got := kept.Trust("honest", []string{"history"}); got.Basis != "history" {
		t.Errorf("the freshest record was dropped: %+v", got)
	}
	if got := kept.Trust("rogue", nil); got.Basis != "prior" {
		t.Errorf("the oldest record was kept past the capacity: %+v", got)
	}
}

func TestDecodeTrackRecordRefuses(t *testing.T) {
	p := DefaultTrustParams(SwarmOpen)
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"not json", "peer,weight\nx,1"},
		{"no version", `{"records":[]}`},
		{"future version", `{"version":2,"records":[]}`},
		{"no peer", `{"version":1,"records":[{"domain":"*","weight":0.5}]}`},
		{"no domain", `{"version":1,"records":[{"peer":"p","weight":0.5}]}`},
		{"weight above 1", `{"version":1,"records":[{"peer":"p","domain":"*","weight":1.5}]}`},
		{"negative weight", `{"version":1,"records":[{"peer":"p","domain":"*","weight":-0.1}]}`},
		{"negative count", `{"version":1,"records":[{"peer":"p","domain":"*","weight":0.5,"wrong":-1}]}`},
		{"repeated record", `{"version":1,"records":[{"peer":"p","domain":"*","weight":0.5},{"peer":"p","domain":"*","weight":0.9}]}`},
		{"oversize", `{"version":1,"records":[` + strings.Repeat(" ", MaxTrackRecordBytes) + `]}`},
		{"newcomers' weight above 1", `{"version":1,"records":[],"newcomers":{"weight":2}}`},
		{"newcomers' negative count", `{"version":1,"records":[],"newcomers":{"weight":0.5,"right":-1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeTrackRecord([]byte(tt.in), p); !errors.Is(err, ErrBadTrackRecord) {
				t.Fatalf("err %v, want ErrBadTrackRecord", err)
			}
		})
	}
	// A saved weight below this node's floor is raised to it.
	tr, err := DecodeTrackRecord([]byte(`{"version":1,"records":[{"peer":"p","domain":"*","weight":0}]}`), p)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Trust("p", nil).Weight; got != p.Floor {
		t.Errorf("weight %v, want the floor %v", got, p.Floor)
	}
	// A file from before the newcomers' record starts it afresh.
	if got := tr.Earned("never-checked"); got != 1 {
		t.Errorf("a newcomer's Earned %v from a file without newcomers, want 1", got)
	}
}

func FuzzDecodeTrackRecord(f *testing.F) {
	f.Add([]byte(`{"version":1,"records":[{"peer":"p","domain":"medicine","weight":0.3,"right":2,"wrong":1}]}`))
	f.Add([]byte(`{"version":1,"records":[]}`))
	f.Add([]byte(`{"version":1,"records":[{"peer":"p","domain":"*","weight":1e308}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		p := DefaultTrustParams(SwarmPrivate)
		p.Capacity = 16
		tr, err := DecodeTrackRecord(in, p)
		if err != nil {
			if !errors.Is(err, ErrBadTrackRecord) {
				t.Fatalf("error without ErrBadTrackRecord: %v", err)
			}
			return
		}
		raw, err := tr.Encode()
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeTrackRecord(raw, p)
		if err != nil {
			t.Fatalf("re-decoding its own encoding: %v", err)
		}
		if len(again.records) != len(tr.records) || len(tr.records) > p.Capacity {
			t.Fatalf("%d records, then %d; capacity %d", len(tr.records), len(again.records), p.Capacity)
		}
		for k, e := range tr.records {
			if w := e.weight; math.IsNaN(w) || w < p.Floor || w > 1 {
				t.Fatalf("record %v has weight %v", k, w)
			}
		}
	})
}

func TestObserveOwnLeavesNewcomersAlone(t *testing.T) {
	tr, err := NewTrackRecord(DefaultTrustParams(SwarmPrivate))
	if err != nil {
		t.Fatal(err)
	}
	before := tr.Earned("never-checked")
	for range 3 {
		if err := tr.ObserveOwn(Outcome{Peer: "me", Domains: []string{"history"}, Confidence: 1, Evidence: EvidenceCloud}); err != nil {
			t.Fatal(err)
		}
	}
	if got := tr.Earned("never-checked"); got != before {
		t.Errorf("newcomers' standing %v after this node's own outcomes, want %v", got, before)
	}
	if s := tr.Standing("me", []string{"history"}); s > 0.05 {
		t.Errorf("own standing in history after three confident wrong answers %v, want ≤ 0.05", s)
	}
	if s := tr.Standing("me", []string{"medicine"}); s > 0.05 {
		t.Errorf("own standing in medicine (falls back to overall) %v, want ≤ 0.05", s)
	}
	if err := tr.ObserveOwn(Outcome{Domains: []string{"history"}, Evidence: EvidenceCloud}); err == nil {
		t.Error("ObserveOwn took an outcome without a peer")
	}
}
