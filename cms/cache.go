package cms

import (
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// resultRefused labels records the cache caps turned away.
const resultRefused = "refused"

// errStale marks a record older than the cached one of its peer.
var errStale = errors.New("capability record older than cached")

// cache holds other peers' records, within caps: a peer that floods records
// of made-up identities must not fill a node's memory or its /swarm/v1/cms.
//
//   - Every record counts against its source: its owner once the owner has
//     been connected to this node ("met"), else the gossip peer that relayed
//     it (or this node, for what its own DHT lookups found). A source holds
//     at most maxPerSource records, so one connection cannot add more than
//     that many strangers.
//   - Records of peers this node has never been connected to are dropped
//     strangerGrace after they arrived, unless their owner connects or
//     answers this node's dial (meet.go).
//   - At most maxRecords in all; when full, a met peer's new record evicts
//     the oldest stranger's, and a stranger's is refused.
//
// Its loop (run) owns peers and perSource; every other goroutine reaches them
// through do, which runs a function on the loop.
type cache struct {
	s    *Store
	eval chan func()

	// Owned by run.
	peers     map[peer.ID]*entry // expired ones are dropped by the sweep and never returned
	perSource map[peer.ID]int    // source → entries counted against it
	admitted  uint64             // entries admitted so far, to order them
}

type entry struct {
	rec    *Record
	source peer.ID   // whose budget it counts against: the owner once met, else the relay
	met    bool      // the owner has been connected to this node
	since  time.Time // when the first record of this owner in a row was cached
	order  uint64    // admission order of that first record
	tried  time.Time // when the owner was last queued for a meeting (meet.go)
}

func newCache(s *Store) *cache {
	return &cache{
		s:         s,
		eval:      make(chan func()),
		peers:     make(map[peer.ID]*entry),
		perSource: make(map[peer.ID]int),
	}
}

// sweepInterval is how often the cache drops expired records and strangers
// past their grace.
func (c *cache) sweepInterval() time.Duration {
	return min(max(min(c.s.cfg.ttl/10, c.s.cfg.strangerGrace/4), 50*time.Millisecond), 5*time.Second)
}

func (c *cache) run() {
	sweep := time.NewTicker(c.sweepInterval())
	defer sweep.Stop()
	for {
		select {
		case <-c.s.ctx.Done():
			return
		case f := <-c.eval:
			f()
		case <-sweep.C:
			c.sweep()
		}
	}
}

// do runs f on the cache loop and waits for it; false after Close.
func (c *cache) do(f func()) bool {
	done := make(chan struct{})
	select {
	case c.eval <- func() { f(); close(done) }:
	case <-c.s.ctx.Done():
		return false
	}
	<-done // the loop runs what it took before it looks at ctx again
	return true
}

// get returns p's unexpired record, or nil.
func (c *cache) get(p peer.ID) *Record {
	now := c.s.cfg.now()
	var out *Record
	c.do(func() {
		if e := c.peers[p]; e != nil && !e.rec.Expired(now) {
			out = e.rec
		}
	})
	return out
}

// list returns every unexpired record, sorted by peer id.
func (c *cache) list() []*Record {
	now := c.s.cfg.now()
	var out []*Record
	c.do(func() {
		out = make([]*Record, 0, len(c.peers))
		for _, e := range c.peers {
			if !e.rec.Expired(now) {
				out = append(out, e.rec)
			}
		}
	})
	sortByPeer(out)
	return out
}

// check reports whether put would cache rec delivered by source (nil), or
// why not: errStale, or ErrCacheFull. The gossip validator asks it so that
// what the cache would refuse is not relayed either.
func (c *cache) check(rec *Record, source peer.ID) error {
	now := c.s.cfg.now()
	err := ErrClosed
	c.do(func() { _, _, err = c.admit(rec, source, now) })
	return err
}

// put caches rec, delivered by source via gossip, a pull or the DHT, unless
// the cache holds one at least as good or the caps refuse it. This node's
// own record is ignored.
func (c *cache) put(rec *Record, via string, source peer.ID) error {
	if rec.Peer == c.s.h.ID() {
		return nil
	}
	now := c.s.cfg.now()
	err := ErrClosed
	c.do(func() {
		var e *entry
		var evict bool
		if e, evict, err = c.admit(rec, source, now); err != nil {
			res := resultRefused
			if errors.Is(err, errStale) || errors.Is(err, ErrExpired) {
				res = resultStale
			}
			c.s.m.received.WithLabelValues(via, res).Inc()
			return
		}
		if evict {
			c.evictStranger()
		}
		old := c.peers[rec.Peer]
		fresh := old == nil || old.rec.Expired(now)
		if old != nil {
			c.drop(rec.Peer)
		}
		c.peers[rec.Peer] = e
		c.perSource[e.source]++
		c.admitted = max(c.admitted, e.order)
		c.s.m.received.WithLabelValues(via, resultAccepted).Inc()
		c.updateGauge(now)
		if fresh {
			c.s.log.Debug("new capability record", "peer", rec.Peer, "seq", rec.Seq(), "met", e.met, "source", source, "via", via)
		}
	})
	return err
}

// admit decides whether rec, delivered by source, may replace what the cache
// holds of its peer, and returns the entry to store, and whether a stranger
// must be evicted to make room (a full cache takes a met peer's record in
// place of the oldest stranger's). It changes nothing. Run by the loop.
func (c *cache) admit(rec *Record, source peer.ID, now time.Time) (e *entry, evict bool, err error) {
	if rec.Expired(now) {
		return nil, false, fmt.Errorf("record of %s: %w", rec.Peer, ErrExpired)
	}
	old := c.peers[rec.Peer]
	if old != nil && !old.rec.Expired(now) && !better(rec, old.rec) {
		return nil, false, fmt.Errorf("seq %d, cached %d: %w", rec.Seq(), old.rec.Seq(), errStale)
	}
	e = &entry{rec: rec, source: source, since: now, order: c.admitted + 1}
	if old != nil && !old.rec.Expired(now) {
		e.since, e.order, e.tried = old.since, old.order, old.tried // a stranger's grace runs from its first record
	}
	if e.met = (old != nil && old.met) || c.met(rec.Peer, source); e.met {
		e.source = rec.Peer
	}
	cfg := c.s.cfg
	if (old == nil || old.source != e.source) && c.perSource[e.source] >= cfg.maxPerSource {
		return nil, false, fmt.Errorf("record of %s from %s: %d records from that source: %w", rec.Peer, source, cfg.maxPerSource, ErrCacheFull)
	}
	if old == nil && len(c.peers) >= cfg.maxRecords {
		if !e.met || !c.hasStranger() {
			return nil, false, fmt.Errorf("record of %s: %d records cached: %w", rec.Peer, cfg.maxRecords, ErrCacheFull)
		}
		evict = true
	}
	return e, evict, nil
}

// hasStranger reports whether a stranger's record is cached. Run by the loop.
func (c *cache) hasStranger() bool {
	for _, e := range c.peers {
		if !e.met {
			return true
		}
	}
	return false
}

// met reports whether p has been connected to this node: it delivered its
// record itself, is connected now, or identified itself on an earlier
// connection (the peerstore keeps the protocols it announced).
func (c *cache) met(p, source peer.ID) bool {
	if p == source || c.s.h.Network().Connectedness(p) == network.Connected {
		return true
	}
	protos, err := c.s.h.Peerstore().GetProtocols(p)
	return err == nil && len(protos) > 0
}

// evictStranger drops the stranger cached longest, if any. Run by the loop.
func (c *cache) evictStranger() {
	var oldest peer.ID
	var order uint64
	for p, e := range c.peers {
		if !e.met && (oldest == "" || e.order < order) {
			oldest, order = p, e.order
		}
	}
	if oldest != "" {
		c.drop(oldest)
	}
}

// credit counts p's stranger record against p itself, now that p has been
// met: it is no longer dropped after the grace. Run by the loop.
func (c *cache) credit(p peer.ID) {
	e := c.peers[p]
	if e == nil || e.met {
		return
	}
	c.drop(p)
	c.peers[p] = &entry{rec: e.rec, source: p, met: true, since: e.since, order: e.order}
	c.perSource[p]++
}

func (c *cache) drop(p peer.ID) {
	e := c.peers[p]
	delete(c.peers, p)
	if c.perSource[e.source]--; c.perSource[e.source] <= 0 {
		delete(c.perSource, e.source)
	}
}

// sweep drops expired records and strangers past their grace, and credits
// strangers that connected meanwhile to themselves. Run by the loop.
func (c *cache) sweep() {
	now := c.s.cfg.now()
	expired, strangers := 0, 0
	for p, e := range c.peers {
		switch {
		case e.rec.Expired(now):
			c.drop(p)
			expired++
		case e.met:
		case c.met(p, ""):
			c.credit(p)
		case now.Sub(e.since) >= c.s.cfg.strangerGrace:
			c.drop(p)
			strangers++
		}
	}
	c.queueMeetings(now)
	if expired > 0 {
		c.s.m.expired.Add(float64(expired))
	}
	if strangers > 0 {
		c.s.log.Debug("dropped records of peers never connected", "count", strangers)
	}
	if expired+strangers > 0 {
		c.updateGauge(now)
	}
}

// updateGauge sets the records gauge to the unexpired records. Run by the loop.
func (c *cache) updateGauge(now time.Time) {
	n := 0
	for _, e := range c.peers {
		if !e.rec.Expired(now) {
			n++
		}
	}
	c.s.m.records.Set(float64(n))
}
