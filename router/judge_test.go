package router

import (
	"math"
	"slices"
	"testing"
)

func TestJudge(t *testing.T) {
	prop := func(peer, answer string, conf float64) Proposal {
		return Proposal{Peer: peer, Answer: answer, Confidence: conf}
	}
	type verdict struct {
		peer     string
		right    bool
		evidence Evidence
	}
	tests := []struct {
		name  string
		c     Checked
		trust map[string]float64
		want  []verdict
	}{
		{"the cloud's answer judges every peer",
			Checked{Self: "me", Cloud: "Paris", Local: prop("", "Lyon", 0.3),
				Proposals: []Proposal{prop("me", "Lyon", 0.3), prop("a", "Paris", 0.8), prop("rogue", "Berlin", 1)}},
			nil, []verdict{{"a", true, EvidenceCloud}, {"rogue", false, EvidenceCloud}}},
		{"independent peers that agree judge the odd one out",
			Checked{Self: "me", Sure: 0.8, Local: prop("", "Paris", 0.3),
				Proposals: []Proposal{prop("a", "Paris", 0.8), prop("b", "paris.", 0.7), prop("rogue", "Berlin", 1)}},
			nil, []verdict{{"a", true, EvidencePeers}, {"b", true, EvidencePeers}, {"rogue", false, EvidencePeers}}},
		{"a rogue never vouches for itself: two peers split, nothing judged",
			Checked{Self: "me", Sure: 0.8, Local: prop("", "Lyon", 0.3),
				Proposals: []Proposal{prop("a", "Paris", 0.8), prop("rogue", "Berlin", 1)}},
			nil, nil},
		{"identities nobody trusts cannot outvote this node's model",
			Checked{Self: "me", Sure: 0.8, Local: prop("", "Paris", 0.3),
				Proposals: []Proposal{prop("s1", "Berlin", 1), prop("s2", "Berlin", 1), prop("s3", "Berlin", 1)}},
			map[string]float64{"s1": 0.1, "s2": 0.1, "s3": 0.1}, nil},
		{"this node's confident answer is evidence of its own",
			Checked{Self: "me", Sure: 0.8, Local: prop("", "Paris", 0.9),
				Proposals: []Proposal{prop("rogue", "Berlin", 1)}},
			nil, []verdict{{"rogue", false, EvidenceLocal}}},
		{"peers outside the query's domain agreeing do not convict the one inside it",
			Checked{Self: "me", Sure: 0.8, Local: prop("", "Lyon", 0.9), Fit: fitOf("exp"),
				Proposals: []Proposal{prop("exp", "Paris", 0.9), prop("a", "Lyon", 0.8)}},
			nil, []verdict{{"a", true, EvidenceLocal}}},
		{"peers inside the query's domain agreeing judge one outside it",
			Checked{Self: "me", Sure: 0.8, Local: prop("", "Paris", 0.3), Fit: fitOf("e1", "e2"),
				Proposals: []Proposal{prop("e1", "Paris", 0.9), prop("e2", "Paris", 0.8), prop("a", "Lyon", 0.9)}},
			nil, []verdict{{"e1", true, EvidencePeers}, {"e2", true, EvidencePeers}, {"a", false, EvidencePeers}}},
		{"this node's confident answer outside the domain does not judge a peer inside it",
			Checked{Self: "me", Sure: 0.8, Local: prop("", "Lyon", 0.95), Fit: fitOf("exp"),
				Proposals: []Proposal{prop("exp", "Paris", 0.9)}},
			nil, nil},
		{"the cloud judges a peer inside the domain too",
			Checked{Self: "me", Cloud: "Lyon", Local: prop("", "Lyon", 0.95), Fit: fitOf("exp"),
				Proposals: []Proposal{prop("exp", "Paris", 0.9)}},
			nil, []verdict{{"exp", false, EvidenceCloud}}},
		{"failures and abstentions are not judged",
			Checked{Self: "me", Cloud: "Paris",
				Proposals: []Proposal{{Peer: "a", Err: "timeout"}, prop("b", "I don't know", 0.2)}},
			nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.trust != nil {
				tt.c.Trust = func(p string) float64 { return tt.trust[p] }
			}
			var got []verdict
			for _, o := range Judge(tt.c) {
				got = append(got, verdict{o.Peer, o.Right, o.Evidence})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Judge = %v, want %v", got, tt.want)
			}
		})
	}
}

// fitOf fits the query to the peers named (and to no one else, this node
// included), as Thresholds.DomainFit does when they alone declare its domain.
func fitOf(inDomain ...string) func(string) float64 {
	return func(p string) float64 {
		if slices.Contains(inDomain, p) {
			return 1
		}
		return 0.5
	}
}

func TestStandingAndGossip(t *testing.T) {
	tr, err := NewTrackRecord(DefaultTrustParams(SwarmOpen))
	if err != nil {
		t.Fatal(err)
	}
	if s := tr.Standing("new", nil); s != 1 {
		t.Errorf("a newcomer's standing %v, want 1 (the prior)", s)
	}
	for range 3 {
		if err := tr.Observe(Outcome{Peer: "rogue", Confidence: 1, Evidence: EvidenceCloud}); err != nil {
			t.Fatal(err)
		}
	}
	if s := tr.Standing("rogue", nil); s > 0.05 {
		t.Errorf("standing after three confident wrong answers %v, want ≤ 0.05", s)
	}
	// An honest model right half the time keeps its full standing, however
	// deep its confident slips cut its weight; one right less often keeps a
	// part of it.
	for i := range 8 {
		if err := tr.Observe(Outcome{Peer: "honest", Right: i%2 == 0, Confidence: 0.9, Evidence: EvidenceCloud}); err != nil {
			t.Fatal(err)
		}
		if err := tr.Observe(Outcome{Peer: "weak", Right: i%8 == 0, Confidence: 0.9, Evidence: EvidenceCloud}); err != nil {
			t.Fatal(err)
		}
	}
	if w, s := tr.Weight("honest"), tr.Standing("honest", nil); w > 0.1 || s != 1 {
		t.Errorf("honest peer right 4 of 8: weight %v, standing %v; want weight ≤ 0.1, standing 1", w, s)
	}
	if s := tr.Standing("weak", nil); math.Abs(s-0.5) > 1e-9 {
		t.Errorf("peer right 1 of 8: standing %v, want 1/8 over StandingShare = 0.5", s)
	}
	if g := GossipStanding(tr.Weight("rogue"), tr.Prior()); g > -0.8 {
		t.Errorf("gossip standing of a rogue %v, want near -1", g)
	}
	if g := GossipStanding(tr.Prior()*0.8, tr.Prior()); g < -0.01 {
		t.Errorf("gossip standing a slip under the prior %v, want near 0", g)
	}
	if g := GossipStanding(1, tr.Prior()); g != 1 {
		t.Errorf("gossip standing at full trust %v, want 1", g)
	}
}

func TestEarnedNewcomersCountAsOne(t *testing.T) {
	wrongAt := func(peer string, conf float64, ev Evidence) Outcome {
		return Outcome{Peer: peer, Confidence: conf, Evidence: ev}
	}
	rightAt := func(peer string) Outcome {
		return Outcome{Peer: peer, Right: true, Confidence: 0.9, Evidence: EvidenceCloud}
	}
	tests := []struct {
		name     string
		outcomes []Outcome
		lo, hi   float64 // want lo ≤ Earned(a peer never checked) ≤ hi
		defers   bool    // ≥ DeferEarned
	}{
		{"no peer checked yet", nil, 1, 1, true},
		{"honest newcomers right at their first check", []Outcome{rightAt("h1"), rightAt("h2")}, 1, 1, true},
		{"one fresh identity caught confidently wrong", []Outcome{wrongAt("s1", 1, EvidenceCloud)}, 0.3, 0.3, true},
		{"two fresh identities caught confidently wrong", []Outcome{wrongAt("s1", 1, EvidenceCloud), wrongAt("s2", 1, EvidenceCloud)},
			0.09, 0.09, false},
		{"an honest newcomer's unsure slip costs little",
			[]Outcome{wrongAt("h1", 0.3, EvidenceCloud), wrongAt("h2", 0.3, EvidenceLocal)}, 0.6, 0.8, true},
		{"only first checks count: one peer wrong again and again",
			[]Outcome{wrongAt("r", 1, EvidenceCloud), wrongAt("r", 1, EvidenceCloud), wrongAt("r", 1, EvidenceCloud)}, 0.3, 0.3, true},
		{"honest newcomers do not buy back a Sybil's deference",
			[]Outcome{rightAt("h1"), wrongAt("s1", 1, EvidenceCloud), rightAt("h2"), wrongAt("s2", 1, EvidenceCloud), rightAt("h3")},
			0.09, 0.2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := NewTrackRecord(DefaultTrustParams(SwarmOpen))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range tt.outcomes {
				if err := tr.Observe(o); err != nil {
					t.Fatal(err)
				}
			}
			got := tr.Earned("never-checked")
			if got < tt.lo-1e-9 || got > tt.hi+1e-9 {
				t.Errorf("Earned of a newcomer %.4f, want %.4f…%.4f", got, tt.lo, tt.hi)
			}
			if defers := got >= DeferEarned; defers != tt.defers {
				t.Errorf("a newcomer earns deference: %v, want %v", defers, tt.defers)
			}
			// A peer's own record stands on its own outcomes, never on the newcomers'.
			if tt.outcomes != nil {
				o := tt.outcomes[0]
				if own := tr.Earned(o.Peer); (own == 1) != o.Right {
					t.Errorf("Earned(%s) = %v after a first answer right=%v", o.Peer, own, o.Right)
				}
			}
			// The newcomers' record survives a restart.
			raw, err := tr.Encode()
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeTrackRecord(raw, DefaultTrustParams(SwarmOpen))
			if err != nil {
				t.Fatal(err)
			}
			if b := back.Earned("never-checked"); b != got {
				t.Errorf("Earned of a newcomer %v after decoding, %v before", b, got)
			}
		})
	}
}

func TestEarned(t *testing.T) {
	tr, err := NewTrackRecord(DefaultTrustParams(SwarmPrivate))
	if err != nil {
		t.Fatal(err)
	}
	observe := func(peer string, right bool) {
		if err := tr.Observe(Outcome{Peer: peer, Right: right, Confidence: 0.9, Evidence: EvidencePeers}); err != nil {
			t.Fatal(err)
		}
	}
	observe("rogue", false)
	observe("honest", true)
	observe("honest", false)
	observe("honest", true)
	for _, tc := range []struct {
		peer string
		want float64
	}{{"newcomer", 0.6288}, {"rogue", 0}, {"honest", 2.0 / 3}} { // newcomers: the rogue's and honest's first checks
		if got := tr.Earned(tc.peer); math.Abs(got-tc.want) > 1e-4 {
			t.Errorf("Earned(%s) = %v, want %v", tc.peer, got, tc.want)
		}
		if earns := tr.Earned(tc.peer) >= DeferEarned; earns != (tc.peer != "rogue") {
			t.Errorf("%s earns deference: %v", tc.peer, earns)
		}
	}
}
