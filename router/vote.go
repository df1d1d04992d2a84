package router

import (
	"math"
	"slices"
	"strings"
)

// AgreeFunc scores how far two proposals give the same answer, 0…1. The
// default compares text with Agree; a node whose peers share an embedding
// model may combine it with Cosine over the answers' embeddings.
type AgreeFunc func(a, b Proposal) float64

// BallotParams steer ChooseBallot. Zero fields take the defaults of
// DefaultThresholds (Agreement) and 1 (TrackRecord).
type BallotParams struct {
	Agreement   float64   // vote for a proposal only if it agrees at least this much with one's own answer
	TrackRecord float64   // the voter's own record, 0…1, scaling its weight
	Agree       AgreeFunc // nil: Agree on the answers' text
	// Sure is the confidence a voter needs to vouch for answers like its own
	// (0: any). Below it the voter defers to the most confident other
	// proposal that reaches Sure, or escalates: otherwise two unsure models
	// agreeing on the same wrong answer outvote the one that knows.
	Sure float64
	// Trust is the voter's own view of a proposal's author (for example
	// TrackRecord.Earned); an unsure voter defers only to an author whose
	// trust reaches DeferTrust, so a peer that claims confidence 1 and has
	// been caught wrong gets no deference. Nil: every author earns it.
	Trust      func(peer string) float64
	DeferTrust float64
}

// ChooseBallot is one participant's vote: the usable proposal that agrees
// best with its own answer (ties: the more confident, then the earlier) if
// that agreement reaches the threshold, else Escalate. The weight is the
// voter's confidence × track record, each clamped to 0…1. A voter without a
// usable answer of its own has no opinion: it escalates with weight 0, which
// still counts towards the quorum. A voter less confident than p.Sure defers
// (see BallotParams.Sure).
func ChooseBallot(own Proposal, proposals []Proposal, p BallotParams) Ballot {
	b := Ballot{Voter: own.Peer, Choice: Escalate}
	if !usable(own) {
		return b
	}
	threshold := p.Agreement
	if threshold <= 0 || math.IsNaN(threshold) {
		threshold = DefaultThresholds().Agreement
	}
	track := p.TrackRecord
	if track <= 0 || math.IsNaN(track) {
		track = 1
	}
	b.Weight = clamp01(own.Confidence) * clamp01(track)
	if !(own.Confidence >= p.Sure) { // NaN confidence is no confidence
		for i, q := range proposals {
			earned := p.Trust == nil || p.Trust(q.Peer) >= p.DeferTrust
			if usable(q) && q.Peer != own.Peer && q.Confidence >= p.Sure && earned &&
				(b.Choice == Escalate || q.Confidence > proposals[b.Choice].Confidence) {
				b.Choice = i
			}
		}
		return b
	}
	agree := p.Agree
	if agree == nil {
		ownKey := keyOf(own.Answer)
		agree = func(_, q Proposal) float64 { return agreeKeys(ownKey, keyOf(q.Answer)) }
	}
	best, bestScore := Escalate, 0.0
	for i, q := range proposals {
		if !usable(q) {
			continue
		}
		s := clamp01(agree(own, q))
		if best == Escalate || s > bestScore || (s == bestScore && clamp01(q.Confidence) > clamp01(proposals[best].Confidence)) {
			best, bestScore = i, s
		}
	}
	if best != Escalate && bestScore >= threshold {
		b.Choice = best
	}
	return b
}

// usable reports whether a proposal carries an answer that can win a vote:
// no error, some text, and not an abstention (a swarm agreeing that none of
// it knows must escalate, not answer "I am not sure").
func usable(p Proposal) bool {
	return p.Err == "" && strings.TrimSpace(p.Answer) != "" && !Abstains(p.Answer)
}

// abstentionCues open an answer that declines to answer for lack of knowledge.
var abstentionCues = []string{
	"i am not sure", "i'm not sure", "i don't know", "i do not know", "i cannot answer", "i can't answer",
	"i am unable to answer", "i'm unable to answer", "not sure about that", "no idea",
}

// Abstains reports whether an answer is an abstention rather than an answer:
// it is short and starts with (or is) a cue such as "I don't know".
func Abstains(answer string) bool {
	a := strings.ToLower(strings.TrimSpace(answer))
	if len(a) > 120 { // a long answer that begins with a hedge still answers
		return false
	}
	for _, cue := range abstentionCues {
		if strings.HasPrefix(a, cue) {
			return true
		}
	}
	return false
}

// TallyParams steer Tally. Participants is required: only their ballots
// count. Zero Quorum, Consensus and Agreement take defaults (a strict
// majority of participants, DefaultThresholds otherwise).
type TallyParams struct {
	Participants []string
	Quorum       int     // ballots needed; ≤0: more than half of the participants
	Consensus    float64 // the leading group needs more than this share of the weight cast
	Agreement    float64 // proposals agreeing at least this much count as one answer
	Agree        AgreeFunc
	// Trust, if set, is the tallier's own view of each voter's record (for
	// example TrackRecord.Weight); it scales what the voter claims.
	Trust func(voter string) float64
	// Proven, if set, says whether the tallier has seen a voter's answer
	// checked right. A group backed only by its own authors, none proven,
	// against another voter's choice, does not win (see Tally): identities
	// that only vouch for each other are a Sybil's signature.
	Proven func(voter string) bool
	// Fit, if set, is how each participant's declared domains fit the
	// query (Thresholds.DomainFit). It scales each ballot's weight, and a
	// voter that backs another's answer (an unsure voter defers to the most
	// confident) whose authors all fit the query worse than the voter counts
	// for its own answer instead: an unsure model inside the domain is
	// likelier right than a sure one outside it (per query in the eval, such
	// deference turned 13 answers wrong for 3 it turned right).
	Fit func(voter string) float64
}

// Tally counts a round's ballots. Equivalent answers are grouped first, so
// "Paris" and "paris." pool their votes. A ballot counts only if its voter is
// a participant that has not voted yet in this slice, its choice is Escalate
// or a usable proposal, and its weight is a finite number ≥ 0; a weight
// above 1 counts as 1, so no voter casts more than one vote. A proposal
// whose peer failed (Err set) can be neither chosen nor voted for, which is
// how a peer lost mid-round drops out without losing the query. With
// TallyParams.Fit, ballots are fitted to the query's domains first (see Fit).
//
// The outcome is, in order: QuorumMissed if fewer ballots counted than the
// quorum; Escalate if the escalation weight is at least the leading group's
// (ties go to the cloud), or if the leading group is backed only by its own
// authors, none of them Proven (without Proven: a single author), while
// another voter with an opinion chose otherwise (LoneAuthor: a peer with no
// checked right answer voting for itself against the others never wins, nor
// do identities that only vouch for each other);
// Consensus if the leading group holds more than
// Consensus of all weight cast; else Split. Whatever the outcome, Winner
// names the best proposal of the leading group, the best-effort answer.
// Groups are ranked by weight, then size, then best confidence, then first
// index; within a group by weight, confidence, index — so equal inputs give
// equal results.
func Tally(proposals []Proposal, ballots []Ballot, p TallyParams) TallyResult {
	p = p.withDefaults()
	n := len(proposals)
	res := TallyResult{Winner: Escalate, Quorum: p.Quorum, Weights: make([]float64, n)}
	agree := p.Agree
	var keys []answerKey
	if agree == nil {
		keys = make([]answerKey, n)
		for i, q := range proposals {
			keys[i] = keyOf(q.Answer)
		}
	}
	res.Cluster = clusters(n, func(i int) bool { return usable(proposals[i]) }, func(i, j int) float64 {
		if agree == nil {
			return agreeKeys(keys[i], keys[j])
		}
		return agree(proposals[i], proposals[j])
	}, p.Agreement)

	allowed := make(map[string]bool, len(p.Participants))
	for _, v := range p.Participants {
		allowed[v] = true
	}
	ballots = fitBallots(proposals, ballots, res.Cluster, p.Fit)
	voted := make(map[string]bool, len(ballots))
	total := 0.0
	for i, b := range ballots {
		validChoice := b.Choice == Escalate || (b.Choice >= 0 && b.Choice < n && res.Cluster[b.Choice] >= 0)
		if !allowed[b.Voter] || voted[b.Voter] || !validChoice || math.IsNaN(b.Weight) || math.IsInf(b.Weight, 0) || b.Weight < 0 {
			continue
		}
		voted[b.Voter] = true
		res.Counted = append(res.Counted, i)
		w := min(b.Weight, 1)
		if p.Trust != nil {
			w *= clamp01(p.Trust(b.Voter))
		}
		total += w
		if b.Choice == Escalate {
			res.Escalate += w
		} else {
			res.Weights[b.Choice] += w
		}
	}
	res.Ballots = len(res.Counted)

	leadWeight := 0.0
	if lead := leadingGroup(proposals, res); lead >= 0 {
		res.Winner = bestInGroup(proposals, res, lead)
		for i, l := range res.Cluster {
			if l == lead {
				leadWeight += res.Weights[i]
			}
		}
	}
	if total > 0 {
		res.Share = leadWeight / total
	}
	res.LoneAuthor = loneAuthor(proposals, ballots, res, p.Proven)
	switch {
	case res.Ballots < res.Quorum:
		res.Outcome = OutcomeQuorumMissed
	case res.Escalate > 0 && res.Escalate >= leadWeight, res.LoneAuthor:
		res.Outcome = OutcomeEscalate
	case res.Winner != Escalate && res.Share > p.Consensus:
		res.Outcome = OutcomeConsensus
	default:
		res.Outcome = OutcomeSplit
	}
	return res
}

// fitBallots applies fit (nil: none) to ballots: each weight scaled by its
// voter's fit, and a deference (a choice outside the group of the voter's
// own proposal) to a group whose authors all fit the query worse than the
// voter moved back to the voter's own proposal. The input is not modified.
func fitBallots(proposals []Proposal, ballots []Ballot, cluster []int, fit func(string) float64) []Ballot {
	if fit == nil {
		return ballots
	}
	out := slices.Clone(ballots)
	for i, b := range out {
		f := clamp01(fit(b.Voter))
		out[i].Weight = b.Weight * f
		if b.Choice < 0 || b.Choice >= len(proposals) || cluster[b.Choice] < 0 {
			continue
		}
		own := slices.IndexFunc(proposals, func(q Proposal) bool { return q.Peer == b.Voter })
		if own < 0 || cluster[own] < 0 || cluster[own] == cluster[b.Choice] {
			continue
		}
		best := 0.0
		for j, q := range proposals {
			if cluster[j] == cluster[b.Choice] {
				best = max(best, clamp01(fit(q.Peer)))
			}
		}
		if best < f {
			out[i].Choice = own
		}
	}
	return out
}

// loneAuthor reports whether the leading group is backed only by its own
// authors, none of whom proven says was ever right (without proven: a single
// author), while some other counted ballot with weight chose otherwise. An
// author proven right keeps the win its weight earns: escalating every such
// round cost the honest swarm 2 points of cloud share.
func loneAuthor(proposals []Proposal, ballots []Ballot, res TallyResult, proven func(string) bool) bool {
	if res.Winner < 0 {
		return false
	}
	lead := res.Cluster[res.Winner]
	authors := map[string]bool{}
	for i, p := range proposals {
		if res.Cluster[i] == lead {
			authors[p.Peer] = true
		}
	}
	var backers []string
	against := false
	for _, bi := range res.Counted {
		b := ballots[bi]
		switch {
		case b.Choice >= 0 && res.Cluster[b.Choice] == lead:
			if !authors[b.Voter] {
				return false // someone else vouches for it
			}
			if !slices.Contains(backers, b.Voter) {
				backers = append(backers, b.Voter)
			}
		case b.Weight > 0:
			against = true
		}
	}
	if len(backers) == 0 || !against {
		return false
	}
	if proven == nil {
		return len(backers) == 1
	}
	for _, v := range backers {
		if proven(v) {
			return false
		}
	}
	return true
}

func (p TallyParams) withDefaults() TallyParams {
	d := DefaultThresholds()
	if p.Quorum <= 0 {
		p.Quorum = d.QuorumOf(len(p.Participants))
	}
	if !(p.Consensus > 0 && p.Consensus < 1) {
		p.Consensus = d.Consensus
	}
	if !(p.Agreement > 0 && p.Agreement <= 1) {
		p.Agreement = d.Agreement
	}
	return p
}

// groupStats summarises one group of equivalent proposals for ranking.
type groupStats struct {
	label, size int
	weight      float64
	confidence  float64
}

func leadingGroup(proposals []Proposal, res TallyResult) int {
	var groups []groupStats
	for i, l := range res.Cluster {
		if l < 0 {
			continue
		}
		g := slices.IndexFunc(groups, func(g groupStats) bool { return g.label == l })
		if g < 0 {
			groups = append(groups, groupStats{label: l})
			g = len(groups) - 1
		}
		groups[g].size++
		groups[g].weight += res.Weights[i]
		groups[g].confidence = max(groups[g].confidence, clamp01(proposals[i].Confidence))
	}
	if len(groups) == 0 {
		return -1
	}
	lead := groups[0]
	for _, g := range groups[1:] { // groups appear in order of label, so the first of equals wins
		if g.weight > lead.weight ||
			(g.weight == lead.weight && (g.size > lead.size || (g.size == lead.size && g.confidence > lead.confidence))) {
			lead = g
		}
	}
	return lead.label
}

func bestInGroup(proposals []Proposal, res TallyResult, label int) int {
	best := label
	for i, l := range res.Cluster {
		if l != label || i == best {
			continue
		}
		if res.Weights[i] > res.Weights[best] ||
			(res.Weights[i] == res.Weights[best] && clamp01(proposals[i].Confidence) > clamp01(proposals[best].Confidence)) {
			best = i
		}
	}
	return best
}

// BallotWeight is the weight the tallier counts for a ballot: the confidence
// the voter claims × the voter's track record in the tallier's own view
// (TrackRecord.Weight), so a voter's claim never weighs more than its record
// earns.
func BallotWeight(claimed, trackRecord float64) float64 { return claimed * trackRecord }

// Decided reports whether a round may stop before every participant voted:
// the missing voters can no longer change the outcome or the winner. Each
// condition of the tally is monotone in the weight added to one choice, so
// it is enough to try every missing voter on the same choice at the fullest
// weight it could cast (BallotWeight(1, trust)), for each choice.
func Decided(proposals []Proposal, ballots []Ballot, params TallyParams, missing []string, trust func(voter string) float64) bool {
	now := Tally(proposals, ballots, params)
	if now.Ballots < now.Quorum {
		return false
	}
	choices := []int{Escalate}
	for i, l := range now.Cluster {
		if l >= 0 {
			choices = append(choices, i)
		}
	}
	hyp := slices.Grow(slices.Clone(ballots), len(missing))
	for _, choice := range choices {
		hyp = hyp[:len(ballots)]
		for _, m := range missing {
			hyp = append(hyp, Ballot{Voter: m, Choice: choice, Weight: BallotWeight(1, trust(m))})
		}
		if t := Tally(proposals, hyp, params); t.Outcome != now.Outcome || t.Winner != now.Winner {
			return false
		}
	}
	return true
}

// EnoughProposals reports whether a node asking asked peers may stop waiting
// for the rest of their answers, given the ones in (answers and failures
// alike): every peer is in, or a strict majority of the peers asked agree on
// one answer (groups by agreement as in Tally, agree nil meaning Agree on
// the answers), so no straggler could outnumber it. The stragglers then do
// not take part in the round.
func EnoughProposals(in []Proposal, asked int, agreement float64, agree AgreeFunc) bool {
	if len(in) >= asked {
		return true
	}
	var keys []answerKey
	if agree == nil {
		keys = make([]answerKey, len(in))
		for i, q := range in {
			keys[i] = keyOf(q.Answer)
		}
	}
	label := clusters(len(in), func(i int) bool { return usable(in[i]) }, func(i, j int) float64 {
		if agree == nil {
			return agreeKeys(keys[i], keys[j])
		}
		return agree(in[i], in[j])
	}, agreement)
	size := map[int]int{}
	for _, l := range label {
		if l >= 0 {
			size[l]++
			if 2*size[l] > asked {
				return true
			}
		}
	}
	return false
}

// RoundClose says whether a round's origin may stop collecting ballots.
type RoundClose int

const (
	// RoundWait: keep collecting.
	RoundWait RoundClose = iota
	// RoundLiveVoted: every live participant voted; the others are not
	// waited for.
	RoundLiveVoted
	// RoundDecided: the live participants still missing could change
	// neither the outcome nor the winner (Decided).
	RoundDecided
)

var roundCloseNames = map[RoundClose]string{RoundWait: "wait", RoundLiveVoted: "live-voted", RoundDecided: "decided"}

func (c RoundClose) String() string { return enumName(roundCloseNames, c) }

// CloseRound decides whether a round may stop before its deadline, given
// the ballots in and the participants still missing. A participant that is
// not live (its breaker excludes it after a round it left unvoted) does not
// hold the tally: the round closes once every live participant voted, or
// once the live ones still missing could not change the outcome or the
// winner (the caller grants those a short grace). A silent participant's
// ballot still counts if it arrives before the round closes.
func CloseRound(proposals []Proposal, ballots []Ballot, params TallyParams, missing []string, live func(string) bool, trust func(voter string) float64) RoundClose {
	waiting := slices.DeleteFunc(slices.Clone(missing), func(p string) bool { return !live(p) })
	switch {
	case len(waiting) == 0:
		return RoundLiveVoted
	case Decided(proposals, ballots, params, waiting, trust):
		return RoundDecided
	}
	return RoundWait
}

// LiveTallyParams are TallyParams for a round whose participants are not
// all live: every participant may still vote, but the quorum counts only the
// live ones, so a participant known to stay silent cannot make the tally
// miss its quorum.
func (t Thresholds) LiveTallyParams(participants []string, live func(string) bool) TallyParams {
	p := t.TallyParams(participants)
	n := 0
	for _, v := range participants {
		if live(v) {
			n++
		}
	}
	p.Quorum = t.QuorumOf(n)
	return p
}

// DomainFit is how much each participant's ballot counts for a query in
// domains, by the domains each declares (declared, by peer id; domains
// compared as given, so normalise both alike): fully for a participant that
// declares one of them, and when no participant does; OffDomainVote for the
// others. A declaration only ever lowers the others' weight: what a
// declaring peer's ballot is worth still comes from its track record.
func (t Thresholds) DomainFit(domains []string, declared map[string][]string) func(voter string) float64 {
	declares := func(voter string) bool {
		return slices.ContainsFunc(domains, func(d string) bool { return slices.Contains(declared[voter], d) })
	}
	owned := false
	for v := range declared {
		owned = owned || declares(v)
	}
	off := t.OffDomainVote
	if !(off > 0 && off <= 1) {
		off = DefaultThresholds().OffDomainVote
	}
	return func(voter string) float64 {
		if !owned || declares(voter) {
			return 1
		}
		return off
	}
}
