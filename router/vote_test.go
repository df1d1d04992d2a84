package router

import (
	"math"
	"slices"
	"testing"
)

func TestChooseBallot(t *testing.T) {
	props := []Proposal{
		{Peer: "a", Answer: "Canberra", Confidence: 0.6},
		{Peer: "b", Answer: "Sydney", Confidence: 0.9},
		{Peer: "c", Err: "timeout"},
		{Peer: "d", Answer: "canberra.", Confidence: 0.8},
	}
	cases := []struct {
		name       string
		own        Proposal
		proposals  []Proposal
		params     BallotParams
		wantChoice int
		wantWeight float64
	}{
		{"votes for the agreeing proposal, ties to the more confident",
			Proposal{Peer: "v", Answer: "Canberra", Confidence: 0.8}, props, BallotParams{}, 3, 0.8},
		{"weight is confidence × track record",
			Proposal{Peer: "v", Answer: "Sydney", Confidence: 0.5}, props, BallotParams{TrackRecord: 0.5}, 1, 0.25},
		{"nothing agrees: escalate",
			Proposal{Peer: "v", Answer: "Melbourne", Confidence: 0.7}, props, BallotParams{}, Escalate, 0.7},
		{"threshold from params",
			Proposal{Peer: "v", Answer: "Canberra city", Confidence: 1}, props, BallotParams{Agreement: 0.9}, Escalate, 1},
		{"containment reaches the default threshold",
			Proposal{Peer: "v", Answer: "Canberra city", Confidence: 1}, props, BallotParams{}, 3, 1},
		{"no usable own answer: no opinion",
			Proposal{Peer: "v", Err: "model down"}, props, BallotParams{}, Escalate, 0},
		{"no proposals",
			Proposal{Peer: "v", Answer: "Canberra", Confidence: 0.9}, nil, BallotParams{}, Escalate, 0.9},
		{"confidence and track record are clamped",
			Proposal{Peer: "v", Answer: "Sydney", Confidence: 7}, props, BallotParams{TrackRecord: 3}, 1, 1},
		{"unsure voter defers to the most confident sure proposal",
			Proposal{Peer: "v", Answer: "Canberra", Confidence: 0.4}, props, BallotParams{Sure: 0.7}, 1, 0.4},
		{"unsure voter defers only to an author whose record earns it",
			Proposal{Peer: "v", Answer: "Canberra", Confidence: 0.4}, props,
			BallotParams{Sure: 0.7, DeferTrust: 0.5, Trust: func(p string) float64 { return map[string]float64{"b": 0.1, "d": 0.9}[p] }}, 3, 0.4},
		{"unsure voter whom no sure author earns escalates",
			Proposal{Peer: "v", Answer: "Canberra", Confidence: 0.4}, props,
			BallotParams{Sure: 0.7, DeferTrust: 0.5, Trust: func(string) float64 { return 0.2 }}, Escalate, 0.4},
		{"unsure voter with nothing sure to defer to escalates",
			Proposal{Peer: "v", Answer: "Canberra", Confidence: 0.4}, props, BallotParams{Sure: 0.95}, Escalate, 0.4},
		{"an unsure voter never defers to its own proposal",
			Proposal{Peer: "b", Answer: "Sydney", Confidence: 0.5}, props[1:2], BallotParams{Sure: 0.5 + 1e-9}, Escalate, 0.5},
		{"a sure voter votes by agreement",
			Proposal{Peer: "v", Answer: "Canberra", Confidence: 0.8}, props, BallotParams{Sure: 0.7}, 3, 0.8},
		{"custom agreement (embeddings)",
			Proposal{Peer: "v", Answer: "the harbour city", Confidence: 1}, props,
			BallotParams{Agree: func(_, q Proposal) float64 {
				if q.Answer == "Sydney" {
					return 0.95
				}
				return 0.1
			}}, 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := ChooseBallot(tc.own, tc.proposals, tc.params)
			if b.Voter != tc.own.Peer || b.Choice != tc.wantChoice || math.Abs(b.Weight-tc.wantWeight) > 1e-12 {
				t.Errorf("ballot = %+v, want choice %d weight %v", b, tc.wantChoice, tc.wantWeight)
			}
		})
	}
}

func TestTally(t *testing.T) {
	three := []string{"a", "b", "c"}
	paris := []Proposal{
		{Peer: "a", Answer: "Paris", Confidence: 0.7},
		{Peer: "b", Answer: "paris.", Confidence: 0.9},
		{Peer: "c", Answer: "Lyon", Confidence: 0.8},
	}
	cases := []struct {
		name      string
		proposals []Proposal
		ballots   []Ballot
		params    TallyParams
		want      TallyOutcome
		winner    int
		share     float64
		counted   []int
	}{
		{"consensus pools equivalent answers", paris,
			[]Ballot{{"a", 0, 0.7}, {"b", 1, 0.9}, {"c", 2, 0.8}},
			TallyParams{Participants: three}, OutcomeConsensus, 1, 1.6 / 2.4, []int{0, 1, 2}},
		{"split", paris,
			[]Ballot{{"a", 2, 0.5}, {"c", 0, 0.5}},
			TallyParams{Participants: three}, OutcomeSplit, 0, 0.5, []int{0, 1}},
		{"a proposal only its author backs, against the others, escalates", paris,
			[]Ballot{{"c", 2, 1}, {"a", Escalate, 0.3}, {"b", Escalate, 0.3}},
			TallyParams{Participants: three}, OutcomeEscalate, 2, 1 / 1.6, []int{0, 1, 2}},
		{"a lone author proven right keeps the win its weight earns", paris,
			[]Ballot{{"c", 2, 1}, {"a", Escalate, 0.3}, {"b", Escalate, 0.3}},
			TallyParams{Participants: three, Proven: func(v string) bool { return v == "c" }}, OutcomeConsensus, 2, 1 / 1.6, []int{0, 1, 2}},
		{"two authors voting each for itself: neither wins", paris,
			[]Ballot{{"a", 0, 0.5}, {"c", 2, 0.5}},
			TallyParams{Participants: three}, OutcomeEscalate, 0, 0.5, []int{0, 1}},
		{"unproven authors vouching only for each other, against the others, escalate (a Sybil)", paris,
			[]Ballot{{"a", 0, 1}, {"b", 1, 1}, {"c", Escalate, 0.4}},
			TallyParams{Participants: three, Proven: func(string) bool { return false }}, OutcomeEscalate, 1, 2 / 2.4, []int{0, 1, 2}},
		{"authors agreeing win once one of them is proven", paris,
			[]Ballot{{"a", 0, 1}, {"b", 1, 1}, {"c", Escalate, 0.4}},
			TallyParams{Participants: three, Proven: func(v string) bool { return v == "b" }}, OutcomeConsensus, 1, 2 / 2.4, []int{0, 1, 2}},
		{"an author backing itself with no one against stands", paris,
			[]Ballot{{"c", 2, 0.9}, {"a", Escalate, 0}},
			TallyParams{Participants: three}, OutcomeConsensus, 2, 1, []int{0, 1}},
		{"quorum missed still names the leader", paris,
			[]Ballot{{"a", 1, 0.9}},
			TallyParams{Participants: three}, OutcomeQuorumMissed, 1, 1, []int{0}},
		{"escalate majority", paris,
			[]Ballot{{"a", Escalate, 0.8}, {"b", Escalate, 0.6}, {"c", 2, 0.9}},
			TallyParams{Participants: three}, OutcomeEscalate, 2, 0.9 / 2.3, []int{0, 1, 2}},
		{"escalate tie goes to the cloud", paris,
			[]Ballot{{"a", Escalate, 0.5}, {"c", 2, 0.5}},
			TallyParams{Participants: three}, OutcomeEscalate, 2, 0.5, []int{0, 1}},
		{"non-participant, duplicate and bad choices do not count", paris,
			[]Ballot{{"a", 2, 0.6}, {"mallory", 2, 1}, {"a", 2, 1}, {"b", 9, 1}, {"b", -7, 1}, {"c", 2, math.NaN()},
				{"c", 2, math.Inf(1)}, {"c", 2, -1}, {"b", 0, 0.5}},
			TallyParams{Participants: three}, OutcomeConsensus, 2, 0.6 / 1.1, []int{0, 8}},
		{"weight above one counts as one", paris,
			[]Ballot{{"a", 0, 50}, {"b", 2, 0.9}, {"c", 2, 0.9}},
			TallyParams{Participants: three}, OutcomeConsensus, 2, 1.8 / 2.8, []int{0, 1, 2}},
		{"trust scales claimed weight", paris,
			[]Ballot{{"a", 0, 1}, {"b", 1, 1}, {"c", 2, 1}},
			TallyParams{Participants: three, Trust: func(v string) float64 {
				if v == "a" {
					return 1
				}
				return 0.1
			}}, OutcomeConsensus, 0, 1.1 / 1.2, []int{0, 1, 2}},
		{"a peer that died mid-round cannot be chosen; the rest still agree",
			[]Proposal{{Peer: "a", Answer: "Paris", Confidence: 0.7}, {Peer: "b", Err: "stream reset"}, {Peer: "c", Answer: "PARIS", Confidence: 0.6}},
			[]Ballot{{"a", 0, 0.7}, {"c", 2, 0.6}, {"c", 1, 1}},
			TallyParams{Participants: three}, OutcomeConsensus, 0, 1, []int{0, 1}},
		{"no proposals and no ballots", nil, nil,
			TallyParams{Participants: three}, OutcomeQuorumMissed, Escalate, 0, nil},
		{"no participants: nothing counts", paris,
			[]Ballot{{"a", 0, 1}},
			TallyParams{}, OutcomeQuorumMissed, 1, 0, nil},
		{"explicit quorum", paris,
			[]Ballot{{"a", 0, 1}, {"b", 1, 1}},
			TallyParams{Participants: three, Quorum: 3}, OutcomeQuorumMissed, 1, 1, []int{0, 1}},
		{"consensus threshold", paris,
			[]Ballot{{"a", 0, 0.7}, {"b", 1, 0.9}, {"c", 2, 0.8}},
			TallyParams{Participants: three, Consensus: 0.7}, OutcomeSplit, 1, 1.6 / 2.4, []int{0, 1, 2}},
		{"zero weights: no consensus", paris,
			[]Ballot{{"a", 0, 0}, {"b", 1, 0}},
			TallyParams{Participants: three}, OutcomeSplit, 1, 0, []int{0, 1}},
		{"deterministic tie-break: equal groups go to the first", []Proposal{
			{Peer: "a", Answer: "Lima", Confidence: 0.5}, {Peer: "b", Answer: "Quito", Confidence: 0.5}},
			[]Ballot{{"a", 1, 0.5}, {"b", 0, 0.5}},
			TallyParams{Participants: []string{"a", "b"}}, OutcomeSplit, 0, 0.5, []int{0, 1}},
		{"tie-break by group size", []Proposal{
			{Peer: "a", Answer: "Lima", Confidence: 0.5}, {Peer: "b", Answer: "Quito", Confidence: 0.5}, {Peer: "c", Answer: "quito", Confidence: 0.1}},
			nil, TallyParams{Participants: three}, OutcomeQuorumMissed, 1, 0, nil},
		{"tie-break by confidence", []Proposal{
			{Peer: "a", Answer: "Lima", Confidence: 0.5}, {Peer: "b", Answer: "Quito", Confidence: 0.6}},
			nil, TallyParams{Participants: three}, OutcomeQuorumMissed, 1, 0, nil},
		{"custom agreement groups synonyms", []Proposal{
			{Peer: "a", Answer: "NYC", Confidence: 0.5}, {Peer: "b", Answer: "New York City", Confidence: 0.6}, {Peer: "c", Answer: "Boston", Confidence: 0.9}},
			[]Ballot{{"a", 0, 0.5}, {"b", 1, 0.6}, {"c", 2, 0.9}},
			TallyParams{Participants: three, Agree: func(a, b Proposal) float64 {
				if (a.Peer == "a" && b.Peer == "b") || (a.Peer == "b" && b.Peer == "a") {
					return 1
				}
				return 0
			}}, OutcomeConsensus, 1, 1.1 / 2.0, []int{0, 1, 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Tally(tc.proposals, tc.ballots, tc.params)
			if got.Outcome != tc.want || got.Winner != tc.winner || math.Abs(got.Share-tc.share) > 1e-9 {
				t.Errorf("Tally = %s winner %d share %v, want %s winner %d share %v (%+v)",
					got.Outcome, got.Winner, got.Share, tc.want, tc.winner, tc.share, got)
			}
			if !slices.Equal(got.Counted, tc.counted) || got.Ballots != len(tc.counted) {
				t.Errorf("counted %v (%d ballots), want %v", got.Counted, got.Ballots, tc.counted)
			}
			if len(got.Weights) != len(tc.proposals) || len(got.Cluster) != len(tc.proposals) {
				t.Errorf("weights %v clusters %v for %d proposals", got.Weights, got.Cluster, len(tc.proposals))
			}
		})
	}
}

func TestTallyGroups(t *testing.T) {
	props := []Proposal{
		{Peer: "a", Answer: "Paris"}, {Peer: "b", Err: "down"}, {Peer: "c", Answer: "Lyon"}, {Peer: "d", Answer: "PARIS!"}, {Peer: "e", Answer: "lyon"},
	}
	got := Tally(props, nil, TallyParams{Participants: []string{"a"}})
	if want := []int{0, -1, 2, 0, 2}; !slices.Equal(got.Cluster, want) {
		t.Errorf("clusters = %v, want %v", got.Cluster, want)
	}
	if got.Quorum != 1 {
		t.Errorf("quorum = %d, want 1 for one participant", got.Quorum)
	}
}

// TestTallyIgnoresMaliciousBallots: forged voters, repeats and out-of-range
// choices change nothing, whatever order they arrive in.
func TestTallyIgnoresMaliciousBallots(t *testing.T) {
	props := []Proposal{{Peer: "a", Answer: "4"}, {Peer: "b", Answer: "5"}}
	params := TallyParams{Participants: []string{"a", "b", "c"}}
	honest := []Ballot{{"a", 0, 0.9}, {"b", 1, 0.4}, {"c", 0, 0.8}}
	want := Tally(props, honest, params)
	malicious := []Ballot{{"x", 1, 1}, {"y", 1, 1}, {"", 1, 1}, {"b", 7, 1}}
	for _, order := range [][]Ballot{
		append(slices.Clone(honest), malicious...),
		append(append(slices.Clone(honest), Ballot{"b", 1, 1}, Ballot{"a", 1, 1}), malicious...),
	} {
		got := Tally(props, order, params)
		if got.Outcome != want.Outcome || got.Winner != want.Winner || got.Share != want.Share || !slices.Equal(got.Weights, want.Weights) {
			t.Errorf("tally changed: %+v, want %+v", got, want)
		}
	}
}

func TestAbstentionsCannotWin(t *testing.T) {
	cases := []struct {
		answer string
		want   bool
	}{
		{"I am not sure about that.", true},
		{"I don't know.", true},
		{"no idea", true},
		{"Paris", false},
		{"I am not sure, but I think it is Paris because the river Seine runs through it and " +
			"it has been the seat of government for centuries, so Paris.", false},
	}
	for _, tc := range cases {
		t.Run(tc.answer, func(t *testing.T) {
			if got := Abstains(tc.answer); got != tc.want {
				t.Fatalf("Abstains(%q) = %v, want %v", tc.answer, got, tc.want)
			}
		})
	}

	// Three peers agreeing they do not know: the voters escalate, nobody wins.
	unsure := []Proposal{{Peer: "a", Answer: "I am not sure about that.", Confidence: 0.3},
		{Peer: "b", Answer: "I am not sure about that.", Confidence: 0.3},
		{Peer: "c", Answer: "I don't know.", Confidence: 0.2}}
	var ballots []Ballot
	for _, own := range unsure {
		b := ChooseBallot(own, unsure, BallotParams{Agreement: 0.8, TrackRecord: 1})
		if b.Choice != Escalate {
			t.Fatalf("%s voted %d for an abstention", own.Peer, b.Choice)
		}
		ballots = append(ballots, b)
	}
	res := Tally(unsure, ballots, TallyParams{Participants: []string{"a", "b", "c"}})
	if res.Outcome == OutcomeConsensus || res.Winner != Escalate {
		t.Fatalf("tally of abstentions = %+v, want no winner", res)
	}
}

func TestBallotWeight(t *testing.T) {
	cases := []struct {
		name           string
		claimed, track float64
		want           float64
	}{
		{"a sure voter with a clean record", 1, 1, 1},
		{"the record scales the claim", 0.9, 0.5, 0.45},
		{"no record, no weight", 1, 0, 0},
		{"no confidence, no weight", 0, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := BallotWeight(tc.claimed, tc.track); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("BallotWeight(%v, %v) = %v, want %v", tc.claimed, tc.track, got, tc.want)
			}
		})
	}
}

func TestDomainFit(t *testing.T) {
	th := DefaultThresholds()
	th.OffDomainVote = 0.5
	declared := map[string][]string{"me": {"geography"}, "exp": {"medicine", "science"}, "all": {"medicine"}, "none": nil}
	cases := []struct {
		name     string
		domains  []string
		declared map[string][]string
		want     map[string]float64
	}{
		{"the voters declaring the domain count fully, the others half", []string{"medicine"}, declared,
			map[string]float64{"exp": 1, "all": 1, "me": 0.5, "none": 0.5, "unknown": 0.5}},
		{"one of several domains is enough", []string{"history", "science"}, declared,
			map[string]float64{"exp": 1, "me": 0.5, "all": 0.5}},
		{"a domain nobody declares: everyone counts fully", []string{"cooking"}, declared,
			map[string]float64{"exp": 1, "me": 1, "none": 1}},
		{"a query without a domain: everyone counts fully", nil, declared,
			map[string]float64{"exp": 1, "me": 1}},
		{"nothing declared: everyone counts fully", []string{"medicine"}, nil,
			map[string]float64{"exp": 1, "me": 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fit := th.DomainFit(tc.domains, tc.declared)
			for voter, want := range tc.want {
				if got := fit(voter); got != want {
					t.Errorf("fit(%s) = %v, want %v", voter, got, want)
				}
			}
		})
	}
	if got, want := (Thresholds{}).DomainFit([]string{"medicine"}, declared)("me"), DefaultThresholds().OffDomainVote; got != want {
		t.Errorf("no OffDomainVote set: fit %v, want the default %v", got, want)
	}
	// Two voters outside the domain agreeing on a popular mistake no longer
	// outvote the one inside it.
	proposals := []Proposal{{Peer: "me", Answer: "Lyon", Confidence: 0.9}, {Peer: "exp", Answer: "Paris", Confidence: 0.9},
		{Peer: "none", Answer: "Lyon", Confidence: 0.8}}
	ballots := []Ballot{{Voter: "me", Choice: 0, Weight: 0.9}, {Voter: "exp", Choice: 1, Weight: 0.9}, {Voter: "none", Choice: 0, Weight: 0.8}}
	params := DefaultThresholds().TallyParams([]string{"me", "exp", "none"})
	params.Proven = func(string) bool { return true } // all checked right before
	if res := Tally(proposals, ballots, params); res.Outcome != OutcomeConsensus || res.Winner != 0 {
		t.Errorf("without fit: tally = %v winner %d, want consensus on the popular mistake (0)", res.Outcome, res.Winner)
	}
	params.Fit = th.DomainFit([]string{"medicine"}, declared)
	res := Tally(proposals, ballots, params)
	if res.Outcome != OutcomeConsensus || res.Winner != 1 {
		t.Errorf("with fit: tally = %v winner %d, want consensus on the in-domain answer (1)", res.Outcome, res.Winner)
	}
	if math.Abs(res.Weights[0]-(0.45+0.4)) > 1e-12 || math.Abs(res.Weights[1]-0.9) > 1e-12 {
		t.Errorf("weights %v, want the mistake's two ballots at half (0.45 + 0.4) and the in-domain one whole (0.9)", res.Weights)
	}
	if ballots[0].Weight != 0.9 {
		t.Errorf("Tally changed its input: %+v", ballots[0])
	}
}

func TestTallyFitsDeference(t *testing.T) {
	th := DefaultThresholds()
	th.OffDomainVote = 0.5
	declared := map[string][]string{"exp": {"medicine"}, "a": {"code"}, "b": {"history"}}
	proposals := []Proposal{{Peer: "exp", Answer: "insulin", Confidence: 0.6}, {Peer: "a", Answer: "glucagon", Confidence: 0.95},
		{Peer: "b", Answer: "Glucagon.", Confidence: 0.7}}
	cases := []struct {
		name    string
		domains []string
		ballots []Ballot
		// want is each ballot's choice as counted (ballots in order).
		want    []int
		winner  int
		outcome TallyOutcome
	}{
		{"an unsure voter inside the domain deferring to one outside it counts for its own answer", []string{"medicine"},
			[]Ballot{{Voter: "exp", Choice: 1, Weight: 0.6}, {Voter: "a", Choice: 1, Weight: 0.95}, {Voter: "b", Choice: 1, Weight: 0.1}},
			[]int{0, 1, 1}, 0, OutcomeConsensus},
		{"voters outside the domain deferring to each other stay as they are", []string{"medicine"},
			[]Ballot{{Voter: "exp", Choice: 0, Weight: 0.6}, {Voter: "a", Choice: 1, Weight: 0.95}, {Voter: "b", Choice: 1, Weight: 0.7}},
			[]int{0, 1, 1}, 1, OutcomeConsensus},
		{"a domain nobody declares: deference stands", []string{"cooking"},
			[]Ballot{{Voter: "exp", Choice: 1, Weight: 0.6}, {Voter: "a", Choice: 1, Weight: 0.95}, {Voter: "b", Choice: 1, Weight: 0.7}},
			[]int{1, 1, 1}, 1, OutcomeConsensus},
		{"escalation stays escalation", []string{"medicine"},
			[]Ballot{{Voter: "exp", Choice: Escalate, Weight: 0.6}, {Voter: "a", Choice: 1, Weight: 0.95}, {Voter: "b", Choice: Escalate, Weight: 0.7}},
			[]int{Escalate, 1, Escalate}, 1, OutcomeEscalate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			params := DefaultThresholds().TallyParams([]string{"exp", "a", "b"})
			params.Proven = func(string) bool { return true }
			params.Fit = th.DomainFit(tc.domains, declared)
			res := Tally(proposals, tc.ballots, params)
			cluster := res.Cluster
			for i, b := range fitBallots(proposals, tc.ballots, cluster, params.Fit) {
				if b.Choice != tc.want[i] {
					t.Errorf("ballot %d (%s) counted for %d, want %d", i, b.Voter, b.Choice, tc.want[i])
				}
			}
			if res.Winner != tc.winner || res.Outcome != tc.outcome {
				t.Errorf("tally %v winner %d, want %v winner %d", res.Outcome, res.Winner, tc.outcome, tc.winner)
			}
		})
	}
}

func TestDecided(t *testing.T) {
	props := []Proposal{
		{Peer: "a", Model: "m", Answer: "Paris", Confidence: 0.9},
		{Peer: "b", Model: "m", Answer: "London", Confidence: 0.9},
	}
	params := DefaultThresholds().TallyParams([]string{"a", "b", "c", "d"}) // quorum 3
	lead := []Ballot{{Voter: "a", Choice: 0, Weight: 0.4}, {Voter: "b", Choice: 0, Weight: 0.4}, {Voter: "c", Choice: 0, Weight: 0.2}}
	tests := []struct {
		name    string
		ballots []Ballot
		missing []string
		trust   float64 // every missing voter's track record
		want    bool
	}{
		{"below quorum", []Ballot{{Voter: "a", Choice: 0, Weight: 1}, {Voter: "b", Choice: 0, Weight: 1}},
			[]string{"c", "d"}, 1, false},
		{"three of four agree", []Ballot{{Voter: "a", Choice: 0, Weight: 1}, {Voter: "b", Choice: 0, Weight: 1}, {Voter: "c", Choice: 0, Weight: 1}},
			[]string{"d"}, 1, true},
		{"the last voter could split it", []Ballot{{Voter: "a", Choice: 0, Weight: 1}, {Voter: "b", Choice: 1, Weight: 1}, {Voter: "c", Choice: 0, Weight: 1}},
			[]string{"d"}, 1, false},
		{"the last voter could outweigh the lead by escalating", lead, []string{"d"}, 1, false},
		{"a last voter with a poor record cannot", lead, []string{"d"}, 0.5, true},
		{"nobody missing", lead, nil, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trust := func(string) float64 { return tt.trust }
			if got := Decided(props, tt.ballots, params, tt.missing, trust); got != tt.want {
				t.Errorf("Decided = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEnoughProposals(t *testing.T) {
	ans := func(a string) Proposal { return Proposal{Answer: a, Confidence: 0.8} }
	failed := Proposal{Err: "no ack"}
	cases := []struct {
		name  string
		in    []Proposal
		asked int
		want  bool
	}{
		{name: "none in", asked: 3, want: false},
		{name: "all in, disagreeing", in: []Proposal{ans("Paris"), ans("Lyon"), ans("Nice")}, asked: 3, want: true},
		{name: "all in, failed", in: []Proposal{failed, failed}, asked: 2, want: true},
		{name: "two of three agree", in: []Proposal{ans("Paris"), ans("paris.")}, asked: 3, want: true},
		{name: "two of three disagree", in: []Proposal{ans("Paris"), ans("Lyon")}, asked: 3, want: false},
		{name: "two of four agree: not a majority", in: []Proposal{ans("Paris"), ans("Paris")}, asked: 4, want: false},
		{name: "three of five agree", in: []Proposal{ans("Paris"), failed, ans("Paris"), ans("Paris")}, asked: 5, want: true},
		{name: "failures never agree", in: []Proposal{failed, failed}, asked: 3, want: false},
		{name: "abstentions never agree", in: []Proposal{ans("I don't know"), ans("I don't know")}, asked: 3, want: false},
		{name: "one peer asked, in", in: []Proposal{ans("Paris")}, asked: 1, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := EnoughProposals(tc.in, tc.asked, DefaultThresholds().Agreement, nil); got != tc.want {
				t.Errorf("EnoughProposals(%d of %d) = %v, want %v", len(tc.in), tc.asked, got, tc.want)
			}
		})
	}
}

func TestCloseRound(t *testing.T) {
	props := []Proposal{
		{Peer: "a", Model: "m", Answer: "Paris", Confidence: 0.9},
		{Peer: "b", Model: "m", Answer: "London", Confidence: 0.9},
	}
	everyone := []string{"a", "b", "c", "d"}
	agree := func(voters ...string) []Ballot {
		var out []Ballot
		for _, v := range voters {
			out = append(out, Ballot{Voter: v, Choice: 0, Weight: 1})
		}
		return out
	}
	split := []Ballot{{Voter: "a", Choice: 0, Weight: 1}, {Voter: "b", Choice: 1, Weight: 1}}
	tests := []struct {
		name    string
		ballots []Ballot
		silent  []string // participants not live
		want    RoundClose
	}{
		{"all live, two missing could swing it", split, nil, RoundWait},
		{"the two missing are silent", split, []string{"c", "d"}, RoundLiveVoted},
		{"one live missing could swing it", split, []string{"d"}, RoundWait},
		{"the live voter missing cannot swing it", agree("a", "b", "c"), nil, RoundDecided},
		{"a silent voter would swing it, but is not waited for", agree("a", "c"), []string{"b", "d"}, RoundLiveVoted},
		{"a silent voter does not make a live one's ballot needless", agree("a"), []string{"d"}, RoundWait},
		{"nobody missing", agree("a", "b", "c", "d"), nil, RoundLiveVoted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := func(p string) bool { return !slices.Contains(tt.silent, p) }
			params := DefaultThresholds().LiveTallyParams(everyone, live)
			voted := map[string]bool{}
			for _, b := range tt.ballots {
				voted[b.Voter] = true
			}
			missing := slices.DeleteFunc(slices.Clone(everyone), func(p string) bool { return voted[p] })
			if got := CloseRound(props, tt.ballots, params, missing, live, func(string) float64 { return 1 }); got != tt.want {
				t.Errorf("CloseRound = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLiveTallyParams(t *testing.T) {
	everyone := []string{"a", "b", "c", "d", "e"}
	tests := []struct {
		name       string
		silent     []string
		wantQuorum int
	}{
		{"all live", nil, 3},
		{"one silent", []string{"e"}, 3},
		{"two silent", []string{"d", "e"}, 2},
		{"only the origin live", []string{"b", "c", "d", "e"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultThresholds().LiveTallyParams(everyone, func(v string) bool { return !slices.Contains(tt.silent, v) })
			if p.Quorum != tt.wantQuorum || len(p.Participants) != len(everyone) {
				t.Errorf("quorum %d of %d participants, want %d of %d", p.Quorum, len(p.Participants), tt.wantQuorum, len(everyone))
			}
		})
	}
}
