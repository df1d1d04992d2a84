package collab

import (
	"context"
	"fmt"
	"slices"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// Message kinds (metric label values).
const (
	kindOpen      = "open"
	kindBallot    = "ballot"
	kindMalformed = "malformed"
)

// validate is the topic validator (see doc.go for the rules and why each
// refusal is Reject or Ignore). It hands the decoded message to the reader
// through ValidatorData, so nothing is decoded twice.
func (c *Collab) validate(_ context.Context, _ peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	m, kind, v := c.book.judge(msg.GetFrom(), msg.GetData(), time.Now())
	c.m.messages.WithLabelValues(kind, v.reason).Inc()
	if v.result != pubsub.ValidationAccept {
		c.log.Debug("refuse round message", "peer", msg.GetFrom(), "kind", kind, "reason", v.reason)
		return v.result
	}
	msg.ValidatorData = m
	return v.result
}

// vote is what the reader passes a waiting round: an accepted ballot, its
// author and when it was delivered.
type vote struct {
	voter  peer.ID
	ballot *protocol.Ballot
	at     time.Time
}

// pendingRound is a round this node opened and RunRound is collecting.
type pendingRound struct {
	votes  chan vote // capacity len(participants): the validator admits one ballot per voter
	voters map[peer.ID]bool
}

// readLoop reads one home subscription, at count round topics, and routes
// what it delivers (see doc.go, Ownership).
func (c *Collab) readLoop(sub *pubsub.Subscription, count int) {
	defer c.wg.Done()
	for {
		msg, err := sub.Next(c.ctx)
		if err != nil {
			return // cancelled by Close, or the node moved its home topics
		}
		m, ok := msg.ValidatorData.(*protocol.RoundMessage)
		if !ok {
			continue // every delivered message passed validate, which sets it
		}
		author := msg.GetFrom()
		if open := m.GetOpen(); open != nil {
			if author != c.self && open.HasParticipant(c.self) {
				c.wg.Add(1) // the reader holds a count, so this cannot race Close's Wait
				go c.vote(open, count)
			}
			continue
		}
		c.deliver(vote{voter: author, ballot: m.GetBallot(), at: time.Now()})
	}
}

// deliver hands a ballot to the round waiting for it, if any. Only the
// round's own participants get through, so the channel never fills.
func (c *Collab) deliver(v vote) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pr := c.pending[v.ballot.GetRoundId()]
	if pr == nil || !pr.voters[v.voter] {
		return
	}
	select {
	case pr.votes <- v:
	default:
		c.log.Warn("round's ballot queue full", "peer", v.voter, "round", v.ballot.GetRoundId())
	}
}

// vote casts this node's ballot on a round another peer opened, if this
// node answered that peer for that round and the prompt is the same. The
// open came at count round topics, so the origin listens at that count.
func (c *Collab) vote(open *protocol.RoundOpen, count int) {
	defer c.wg.Done()
	origin, err := peer.Decode(open.GetOrigin())
	if err != nil {
		return // validated as a peer id already
	}
	own, reason := c.answers.claim(origin, open.GetRoundId(), open.GetQueryDigest(), time.Now())
	if reason != "" {
		c.m.votes.WithLabelValues(reason).Inc()
		c.log.Debug("not voting", "peer", origin, "round", open.GetRoundId(), "reason", reason)
		return
	}
	ctx, cancel := context.WithDeadline(c.ctx, time.UnixMilli(open.GetDeadlineUnixMs()))
	defer cancel()
	c.castBallot(ctx, protocol.RoundTopic(count, router.Home(open.GetOrigin(), count)), origin, open.GetRoundId(), own, fromWire(open.GetProposals()))
}

// castBallot chooses with router.ChooseBallot against own and publishes the
// ballot on topic, origin's home. The weight on the wire is the voter's
// confidence alone: the tallier applies its own view of the voter's track
// record.
func (c *Collab) castBallot(ctx context.Context, topic string, origin peer.ID, roundID string, own router.Proposal, proposals []router.Proposal) {
	params := c.cfg.thresholds.BallotParams(1)
	params.Agree = c.cfg.agree
	params.Trust, params.DeferTrust = c.deferTrust()
	b := router.ChooseBallot(own, proposals, params)
	data, err := protocol.EncodeRound(&protocol.RoundMessage{Body: &protocol.RoundMessage_Ballot{Ballot: &protocol.Ballot{
		RoundId: roundID, Choice: int32(b.Choice), Confidence: b.Weight,
	}}})
	if err == nil {
		err = c.publish(ctx, data, delivery{topic, []peer.ID{origin}})
	}
	if err != nil {
		c.m.votes.WithLabelValues(votePublishError).Inc()
		c.log.Warn("publish ballot", "round", roundID, "topic", topic, "err", err)
		return
	}
	c.m.votes.WithLabelValues(voteCast).Inc()
	c.log.Debug("voted", "round", roundID, "choice", b.Choice, "weight", b.Weight)
}

// fromWire converts an open's proposals into the router's.
func fromWire(ps []*protocol.Proposal) []router.Proposal {
	out := make([]router.Proposal, len(ps))
	for i, p := range ps {
		out[i] = router.Proposal{Peer: p.GetPeer(), Model: p.GetModel(), Answer: p.GetAnswer(),
			Confidence: p.GetConfidence(), LatencyMS: p.GetLatencyMs()}
	}
	return out
}

// RoundSpec is what the origin opens a round with.
type RoundSpec struct {
	// Request is the ask the peers answered (AskAll's): its round id names
	// the round and its messages give the query digest voters check.
	Request *protocol.AskRequest
	// Local is this node's own answer. Its Peer is set to this node; with
	// Err set it is not proposed, but this node still votes (escalating
	// with weight 0, as router.ChooseBallot does for a voter without answer).
	Local router.Proposal
	// Proposals are the peers' answers (AskAll's result). Those with Err
	// set, from this node, or repeating a peer are left out of the vote.
	Proposals []router.Proposal
	// Deadline ends the vote: ballots after it are not counted.
	Deadline time.Time
	// Domains are the query's: each voter's ballot is scaled by its
	// standing in these domains in this node's track record.
	Domains []string
	// Fit, if set, is how each participant's declared domains fit the
	// query, for the tally (router.TallyParams.Fit): RoundResult.Ballots
	// keep their weights before it, the tally's Weights are after it.
	Fit func(voter string) float64
}

// RoundEnd says why collecting ballots stopped.
type RoundEnd int

const (
	// EndAllVoted: every participant's ballot arrived.
	EndAllVoted RoundEnd = iota + 1
	// EndDecided: router.CloseRound said no missing live participant's
	// ballot could change the outcome or the winner, and the decided grace
	// passed.
	EndDecided
	// EndDeadline: the deadline passed first.
	EndDeadline
	// EndLiveVoted: every live participant's ballot arrived; the silent
	// ones (RoundResult.Silent) were not waited for.
	EndLiveVoted
)

var endNames = map[RoundEnd]string{EndAllVoted: "all-voted", EndDecided: "decided", EndDeadline: "deadline", EndLiveVoted: "live-voted"}

func (e RoundEnd) String() string {
	if s, ok := endNames[e]; ok {
		return s
	}
	return fmt.Sprintf("round-end(%d)", int(e))
}

// MarshalText renders the end by name in JSON.
func (e RoundEnd) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// RoundResult is a finished round, in router terms, ready for the trace.
type RoundResult struct {
	RoundID      string
	Participants []string
	// Silent are the participants not waited for: each left an earlier
	// round unvoted until its deadline, and its voter breaker excludes it.
	// Their ballots still count if they arrive before the round closes.
	Silent []string
	// Proposals are the ones voted on (ballot choices index them; this
	// node's own first when it had one) followed by the failed asks (Err
	// set), so the trace shows every peer asked.
	Proposals []router.Proposal
	// Ballots are the participants' ballots in arrival order, at most one
	// each. Weight is the confidence the voter cast × its track record in
	// this node's TrackRecord: the weight the tally counted.
	Ballots []router.Ballot
	Tally   router.TallyResult
	End     RoundEnd
	// Elapsed runs from publishing the open to the tally.
	Elapsed time.Duration
	// Settle runs from the delivery of the last ballot counted to the
	// tally: the cost of the round's bookkeeping once the votes are in.
	Settle time.Duration
}

// RunRound opens a round on its participants' home topics, votes, collects the participants'
// ballots and tallies them with router.Tally. It fails with ErrNoProposals
// when no answer is usable (nothing to vote on), ErrInvalidSpec for a spec
// it cannot publish, ErrClosed on Close, and ctx's error if ctx ends first.
func (c *Collab) RunRound(ctx context.Context, spec RoundSpec) (*RoundResult, error) {
	if !c.enter() {
		return nil, fmt.Errorf("run round: %w", ErrClosed)
	}
	defer c.wg.Done()
	res, err := c.runRound(ctx, spec)
	if err != nil {
		c.m.rounds.WithLabelValues("error").Inc()
		return nil, fmt.Errorf("run round: %w", err)
	}
	c.m.rounds.WithLabelValues(res.Tally.Outcome.String()).Inc()
	c.m.roundTime.Observe(res.Elapsed.Seconds())
	return res, nil
}

func (c *Collab) runRound(ctx context.Context, spec RoundSpec) (*RoundResult, error) {
	open, proposals, failed, err := c.buildOpen(spec)
	if err != nil {
		return nil, err
	}
	// Who is waited for: this node and every participant whose voter
	// breaker does not exclude it (a probe is waited for again).
	now := time.Now()
	live := map[string]bool{}
	var silent []string
	for _, p := range open.Participants {
		if p == open.Origin || c.cfg.voters.State(p, now) != router.BreakerExcluded {
			live[p] = true
		} else {
			silent = append(silent, p)
		}
	}
	isLive := func(p string) bool { return live[p] }
	params := c.cfg.thresholds.LiveTallyParams(open.Participants, isLive)
	params.Agree = c.cfg.agree
	params.Proven = c.proven
	params.Fit = spec.Fit
	open.Quorum = uint32(params.Quorum)
	pr := &pendingRound{votes: make(chan vote, len(open.Participants)), voters: make(map[peer.ID]bool)}
	for _, p := range open.Participants {
		id, _ := peer.Decode(p) // validated by buildOpen
		pr.voters[id] = true
	}
	c.mu.Lock()
	if c.pending[open.RoundId] != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("round %s is already running: %w", open.RoundId, ErrInvalidSpec)
	}
	c.pending[open.RoundId] = pr
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, open.RoundId)
		c.mu.Unlock()
	}()

	ctx, cancel := context.WithDeadline(ctx, spec.Deadline)
	defer cancel()
	data, err := protocol.EncodeRound(&protocol.RoundMessage{Body: &protocol.RoundMessage_Open{Open: open}})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	// The open goes to every participant's home topic at the count this
	// node listens and publishes at; the ballots come back on its own.
	count := c.publishCount()
	var homes []delivery // a participant's home topic each, this node's first
	for _, p := range open.Participants {
		id, _ := peer.Decode(p) // validated by buildOpen
		t := protocol.RoundTopic(count, router.Home(p, count))
		if i := slices.IndexFunc(homes, func(d delivery) bool { return d.topic == t }); i >= 0 {
			homes[i].to = append(homes[i].to, id)
		} else {
			homes = append(homes, delivery{t, []peer.ID{id}})
		}
	}
	start := time.Now()
	if err := c.publish(ctx, data, homes...); err != nil {
		return nil, fmt.Errorf("publish open of round %s: %w", open.RoundId, c.cause(ctx, err))
	}
	c.log.Debug("round opened", "round", open.RoundId, "participants", len(open.Participants), "proposals", len(open.Proposals), "topics", len(homes))
	c.castBallot(ctx, homes[0].topic, c.self, open.RoundId, spec.Local, proposals)

	all := append(slices.Clip(proposals), failed...)
	res := &RoundResult{RoundID: open.RoundId, Participants: open.Participants, Silent: silent, Proposals: all}
	voted := make(map[string]bool, len(open.Participants))
	standing := func(voter string) float64 { return c.cfg.trust.Standing(voter, spec.Domains) }
	var last time.Time
	var grace <-chan time.Time
collect:
	for len(res.Ballots) < len(open.Participants) {
		select {
		case v := <-pr.votes:
			voter := v.voter.String()
			if voted[voter] || v.ballot.CheckAgainst(open) != nil {
				continue // a ballot valid only against another origin's open under this id
			}
			voted[voter] = true
			res.Ballots = append(res.Ballots, router.Ballot{
				Voter: voter, Choice: int(v.ballot.GetChoice()),
				Weight: router.BallotWeight(v.ballot.GetConfidence(), standing(voter)),
			})
			last = v.at
			if !live[voter] {
				c.cfg.voters.Success(voter) // it votes again
			}
			switch router.CloseRound(all, res.Ballots, params, missing(open.Participants, voted), isLive, standing) {
			case router.RoundLiveVoted:
				if len(res.Ballots) < len(open.Participants) {
					res.End = EndLiveVoted
					break collect
				}
			case router.RoundDecided:
				if grace == nil {
					t := time.NewTimer(c.cfg.decidedGrace)
					defer t.Stop()
					grace = t.C
				}
			}
		case <-grace:
			res.End = EndDecided
			break collect
		case <-c.ctx.Done():
			return nil, ErrClosed
		case <-ctx.Done():
			if !time.Now().Before(spec.Deadline) {
				res.End = EndDeadline
				break collect
			}
			return nil, ctx.Err()
		}
	}
	if res.End == 0 {
		res.End = EndAllVoted
	}
	if res.End == EndDeadline {
		// Who held the round until its deadline is not waited for next time.
		for _, p := range missing(open.Participants, voted) {
			if live[p] {
				c.cfg.voters.Failure(p, time.Now())
				c.log.Debug("participant left the round unvoted", "peer", p, "round", open.RoundId)
			}
		}
	}
	res.Tally = router.Tally(all, res.Ballots, params)
	done := time.Now()
	res.Elapsed = done.Sub(start)
	if !last.IsZero() {
		res.Settle = done.Sub(last)
	}
	c.log.Debug("round tallied", "round", open.RoundId, "end", res.End, "outcome", res.Tally.Outcome,
		"ballots", len(res.Ballots), "elapsed", res.Elapsed)
	return res, nil
}

// missing lists the participants that have not voted.
func missing(participants []string, voted map[string]bool) []string {
	return slices.DeleteFunc(slices.Clone(participants), func(p string) bool { return voted[p] })
}

// buildOpen turns a spec into the open to publish, the proposals it carries
// (in router form, full answers) and the failed asks kept for the trace.
func (c *Collab) buildOpen(spec RoundSpec) (*protocol.RoundOpen, []router.Proposal, []router.Proposal, error) {
	req := spec.Request
	switch {
	case req == nil:
		return nil, nil, nil, fmt.Errorf("no request: %w", ErrInvalidSpec)
	case req.GetRoundId() == "":
		return nil, nil, nil, fmt.Errorf("request has no round id: %w", ErrInvalidSpec)
	}
	if err := req.Validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if err := protocol.CheckDeadline(spec.Deadline.UnixMilli(), time.Now()); err != nil || !spec.Deadline.After(time.Now()) {
		return nil, nil, nil, fmt.Errorf("deadline %s: %w", spec.Deadline.Format(time.RFC3339Nano), ErrInvalidSpec)
	}
	self := c.self.String()
	local := spec.Local
	local.Peer = self
	participants := []string{self}
	var proposals, failed []router.Proposal
	if local.Err == "" {
		proposals = append(proposals, local)
	}
	seen := map[string]bool{self: true}
	for _, p := range spec.Proposals {
		switch {
		case p.Err != "":
			failed = append(failed, p)
		case seen[p.Peer]:
			// this node, or a peer asked twice: one voice each
		default:
			if _, err := peer.Decode(p.Peer); err != nil {
				return nil, nil, nil, fmt.Errorf("proposal of %q: %w: %w", p.Peer, ErrInvalidSpec, err)
			}
			seen[p.Peer] = true
			participants = append(participants, p.Peer)
			proposals = append(proposals, p)
		}
	}
	if len(proposals) == 0 {
		return nil, nil, nil, ErrNoProposals
	}
	// Every answer fits the open: each is cut to a share of the message cap
	// (voters judge the cut text; the tally and trace keep the full one).
	limit := min(protocol.MaxProposalAnswerBytes, (protocol.MaxRoundMessageBytes-openOverheadBytes)/len(proposals))
	wire := make([]*protocol.Proposal, len(proposals))
	for i, p := range proposals {
		wire[i] = &protocol.Proposal{Peer: p.Peer, Model: p.Model, Answer: truncate(p.Answer, limit),
			Confidence: clamp01(p.Confidence), LatencyMs: max(p.LatencyMS, 0)}
	}
	open := &protocol.RoundOpen{
		RoundId:        req.GetRoundId(),
		Origin:         self,
		QueryDigest:    protocol.QueryDigest(req.GetMessages()),
		Participants:   participants,
		Proposals:      wire,
		Quorum:         uint32(c.cfg.thresholds.QuorumOf(len(participants))),
		DeadlineUnixMs: spec.Deadline.UnixMilli(),
		Version:        protocol.RoundVersion,
	}
	if err := open.Validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return open, proposals, failed, nil
}

// openOverheadBytes is room kept in a RoundOpen for everything but the
// answers: ids, digest, and per-proposal fields of MaxParticipants peers
// with long model names.
const openOverheadBytes = 24 << 10

func clamp01(v float64) float64 {
	if !(v > 0) { // also NaN
		return 0
	}
	return min(v, 1)
}
