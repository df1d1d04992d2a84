package cms

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Pulling records. A node that meets a peer it holds no record of pulls the
// records that peer holds and it lacks, over one stream (the node serves
// and dials protocol.CMSSyncProtocol for the store; cms opens no streams):
// a newcomer learns the swarm from the first peers it meets, and a member
// learns a newcomer's record from the newcomer itself. Nobody re-announces
// on the gossip topic for a newcomer's sake, where each announcement reached
// and was checked by every node: that was most of a forming swarm's work
// (7,010 publications for 99 records in one 100-node start). Each pulled
// record is verified once, by the node that pulled it, and counts against
// the peer that served it until its owner has been met, as a relayed one.
//
// Besides, a node pulls from one topic peer at random (anti-entropy, as
// memberlist's push-pull) every syncInterval, and more often in its first
// seconds: at a sixteenth of it, doubling each time. A newcomer's own pulls
// reach only what its first peers held then, and a record announced while
// it was joining the topic's mesh can pass it by; what gossip lost reaches
// it within a few intervals instead of at its owner's next refresh. In a
// 100-node start the last missing records took 17 s to arrive at a fixed
// 15 s interval.
//
// Bounded: syncWorkers pulls at a time, each within syncTimeout; a peer is
// pulled from at most once per syncRepeat; at most maxRecords records a pull.
const (
	syncWorkers = 2
	syncQueue   = 64
	syncTimeout = 5 * time.Second
	syncRepeat  = 10 * time.Second
)

// DefaultSyncInterval is how often a store pulls from a random topic peer.
const DefaultSyncInterval = 15 * time.Second

// viaSync labels records received by pulling them.
const viaSync = "sync"

// Held names a record a node holds: whose, and its sequence number.
type Held struct {
	Peer peer.ID
	Seq  uint64
}

// Puller fetches from p the signed record envelopes p holds that the caller
// lacks: every record whose owner is not in held, or is with a lower seq;
// at most max. The node implements it over protocol.CMSSyncProtocol. With
// an error it returns what it read before it. The envelopes are untrusted:
// the store verifies each.
type Puller interface {
	Pull(ctx context.Context, p peer.ID, held []Held, max int) ([][]byte, error)
}

// Missing is the serving side of a pull: the envelopes of this node's record
// and of every unexpired cached one that an asker holding held lacks (its
// owner absent from held, or held with a lower seq), this node's first, at
// most max. The envelopes are shared and must not be modified.
func (s *Store) Missing(held []Held, max int) [][]byte {
	has := make(map[peer.ID]uint64, len(held))
	for _, h := range held {
		has[h.Peer] = h.Seq
	}
	var out [][]byte
	lacks := func(r *Record) bool {
		seq, ok := has[r.Peer]
		return !ok || seq < r.Seq()
	}
	if own := s.Self(); own != nil && lacks(own) {
		out = append(out, own.Raw)
	}
	for _, r := range s.Records() {
		if len(out) >= max {
			break
		}
		if lacks(r) {
			out = append(out, r.Raw)
		}
	}
	return out[:min(len(out), max)]
}

// held lists the records this node holds, its own first.
func (s *Store) held() []Held {
	rs := s.Records()
	out := make([]Held, 0, len(rs)+1)
	if own := s.Self(); own != nil {
		out = append(out, Held{own.Peer, own.Seq()})
	}
	for _, r := range rs {
		out = append(out, Held{r.Peer, r.Seq()})
	}
	return out
}

// syncer decides whom to pull from and pulls. Its loop (run) owns last;
// syncWorkers goroutines (work) pull what it queues.
type syncer struct {
	s     *Store
	joins chan peer.ID // topic-event loop → run: a joined peer whose record we lack (cap syncQueue, drops when full)
	queue chan peer.ID // run → work (cap syncQueue)

	// Owned by run.
	last map[peer.ID]time.Time // when each peer was last queued
}

func newSyncer(s *Store) *syncer {
	return &syncer{
		s:     s,
		joins: make(chan peer.ID, syncQueue),
		queue: make(chan peer.ID, syncQueue),
		last:  make(map[peer.ID]time.Time),
	}
}

// joined asks for a pull from p, a topic peer whose record this node lacks.
// Never blocks: in a join storm the anti-entropy pulls catch up.
func (y *syncer) joined(p peer.ID) {
	select {
	case y.joins <- p:
	default:
	}
}

// run queues pulls from joined peers and from one topic peer at random, at
// intervals growing from syncInterval/16 to syncInterval. Without a Puller
// it returns at once.
func (y *syncer) run() {
	s := y.s
	if s.cfg.puller == nil {
		return
	}
	every := s.cfg.syncInterval / 16
	tick := time.NewTimer(every)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case p := <-y.joins:
			y.queue1(p)
		case <-tick.C:
			y.forget()
			if peers := s.topic.ListPeers(); len(peers) > 0 {
				y.queue1(peers[rand.IntN(len(peers))])
			}
			every = min(2*every, s.cfg.syncInterval)
			tick.Reset(every)
		}
	}
}

// queue1 queues a pull from p unless p was pulled from within syncRepeat or
// the workers are that far behind. Run by the loop.
func (y *syncer) queue1(p peer.ID) {
	now := time.Now()
	if now.Sub(y.last[p]) < syncRepeat {
		return
	}
	select {
	case y.queue <- p:
		y.last[p] = now
	default:
	}
}

// forget drops the pulls that no longer limit anything. Run by the loop.
func (y *syncer) forget() {
	now := time.Now()
	for p, t := range y.last {
		if now.Sub(t) >= syncRepeat {
			delete(y.last, p)
		}
	}
}

// work pulls from queued peers until the store closes; the store runs
// syncWorkers of it when it has a Puller.
func (y *syncer) work() {
	if y.s.cfg.puller != nil {
		serve(y.s.ctx, y.queue, y.pull)
	}
}

// pull fetches what p holds and this node lacks, verifies each record and
// caches it with p as its source.
func (y *syncer) pull(p peer.ID) {
	s := y.s
	ctx, cancel := context.WithTimeout(s.ctx, min(syncTimeout, s.cfg.opTimeout))
	defer cancel()
	envs, err := s.cfg.puller.Pull(ctx, p, s.held(), s.cfg.maxRecords)
	s.m.syncs.WithLabelValues(result(err)).Inc()
	if err != nil {
		s.log.Debug("pull capability records", "peer", p, "err", err)
		// What arrived before the error is as good as a whole answer's.
	}
	now := s.cfg.now()
	for _, env := range envs[:min(len(envs), s.cfg.maxRecords)] {
		rec, err := Open(env, now)
		if err != nil {
			s.m.received.WithLabelValues(viaSync, resultInvalid).Inc()
			s.log.Info("reject pulled capability record", "peer", p, "err", err)
			continue
		}
		_ = s.cache.put(rec, viaSync, p) // counted by put; ignores this node's own
	}
}
