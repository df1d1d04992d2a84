package router

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func rulesWith(p Policy, privacy PrivacyPolicy) Rules {
	r := DefaultRules()
	r.Policy, r.Privacy = p, privacy
	return r
}

type wantDecision struct {
	route  Route
	collab Collab
	flags  []string
	reason string // a fragment the reason must contain
}

func checkDecision(t *testing.T, got Decision, want wantDecision) {
	t.Helper()
	if got.Route != want.route || got.Collab != want.collab {
		t.Errorf("decision = %s/%s (%q), want %s/%s", got.Route, got.Collab, got.Reason, want.route, want.collab)
	}
	if !slices.Equal(got.Flags, want.flags) {
		t.Errorf("flags = %v, want %v (%q)", got.Flags, want.flags, got.Reason)
	}
	if !strings.Contains(got.Reason, want.reason) {
		t.Errorf("reason = %q, want it to mention %q", got.Reason, want.reason)
	}
}

var (
	plain    = Classification{Domains: []string{"geography"}, Difficulty: 0.1}
	weapons  = Classification{Safety: SafetyWeapons}
	legal    = Classification{Safety: SafetyLegal}
	withPII  = Classification{PII: []PIIKind{PIIEmail, PIIPerson}}
	multi    = Classification{MultiStep: true, Difficulty: 0.5}
	hardText = Classification{Difficulty: 1}
)

func TestDecideBeforeLocal(t *testing.T) {
	cases := []struct {
		name  string
		f     Features
		rules Rules
		want  wantDecision
	}{
		{"plain query goes local first", Features{Class: plain, Cloud: CloudReady}, DefaultRules(),
			wantDecision{RouteLocal, CollabNone, nil, "locally first"}},
		{"safety category sent up", Features{Class: weapons, Cloud: CloudReady}, DefaultRules(),
			wantDecision{RouteCloud, CollabNone, []string{FlagSafety}, "weapons"}},
		{"legal is sent up by default", Features{Class: legal, Cloud: CloudReady}, DefaultRules(),
			wantDecision{RouteCloud, CollabNone, []string{FlagSafety}, "legal"}},
		{"safety category not sent up", Features{Class: legal, Cloud: CloudReady}, keepLegal(),
			wantDecision{RouteLocal, CollabNone, nil, "locally first"}},
		{"safety category but cloud down", Features{Class: weapons, Cloud: CloudDown}, DefaultRules(),
			wantDecision{RouteLocal, CollabNone, []string{FlagSafety, FlagCloudDown}, "unreachable"}},
		{"safety with pii and redact", Features{Class: Classification{Safety: SafetySelfHarm, PII: []PIIKind{PIIPhone}}, Cloud: CloudReady},
			DefaultRules(), wantDecision{RouteCloud, CollabNone, []string{FlagSafety, FlagRedact}, "self-harm"}},
		{"safety with pii and block", Features{Class: Classification{Safety: SafetySelfHarm, PII: []PIIKind{PIIPhone}}, Cloud: CloudReady},
			rulesWith(PolicySwarm, PrivacyBlock), wantDecision{RouteLocal, CollabNone, []string{FlagSafety, FlagPIIBlocked}, "personal data (phone)"}},
		{"cloud-only", Features{Class: plain, Cloud: CloudReady}, rulesWith(PolicyCloudOnly, PrivacyRedact),
			wantDecision{RouteCloud, CollabNone, nil, "cloud-only"}},
		{"cloud-only over budget", Features{Class: plain, Cloud: CloudOverBudget}, rulesWith(PolicyCloudOnly, PrivacyRedact),
			wantDecision{RouteLocal, CollabNone, []string{FlagOverBudget, FlagBestEffort}, "budget"}},
		{"cloud-only, no cloud configured", Features{Class: plain}, rulesWith(PolicyCloudOnly, PrivacyRedact),
			wantDecision{RouteLocal, CollabNone, []string{FlagCloudUnavailable, FlagBestEffort}, "no cloud FM"}},
		{"local-only keeps even a safety query", Features{Class: weapons, Cloud: CloudReady}, rulesWith(PolicyLocalOnly, PrivacyRedact),
			wantDecision{RouteLocal, CollabNone, nil, "local-only"}},
		{"cascade sends safety up too", Features{Class: weapons, Cloud: CloudReady}, rulesWith(PolicyCascade, PrivacyRedact),
			wantDecision{RouteCloud, CollabNone, []string{FlagSafety}, "weapons"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkDecision(t, DecideBeforeLocal(tc.f, tc.rules), tc.want) })
	}
}

func TestDecideAfterLocal(t *testing.T) {
	cases := []struct {
		name  string
		f     Features
		rules Rules
		want  wantDecision
	}{
		{"confident", Features{Class: plain, Cloud: CloudReady, Confidence: 0.9, Peers: 3}, DefaultRules(),
			wantDecision{RouteLocal, CollabNone, nil, "0.90 reaches the bar 0.81"}},
		{"unsure asks the swarm", Features{Class: plain, Cloud: CloudReady, Confidence: 0.5, Peers: 3}, DefaultRules(),
			wantDecision{RouteSwarm, CollabVote, nil, "asking 3 peers"}},
		{"one peer is one peer", Features{Class: plain, Cloud: CloudReady, Confidence: 0.5, Peers: 1}, DefaultRules(),
			wantDecision{RouteSwarm, CollabVote, nil, "asking 1 peer to vote"}},
		{"just below the bar reads below it", Features{Class: plain, Cloud: CloudReady, Confidence: 0.8096, Peers: 2}, DefaultRules(),
			wantDecision{RouteSwarm, CollabVote, nil, "0.8096 is below the bar 0.8100"}},
		{"off-domain raises the bar", Features{Class: plain, Cloud: CloudReady, Confidence: 0.9, Peers: 2, OffDomain: true}, offMargin(0.15),
			wantDecision{RouteSwarm, CollabVote, nil, "below the bar 0.96 for a query in a peer's domain"}},
		{"off-domain by default: the peers answer however sure the local model is", Features{Class: plain, Cloud: CloudReady,
			Confidence: 0.999, Peers: 2, OffDomain: true}, DefaultRules(),
			wantDecision{RouteSwarm, CollabVote, nil, "0.999 is below the bar 1.000 for a query in a peer's domain"}},
		{"off-domain without peers keeps the plain bar", Features{Class: plain, Cloud: CloudReady, Confidence: 0.9, OffDomain: true}, DefaultRules(),
			wantDecision{RouteLocal, CollabNone, nil, "0.90 reaches the bar 0.81"}},
		{"difficulty raises the bar", Features{Class: hardText, Cloud: CloudReady, Confidence: 0.85, Peers: 2}, DefaultRules(),
			wantDecision{RouteSwarm, CollabVote, nil, "below the bar 0.90"}},
		{"unsure multi-step chains", Features{Class: multi, Cloud: CloudReady, Confidence: 0.5, Peers: 2}, DefaultRules(),
			wantDecision{RouteSwarm, CollabChain, nil, "refines the local draft"}},
		{"unsure, no peers: cloud", Features{Class: plain, Cloud: CloudReady, Confidence: 0.5}, DefaultRules(),
			wantDecision{RouteCloud, CollabNone, []string{FlagNoPeers}, "no peer is available"}},
		{"unsure, no peers, cloud down: best effort", Features{Class: plain, Cloud: CloudDown, Confidence: 0.5}, DefaultRules(),
			wantDecision{RouteLocal, CollabNone, []string{FlagNoPeers, FlagCloudDown, FlagBestEffort}, "the local answer stands"}},
		{"unsure, no peers, over budget", Features{Class: plain, Cloud: CloudOverBudget, Confidence: 0.5}, DefaultRules(),
			wantDecision{RouteLocal, CollabNone, []string{FlagNoPeers, FlagOverBudget, FlagBestEffort}, "budget is spent"}},
		{"unsure, no peers, no cloud configured", Features{Class: plain, Confidence: 0.5}, DefaultRules(),
			wantDecision{RouteLocal, CollabNone, []string{FlagNoPeers, FlagCloudUnavailable, FlagBestEffort}, "no cloud FM is configured"}},
		{"local model failed: the swarm answers", Features{Class: multi, Cloud: CloudReady, LocalFailed: true, Peers: 2}, DefaultRules(),
			wantDecision{RouteSwarm, CollabVote, []string{FlagLocalFailed}, "the local model failed"}},
		{"local model failed, no peers: cloud", Features{Class: plain, Cloud: CloudReady, LocalFailed: true}, DefaultRules(),
			wantDecision{RouteCloud, CollabNone, []string{FlagLocalFailed, FlagNoPeers}, "failed"}},
		{"local model failed, nothing else", Features{Class: plain, Cloud: CloudDown, LocalFailed: true}, DefaultRules(),
			wantDecision{RouteLocal, CollabNone, []string{FlagLocalFailed, FlagNoPeers, FlagCloudDown, FlagNoAnswer}, "unreachable"}},
		{"safety sent up", Features{Class: weapons, Cloud: CloudReady, Confidence: 0.99, Peers: 3}, DefaultRules(),
			wantDecision{RouteCloud, CollabNone, []string{FlagSafety}, "weapons"}},
		{"safety sent up, cloud down: the swarm votes", Features{Class: weapons, Cloud: CloudDown, Confidence: 0.99, Peers: 3}, DefaultRules(),
			wantDecision{RouteSwarm, CollabVote, []string{FlagSafety, FlagCloudDown}, "unreachable"}},
		{"safety sent up, nothing available", Features{Class: weapons, Cloud: CloudDown, Confidence: 0.99}, DefaultRules(),
			wantDecision{RouteLocal, CollabNone, []string{FlagSafety, FlagCloudDown, FlagNoPeers, FlagBestEffort}, "the local answer stands"}},
		{"safety not sent up still gets a second opinion", Features{Class: legal, Cloud: CloudReady, Confidence: 0.99, Peers: 1}, keepLegal(),
			wantDecision{RouteSwarm, CollabVote, []string{FlagSafety}, "second opinion"}},
		{"personal data, redact", Features{Class: withPII, Cloud: CloudReady, Confidence: 0.2}, DefaultRules(),
			wantDecision{RouteCloud, CollabNone, []string{FlagNoPeers, FlagRedact}, "summoning"}},
		{"personal data, block", Features{Class: withPII, Cloud: CloudReady, Confidence: 0.2}, rulesWith(PolicySwarm, PrivacyBlock),
			wantDecision{RouteLocal, CollabNone, []string{FlagNoPeers, FlagPIIBlocked, FlagBestEffort}, "personal data (email, person-name)"}},
		{"personal data, allow", Features{Class: withPII, Cloud: CloudReady, Confidence: 0.2}, rulesWith(PolicySwarm, PrivacyAllow),
			wantDecision{RouteCloud, CollabNone, []string{FlagNoPeers}, "summoning"}},
		{"personal data stays in the swarm when peers exist", Features{Class: withPII, Cloud: CloudReady, Confidence: 0.2, Peers: 2},
			rulesWith(PolicySwarm, PrivacyBlock), wantDecision{RouteSwarm, CollabVote, nil, "asking 2 peers"}},
		{"local-only", Features{Class: plain, Cloud: CloudReady, Confidence: 0.1, Peers: 3}, rulesWith(PolicyLocalOnly, PrivacyRedact),
			wantDecision{RouteLocal, CollabNone, nil, "local-only"}},
		{"local-only, model failed", Features{Class: plain, LocalFailed: true}, rulesWith(PolicyLocalOnly, PrivacyRedact),
			wantDecision{RouteLocal, CollabNone, []string{FlagLocalFailed, FlagNoAnswer}, "failed"}},
		{"cloud-only after a cloud failure", Features{Class: plain, Cloud: CloudDown, Confidence: 0.9}, rulesWith(PolicyCloudOnly, PrivacyRedact),
			wantDecision{RouteLocal, CollabNone, []string{FlagCloudDown, FlagBestEffort}, "cloud-only"}},
		{"cloud-only ready", Features{Class: plain, Cloud: CloudReady, Confidence: 0.9}, rulesWith(PolicyCloudOnly, PrivacyRedact),
			wantDecision{RouteCloud, CollabNone, nil, "cloud-only"}},
		{"cloud-only, nothing works", Features{Class: plain, Cloud: CloudDown, LocalFailed: true}, rulesWith(PolicyCloudOnly, PrivacyRedact),
			wantDecision{RouteLocal, CollabNone, []string{FlagCloudDown, FlagLocalFailed, FlagNoAnswer}, "failed"}},
		{"always-swarm votes even when confident", Features{Class: plain, Cloud: CloudReady, Confidence: 0.99, Peers: 2},
			rulesWith(PolicyAlwaysSwarm, PrivacyRedact), wantDecision{RouteSwarm, CollabVote, nil, "always-swarm"}},
		{"always-swarm never chains", Features{Class: multi, Cloud: CloudReady, Confidence: 0.1, Peers: 2},
			rulesWith(PolicyAlwaysSwarm, PrivacyRedact), wantDecision{RouteSwarm, CollabVote, nil, "always-swarm"}},
		{"always-swarm without peers and confident", Features{Class: plain, Cloud: CloudReady, Confidence: 0.99},
			rulesWith(PolicyAlwaysSwarm, PrivacyRedact), wantDecision{RouteLocal, CollabNone, nil, "reaches the bar"}},
		{"cascade: confident", Features{Class: plain, Cloud: CloudReady, Confidence: 0.9, Peers: 3}, rulesWith(PolicyCascade, PrivacyRedact),
			wantDecision{RouteLocal, CollabNone, nil, "reaches the bar"}},
		{"cascade: unsure goes to the cloud, never peers", Features{Class: plain, Cloud: CloudReady, Confidence: 0.3, Peers: 3},
			rulesWith(PolicyCascade, PrivacyRedact), wantDecision{RouteCloud, CollabNone, nil, "summoning"}},
		{"cascade: unsure, cloud down", Features{Class: plain, Cloud: CloudDown, Confidence: 0.3, Peers: 3},
			rulesWith(PolicyCascade, PrivacyRedact), wantDecision{RouteLocal, CollabNone, []string{FlagCloudDown, FlagBestEffort}, "unreachable"}},
		{"nan confidence is no confidence", Features{Class: plain, Cloud: CloudReady, Confidence: math.NaN(), Peers: 1}, DefaultRules(),
			wantDecision{RouteSwarm, CollabVote, nil, "below the bar"}},
		{"unknown policy behaves as swarm", Features{Class: plain, Cloud: CloudReady, Confidence: 0.3, Peers: 3},
			rulesWith("bogus", PrivacyRedact), wantDecision{RouteSwarm, CollabVote, nil, "asking 3 peers"}},
		{"unknown privacy blocks", Features{Class: withPII, Cloud: CloudReady, Confidence: 0.2},
			rulesWith(PolicySwarm, "bogus"), wantDecision{RouteLocal, CollabNone, []string{FlagNoPeers, FlagPIIBlocked, FlagBestEffort}, "personal data"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkDecision(t, DecideAfterLocal(tc.f, tc.rules), tc.want) })
	}
}

func TestDecideAfterVote(t *testing.T) {
	consensus := &TallyResult{Outcome: OutcomeConsensus, Winner: 1, Ballots: 3, Quorum: 2, Share: 0.8}
	split := &TallyResult{Outcome: OutcomeSplit, Winner: 0, Ballots: 3, Quorum: 2, Share: 0.4}
	missed := &TallyResult{Outcome: OutcomeQuorumMissed, Winner: 0, Ballots: 1, Quorum: 2, Share: 1}
	escalate := &TallyResult{Outcome: OutcomeEscalate, Winner: 2, Ballots: 3, Quorum: 2, Share: 0.2, Escalate: 1.6}
	empty := &TallyResult{Outcome: OutcomeQuorumMissed, Winner: Escalate, Quorum: 2}
	lone := &TallyResult{Outcome: OutcomeEscalate, Winner: 2, Ballots: 3, Quorum: 2, Share: 0.6, Escalate: 0.6, LoneAuthor: true}
	cases := []struct {
		name  string
		f     Features
		rules Rules
		want  wantDecision
	}{
		{"consensus", Features{Class: plain, Cloud: CloudReady, Tally: consensus}, DefaultRules(),
			wantDecision{RouteSwarm, CollabNone, nil, "consensus: proposal 1 holds 80% of the weight from 3 ballots"}},
		{"split vote summons the cloud", Features{Class: plain, Cloud: CloudReady, Tally: split}, DefaultRules(),
			wantDecision{RouteCloud, CollabNone, nil, "no consensus"}},
		{"quorum missed summons the cloud", Features{Class: plain, Cloud: CloudReady, Tally: missed}, DefaultRules(),
			wantDecision{RouteCloud, CollabNone, nil, "quorum missed: 1 of 2"}},
		{"escalate majority summons the cloud", Features{Class: plain, Cloud: CloudReady, Tally: escalate}, DefaultRules(),
			wantDecision{RouteCloud, CollabNone, nil, "asked for the cloud FM"}},
		{"split, cloud down: best swarm answer", Features{Class: plain, Cloud: CloudDown, Tally: split}, DefaultRules(),
			wantDecision{RouteSwarm, CollabNone, []string{FlagCloudDown, FlagBestEffort}, "leading proposal"}},
		{"a lone author's proposal, over budget: the local answer stands, not the rogue's", Features{Class: plain, Cloud: CloudOverBudget, Tally: lone}, DefaultRules(),
			wantDecision{RouteLocal, CollabNone, []string{FlagOverBudget, FlagBestEffort}, "only its author backs"}},
		{"a lone author's proposal, over budget, local failed: it is all there is", Features{Class: plain, Cloud: CloudOverBudget, Tally: lone, LocalFailed: true}, DefaultRules(),
			wantDecision{RouteSwarm, CollabNone, []string{FlagOverBudget, FlagBestEffort}, "which only its author backs"}},
		{"split, over budget", Features{Class: plain, Cloud: CloudOverBudget, Tally: split}, DefaultRules(),
			wantDecision{RouteSwarm, CollabNone, []string{FlagOverBudget, FlagBestEffort}, "budget"}},
		{"split, no cloud configured", Features{Class: plain, Tally: split}, DefaultRules(),
			wantDecision{RouteSwarm, CollabNone, []string{FlagCloudUnavailable, FlagBestEffort}, "no cloud FM is configured"}},
		{"split, personal data redacted", Features{Class: withPII, Cloud: CloudReady, Tally: split}, DefaultRules(),
			wantDecision{RouteCloud, CollabNone, []string{FlagRedact}, "summoning"}},
		{"split, personal data blocked", Features{Class: withPII, Cloud: CloudReady, Tally: split}, rulesWith(PolicySwarm, PrivacyBlock),
			wantDecision{RouteSwarm, CollabNone, []string{FlagPIIBlocked, FlagBestEffort}, "privacy policy is block"}},
		{"split, personal data allowed", Features{Class: withPII, Cloud: CloudReady, Tally: split}, rulesWith(PolicySwarm, PrivacyAllow),
			wantDecision{RouteCloud, CollabNone, nil, "summoning"}},
		{"no usable proposal, cloud down: local answer", Features{Class: plain, Cloud: CloudDown, Tally: empty}, DefaultRules(),
			wantDecision{RouteLocal, CollabNone, []string{FlagCloudDown, FlagBestEffort}, "the local answer stands"}},
		{"no usable proposal, nothing else", Features{Class: plain, Cloud: CloudDown, Tally: empty, LocalFailed: true}, DefaultRules(),
			wantDecision{RouteLocal, CollabNone, []string{FlagCloudDown, FlagLocalFailed, FlagNoAnswer}, "failed"}},
		{"no tally counts as a missed quorum", Features{Class: plain, Cloud: CloudReady}, DefaultRules(),
			wantDecision{RouteCloud, CollabNone, nil, "quorum missed: 0 of 0"}},
		{"consensus without a winner", Features{Class: plain, Cloud: CloudReady, Tally: &TallyResult{Outcome: OutcomeConsensus, Winner: Escalate}},
			DefaultRules(), wantDecision{RouteCloud, CollabNone, nil, "without a usable proposal"}},
		{"safety sent up beats consensus", Features{Class: weapons, Cloud: CloudReady, Tally: consensus}, DefaultRules(),
			wantDecision{RouteCloud, CollabNone, []string{FlagSafety}, "weapons"}},
		{"safety sent up, cloud down: consensus stands, flagged best-effort", Features{Class: weapons, Cloud: CloudDown, Tally: consensus}, DefaultRules(),
			wantDecision{RouteSwarm, CollabNone, []string{FlagSafety, FlagCloudDown, FlagBestEffort}, "consensus"}},
		{"safety sent up, cloud down, split", Features{Class: weapons, Cloud: CloudDown, Tally: split}, DefaultRules(),
			wantDecision{RouteSwarm, CollabNone, []string{FlagSafety, FlagCloudDown, FlagBestEffort}, "leading proposal"}},
		{"local-only never votes", Features{Class: plain, Cloud: CloudReady, Tally: split}, rulesWith(PolicyLocalOnly, PrivacyRedact),
			wantDecision{RouteLocal, CollabNone, nil, "local-only"}},
		{"always-swarm split goes up like swarm", Features{Class: plain, Cloud: CloudReady, Tally: split}, rulesWith(PolicyAlwaysSwarm, PrivacyRedact),
			wantDecision{RouteCloud, CollabNone, nil, "no consensus"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkDecision(t, DecideAfterVote(tc.f, tc.rules), tc.want) })
	}
}

func TestDecideAfterChain(t *testing.T) {
	cases := []struct {
		name    string
		refined *Proposal
		want    wantDecision
	}{
		{"the refined answer agrees with the draft: it stands", &Proposal{Peer: "p1", Answer: "42.", Confidence: 0.3},
			wantDecision{RouteSwarm, CollabChain, nil, "refined answer stands"}},
		{"the refined answer changes the draft: the peers vote", &Proposal{Peer: "rogue", Answer: "17", Confidence: 1},
			wantDecision{RouteSwarm, CollabVote, nil, "differs from the draft"}},
		{"the refiner failed: the peers vote", nil,
			wantDecision{RouteSwarm, CollabVote, nil, "peers vote instead"}},
		{"the refiner reported an error: the peers vote", &Proposal{Peer: "p1", Err: "BACKEND_DOWN"},
			wantDecision{RouteSwarm, CollabVote, nil, "peers vote instead"}},
		{"the refiner answered nothing: the peers vote", &Proposal{Peer: "p1"},
			wantDecision{RouteSwarm, CollabVote, nil, "peers vote instead"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := Features{Class: multi, Cloud: CloudReady, Peers: 2, Refined: tc.refined, Draft: "42"}
			checkDecision(t, DecideAfterChain(f, DefaultRules()), tc.want)
		})
	}
}

func TestDecideRound(t *testing.T) {
	cases := []struct {
		name            string
		peers, answered int
		want            wantDecision
	}{
		{"every peer answered", 3, 3, wantDecision{RouteSwarm, CollabVote, nil, "3 of 3 peers answered"}},
		{"one peer lost", 3, 2, wantDecision{RouteSwarm, CollabVote, nil, "2 of 3 peers answered"}},
		{"one answer is enough for a round", 3, 1, wantDecision{RouteSwarm, CollabVote, nil, "1 of 3"}},
		{"no answer: no round", 3, 0, wantDecision{RouteSwarm, CollabNone, []string{FlagNoPeers}, "no peer answered"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := Features{Class: plain, Cloud: CloudReady, Peers: tc.peers, Answered: tc.answered}
			checkDecision(t, DecideRound(f, DefaultRules()), tc.want)
		})
	}
}

// TestPeerDiesMidRound plays one round end to end: three peers are asked,
// one stream resets before it answers, the other two and this node still
// agree, and the query is answered by the swarm.
func TestPeerDiesMidRound(t *testing.T) {
	rules := DefaultRules()
	participants := []string{"self", "p1", "p2", "p3"}
	proposals := []Proposal{
		{Peer: "self", Answer: "Canberra", Confidence: 0.55},
		{Peer: "p1", Answer: "Canberra.", Confidence: 0.8},
		{Peer: "p2", Err: "stream reset"},
		{Peer: "p3", Answer: "canberra", Confidence: 0.7},
	}
	var ballots []Ballot
	for _, own := range proposals {
		if own.Err != "" {
			continue // a dead peer publishes no ballot
		}
		ballots = append(ballots, ChooseBallot(own, proposals, rules.Thresholds.BallotParams(1)))
	}
	tally := Tally(proposals, ballots, rules.Thresholds.TallyParams(participants))
	if tally.Outcome != OutcomeConsensus || tally.Winner != 1 || tally.Ballots != 3 || tally.Quorum != 3 {
		t.Fatalf("tally = %+v, want consensus on proposal 1 from 3 of 4 (quorum 3)", tally)
	}
	d := DecideAfterVote(Features{Class: Classify("What is the capital of Australia?"), Cloud: CloudReady, Tally: &tally}, rules)
	checkDecision(t, d, wantDecision{RouteSwarm, CollabNone, nil, "consensus"})

	// Two of four dead: the quorum is missed, and without a cloud the best
	// swarm answer still comes back, flagged.
	proposals[3] = Proposal{Peer: "p3", Err: "deadline exceeded"}
	tally = Tally(proposals, ballots[:2], rules.Thresholds.TallyParams(participants))
	d = DecideAfterVote(Features{Cloud: CloudNone, Tally: &tally}, rules)
	checkDecision(t, d, wantDecision{RouteSwarm, CollabNone, []string{FlagCloudUnavailable, FlagBestEffort}, "quorum missed: 2 of 3"})
	if tally.Winner != 1 {
		t.Errorf("best-effort winner = %d, want 1", tally.Winner)
	}
}

// keepLegal are the default rules with legal questions kept in the swarm.
func keepLegal() Rules {
	r := DefaultRules()
	r.SendUp = slices.DeleteFunc(slices.Clone(r.SendUp), func(c SafetyCategory) bool { return c == SafetyLegal })
	return r
}

// offMargin are the default rules with another off-domain margin.
func offMargin(m float64) Rules {
	r := DefaultRules()
	r.Thresholds.OffDomainMargin = m
	return r
}
