package router

import "fmt"

// PrefixVerdict is what the first tokens of a local answer say while the
// model is still generating. It is a three-way outcome.
type PrefixVerdict int

const (
	// PrefixWait: not enough evidence yet; read on. An answer that ends
	// while waiting gets the whole-answer decision (DecideAfterLocal).
	PrefixWait PrefixVerdict = iota
	// PrefixCommit: the local answer stands; stream the rest as it comes.
	PrefixCommit
	// PrefixEscalate: the local answer will not stand alone; start the
	// peers (or the cloud FM) now, while it finishes.
	PrefixEscalate
)

var prefixVerdictNames = map[PrefixVerdict]string{PrefixWait: "wait", PrefixCommit: "commit", PrefixEscalate: "escalate"}

func (v PrefixVerdict) String() string { return enumName(prefixVerdictNames, v) }

// MarshalText renders the verdict by name.
func (v PrefixVerdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses a verdict name.
func (v *PrefixVerdict) UnmarshalText(b []byte) error {
	return parseEnum(prefixVerdictNames, v, b, "prefix verdict")
}

// PrefixRule says when a prefix of the local answer is enough to decide.
type PrefixRule struct {
	// MinTokens is how many tokens are read before their confidence is
	// judged; 0 turns the early decision off (every answer is judged whole).
	MinTokens int `json:"min_tokens"`
	// Margin is how far the prefix's confidence must be above the bar to
	// commit, or below it to escalate; in between the whole answer decides.
	Margin float64 `json:"margin"`
}

// DefaultPrefixRule is the rule BENCHMARKS.md ("Streaming and early
// decisions") measured on the shipped workload: the first 4 tokens against
// the bar itself. There its accuracy stayed within the run-to-run spread of
// the whole-answer decision, and a confident answer's first words came at
// about a seventh of its whole time; a margin of 0.05 left a sixth of the
// answers to the whole-answer decision, which put the median near a quarter.
func DefaultPrefixRule() PrefixRule { return PrefixRule{MinTokens: 4} }

// Validate reports a rule out of range.
func (p PrefixRule) Validate() error {
	if p.MinTokens < 0 || !(p.Margin >= 0 && p.Margin <= 1) {
		return fmt.Errorf("prefix rule %d tokens, margin %v: want ≥ 0 tokens and a margin in 0…1: %w", p.MinTokens, p.Margin, ErrInvalidConfig)
	}
	return nil
}

// PrefixDecision is the verdict on a prefix, with the route it implies.
type PrefixDecision struct {
	Verdict PrefixVerdict
	// Decision is where the query goes (DecideAfterLocal on the prefix's
	// confidence); zero when waiting.
	Decision    Decision
	Uncertainty Uncertainty // of the prefix
}

// DecidePrefix judges the first tokens of the local answer, with f as it
// stands after discovery (LocalFailed false: the answer is still coming).
// When the route does not depend on the answer's confidence (a policy, a
// safety category, no one else to ask) it decides at once, even on no
// tokens. Otherwise it waits for rule.MinTokens tokens, then commits when
// their confidence clears the bar by the margin, escalates when it falls
// short of the bar by the margin, and waits for the whole answer in between.
//
// calibrate, when set, maps the prefix's confidence as the whole answer's is
// mapped before DecideAfterLocal reads it (the node's calibration from
// checked outcomes), so both decisions hold it to the same bar.
func DecidePrefix(f Features, prefix []TokenLogprob, rule PrefixRule, r Rules, calibrate func(float64) float64) PrefixDecision {
	if rule.MinTokens <= 0 {
		return PrefixDecision{Verdict: PrefixWait}
	}
	f.LocalFailed = false
	u := Estimate(prefix, r.Thresholds.Weights)
	if calibrate != nil && u.Tokens > 0 {
		u.Confidence = calibrate(u.Confidence)
	}
	f.Confidence = u.Confidence
	sure, unsure := f, f
	sure.Confidence, unsure.Confidence = 1, 0
	dSure, dUnsure := DecideAfterLocal(sure, r), DecideAfterLocal(unsure, r)
	if dSure.Route == dUnsure.Route && dSure.Collab == dUnsure.Collab {
		d := DecideAfterLocal(f, r)
		if d.Route == RouteLocal {
			return PrefixDecision{Verdict: PrefixCommit, Decision: d, Uncertainty: u}
		}
		return PrefixDecision{Verdict: PrefixEscalate, Decision: d, Uncertainty: u}
	}
	if u.Tokens < rule.MinTokens {
		return PrefixDecision{Verdict: PrefixWait, Uncertainty: u}
	}
	bar := r.Thresholds.Bar(f.Class.Difficulty, f.OffDomain && f.Peers > 0)
	verdict := PrefixWait
	switch {
	case u.Confidence >= bar+rule.Margin:
		verdict = PrefixCommit
	case u.Confidence < bar-rule.Margin:
		verdict = PrefixEscalate
	default:
		return PrefixDecision{Verdict: PrefixWait, Uncertainty: u}
	}
	d := DecideAfterLocal(f, r)
	d.Reason = fmt.Sprintf("on the first %d tokens, %s", u.Tokens, d.Reason)
	return PrefixDecision{Verdict: verdict, Decision: d, Uncertainty: u}
}

// PrefixInfo is the trace's record of the decision made on the first
// tokens of a streamed local answer.
type PrefixInfo struct {
	Verdict    PrefixVerdict `json:"verdict"`
	Tokens     int           `json:"tokens"` // how many tokens it read
	Text       string        `json:"text"`   // what they said
	Confidence float64       `json:"confidence"`
	// AtMS is when it was made, since the query began; FirstTextMS is when
	// the first words of the answer went to the caller (0: none streamed).
	AtMS        float64 `json:"at_ms"`
	FirstTextMS float64 `json:"first_text_ms,omitempty"`
}
