package cms

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Meeting strangers. The cache drops a stranger's record (its owner never
// connected to this node) after the stranger grace, so identities a flooding
// peer made up go soon. In a swarm of tens every member meets every other
// within seconds; in one of hundreds a node connects to a fraction of the
// others and would drop honest records it can only relearn at their owners'
// next refresh. So the store dials the owners itself: an owner that answers
// the dial (past the swarm key and the gater) and identifies itself has been
// met, the same evidence as if it had dialled in, only sought. An owner that
// cannot be reached still keeps its record only for the grace.
//
// Bounded: meetWorkers dials at a time, each within meetTimeout; a stranger
// becomes due a quarter of the grace after its first record (so peers that
// meet anyway through gossip and the DHT are not dialled) and is tried at
// most once every quarter; due strangers are queued taking each relay's in
// turn, so one relay's flood of made-up identities delays the others'
// meetings but cannot starve them. A meeting is a check, not a link: a
// connection dialled only for it is closed once the owner has identified
// itself. Kept, they made a 100-node swarm a full mesh: 109 peers a node,
// whose standing streams took the host's whole stream-buffer budget.
const (
	meetWorkers = 4
	meetQueue   = 64
	meetTimeout = 5 * time.Second
)

// meeter dials the owners of strangers' records. The cache loop queues them
// (queueMeetings); meetWorkers goroutines dial.
type meeter struct {
	s *Store
	q chan peer.AddrInfo
}

func newMeeter(s *Store) *meeter {
	return &meeter{s: s, q: make(chan peer.AddrInfo, meetQueue)}
}

// run dials queued owners until the store closes; the store runs
// meetWorkers of it.
func (m *meeter) run() { serve(m.s.ctx, m.q, m.meet) }

func (m *meeter) meet(ai peer.AddrInfo) {
	ctx, cancel := context.WithTimeout(m.s.ctx, min(meetTimeout, m.s.cfg.opTimeout))
	defer cancel()
	net := m.s.h.Network()
	dialled := net.Connectedness(ai.ID) != network.Connected
	// Connect returns once the owner has identified itself, which is what
	// the cache counts as met.
	err := m.s.h.Connect(ctx, ai)
	m.s.m.meetings.WithLabelValues(result(err)).Inc()
	if err != nil {
		m.s.log.Debug("could not meet the owner of a cached record", "peer", ai.ID, "err", err)
		return
	}
	c := m.s.cache
	c.do(func() {
		if c.met(ai.ID, "") {
			c.credit(ai.ID)
		}
	})
	if dialled {
		_ = net.ClosePeer(ai.ID) // fails only when already closed
	}
}

// queueMeetings queues the strangers due for a meeting, each relay's in turn,
// until the queue is full. Run by the cache loop.
func (c *cache) queueMeetings(now time.Time) {
	every := c.s.cfg.strangerGrace / 4
	bySource := make(map[peer.ID][]peer.ID)
	var sources []peer.ID
	for p, e := range c.peers {
		if e.met || now.Sub(e.since) < every || now.Sub(e.tried) < every {
			continue
		}
		if bySource[e.source] == nil {
			sources = append(sources, e.source)
		}
		bySource[e.source] = append(bySource[e.source], p)
	}
	for turn := 0; len(sources) > 0; turn++ {
		next := sources[:0]
		for _, src := range sources {
			due := bySource[src]
			if turn >= len(due) {
				continue
			}
			next = append(next, src)
			e := c.peers[due[turn]]
			select {
			case c.s.meet.q <- peer.AddrInfo{ID: e.rec.Peer, Addrs: recordAddrs(e.rec)}:
				e.tried = now
			default:
				return // full: the rest wait for the next sweep
			}
		}
		sources = next
	}
}

// recordAddrs are the addresses a record's owner published (signed by it,
// so they are the owner's claim, dialled like any address a peer gives).
func recordAddrs(r *Record) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, b := range r.Fields.GetAddrs() {
		if a, err := ma.NewMultiaddrBytes(b); err == nil {
			out = append(out, a)
		}
	}
	return out
}
