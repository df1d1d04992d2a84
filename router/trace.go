package router

import "fmt"

// Trace tells where one answer came from and why. The node fills it stage by
// stage; every API renders it (OpenAI responses carry it as the extra "swarm"
// object). Durations are milliseconds so the JSON reads without a parser.
type Trace struct {
	QueryID        string         `json:"query_id"`
	Node           string         `json:"node"` // peer id of the node that answered the caller
	Policy         Policy         `json:"policy"`
	Caller         string         `json:"caller,omitempty"` // name of the caller's API key, never its secret
	Route          Route          `json:"route"`
	Reason         string         `json:"reason"`
	Classification Classification `json:"classification"`
	Local          *LocalInfo     `json:"local,omitempty"`
	// Prefix is the decision made on the local answer's first tokens, when
	// it streamed (prefix.go).
	Prefix *PrefixInfo `json:"prefix,omitempty"`
	Peers  []Proposal  `json:"peers,omitempty"`
	// Trust is this node's trust in each peer asked, by peer id, and why
	// (the record it comes from): what their ballots and proposals weighed.
	Trust   map[string]PeerTrust `json:"trust,omitempty"`
	Ballots []Ballot             `json:"ballots,omitempty"`
	Tally   *TallyResult         `json:"tally,omitempty"`
	Chain   []ChainStep          `json:"chain,omitempty"`
	Cloud   *CloudInfo           `json:"cloud,omitempty"`
	// Knowledge is the knowledge route, when the query matched a collection.
	Knowledge *KnowledgeInfo `json:"knowledge,omitempty"`
	Flags     []string       `json:"flags,omitempty"` // e.g. "cloud-unavailable", "best-effort"
	Timings   Timings        `json:"timings"`
}

// Classification is what the Classifier Engine says about a query.
type Classification struct {
	Domains    []string       `json:"domains,omitempty"`
	Difficulty float64        `json:"difficulty"` // 0 easy … 1 hard, from cheap text signals
	Safety     SafetyCategory `json:"safety,omitempty"`
	PII        []PIIKind      `json:"pii,omitempty"`
	MultiStep  bool           `json:"multi_step,omitempty"`
}

// SafetyCategory names a class of safety-sensitive query; empty means none found.
type SafetyCategory string

const (
	SafetyNone          SafetyCategory = ""
	SafetySelfHarm      SafetyCategory = "self-harm"
	SafetyMedicalDosing SafetyCategory = "medical-dosing"
	SafetyWeapons       SafetyCategory = "weapons"
	SafetyLegal         SafetyCategory = "legal"
	SafetyIllegal       SafetyCategory = "illegal-activity"
	SafetyHate          SafetyCategory = "hate"
	SafetyViolence      SafetyCategory = "violence" // harming other people, without a weapon named
)

// PIIKind names a kind of personal data found in a prompt.
type PIIKind string

const (
	PIIEmail    PIIKind = "email"
	PIIPhone    PIIKind = "phone"
	PIIID       PIIKind = "id-number"
	PIIPerson   PIIKind = "person-name"
	PIICard     PIIKind = "card-number"
	PIIAddress  PIIKind = "ip-address"
	PIIDate     PIIKind = "date"           // a date of birth, or a date in a personal context
	PIIIBAN     PIIKind = "iban"           // a bank account number that passes the IBAN check
	PIIStreet   PIIKind = "street-address" // a street and house number
	PIIPostcode PIIKind = "postcode"
	PIIPassport PIIKind = "passport" // a passport number (other identity numbers are id-number)
)

// LocalInfo is the local model's own attempt.
type LocalInfo struct {
	Model       string      `json:"model"`
	Answer      string      `json:"answer,omitempty"`
	Confidence  float64     `json:"confidence"`
	Uncertainty Uncertainty `json:"uncertainty"`
	LatencyMS   float64     `json:"latency_ms"`
	Err         string      `json:"error,omitempty"`
}

// KnowledgeInfo is a query's knowledge route: whose documents answered it,
// and which of them the answer cites (names only: the text never leaves
// the device that holds it).
type KnowledgeInfo struct {
	Peer       string   `json:"peer"` // the collection's node (this node's own id when local)
	Collection string   `json:"collection"`
	Similarity float64  `json:"similarity"`
	TermHits   int      `json:"term_hits"`
	Answer     string   `json:"answer,omitempty"`
	Sources    []string `json:"sources,omitempty"`
	LatencyMS  float64  `json:"latency_ms"`
	Err        string   `json:"error,omitempty"`
	Grounded   bool     `json:"grounded"` // the answer stood (DecideAfterKnowledge)
}

// Uncertainty holds the cheap estimates computed from token log-probabilities.
type Uncertainty struct {
	Tokens      int     `json:"tokens"`
	MeanLogprob float64 `json:"mean_logprob"`
	MinLogprob  float64 `json:"min_logprob"`
	MeanEntropy float64 `json:"mean_entropy"` // nats, over the top logprobs of each token
	Confidence  float64 `json:"confidence"`   // 0…1, the combined score the decision uses
}

// Proposal is one peer's answer in a round.
type Proposal struct {
	Peer       string  `json:"peer"`
	Model      string  `json:"model"`
	Answer     string  `json:"answer,omitempty"`
	Confidence float64 `json:"confidence"`
	LatencyMS  float64 `json:"latency_ms"`
	Err        string  `json:"error,omitempty"`
	// Tokens the proposal cost its model: the usage an answer taken from it reports.
	PromptTokens     int `json:"prompt_tokens,omitempty"`
	CompletionTokens int `json:"completion_tokens,omitempty"`
}

// Ballot is one participant's vote: an index into the round's proposals, or Escalate.
type Ballot struct {
	Voter  string  `json:"voter"`
	Choice int     `json:"choice"` // index into Trace.Peers, or Escalate
	Weight float64 `json:"weight"`
}

// Escalate is the ballot choice that asks for the cloud FM instead of any proposal.
const Escalate = -1

// TallyOutcome is the result class of a vote.
type TallyOutcome int

const (
	OutcomeConsensus    TallyOutcome = iota + 1
	OutcomeSplit                     // votes cast, no proposal reached the threshold
	OutcomeQuorumMissed              // too few ballots before the deadline
	OutcomeEscalate                  // the weighted majority asked for the cloud
)

var outcomeNames = map[TallyOutcome]string{
	OutcomeConsensus: "consensus", OutcomeSplit: "split",
	OutcomeQuorumMissed: "quorum-missed", OutcomeEscalate: "escalate",
}

func (o TallyOutcome) String() string {
	if s, ok := outcomeNames[o]; ok {
		return s
	}
	return "unknown"
}

// MarshalText renders the outcome by name.
func (o TallyOutcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses an outcome name, so clients can decode a trace.
func (o *TallyOutcome) UnmarshalText(b []byte) error {
	for k, v := range outcomeNames {
		if v == string(b) {
			*o = k
			return nil
		}
	}
	return fmt.Errorf("parse tally outcome %q: %w", b, ErrUnknownOutcome)
}

// TallyResult is the weighted count of a round.
type TallyResult struct {
	Outcome TallyOutcome `json:"outcome"`
	// Winner is the leading proposal (index into Trace.Peers) whatever the
	// outcome, so a round without consensus still names its best-effort
	// answer; Escalate only when no proposal is usable.
	Winner   int       `json:"winner"`
	Ballots  int       `json:"ballots"` // ballots counted
	Quorum   int       `json:"quorum"`
	Share    float64   `json:"share"`    // winner's group's share of the weight cast
	Weights  []float64 `json:"weights"`  // weight per proposal
	Escalate float64   `json:"escalate"` // weight cast for escalation
	// Cluster labels each proposal with its group of equivalent answers (the
	// lowest index in the group); -1 for a proposal with no usable answer.
	Cluster []int `json:"cluster,omitempty"`
	// Counted lists the indexes of the ballots that counted; the rest came
	// from non-participants, repeated voters or named no usable choice.
	Counted []int `json:"counted,omitempty"`
	// LoneAuthor: the leading proposal is backed only by its own authors,
	// none of whom the tallier has seen right, while another voter chose
	// otherwise. It never wins, and is never the best-effort
	// answer either.
	LoneAuthor bool `json:"lone_author,omitempty"`
}

// ChainStep is one link of sequential collaboration (draft, then refine).
type ChainStep struct {
	Peer      string  `json:"peer"`
	Model     string  `json:"model"`
	Role      string  `json:"role"` // "draft" or "refine"
	LatencyMS float64 `json:"latency_ms"`
}

// CloudInfo says whether and how the cloud FM was summoned.
type CloudInfo struct {
	Summoned         bool     `json:"summoned"`
	Model            string   `json:"model,omitempty"`
	Redactions       []string `json:"redactions,omitempty"`
	LatencyMS        float64  `json:"latency_ms,omitempty"`
	PromptTokens     int      `json:"prompt_tokens,omitempty"`
	CompletionTokens int      `json:"completion_tokens,omitempty"`
	Err              string   `json:"error,omitempty"`
}

// Timings holds per-stage wall time in milliseconds.
type Timings struct {
	ClassifyMS float64 `json:"classify_ms"`
	LocalMS    float64 `json:"local_ms"`
	DiscoverMS float64 `json:"discover_ms,omitempty"`
	PeersMS    float64 `json:"peers_ms,omitempty"`
	VoteMS     float64 `json:"vote_ms,omitempty"`
	CloudMS    float64 `json:"cloud_ms,omitempty"`
	TotalMS    float64 `json:"total_ms"`
}
