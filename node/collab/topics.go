package collab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// roundTopicsEvery is how often the node re-reads the swarm's size to move
// its home topics: swarms grow and shrink over minutes, and a node listens
// at two counts, so a lag of seconds strands no round.
const roundTopicsEvery = 5 * time.Second

// listenersWait bounds how long a publisher waits to learn that the peers
// it publishes a round message for listen on its topic. Pubsub learns a
// peer's topics from the peer's hello on a new connection, and an ask to a
// peer dialled for it returns within milliseconds, often first; flood
// publish sends only to peers known to listen, and a topic of a few nodes
// may have no mesh to relay through, so without the wait the message would
// miss the peer. A hello takes a round trip, so a second is ample; a peer
// connected for longer than that and still not known to listen never will
// (no pubsub, or another count), and is not waited for.
const listenersWait = time.Second

// listenersPoll is how often the wait asks pubsub again.
const listenersPoll = 5 * time.Millisecond

// delivery is a round message's copy for one topic: the peers it is meant
// for there.
type delivery struct {
	topic string
	to    []peer.ID
}

// publish sends data on each delivery's topic (joining it first if need
// be) as soon as pubsub knows the peers it is meant for there listen on it,
// and on those still unknown when listenersWait runs out anyway, for any
// relay to carry it.
func (c *Collab) publish(ctx context.Context, data []byte, ds ...delivery) error {
	wait, cancel := context.WithTimeout(ctx, listenersWait)
	defer cancel()
	tick := time.NewTicker(listenersPoll)
	defer tick.Stop()
	for {
		late := wait.Err() != nil
		var rest []delivery
		for _, d := range ds {
			if !late && !c.listened(d) {
				rest = append(rest, d)
				continue
			}
			if late {
				c.log.Debug("publishing before every peer is known to listen", "topic", d.topic, "peers", len(d.to))
			}
			t, err := c.topic(d.topic)
			if err == nil {
				err = t.Publish(ctx, data)
			}
			if err != nil {
				return err
			}
		}
		if ds = rest; len(ds) == 0 {
			return nil
		}
		select {
		case <-wait.Done():
		case <-tick.C:
		}
	}
}

// listened says whether d need not wait: pubsub knows every peer of d (but
// this node) listens on d's topic, or there is no use waiting for a peer's
// hello: it speaks no gossipsub (identify, done before the ask, says so),
// or it has been connected too long for one to come (see listenersWait).
func (c *Collab) listened(d delivery) bool {
	known := c.ps.ListPeers(d.topic)
	return !slices.ContainsFunc(d.to, func(p peer.ID) bool {
		if p == c.self || slices.Contains(known, p) {
			return false
		}
		gossips, _ := c.h.Peerstore().SupportsProtocols(p, pubsub.GossipSubDefaultProtocols...) // an error: nothing known of p
		return len(gossips) > 0 && c.connectedFor(p) < listenersWait
	})
}

// connectedFor is how long this node has been connected to p (its oldest
// connection), or listenersWait when it is not connected: no hello can come.
func (c *Collab) connectedFor(p peer.ID) time.Duration {
	conns := c.h.Network().ConnsToPeer(p)
	if len(conns) == 0 {
		return listenersWait
	}
	var oldest time.Duration
	for _, conn := range conns {
		oldest = max(oldest, time.Since(conn.Stat().Opened))
	}
	return oldest
}

// topic returns the joined handle of a round topic, joining it (validator
// first, so no message on it is ever delivered unjudged) the first time.
// Topics only published to are joined too: pubsub sends to their
// subscribers through its fanout, with no mesh of our own. Handles are kept
// until Close; there are at most 2 × MaxRoundTopics − 1.
func (c *Collab) topic(name string) (*pubsub.Topic, error) {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	if t := c.topics[name]; t != nil {
		return t, nil
	}
	if err := c.ps.RegisterTopicValidator(name, c.validate, pubsub.WithValidatorInline(true)); err != nil {
		return nil, fmt.Errorf("register validator for %s: %w", name, err)
	}
	t, err := c.ps.Join(name)
	if err != nil {
		_ = c.ps.UnregisterTopicValidator(name) // registered just above
		return nil, fmt.Errorf("join %s: %w", name, err)
	}
	c.topics[name] = t
	return t, nil
}

// publishCount is the count of round topics this node publishes at now.
func (c *Collab) publishCount() int {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	return c.count
}

// listen moves this node's home topics to those router.RoundTopics gives
// for a swarm of nodes nodes (or the forced count): it subscribes to the
// new ones before it publishes at a new count and before it leaves the old
// ones, so a round opened meanwhile is still heard.
func (c *Collab) listen(nodes int) error {
	counts, count := []int{c.cfg.forcedCount}, c.cfg.forcedCount
	if c.cfg.forcedCount == 0 {
		counts, count = c.cfg.topics.Listen(nodes), c.cfg.topics.Count(nodes)
	}
	for _, k := range counts {
		if c.listening(k) {
			continue
		}
		name := protocol.RoundTopic(k, router.Home(c.self.String(), k))
		t, err := c.topic(name)
		if err != nil {
			return err
		}
		sub, err := t.Subscribe(pubsub.WithBufferSize(subscriptionBuffer))
		if err != nil {
			return fmt.Errorf("subscribe to %s: %w", name, err)
		}
		c.tmu.Lock()
		c.subs[k] = sub
		c.tmu.Unlock()
		c.wg.Add(1) // New runs before Close can, and the watcher holds a count: this cannot race Close's Wait
		go c.readLoop(sub, k)
		c.log.Debug("listening for rounds", "topic", name)
	}
	c.tmu.Lock()
	defer c.tmu.Unlock()
	c.count = count
	for k, sub := range c.subs {
		if !slices.Contains(counts, k) {
			sub.Cancel() // its reader ends
			delete(c.subs, k)
			c.log.Debug("left round topic", "topic", sub.Topic())
		}
	}
	return nil
}

func (c *Collab) listening(count int) bool {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	return c.subs[count] != nil
}

// watchSwarm moves the home topics as the swarm's size (WithSwarmSize)
// changes.
func (c *Collab) watchSwarm() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.topicsEvery)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			if err := c.listen(c.cfg.swarmSize()); err != nil {
				c.log.Warn("move round topics", "err", err)
			}
		}
	}
}

// leaveTopics cancels the subscriptions, leaves every joined round topic
// and removes its validator. Close calls it once the readers have stopped.
func (c *Collab) leaveTopics() {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	for k, sub := range c.subs {
		sub.Cancel()
		delete(c.subs, k)
	}
	for name, t := range c.topics {
		if err := t.Close(); err != nil && !errors.Is(err, context.Canceled) {
			c.log.Debug("leave round topic", "topic", name, "err", err)
		}
		// An error only says pubsub already stopped.
		_ = c.ps.UnregisterTopicValidator(name)
		delete(c.topics, name)
	}
}
