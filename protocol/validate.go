package protocol

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Chat roles an AskRequest may carry; the node maps richer API roles onto these.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Validate checks an AskRequest's structure and field caps. It does not look
// at the clock: the receiver calls CheckDeadline with its own.
func (r *AskRequest) Validate() error {
	if r == nil {
		return malformed("ask request is absent")
	}
	if err := checkID("query_id", r.QueryId); err != nil {
		return err
	}
	if r.RoundId != "" {
		if err := checkID("round_id", r.RoundId); err != nil {
			return err
		}
	}
	if len(r.Messages) == 0 {
		return malformed("no messages")
	}
	if len(r.Messages) > MaxMessages {
		return fmt.Errorf("%d messages (cap %d): %w", len(r.Messages), MaxMessages, ErrTooLarge)
	}
	total := 0
	for i, m := range r.Messages {
		if m == nil {
			return malformed("message %d is absent", i)
		}
		switch m.Role {
		case RoleSystem, RoleUser, RoleAssistant:
		default:
			return malformed("message %d: role %.32q is not system, user or assistant", i, m.Role)
		}
		total += len(m.Content)
	}
	if total == 0 {
		return malformed("prompt is empty")
	}
	if total > MaxPromptBytes {
		return fmt.Errorf("prompt of %d bytes (cap %d): %w", total, MaxPromptBytes, ErrTooLarge)
	}
	if r.MaxTokens > MaxCompletionTokens {
		return malformed("max_tokens %d over %d", r.MaxTokens, MaxCompletionTokens)
	}
	if r.Temperature != nil {
		if t := *r.Temperature; math.IsNaN(t) || t < 0 || t > MaxTemperature {
			return malformed("temperature %v outside [0, %v]", t, MaxTemperature)
		}
	}
	if r.DeadlineUnixMs <= 0 {
		return malformed("deadline_unix_ms %d is not set", r.DeadlineUnixMs)
	}
	if _, ok := Purpose_name[int32(r.Purpose)]; !ok {
		return malformed("unknown purpose %d", r.Purpose)
	}
	if len(r.OriginModel) > MaxModelNameBytes {
		return fmt.Errorf("origin_model of %d bytes (cap %d): %w", len(r.OriginModel), MaxModelNameBytes, ErrTooLarge)
	}
	return nil
}

// Validate checks an AskResponse. A failed ask (error_code not OK) needs only
// its error message, and may lack a query id when the request itself was
// undecodable. Error codes this build does not know are accepted as failures,
// so a newer peer's new code reads as an error rather than a bad message.
// An ack frame carries only its query id and load.
func (r *AskResponse) Validate() error {
	if r == nil {
		return malformed("ask response is absent")
	}
	if r.Ack {
		if r.ErrorCode != ErrorCode_OK || r.Answer != "" {
			return malformed("an ack carries only its query id")
		}
		return checkID("query_id", r.QueryId)
	}
	if r.ErrorCode != ErrorCode_OK {
		if r.QueryId != "" {
			if err := checkID("query_id", r.QueryId); err != nil {
				return err
			}
		}
		if len(r.ErrorMessage) > MaxErrorMessageBytes {
			return fmt.Errorf("error_message of %d bytes (cap %d): %w", len(r.ErrorMessage), MaxErrorMessageBytes, ErrTooLarge)
		}
		return nil
	}
	if err := checkID("query_id", r.QueryId); err != nil {
		return err
	}
	if err := checkModel("model", r.Model); err != nil {
		return err
	}
	if len(r.Answer) > MaxAnswerBytes {
		return fmt.Errorf("answer of %d bytes (cap %d): %w", len(r.Answer), MaxAnswerBytes, ErrTooLarge)
	}
	if err := checkUnit("confidence", r.Confidence); err != nil {
		return err
	}
	if len(r.Sources) > MaxSources {
		return fmt.Errorf("%d sources (cap %d): %w", len(r.Sources), MaxSources, ErrTooLarge)
	}
	for _, s := range r.Sources {
		if s == "" || len(s) > MaxSourceBytes {
			return malformed("source name of %d bytes: want 1…%d", len(s), MaxSourceBytes)
		}
	}
	if err := checkLatency(r.LatencyMs); err != nil {
		return err
	}
	if u := r.Uncertainty; u != nil {
		// Log-probabilities are ≤ 0 and entropies ≥ 0; anything else is not an estimate.
		if !finite(u.MeanLogprob) || !finite(u.MinLogprob) || u.MeanLogprob > 0 || u.MinLogprob > 0 {
			return malformed("uncertainty: logprobs (mean %v, min %v) must be finite and ≤ 0", u.MeanLogprob, u.MinLogprob)
		}
		if !finite(u.MeanEntropy) || u.MeanEntropy < 0 {
			return malformed("uncertainty: mean_entropy %v must be finite and ≥ 0", u.MeanEntropy)
		}
	}
	return nil
}

// Validate checks that the message has exactly one body and that it is valid.
func (m *RoundMessage) Validate() error {
	switch b := m.GetBody().(type) {
	case *RoundMessage_Open:
		if err := b.Open.Validate(); err != nil {
			return fmt.Errorf("round open: %w", err)
		}
	case *RoundMessage_Ballot:
		if err := b.Ballot.Validate(); err != nil {
			return fmt.Errorf("ballot: %w", err)
		}
	default:
		return malformed("round message has no body")
	}
	return nil
}

// Validate checks a RoundOpen on its own: ids, participants (canonical,
// distinct peer ids), one proposal at most per participant and at least one
// in all, quorum within the participants, field caps. Whether the origin is
// the pubsub author, and whether the deadline is near, need context: the node
// checks them.
func (o *RoundOpen) Validate() error {
	if o == nil {
		return malformed("round open is absent")
	}
	switch {
	case o.Version == 0:
		return malformed("version is not set")
	case o.Version > RoundVersion:
		return fmt.Errorf("round version %d (this build speaks %d): %w", o.Version, RoundVersion, ErrUnsupportedVersion)
	}
	if err := checkID("round_id", o.RoundId); err != nil {
		return err
	}
	if err := checkPeerID("origin", o.Origin); err != nil {
		return err
	}
	if len(o.QueryDigest) != DigestBytes {
		return malformed("query_digest is %d bytes, want %d", len(o.QueryDigest), DigestBytes)
	}
	if len(o.Participants) == 0 {
		return malformed("no participants")
	}
	if len(o.Participants) > MaxParticipants {
		return fmt.Errorf("%d participants (cap %d): %w", len(o.Participants), MaxParticipants, ErrTooLarge)
	}
	seen := make(map[string]bool, len(o.Participants))
	for i, p := range o.Participants {
		if err := checkPeerID(fmt.Sprintf("participant %d", i), p); err != nil {
			return err
		}
		if seen[p] {
			return malformed("participant %d: %s listed twice", i, p)
		}
		seen[p] = true
	}
	// A round exists to choose among answers; with none, the origin escalates
	// without asking anyone to vote.
	if len(o.Proposals) == 0 {
		return malformed("no proposals")
	}
	if len(o.Proposals) > len(o.Participants) {
		return malformed("%d proposals from %d participants", len(o.Proposals), len(o.Participants))
	}
	proposed := make(map[string]bool, len(o.Proposals))
	for i, p := range o.Proposals {
		if p == nil {
			return malformed("proposal %d is absent", i)
		}
		// Participants were checked as peer ids above, so membership is enough.
		if !seen[p.Peer] {
			return malformed("proposal %d: peer %.64q is not a participant", i, p.Peer)
		}
		if proposed[p.Peer] {
			return malformed("proposal %d: peer %s proposed twice", i, p.Peer)
		}
		proposed[p.Peer] = true
		if err := p.validate(); err != nil {
			return fmt.Errorf("proposal %d: %w", i, err)
		}
	}
	if o.Quorum == 0 || int(o.Quorum) > len(o.Participants) {
		return malformed("quorum %d outside [1, %d participants]", o.Quorum, len(o.Participants))
	}
	if o.DeadlineUnixMs <= 0 {
		return malformed("deadline_unix_ms %d is not set", o.DeadlineUnixMs)
	}
	return nil
}

// HasParticipant reports whether id may vote in the round (the topic
// validator compares it with a ballot's pubsub author).
func (o *RoundOpen) HasParticipant(id peer.ID) bool {
	s := id.String()
	for _, p := range o.GetParticipants() {
		if p == s {
			return true
		}
	}
	return false
}

// validate checks a proposal's own fields; RoundOpen.Validate checks its peer.
func (p *Proposal) validate() error {
	if err := checkModel("model", p.Model); err != nil {
		return err
	}
	if len(p.Answer) > MaxProposalAnswerBytes {
		return fmt.Errorf("answer of %d bytes (cap %d): %w", len(p.Answer), MaxProposalAnswerBytes, ErrTooLarge)
	}
	if err := checkUnit("confidence", p.Confidence); err != nil {
		return err
	}
	return checkLatency(p.LatencyMs)
}

// Validate checks a Ballot on its own; CheckAgainst checks it against its round.
func (b *Ballot) Validate() error {
	if b == nil {
		return malformed("ballot is absent")
	}
	if err := checkID("round_id", b.RoundId); err != nil {
		return err
	}
	if b.Choice < -1 || b.Choice >= MaxParticipants {
		return malformed("choice %d outside [-1, %d)", b.Choice, MaxParticipants)
	}
	return checkUnit("confidence", b.Confidence)
}

// Escalate is the ballot choice that asks for the cloud FM instead of any proposal.
const Escalate int32 = -1

// CheckAgainst checks that a (valid) ballot belongs to open and chooses one
// of its proposals or Escalate.
func (b *Ballot) CheckAgainst(open *RoundOpen) error {
	if b.GetRoundId() != open.GetRoundId() {
		return malformed("ballot for round %.64q, not %.64q", b.GetRoundId(), open.GetRoundId())
	}
	if c := b.GetChoice(); c < Escalate || int(c) >= len(open.GetProposals()) {
		return malformed("choice %d outside [-1, %d)", c, len(open.GetProposals()))
	}
	return nil
}

// CheckDeadline checks a deadline carried in a message against the local
// clock: ErrExpired if it passed more than MaxClockSkew ago, ErrMalformed if
// it lies further ahead than MaxDeadlineAhead (plus skew).
func CheckDeadline(deadlineUnixMS int64, now time.Time) error {
	d := time.UnixMilli(deadlineUnixMS)
	switch {
	case d.Before(now.Add(-MaxClockSkew)):
		return fmt.Errorf("deadline %s is %s past: %w", d.UTC().Format(time.RFC3339Nano), now.Sub(d).Round(time.Millisecond), ErrExpired)
	case d.After(now.Add(MaxDeadlineAhead + MaxClockSkew)):
		return malformed("deadline %s is more than %s ahead", d.UTC().Format(time.RFC3339Nano), MaxDeadlineAhead)
	}
	return nil
}

// checkID accepts query and round ids: 1..MaxIDBytes of [A-Za-z0-9._:-], so
// they are safe in logs, metric labels and file names.
func checkID(field, s string) error {
	if s == "" {
		return malformed("%s is empty", field)
	}
	if len(s) > MaxIDBytes {
		return malformed("%s is %d bytes, over %d", field, len(s), MaxIDBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return malformed("%s has byte %q at %d; ids use [A-Za-z0-9._:-]", field, c, i)
		}
	}
	return nil
}

// checkPeerID accepts only the canonical string form of a peer id, so one peer
// cannot appear twice under two encodings. The canonical form is base58 of the
// multihash, which starts "1" (identity hash, Ed25519 keys) or "Qm" (sha2-256,
// RSA keys); peer.Decode reads those as base58 and the CIDv1 form otherwise.
// Base58 has one spelling per byte string, so a base58 string that decodes is
// canonical without re-encoding it (re-encoding was 60% of DecodeRound's time).
func checkPeerID(field, s string) error {
	if !strings.HasPrefix(s, "1") && !strings.HasPrefix(s, "Qm") {
		return malformed("%s %.64q is not a peer id in canonical (base58) form", field, s)
	}
	if _, err := peer.Decode(s); err != nil {
		return malformed("%s %.64q is not a peer id: %v", field, s, err)
	}
	return nil
}

func checkModel(field, s string) error {
	if s == "" {
		return malformed("%s is empty", field)
	}
	if len(s) > MaxModelNameBytes {
		return fmt.Errorf("%s of %d bytes (cap %d): %w", field, len(s), MaxModelNameBytes, ErrTooLarge)
	}
	return nil
}

func checkUnit(field string, v float64) error {
	if math.IsNaN(v) || v < 0 || v > 1 {
		return malformed("%s %v outside [0, 1]", field, v)
	}
	return nil
}

func checkLatency(ms float64) error {
	if !finite(ms) || ms < 0 {
		return malformed("latency_ms %v must be finite and ≥ 0", ms)
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
