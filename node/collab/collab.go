package collab

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// Answerer is this node's own model, as peers see it. The node implements it:
// it runs the local SLM with logprobs and fills the answer, model,
// confidence and uncertainty. It must return by ctx's deadline (the asker's);
// a failure is a response with an error code (BACKEND_DOWN, DEADLINE…), and
// nil counts as INTERNAL. Query id and latency are filled in if left empty.
type Answerer interface {
	Answer(ctx context.Context, req *protocol.AskRequest) *protocol.AskResponse
}

// subscriptionBuffer is how many delivered round messages may wait for the
// reader goroutine; pubsub drops messages for a subscriber that falls
// further behind, and the reader only routes, so this is ample.
const subscriptionBuffer = 256

// Collab asks peers and runs vote rounds for one node. Create it with New
// once the host and gossipsub run; Close it before them.
type Collab struct {
	h     host.Host
	ps    *pubsub.PubSub
	local Answerer
	self  peer.ID
	cfg   config
	log   *slog.Logger
	m     *metrics

	// tmu guards the round topics: handles joined (validator registered),
	// this node's home subscriptions by count, and the count it publishes at.
	tmu    sync.Mutex
	topics map[string]*pubsub.Topic
	subs   map[int]*pubsub.Subscription
	count  int

	conns     event.Subscription // the host's connectedness changes
	book      *roundBook
	answers   *answerCache
	slots     chan struct{} // one token per ask being answered
	askBudget *askBudget    // model time per asking peer
	loads     *loadBook     // what peers last said of their load

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the reader, voters, stream handlers and in-flight calls

	mu      sync.Mutex // guards closed and pending
	closed  bool
	pending map[string]*pendingRound // rounds this node opened, by round id

	closeOnce sync.Once
}

// New serves /swarmllm/ask/1.0.0 on h, joins this node's home round topics
// on ps (which should sign strictly and flood-publish, as the node's does)
// with its validator, and starts routing round messages. local answers
// peers' asks.
func New(h host.Host, ps *pubsub.PubSub, local Answerer, opts ...Option) (_ *Collab, err error) {
	if h == nil || ps == nil || local == nil {
		return nil, fmt.Errorf("new collab: host, pubsub and answerer are required: %w", ErrInvalidConfig)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("new collab: %w", err)
	}
	if cfg.swarmSize == nil && cfg.forcedCount == 0 {
		cfg.forcedCount = 1 // knowing nothing of the swarm, one topic for all, as under 12 nodes
	}
	if cfg.trust == nil {
		if cfg.trust, err = router.NewTrackRecord(router.DefaultTrustParams(router.SwarmOpen)); err != nil {
			return nil, fmt.Errorf("new collab: %w", err)
		}
	}
	if cfg.breakers == nil {
		if cfg.breakers, err = router.NewBreakers(DefaultPeerCooldown, DefaultPeerMaxCooldown, maxBrokenPeers); err != nil {
			return nil, fmt.Errorf("new collab: %w", err)
		}
	}
	if cfg.voters == nil {
		if cfg.voters, err = router.NewBreakers(DefaultPeerCooldown, DefaultPeerMaxCooldown, maxBrokenPeers); err != nil {
			return nil, fmt.Errorf("new collab: %w", err)
		}
	}
	m := newMetrics()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Collab{
		h: h, ps: ps, local: local, self: h.ID(), cfg: cfg, m: m,
		log:       cfg.log,
		book:      newRoundBook(h.ID(), cfg.roundCap),
		answers:   newAnswerCache(cfg.answerCap, cfg.answerTTL),
		slots:     make(chan struct{}, cfg.maxConcurrent),
		askBudget: newAskBudget(cfg.askShare, cfg.askBurst),
		loads:     newLoadBook(),
		ctx:       ctx, cancel: cancel,
		pending: make(map[string]*pendingRound),
		topics:  make(map[string]*pubsub.Topic),
		subs:    make(map[int]*pubsub.Subscription),
	}
	defer func() {
		if err != nil {
			c.teardown()
		}
	}()
	nodes := 0
	if cfg.swarmSize != nil {
		nodes = cfg.swarmSize()
	}
	if err := c.listen(nodes); err != nil {
		return nil, fmt.Errorf("new collab: %w", err)
	}
	if c.conns, err = h.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged)); err != nil {
		return nil, fmt.Errorf("new collab: subscribe to connectedness changes: %w", err)
	}
	c.wg.Add(1)
	go c.watchReconnects()
	if cfg.forcedCount == 0 {
		c.wg.Add(1)
		go c.watchSwarm()
	}
	h.SetStreamHandler(protocol.AskProtocol, c.handleAsk)
	return c, nil
}

// Close stops serving asks, stops the readers and voters, makes in-flight
// calls return ErrClosed and waits for all of them, then leaves the round
// topics.
// It is idempotent and always returns nil (kept for io.Closer).
func (c *Collab) Close() error {
	c.closeOnce.Do(c.teardown)
	return nil
}

func (c *Collab) teardown() {
	c.h.RemoveStreamHandler(protocol.AskProtocol)
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	if c.conns != nil {
		_ = c.conns.Close() // only fails when already closed
	}
	c.wg.Wait()
	c.leaveTopics()
}

// watchReconnects ends the cooldowns of a peer that connects again: a peer
// excluded for failed asks or unvoted rounds during a partition gets its
// probe as soon as the partition heals (the node's liveness redials it),
// not when a cooldown of 10 s or more runs out.
func (c *Collab) watchReconnects() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case e, ok := <-c.conns.Out():
			if !ok {
				return
			}
			ev, _ := e.(event.EvtPeerConnectednessChanged)
			if ev.Connectedness == network.Connected {
				c.cfg.breakers.Reachable(ev.Peer.String())
				c.cfg.voters.Reachable(ev.Peer.String())
			}
		}
	}
}

// enter registers an in-flight call or handler with Close; false after Close.
func (c *Collab) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// deferTrust is what an unsure ballot of this node needs of an author to
// defer to it: a share of right answers in this node's record, or for a
// peer never checked the newcomers' standing (router.TrackRecord.Earned,
// router.DeferEarned).
func (c *Collab) deferTrust() (func(peer string) float64, float64) {
	return c.cfg.trust.Earned, router.DeferEarned
}

// proven says whether this node has seen the voter's answer checked right
// (or the voter is this node: it never judges itself, and trusts itself).
func (c *Collab) proven(voter string) bool {
	return voter == c.self.String() || c.cfg.trust.Trust(voter, nil).Right > 0
}

// TrackRecord is the track record ballots are weighed with (the node
// records outcomes in it once a query's answer can be checked).
func (c *Collab) TrackRecord() *router.TrackRecord { return c.cfg.trust }
