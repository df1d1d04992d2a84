package collab

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

type config struct {
	log           *slog.Logger
	maxConcurrent int
	askShare      float64       // share of the model's time one peer may use
	askBurst      time.Duration // model time a peer may use at once before the share applies
	streamTimeout time.Duration
	ackTimeout    time.Duration
	thresholds    router.Thresholds
	trust         *router.TrackRecord
	breakers      *router.Breakers
	voters        *router.Breakers
	agree         router.AgreeFunc
	answerCap     int
	answerTTL     time.Duration
	roundCap      int
	decidedGrace  time.Duration
	topics        router.RoundTopics
	swarmSize     func() int    // nodes this node knows of, itself included
	forcedCount   int           // round topics at a fixed count (0: from swarmSize)
	topicsEvery   time.Duration // how often swarmSize is read again
}

func defaultConfig() config {
	return config{
		log:           slog.Default(),
		maxConcurrent: 4,
		askShare:      DefaultAskShare,
		askBurst:      DefaultAskBurst,
		streamTimeout: 10 * time.Second,
		ackTimeout:    DefaultAckTimeout,
		thresholds:    router.DefaultThresholds(),
		answerCap:     1024,
		answerTTL:     2 * time.Minute,
		roundCap:      4096,
		decidedGrace:  100 * time.Millisecond,
		topics:        router.DefaultRoundTopics(protocol.MaxRoundTopics),
		topicsEvery:   roundTopicsEvery,
	}
}

func (c config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(args, ErrInvalidConfig)...))
	}
	if c.log == nil {
		bad("nil logger")
	}
	if c.maxConcurrent < 1 {
		bad("max concurrent asks %d: want ≥ 1", c.maxConcurrent)
	}
	if !(c.askShare > 0) || c.askBurst < time.Millisecond {
		bad("ask budget %v of the model with a burst of %s: want > 0 and ≥ 1ms", c.askShare, c.askBurst)
	}
	if c.streamTimeout <= 0 {
		bad("stream timeout %s: want > 0", c.streamTimeout)
	}
	if c.ackTimeout <= 0 {
		bad("ack timeout %s: want > 0", c.ackTimeout)
	}
	if err := c.thresholds.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidConfig, err))
	}
	if c.answerCap < 1 || c.answerTTL <= 0 {
		bad("answer cache %d entries for %s: want ≥ 1 and > 0", c.answerCap, c.answerTTL)
	}
	if c.answerTTL < protocol.MaxClockSkew {
		bad("answer TTL %s: want ≥ %s so a participant still knows its answer when the open arrives", c.answerTTL, protocol.MaxClockSkew)
	}
	if c.roundCap < 1 {
		bad("round book capacity %d: want ≥ 1", c.roundCap)
	}
	if c.decidedGrace < 0 {
		bad("decided grace %s: want ≥ 0", c.decidedGrace)
	}
	if k := c.forcedCount; k != 0 && (k < 0 || k > protocol.MaxRoundTopics || k&(k-1) != 0) {
		bad("round topic count %d: want a power of two up to %d", k, protocol.MaxRoundTopics)
	}
	if c.topicsEvery <= 0 {
		bad("round topics refresh %s: want > 0", c.topicsEvery)
	}
	return errors.Join(errs...)
}

// Option configures a Collab.
type Option func(*config)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithMaxConcurrent bounds the asks this node answers at once (default 4);
// one more is refused with BUSY at once, so the asker can count it lost
// instead of waiting on a queue behind a single model.
func WithMaxConcurrent(n int) Option { return func(c *config) { c.maxConcurrent = n } }

// Default per-peer ask budget: any one peer may keep this node's model busy
// for half of the time on average, after a first 30 s of model time (an
// honest peer's asks during a whole evaluation of the shipped workload take a
// few seconds of it). A peer that floods asks is refused with BUSY once its
// time runs out, and keeps at most half the model.
const (
	DefaultAskShare = 0.5
	DefaultAskBurst = 30 * time.Second
)

// WithAskBudget limits the model time this node spends answering any one
// peer's asks to share of the time on average, after a burst of burst
// (default DefaultAskShare, DefaultAskBurst). An ask from a peer whose time
// has run out is refused with BUSY at once.
func WithAskBudget(share float64, burst time.Duration) Option {
	return func(c *config) { c.askShare, c.askBurst = share, burst }
}

// WithStreamTimeout bounds reading a request and writing a response on an
// ask stream (default 10 s); the answer itself is bounded by the request's
// own deadline.
func WithStreamTimeout(d time.Duration) Option { return func(c *config) { c.streamTimeout = d } }

// DefaultAckTimeout is how long an asked peer may stay silent before it
// acknowledges the ask (or answers): a live peer acks within a round trip
// once it has read the request, so this only has to cover a loaded device.
const DefaultAckTimeout = 3 * time.Second

// WithAckTimeout sets how long Ask waits for a peer to acknowledge the ask
// or answer it (default DefaultAckTimeout); a peer silent that long — frozen,
// or behind a dead connection — is dropped instead of holding the round
// until the ask's deadline. A peer that acked has the whole deadline.
func WithAckTimeout(d time.Duration) Option { return func(c *config) { c.ackTimeout = d } }

// A peer that failed an ask (no ack, a dead stream, no answer by the
// deadline) is excluded for DefaultPeerCooldown, doubling with each failed
// probe up to DefaultPeerMaxCooldown; at most maxBrokenPeers are remembered.
const (
	DefaultPeerCooldown    = 10 * time.Second
	DefaultPeerMaxCooldown = 5 * time.Minute
	maxBrokenPeers         = 4096
)

// WithPeerBreakers sets the per-peer circuit breakers Ask consults and feeds
// (default fresh ones with DefaultPeerCooldown and DefaultPeerMaxCooldown).
func WithPeerBreakers(b *router.Breakers) Option { return func(c *config) { c.breakers = b } }

// WithVoterBreakers sets the per-peer circuit breakers of voting (default
// fresh ones with DefaultPeerCooldown and DefaultPeerMaxCooldown): a
// participant that left a round unvoted until its deadline is not waited
// for, nor counted in the quorum, until its cooldown ends and one round
// waits for it again as the probe, or its ballot arrives in time anyway.
// They are apart from the ask breakers: a peer that answers but does not
// vote (an older build, a lost answer cache) still answers.
func WithVoterBreakers(b *router.Breakers) Option { return func(c *config) { c.voters = b } }

// WithThresholds sets agreement, consensus and quorum for ballots and tallies
// (default router.DefaultThresholds()).
func WithThresholds(t router.Thresholds) Option { return func(c *config) { c.thresholds = t } }

// WithTrackRecord sets the track record that scales each ballot's weight
// when this node tallies (default a fresh record with an open swarm's prior).
// The node keeps it and records outcomes once it can check them; collab only
// reads it.
func WithTrackRecord(t *router.TrackRecord) Option { return func(c *config) { c.trust = t } }

// WithAgree replaces text agreement in ballots and tallies (for example with
// embeddings through router.Cosine when peers share an embedding model).
func WithAgree(f router.AgreeFunc) Option { return func(c *config) { c.agree = f } }

// WithAnswerCache sets how many answers given for rounds this node remembers
// and for how long (default 1024 for 2 min): it can vote on a round only
// while it remembers the answer it gave.
func WithAnswerCache(entries int, ttl time.Duration) Option {
	return func(c *config) { c.answerCap, c.answerTTL = entries, ttl }
}

// WithRoundCapacity bounds the rounds the topic validator remembers
// (default 4096); past it the oldest round not opened by this node is
// forgotten, and its late ballots are ignored.
func WithRoundCapacity(n int) Option { return func(c *config) { c.roundCap = n } }

// WithDecidedGrace sets how long RunRound still waits for missing ballots
// once none of them could change the outcome or the winner (default 100 ms;
// 0 ends the round at once). Ballots normally all arrive within a few ms;
// the grace only spares waiting for a voter that died until the deadline.
func WithDecidedGrace(d time.Duration) Option { return func(c *config) { c.decidedGrace = d } }

// WithSwarmSize tells collab how many nodes this node knows of, itself
// included (the node counts the capability records it holds). Rounds are
// spread over round topics by it (router.RoundTopics): a round's messages
// go to its participants' home topics of about eight nodes each instead of
// to every node. It is read at New and every few seconds after. Without
// it, and without WithRoundTopicCount, every node shares one topic.
func WithSwarmSize(nodes func() int) Option { return func(c *config) { c.swarmSize = nodes } }

// WithRoundTopicCount fixes the count of round topics (a power of two up to
// protocol.MaxRoundTopics) instead of deriving it from WithSwarmSize: every
// node of a swarm must use the same one.
func WithRoundTopicCount(n int) Option { return func(c *config) { c.forcedCount = n } }
