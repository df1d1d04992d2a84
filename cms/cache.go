package cms

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// cache holds other peers' records. Its loop (run) owns peers; every other
// goroutine reaches them through do, which runs a function on the loop.
type cache struct {
	s    *Store
	eval chan func()

	// Owned by run.
	peers map[peer.ID]*Record // expired ones are dropped by the sweep and never returned
}

func newCache(s *Store) *cache {
	return &cache{s: s, eval: make(chan func()), peers: make(map[peer.ID]*Record)}
}

// sweepInterval is how often the cache drops expired records.
func (c *cache) sweepInterval() time.Duration {
	return min(max(c.s.cfg.ttl/10, 100*time.Millisecond), 5*time.Second)
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
		if r := c.peers[p]; r != nil && !r.Expired(now) {
			out = r
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
		for _, r := range c.peers {
			if !r.Expired(now) {
				out = append(out, r)
			}
		}
	})
	sortByPeer(out)
	return out
}

// put caches rec unless the cache holds one at least as good, and has the
// publish loop re-announce this node's record when rec's peer was unknown,
// so a node that just joined learns every record within one round of gossip.
func (c *cache) put(rec *Record, via string) {
	if rec.Peer == c.s.h.ID() {
		return
	}
	now := c.s.cfg.now()
	c.do(func() {
		old := c.peers[rec.Peer]
		fresh := old == nil || old.Expired(now)
		if rec.Expired(now) || !(fresh || better(rec, old)) {
			c.s.m.received.WithLabelValues(via, resultStale).Inc()
			return
		}
		c.peers[rec.Peer] = rec
		c.s.m.received.WithLabelValues(via, resultAccepted).Inc()
		c.updateGauge(now)
		if fresh {
			c.s.log.Debug("new capability record", "peer", rec.Peer, "seq", rec.Seq())
			signal(c.s.pub.newcomer)
		}
	})
}

// sweep drops expired records. Run by the loop.
func (c *cache) sweep() {
	now := c.s.cfg.now()
	n := 0
	for p, r := range c.peers {
		if r.Expired(now) {
			delete(c.peers, p)
			n++
		}
	}
	if n > 0 {
		c.s.m.expired.Add(float64(n))
		c.updateGauge(now)
	}
}

// updateGauge sets the records gauge to the unexpired records. Run by the loop.
func (c *cache) updateGauge(now time.Time) {
	n := 0
	for _, r := range c.peers {
		if !r.Expired(now) {
			n++
		}
	}
	c.s.m.records.Set(float64(n))
}
