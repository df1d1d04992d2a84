package spend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// DefaultInterval is how often a node repeats its claim when nothing changes.
const DefaultInterval = 2 * time.Second

// joinIntervals is the join period in heartbeats: a newcomer reserves
// nothing until every member's heartbeat had a few chances to reach it.
const joinIntervals = 3

// Gossip publishes this node's budget claim and hears the others'. Create
// it with New; Close stops it.
type Gossip struct {
	h        host.Host
	ps       *pubsub.PubSub
	topic    *pubsub.Topic
	sub      *pubsub.Subscription
	budget   *router.SwarmBudget
	interval time.Duration
	log      *slog.Logger
	m        *metrics
	kick     chan struct{} // the claim changed: publish soon

	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	validating bool
	closeOnce  sync.Once
}

// Option configures a Gossip.
type Option func(*options)

type options struct {
	log      *slog.Logger
	interval time.Duration
	budget   []router.SwarmBudgetOption
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithInterval sets the heartbeat (default DefaultInterval); changes are
// published at most ten times an interval, and the join period is three.
func WithInterval(d time.Duration) Option { return func(o *options) { o.interval = d } }

// WithBudget passes the caps and windows to the node's router.SwarmBudget.
func WithBudget(opts ...router.SwarmBudgetOption) Option {
	return func(o *options) { o.budget = append(o.budget, opts...) }
}

// New joins the budget topic on ps, registers its validator and starts
// gossiping the claim of a new router.SwarmBudget (see Budget).
func New(h host.Host, ps *pubsub.PubSub, opts ...Option) (_ *Gossip, err error) {
	o := options{log: slog.Default(), interval: DefaultInterval}
	for _, opt := range opts {
		opt(&o)
	}
	if o.interval <= 0 {
		return nil, fmt.Errorf("new spend gossip: interval %v: want > 0", o.interval)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &Gossip{h: h, ps: ps, interval: o.interval, log: o.log, m: newMetrics(), kick: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel}
	defer func() {
		if err != nil {
			g.teardown(false)
		}
	}()
	bopts := append(o.budget, router.WithJoinPeriod(joinIntervals*o.interval), router.WithSwarmNotify(g.signal))
	if g.budget, err = router.NewSwarmBudget(h.ID().String(), time.Now(), bopts...); err != nil {
		return nil, fmt.Errorf("new spend gossip: %w", err)
	}
	g.m.watch(g.budget)
	if err := ps.RegisterTopicValidator(protocol.TopicBudget, g.validate); err != nil {
		return nil, fmt.Errorf("new spend gossip: register %s validator: %w", protocol.TopicBudget, err)
	}
	g.validating = true
	if g.topic, err = ps.Join(protocol.TopicBudget); err != nil {
		return nil, fmt.Errorf("new spend gossip: join %s: %w", protocol.TopicBudget, err)
	}
	if g.sub, err = g.topic.Subscribe(); err != nil {
		return nil, fmt.Errorf("new spend gossip: subscribe %s: %w", protocol.TopicBudget, err)
	}
	g.wg.Add(2)
	go g.readLoop()
	go g.publishLoop()
	return g, nil
}

// Budget is the node's share of the swarm's caps, to pass to
// router.WithSwarm; Gossip keeps it told of the others' claims.
func (g *Gossip) Budget() *router.SwarmBudget { return g.budget }

// Collectors are the swarm budget's metrics.
func (g *Gossip) Collectors() []prometheus.Collector { return g.m.collectors() }

// Close says goodbye (within one interval), stops the loops and leaves the
// topic. Safe to call more than once.
func (g *Gossip) Close() error {
	g.closeOnce.Do(func() { g.teardown(true) })
	return nil
}

func (g *Gossip) teardown(goodbye bool) {
	g.cancel()
	g.wg.Wait()
	// The goodbye goes last: a claim after it would bring the node back.
	if goodbye && g.topic != nil {
		ctx, cancel := context.WithTimeout(context.Background(), g.interval)
		g.publish(ctx, true)
		cancel()
	}
	if g.sub != nil {
		g.sub.Cancel()
	}
	if g.validating {
		_ = g.ps.UnregisterTopicValidator(protocol.TopicBudget) // an error only says pubsub already stopped
	}
	if g.topic != nil {
		if err := g.topic.Close(); err != nil && !errors.Is(err, context.Canceled) {
			g.log.Debug("leave budget topic", "topic", protocol.TopicBudget, "err", err)
		}
	}
}

// signal is the budget's notify: it must not block.
func (g *Gossip) signal() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// publishLoop sends the claim on every change, at most ten times an
// interval (a burst of reservations costs one message, not one each), and
// once an interval regardless, which is how newcomers hear it.
func (g *Gossip) publishLoop() {
	defer g.wg.Done()
	heartbeat := time.NewTicker(g.interval)
	defer heartbeat.Stop()
	gap := g.interval / 10
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-heartbeat.C:
		case <-g.kick:
		}
		g.publish(g.ctx, false)
		t := time.NewTimer(gap)
		select {
		case <-g.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (g *Gossip) publish(ctx context.Context, leaving bool) {
	now := time.Now()
	data, err := protocol.EncodeBudget(toWire(g.budget.Claim(now, leaving), now))
	if err == nil {
		err = g.topic.Publish(ctx, data)
	}
	if err != nil {
		g.m.messages.WithLabelValues(sent, resultError).Inc()
		if ctx.Err() == nil {
			g.log.Warn("publish budget claim", "topic", protocol.TopicBudget, "err", err)
		}
		return
	}
	g.m.messages.WithLabelValues(sent, resultOK).Inc()
}

// validate is the topic validator: decode once, hand the claim on through
// ValidatorData.
func (g *Gossip) validate(_ context.Context, _ peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	c, err := protocol.DecodeBudget(msg.GetData())
	if errors.Is(err, protocol.ErrUnsupportedVersion) {
		// A newer build's claim, not a fault: dropped without a penalty, so
		// a swarm can upgrade one node at a time.
		g.m.messages.WithLabelValues(received, resultIgnored).Inc()
		g.log.Debug("ignore budget claim", "peer", msg.GetFrom(), "err", err)
		return pubsub.ValidationIgnore
	}
	if err != nil {
		g.m.messages.WithLabelValues(received, resultInvalid).Inc()
		g.log.Debug("reject budget claim", "peer", msg.GetFrom(), "err", err)
		return pubsub.ValidationReject
	}
	if skew := time.Since(time.UnixMilli(c.SentUnixMs)).Abs(); skew > protocol.MaxClockSkew {
		// Old news or a clock far off: neither tells what the sender holds now.
		g.m.messages.WithLabelValues(received, resultIgnored).Inc()
		g.log.Debug("ignore budget claim", "peer", msg.GetFrom(), "skew", skew)
		return pubsub.ValidationIgnore
	}
	msg.ValidatorData = c
	return pubsub.ValidationAccept
}

// readLoop hands every claim the validator accepted to the budget.
func (g *Gossip) readLoop() {
	defer g.wg.Done()
	for {
		msg, err := g.sub.Next(g.ctx)
		if err != nil {
			return // cancelled by Close
		}
		author := msg.GetFrom()
		if author == g.h.ID() {
			continue
		}
		c, ok := msg.ValidatorData.(*protocol.BudgetClaim)
		if !ok {
			continue // accepted before our validator was registered: nothing checked it
		}
		if err := g.budget.Observe(time.Now(), author.String(), fromWire(c)); err != nil {
			g.m.messages.WithLabelValues(received, resultIgnored).Inc()
			g.log.Debug("drop budget claim", "peer", author, "err", err)
			continue
		}
		g.m.messages.WithLabelValues(received, resultOK).Inc()
	}
}

func toWire(c router.SwarmClaim, now time.Time) *protocol.BudgetClaim {
	w := func(x router.WindowClaim) *protocol.BudgetWindow {
		return &protocol.BudgetWindow{Calls: x.Calls, Tokens: x.Tokens, ClaimCalls: x.ClaimCalls, ClaimTokens: x.ClaimTokens,
			DepartedCalls: x.DepartedCalls, DepartedTokens: x.DepartedTokens}
	}
	return &protocol.BudgetClaim{Version: protocol.BudgetVersion, Seq: c.Seq, Members: uint32(max(c.Members, 1)),
		Hour: w(c.Hour), Day: w(c.Day), Leaving: c.Leaving, SentUnixMs: now.UnixMilli()}
}

func fromWire(c *protocol.BudgetClaim) router.SwarmClaim {
	w := func(x *protocol.BudgetWindow) router.WindowClaim {
		return router.WindowClaim{Calls: x.GetCalls(), Tokens: x.GetTokens(), ClaimCalls: x.GetClaimCalls(),
			ClaimTokens: x.GetClaimTokens(), DepartedCalls: x.GetDepartedCalls(), DepartedTokens: x.GetDepartedTokens()}
	}
	return router.SwarmClaim{Seq: c.Seq, Members: int(c.Members), Hour: w(c.Hour), Day: w(c.Day), Leaving: c.Leaving}
}
