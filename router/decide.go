package router

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CloudState says whether the cloud FM can take a call now. The zero value
// is the cautious one: none configured.
type CloudState int

const (
	CloudNone       CloudState = iota // no cloud FM configured
	CloudReady                        // configured, reachable and within budget
	CloudDown                         // configured but unreachable or failing
	CloudOverBudget                   // the budget refuses another call
)

var cloudStateNames = map[CloudState]string{
	CloudNone: "none", CloudReady: "ready", CloudDown: "down", CloudOverBudget: "over-budget",
}

func (s CloudState) String() string { return enumName(cloudStateNames, s) }

// MarshalText renders the state by name.
func (s CloudState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a state name.
func (s *CloudState) UnmarshalText(b []byte) error {
	return parseEnum(cloudStateNames, s, b, "cloud state")
}

// Collab is how a swarm route collaborates.
type Collab int

const (
	CollabNone  Collab = iota // not a swarm route
	CollabVote                // parallel: the top-k peers answer and the participants vote
	CollabChain               // sequential: the local draft is refined by a better-matched peer
)

var collabNames = map[Collab]string{CollabNone: "none", CollabVote: "vote", CollabChain: "chain"}

func (c Collab) String() string { return enumName(collabNames, c) }

// MarshalText renders the mode by name.
func (c Collab) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses a mode name.
func (c *Collab) UnmarshalText(b []byte) error { return parseEnum(collabNames, c, b, "collaboration") }

func enumName[E ~int](names map[E]string, e E) string {
	if s, ok := names[e]; ok {
		return s
	}
	return fmt.Sprintf("unknown(%d)", int(e))
}

func parseEnum[E ~int](names map[E]string, e *E, b []byte, what string) error {
	for k, v := range names {
		if v == string(b) {
			*e = k
			return nil
		}
	}
	return fmt.Errorf("parse %s %q: %w", what, b, ErrInvalidConfig)
}

// Flags a decision may carry into the trace.
const (
	FlagBestEffort       = "best-effort"       // the answer stands without the check the policy wanted
	FlagCloudUnavailable = "cloud-unavailable" // no cloud FM is configured
	FlagCloudDown        = "cloud-down"        // the cloud FM is unreachable
	FlagOverBudget       = "over-budget"       // the cloud budget is spent
	FlagPIIBlocked       = "pii-blocked"       // personal data and the block privacy policy kept it from the cloud
	FlagRedact           = "redact"            // redact personal data before the prompt goes to the cloud
	FlagNoPeers          = "no-peers"          // no peer was available for a round
	FlagLocalFailed      = "local-failed"      // the local model gave no answer
	FlagNoAnswer         = "no-answer"         // nothing could answer: the node reports an error
	FlagSafety           = "safety"            // the safety category changed the route
)

// Features are what the node knows about a query at a decision point; it
// fills them in as the query advances.
type Features struct {
	Class Classification
	Cloud CloudState
	// Confidence is the local answer's confidence, 0…1 (Uncertainty.Confidence,
	// or SelfConsistency's share when sampling).
	Confidence  float64
	LocalFailed bool // the local model gave no answer
	Peers       int  // peers available for a round, from discovery
	// OffDomain: the query's domains are declared by a peer and not by this node.
	OffDomain bool
	// Refined is the refining peer's answer, for DecideAfterChain; nil when
	// the ask failed. Draft is this node's own draft it refined.
	Refined *Proposal
	Draft   string
	// Answered is how many of the peers asked for a vote came back with an
	// answer, for DecideRound.
	Answered int
	Tally    *TallyResult // the round's tally, for DecideAfterVote
}

// Decision is where the query goes next and why.
type Decision struct {
	Route  Route    `json:"route"`
	Collab Collab   `json:"collab,omitempty"` // how, when Route is swarm
	Reason string   `json:"reason"`
	Flags  []string `json:"flags,omitempty"`
}

func decision(route Route, reason string, flags ...[]string) Decision {
	var fl []string
	for _, f := range flags {
		for _, s := range f {
			if !slices.Contains(fl, s) {
				fl = append(fl, s)
			}
		}
	}
	return Decision{Route: route, Reason: reason, Flags: fl}
}

// cloudUsable says whether this query may go to the cloud FM now, and if
// not, why (a phrase for the reason) with the flags that say so.
func (r Rules) cloudUsable(f Features) (ok bool, why string, flags []string) {
	if r.Policy == PolicyLocalOnly {
		return false, "the local-only policy keeps queries on this device", nil
	}
	switch f.Cloud {
	case CloudReady:
	case CloudDown:
		return false, "the cloud FM is unreachable", []string{FlagCloudDown}
	case CloudOverBudget:
		return false, "the cloud budget is spent", []string{FlagOverBudget}
	default:
		return false, "no cloud FM is configured", []string{FlagCloudUnavailable}
	}
	if len(f.Class.PII) == 0 {
		return true, "", nil
	}
	switch r.Privacy {
	case PrivacyAllow:
		return true, "", nil
	case PrivacyRedact:
		return true, "", []string{FlagRedact}
	default: // block, and any unknown policy, which must not leak
		return false, fmt.Sprintf("the prompt holds personal data (%s) and the privacy policy is %s", piiList(f.Class.PII), PrivacyBlock),
			[]string{FlagPIIBlocked}
	}
}

func piiList(kinds []PIIKind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

var (
	safetyFlag     = []string{FlagSafety}
	bestEffortFlag = []string{FlagBestEffort}
	noAnswerFlags  = []string{FlagLocalFailed, FlagNoAnswer}
)

// DecideBeforeLocal runs before the local model: cloud-only and safety
// categories the rules send up go straight to the cloud FM (when it can take
// the query); everything else is answered locally first.
func DecideBeforeLocal(f Features, r Rules) Decision {
	cloudOK, cloudWhy, cloudFlags := r.cloudUsable(f)
	switch {
	case r.Policy == PolicyLocalOnly:
		return decision(RouteLocal, "local-only policy: the query stays on this device")
	case r.Policy == PolicyCloudOnly && cloudOK:
		return decision(RouteCloud, "cloud-only policy", cloudFlags)
	case r.Policy == PolicyCloudOnly:
		return decision(RouteLocal, "cloud-only policy, but "+cloudWhy+": answering locally", cloudFlags, bestEffortFlag)
	case r.sendsUp(f.Class.Safety) && cloudOK:
		return decision(RouteCloud, fmt.Sprintf("safety category %s goes straight to the cloud FM", f.Class.Safety), safetyFlag, cloudFlags)
	case r.sendsUp(f.Class.Safety):
		return decision(RouteLocal, fmt.Sprintf("safety category %s would go to the cloud FM, but %s: the local model answers first",
			f.Class.Safety, cloudWhy), safetyFlag, cloudFlags)
	}
	return decision(RouteLocal, "answering locally first")
}

// DecideAfterLocal runs once the local model has answered (or failed): keep
// a confident, safe local answer; otherwise ask the peers (a chain for
// multi-step prompts, else a vote), or the cloud FM when no peer is
// available; with neither, the local answer stands, flagged best-effort.
func DecideAfterLocal(f Features, r Rules) Decision {
	cloudOK, cloudWhy, cloudFlags := r.cloudUsable(f)
	cat := f.Class.Safety
	switch r.Policy {
	case PolicyLocalOnly:
		if f.LocalFailed {
			return decision(RouteLocal, "local-only policy, and the local model failed", noAnswerFlags)
		}
		return decision(RouteLocal, "local-only policy")
	case PolicyCloudOnly:
		if cloudOK {
			return decision(RouteCloud, "cloud-only policy", cloudFlags)
		}
		if f.LocalFailed {
			return decision(RouteLocal, "cloud-only policy, but "+cloudWhy+", and the local model failed", cloudFlags, noAnswerFlags)
		}
		return decision(RouteLocal, "cloud-only policy, but "+cloudWhy+": answering locally", cloudFlags, bestEffortFlag)
	}
	if r.sendsUp(cat) && cloudOK {
		return decision(RouteCloud, fmt.Sprintf("safety category %s goes to the cloud FM", cat), safetyFlag, cloudFlags)
	}
	var whys, whyFlags []string
	if f.LocalFailed {
		whys, whyFlags = append(whys, "the local model failed"), append(whyFlags, FlagLocalFailed)
	}
	switch {
	case r.sendsUp(cat):
		whys = append(whys, fmt.Sprintf("safety category %s would go to the cloud FM, but %s", cat, cloudWhy))
		whyFlags = append(append(whyFlags, FlagSafety), cloudFlags...)
		cloudWhy = "" // said once is enough
	case cat != SafetyNone:
		whys, whyFlags = append(whys, fmt.Sprintf("safety category %s needs a second opinion", cat)), append(whyFlags, FlagSafety)
	}
	if len(whys) == 0 {
		offDomain := f.OffDomain && f.Peers > 0
		bar := r.Thresholds.Bar(f.Class.Difficulty, offDomain)
		if !(f.Confidence >= bar) { // NaN is no confidence
			where := ""
			if offDomain {
				where = " for a query in a peer's domain"
			}
			c, b := twoApart(f.Confidence, bar)
			whys = append(whys, fmt.Sprintf("local confidence %s is below the bar %s%s", c, b, where))
		} else {
			c, b := twoApart(f.Confidence, bar)
			confident := fmt.Sprintf("local confidence %s reaches the bar %s", c, b)
			if r.Policy != PolicyAlwaysSwarm || f.Peers == 0 {
				return decision(RouteLocal, confident)
			}
			whys = append(whys, confident)
		}
	}
	why := strings.Join(whys, "; ")

	if r.Policy != PolicyCascade && f.Peers > 0 {
		d := decision(RouteSwarm, fmt.Sprintf("%s: asking %s to vote", why, peersN(f.Peers)), whyFlags)
		d.Collab = CollabVote
		switch {
		case r.Policy == PolicyAlwaysSwarm:
			d.Reason = fmt.Sprintf("always-swarm policy (%s): asking %s to vote", why, peersN(f.Peers))
		case f.Class.MultiStep && !f.LocalFailed && cat == SafetyNone:
			d.Collab = CollabChain
			d.Reason = why + ": a multi-step task, so a better-matched peer refines the local draft"
		}
		return d
	}
	var noPeers []string
	if r.Policy != PolicyCascade {
		why += ", and no peer is available"
		noPeers = []string{FlagNoPeers}
	}
	if cloudOK {
		return decision(RouteCloud, why+": summoning the cloud FM", whyFlags, noPeers, cloudFlags)
	}
	if cloudWhy != "" {
		why += ", and " + cloudWhy
	}
	if f.LocalFailed {
		return decision(RouteLocal, why, whyFlags, noPeers, cloudFlags, noAnswerFlags)
	}
	return decision(RouteLocal, why+": the local answer stands", whyFlags, noPeers, cloudFlags, bestEffortFlag)
}

// DecideAfterChain runs once the refining peer of a chain has answered (or
// failed). Its answer is checked before it is returned: it stands when it
// agrees with this node's own draft; one that changes the answer goes to a
// vote among the peers (one peer alone never decides), as does a refiner
// that failed or answered nothing.
func DecideAfterChain(f Features, r Rules) Decision {
	vote := func(reason string) Decision {
		d := decision(RouteSwarm, reason)
		d.Collab = CollabVote
		return d
	}
	if f.Refined == nil || f.Refined.Err != "" || f.Refined.Answer == "" {
		return vote("the refining peer failed, so the peers vote instead")
	}
	if Agree(f.Draft, f.Refined.Answer) < r.Thresholds.Agreement {
		return vote("the refined answer differs from the draft, so the peers vote on it")
	}
	d := decision(RouteSwarm, "the refined answer stands (it agrees with the draft)")
	d.Collab = CollabChain
	return d
}

// DecideRound runs once the peers asked for a vote have answered (or
// failed): a round needs at least one peer's answer, since a round of one
// would be this node agreeing with itself. Without one no round is held
// (Collab none) and DecideAfterVote, given no tally, treats it as a missed
// quorum.
func DecideRound(f Features, r Rules) Decision {
	if f.Answered == 0 {
		return decision(RouteSwarm, "no peer answered", []string{FlagNoPeers})
	}
	d := decision(RouteSwarm, fmt.Sprintf("%d of %d peers answered: the round votes", f.Answered, f.Peers))
	d.Collab = CollabVote
	return d
}

// DecideAfterVote runs once a round is tallied: consensus answers from the
// swarm; no consensus, a missed quorum or an escalation majority summons the
// cloud FM; when the cloud cannot take the query, the leading proposal (or,
// failing that, the local answer) stands, flagged best-effort.
func DecideAfterVote(f Features, r Rules) Decision {
	if r.Policy == PolicyLocalOnly {
		return decision(RouteLocal, "local-only policy: no round is held")
	}
	t := f.Tally
	if t == nil {
		t = &TallyResult{Outcome: OutcomeQuorumMissed, Winner: Escalate}
	}
	cloudOK, cloudWhy, cloudFlags := r.cloudUsable(f)
	cat := f.Class.Safety
	if r.sendsUp(cat) && cloudOK {
		return decision(RouteCloud, fmt.Sprintf("safety category %s goes to the cloud FM", cat), safetyFlag, cloudFlags)
	}
	var safety []string
	if r.sendsUp(cat) {
		safety = append(slices.Clone(safetyFlag), cloudFlags...)
	}
	var why string
	switch t.Outcome {
	case OutcomeConsensus:
		if t.Winner != Escalate {
			var unvetted []string
			if len(safety) > 0 { // the policy wanted the cloud FM to vet this one
				unvetted = bestEffortFlag
			}
			return decision(RouteSwarm, fmt.Sprintf("consensus: proposal %d holds %.0f%% of the weight from %d ballots",
				t.Winner, 100*t.Share, t.Ballots), safety, unvetted)
		}
		why = "consensus without a usable proposal"
	case OutcomeQuorumMissed:
		why = fmt.Sprintf("quorum missed: %d of %d ballots", t.Ballots, t.Quorum)
	case OutcomeEscalate:
		why = fmt.Sprintf("the voters asked for the cloud FM (escalation weight %.2f)", t.Escalate)
		if t.LoneAuthor {
			why = "only its own authors back the leading proposal, none of them checked right before, against the other voters"
		}
	default:
		why = fmt.Sprintf("no consensus: the leading answer holds %.0f%% of the weight, more than %.0f%% is needed",
			100*t.Share, 100*r.Thresholds.Consensus)
	}
	switch {
	case cloudOK:
		return decision(RouteCloud, why+": summoning the cloud FM", cloudFlags)
	case t.Winner != Escalate && !t.LoneAuthor:
		return decision(RouteSwarm, why+", but "+cloudWhy+": answering with the leading proposal",
			safety, cloudFlags, bestEffortFlag)
	case !f.LocalFailed && t.Winner != Escalate:
		return decision(RouteLocal, why+", but "+cloudWhy+", and only its author backs the leading proposal: the local answer stands",
			safety, cloudFlags, bestEffortFlag)
	case t.Winner != Escalate:
		return decision(RouteSwarm, why+", but "+cloudWhy+" and the local model failed: answering with the leading proposal, which only its author backs",
			safety, cloudFlags, bestEffortFlag)
	case !f.LocalFailed:
		return decision(RouteLocal, why+", no proposal is usable, and "+cloudWhy+": the local answer stands",
			safety, cloudFlags, bestEffortFlag)
	}
	return decision(RouteLocal, why+", no proposal is usable, "+cloudWhy+", and the local model failed",
		safety, cloudFlags, noAnswerFlags)
}

// peersN spells a number of peers: "1 peer", "3 peers".
func peersN(n int) string {
	if n == 1 {
		return "1 peer"
	}
	return fmt.Sprintf("%d peers", n)
}

// twoApart formats a confidence and its bar with two decimals, or with as
// many more as it takes for unequal values to read unequal ("0.948 is below
// the bar 0.950", never "0.95 is below the bar 0.95").
func twoApart(conf, bar float64) (string, string) {
	for prec := 2; prec < 6; prec++ {
		a, b := strconv.FormatFloat(conf, 'f', prec, 64), strconv.FormatFloat(bar, 'f', prec, 64)
		if a != b || conf == bar {
			return a, b
		}
	}
	return strconv.FormatFloat(conf, 'g', -1, 64), strconv.FormatFloat(bar, 'g', -1, 64)
}
