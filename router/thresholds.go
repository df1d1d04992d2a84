package router

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ConfidenceWeights weigh the three uncertainty signals in the combined
// confidence (doc.go gives the formula). Only their ratios matter.
type ConfidenceWeights struct {
	Mean    float64 `json:"mean"`    // geometric-mean token probability, exp(mean logprob)
	Min     float64 `json:"min"`     // least likely token's probability, exp(min logprob)
	Entropy float64 `json:"entropy"` // 1 − normalised entropy over the top alternatives
}

// Thresholds are the numbers the decision and the vote turn on. They are
// configuration: the evaluation sweeps Confident to trace accuracy against
// cloud share.
type Thresholds struct {
	// Confident is the local confidence at or above which an easy prompt is
	// answered locally.
	Confident float64 `json:"confident"`
	// DifficultyMargin raises that bar by margin × difficulty, so harder
	// prompts need a surer local answer.
	DifficultyMargin float64 `json:"difficulty_margin"`
	// OffDomainMargin raises the bar further when the query is outside the
	// domains this node declares but inside a peer's: a small model is least
	// reliable, and most overconfident, out of its domain. The default, 1,
	// puts the bar out of reach: such a query always goes to the peers,
	// which costs no cloud call (kept at 0.15, out-of-domain answers taken
	// locally cost the swarm 15–19 points of accuracy at low thresholds).
	OffDomainMargin float64 `json:"off_domain_margin"`
	// OffDomainVote scales the ballot of a voter that does not declare the
	// query's domains when another participant of the round does: two
	// small models agreeing on the same popular mistake out of their domain
	// must not outvote the one whose domain it is.
	OffDomainVote float64 `json:"off_domain_vote"`
	// Agreement is the score at which two answers count as the same (ballots
	// and grouping in the tally).
	Agreement float64 `json:"agreement"`
	// Consensus is the share of the weight cast that the leading answer must exceed.
	Consensus float64 `json:"consensus"`
	// Quorum is the share of a round's participants whose ballots must be
	// counted; the quorum is more than this share (0.5: a strict majority).
	Quorum  float64           `json:"quorum"`
	Weights ConfidenceWeights `json:"weights"`
}

// DefaultThresholds are our starting point; BENCHMARKS.md records how they fare.
func DefaultThresholds() Thresholds {
	return Thresholds{
		Confident:        0.80,
		DifficultyMargin: 0.10,
		OffDomainMargin:  1,
		OffDomainVote:    0.35,
		Agreement:        0.80,
		Consensus:        0.50,
		Quorum:           0.50,
		Weights:          ConfidenceWeights{Mean: 0.5, Min: 0.2, Entropy: 0.3},
	}
}

// Validate reports every out-of-range field at once.
func (t Thresholds) Validate() error {
	var errs []error
	inRange := func(name string, v, lo, hi float64) {
		if math.IsNaN(v) || v < lo || v > hi {
			errs = append(errs, fmt.Errorf("threshold %s = %v: want %v…%v: %w", name, v, lo, hi, ErrInvalidConfig))
		}
	}
	inRange("confident", t.Confident, 0, 1)
	inRange("difficulty_margin", t.DifficultyMargin, 0, 1)
	inRange("off_domain_margin", t.OffDomainMargin, 0, 1)
	inRange("off_domain_vote", t.OffDomainVote, 0.01, 1)
	inRange("agreement", t.Agreement, 0.01, 1)
	inRange("consensus", t.Consensus, 0.01, 0.99)
	inRange("quorum", t.Quorum, 0, 1)
	inRange("weights.mean", t.Weights.Mean, 0, math.MaxFloat64)
	inRange("weights.min", t.Weights.Min, 0, math.MaxFloat64)
	inRange("weights.entropy", t.Weights.Entropy, 0, math.MaxFloat64)
	if t.Weights.Mean+t.Weights.Min == 0 {
		errs = append(errs, fmt.Errorf("confidence weights: mean or min must be positive: %w", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Bar is the local confidence needed for a prompt of this difficulty, and
// more when a peer's declared domains fit it and this node's do not.
func (t Thresholds) Bar(difficulty float64, offDomain bool) float64 {
	bar := t.Confident + t.DifficultyMargin*clamp01(difficulty)
	if offDomain {
		bar += t.OffDomainMargin
	}
	return min(bar, 1)
}

// QuorumOf is the number of ballots a round of n participants needs: more
// than Quorum × n, at most n, at least 1.
func (t Thresholds) QuorumOf(n int) int {
	if n <= 0 {
		return 1
	}
	return max(1, min(int(math.Floor(t.Quorum*float64(n)))+1, n))
}

// TallyParams are the tally settings for a round with these participants.
func (t Thresholds) TallyParams(participants []string) TallyParams {
	return TallyParams{
		Participants: participants,
		Quorum:       t.QuorumOf(len(participants)),
		Consensus:    t.Consensus,
		Agreement:    t.Agreement,
	}
}

// BallotParams are the ballot settings for a voter with this track record.
func (t Thresholds) BallotParams(trackRecord float64) BallotParams {
	return BallotParams{Agreement: t.Agreement, TrackRecord: trackRecord, Sure: t.Confident}
}

// Rules are everything the decision reads besides the query's features.
type Rules struct {
	Policy  Policy        `json:"policy"`
	Privacy PrivacyPolicy `json:"privacy"`
	// SendUp lists the safety categories sent straight to the cloud FM. The
	// others still never take the local shortcut: they get a second opinion.
	SendUp     []SafetyCategory `json:"send_up"`
	Thresholds Thresholds       `json:"thresholds"`
	Knowledge  KnowledgeRules   `json:"knowledge"`
}

// DefaultRules: the swarm policy, redaction, every safety category sent up
// (legal too: the evaluation scores an un-vetted legal answer as unsafe, and
// sending it up cost as much cloud share as it gained accuracy, 2.7 points).
func DefaultRules() Rules {
	return Rules{
		Policy:  PolicySwarm,
		Privacy: PrivacyRedact,
		SendUp: []SafetyCategory{SafetySelfHarm, SafetyViolence, SafetyWeapons, SafetyHate, SafetyIllegal,
			SafetyMedicalDosing, SafetyLegal},
		Thresholds: DefaultThresholds(),
		Knowledge:  DefaultKnowledgeRules(),
	}
}

// Validate reports every problem at once.
func (r Rules) Validate() error {
	var errs []error
	if _, err := ParsePolicy(string(r.Policy)); err != nil {
		errs = append(errs, err)
	}
	if !slices.Contains(PrivacyPolicies, r.Privacy) {
		errs = append(errs, fmt.Errorf("rules: privacy %q: %w", r.Privacy, ErrUnknownPrivacyPolicy))
	}
	if slices.Contains(r.SendUp, SafetyNone) {
		errs = append(errs, fmt.Errorf("rules: send_up holds an empty category: %w", ErrInvalidConfig))
	}
	if err := r.Thresholds.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := r.Knowledge.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (r Rules) sendsUp(c SafetyCategory) bool { return c != SafetyNone && slices.Contains(r.SendUp, c) }
