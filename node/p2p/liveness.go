package p2p

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/swarmllm/swarmllm/router"
)

// Liveness keeps the host's peer list true to the network within seconds.
// libp2p keeps a connection whose peer was cut off (a partition, a frozen
// process) until the transport gives up, about 25–40 s; until then the peer
// is listed, ranked and asked. Liveness pings every connected peer each
// interval and closes the connections of a peer that missed Misses pings in
// a row, so it leaves the peer list (and gossip meshes) at once. A peer it
// cut off is redialled with a backoff (500 ms doubling to 8 s) for
// Remember, so when the partition heals it is back in the list within
// seconds as well, whether or not it is a bootstrap peer.
//
// A round pings at most Pings peers, those pinged longest ago, so a node's
// work stays bounded as the swarm grows: in a swarm of up to Pings peers
// each is pinged every interval; in a larger one every peers/Pings
// intervals, and a silent peer is found that much later. (A 100-node
// swarm pinging every peer each second is 10,000 pings a second; on a small
// machine that starves the nodes until their pings time out, and live peers
// are cut off.)
//
// A ping waits Timeout, or longer while answered pings take long (see
// rttEstimate). A round that ends far past its timeout says this node is
// starved, not its peers silent: its misses are not counted (ranLate). Nor
// is the miss of a peer whose gossip arrived meanwhile (LivenessConfig.Heard).
//
// Its loop owns misses, lost, pinged and rtt; Close stops it and waits.
type Liveness struct {
	h   host.Host
	cfg LivenessConfig
	log *slog.Logger

	redial *router.Breakers // when a lost peer may be dialled again

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	// Owned by run.
	misses  map[peer.ID]int       // pings missed in a row
	lost    map[peer.ID]time.Time // cut off by missed pings, at
	pinged  map[peer.ID]time.Time // last pinged, of the peers connected at the last round
	streams map[peer.ID]*pingStream
	rtt     rttEstimate // of the pings answered
}

// pingStream is a ping stream kept open to a peer: opening a stream per ping
// (a stream scope, a handler goroutine, protocol negotiation on both sides)
// cost an idle 50-node swarm more than everything else it does. libp2p's
// ping pings again as soon as a result is taken, so each read returns the
// ping sent just after the previous read.
type pingStream struct {
	results <-chan ping.Result
	cancel  context.CancelFunc
	opened  time.Time
	used    time.Time // last result taken
}

// A ping stream is reused for at most pingStreamLife, and not after
// pingStreamIdle without a ping: libp2p's ping handler closes a stream 30 s
// after it opened and 10 s after its last ping.
const (
	pingStreamLife = 25 * time.Second
	pingStreamIdle = 8 * time.Second
)

// reusable says whether ps may take another ping at now.
func (ps *pingStream) reusable(now time.Time) bool {
	return ps != nil && now.Sub(ps.opened) < pingStreamLife && now.Sub(ps.used) < pingStreamIdle
}

// LivenessConfig tunes Liveness; zero fields take DefaultLiveness's.
type LivenessConfig struct {
	Interval time.Duration // between ping rounds
	Timeout  time.Duration // one ping, and one redial
	Misses   int           // pings missed in a row that cut a peer off
	Remember time.Duration // how long a cut-off peer is redialled
	Pings    int           // peers pinged per round at most
	// Heard, if set, tells when a peer last sent gossip: a peer heard from
	// within a ping's timeout has not missed that ping (see Heard).
	Heard *Heard
}

// DefaultLiveness detects a silent peer in 2–3 intervals plus two timeouts
// (about 4–6 s) among up to 16 peers: two misses, so one ping lost on a
// loaded device does not cut a live peer off.
func DefaultLiveness() LivenessConfig {
	return LivenessConfig{Interval: time.Second, Timeout: 2 * time.Second, Misses: 2, Remember: 10 * time.Minute, Pings: 16}
}

func (c LivenessConfig) withDefaults() LivenessConfig {
	d := DefaultLiveness()
	if c.Interval <= 0 {
		c.Interval = d.Interval
	}
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.Misses <= 0 {
		c.Misses = d.Misses
	}
	if c.Remember <= 0 {
		c.Remember = d.Remember
	}
	if c.Pings <= 0 {
		c.Pings = d.Pings
	}
	return c
}

// heardSince reports whether p sent gossip after t (LivenessConfig.Heard).
func (l *Liveness) heardSince(p peer.ID, t time.Time) bool {
	return l.cfg.Heard != nil && l.cfg.Heard.Last(p).After(t)
}

// ranLate reports whether a ping round whose pings each waited at most
// timeout took so much longer that this node's own goroutines and timers
// ran late: a starved node (its CPU taken by its model, or by a hundred
// simulated nodes) misses its peers' answers however alive they are, and
// cutting them all off only adds the redials and handshakes to its load.
// A peer cut off by a partition still misses rounds that end on time.
func ranLate(took, timeout time.Duration) bool {
	return took > timeout+timeout/2+lateSlack
}

// lateSlack is what a round may take past its pings' timeout on a busy but
// healthy node (scheduling, stream setup).
const lateSlack = 250 * time.Millisecond

// maxLostPeers bounds the cut-off peers remembered for redialling.
const maxLostPeers = 1024

// NewLiveness starts watching h's peers (h must serve libp2p ping, which
// libp2p hosts do by default). log nil means slog.Default().
func NewLiveness(h host.Host, cfg LivenessConfig, log *slog.Logger) (*Liveness, error) {
	if h == nil {
		return nil, fmt.Errorf("new liveness: no host")
	}
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	redial, err := router.NewBreakers(500*time.Millisecond, 8*time.Second, maxLostPeers)
	if err != nil {
		return nil, fmt.Errorf("new liveness: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Liveness{h: h, cfg: cfg, log: log, redial: redial, ctx: ctx, cancel: cancel,
		misses: map[peer.ID]int{}, lost: map[peer.ID]time.Time{}, pinged: map[peer.ID]time.Time{},
		streams: map[peer.ID]*pingStream{}}
	l.wg.Add(1)
	go l.run()
	return l, nil
}

// Close stops the pings and redials and waits for them. Idempotent.
func (l *Liveness) Close() error {
	l.once.Do(func() {
		l.cancel()
		l.wg.Wait()
	})
	return nil
}

func (l *Liveness) run() {
	defer l.wg.Done()
	t := time.NewTicker(l.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
			l.round()
		}
	}
}

// round pings the connected peers whose turn it is and redials the lost
// ones that are due, all at once, and returns when all are done (within
// Timeout).
func (l *Liveness) round() {
	now := time.Now()
	peers := pingTurn(l.h.Network().Peers(), l.pinged, l.cfg.Pings)
	for _, p := range peers {
		l.pinged[p] = now
	}
	var due []peer.ID
	for p, at := range l.lost {
		switch {
		case l.h.Network().Connectedness(p) == network.Connected:
			delete(l.lost, p) // back by other means (it dialled us, discovery)
			l.redial.Success(p.String())
		case now.Sub(at) > l.cfg.Remember:
			delete(l.lost, p)
			l.redial.Success(p.String()) // forgotten
		case l.redial.Allow(p.String(), now):
			due = append(due, p)
		}
	}
	pinged := make([]error, len(peers))
	redialled := make([]error, len(due))
	var wg sync.WaitGroup
	rtts := make([]time.Duration, len(peers))
	streams := make([]*pingStream, len(peers))
	timeout := l.rtt.timeout(l.cfg.Timeout)
	for i, p := range peers {
		if ps := l.streams[p]; ps != nil {
			delete(l.streams, p)
			if ps.reusable(now) {
				streams[i] = ps
			} else {
				ps.cancel()
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			streams[i], rtts[i], pinged[i] = l.ping(p, streams[i], timeout)
		}()
	}
	for i, p := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(l.ctx, l.cfg.Timeout)
			defer cancel()
			// The swarm's own dial backoff would hold a healed peer out for
			// seconds to minutes; this loop keeps its own.
			redialled[i] = l.h.Connect(network.WithForceDirectDial(ctx, "liveness redial"), peer.AddrInfo{ID: p})
		}()
	}
	wg.Wait()
	if l.ctx.Err() != nil {
		return
	}
	took := time.Since(now)
	late := ranLate(took, max(timeout, l.cfg.Timeout))
	if late {
		l.log.Debug("liveness round ran late: this node is starved, its missed pings are not counted", "took", took)
	}
	for i, p := range peers {
		if streams[i] != nil {
			l.streams[p] = streams[i]
		}
		if pinged[i] == nil {
			l.rtt.observe(rtts[i])
			delete(l.misses, p)
			continue
		}
		if late || l.heardSince(p, now.Add(-timeout)) {
			delete(l.misses, p)
			continue
		}
		l.misses[p]++
		if l.misses[p] < l.cfg.Misses {
			continue
		}
		delete(l.misses, p)
		l.log.Info("peer silent; closing its connections", "peer", p, "err", pinged[i])
		_ = l.h.Network().ClosePeer(p)
		if len(l.lost) < maxLostPeers {
			l.lost[p] = time.Now()
		}
	}
	if l.cfg.Heard != nil {
		l.cfg.Heard.forget(func(p peer.ID) bool { return l.h.Network().Connectedness(p) == network.Connected })
	}
	for p := range l.misses {
		if l.h.Network().Connectedness(p) != network.Connected {
			delete(l.misses, p) // gone by itself
		}
	}
	for p := range l.pinged {
		if l.h.Network().Connectedness(p) != network.Connected {
			delete(l.pinged, p)
			if ps := l.streams[p]; ps != nil {
				ps.cancel()
				delete(l.streams, p)
			}
		}
	}
	for i, p := range due {
		if redialled[i] != nil {
			l.log.Debug("redial silent peer", "peer", p, "err", redialled[i])
			l.redial.Failure(p.String(), time.Now())
			continue
		}
		l.log.Info("silent peer back", "peer", p)
		delete(l.lost, p)
		l.redial.Success(p.String())
	}
}

// pingTurn picks the peers to ping this round: at most n of those
// connected, never-pinged first, then those pinged longest ago (pinged).
// It may reorder connected.
func pingTurn(connected []peer.ID, pinged map[peer.ID]time.Time, n int) []peer.ID {
	if len(connected) <= n {
		return connected
	}
	slices.SortStableFunc(connected, func(a, b peer.ID) int { return pinged[a].Compare(pinged[b]) })
	return connected[:n]
}

// ping takes one ping result from p within timeout, on ps if it is still
// open, else (or if ps turns out closed) on a new ping stream. It returns
// the stream to reuse (nil when it failed).
func (l *Liveness) ping(p peer.ID, ps *pingStream, timeout time.Duration) (*pingStream, time.Duration, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		reused := ps != nil
		if !reused {
			ctx, cancel := context.WithCancel(l.ctx)
			now := time.Now()
			ps = &pingStream{results: ping.Ping(ctx, l.h, p), cancel: cancel, opened: now, used: now}
		}
		select {
		case r, ok := <-ps.results:
			if ok && r.Error == nil {
				ps.used = time.Now()
				return ps, r.RTT, nil
			}
			ps.cancel()
			if reused {
				ps = nil // the handler may have closed it: one more try on a new stream
				continue
			}
			if !ok {
				return nil, 0, fmt.Errorf("ping %s: stream closed", p)
			}
			return nil, 0, fmt.Errorf("ping %s: %w", p, r.Error)
		case <-deadline.C:
			ps.cancel()
			return nil, 0, fmt.Errorf("ping %s: %w", p, context.DeadlineExceeded)
		case <-l.ctx.Done():
			ps.cancel()
			return nil, 0, fmt.Errorf("ping %s: %w", p, l.ctx.Err())
		}
	}
}

// rttEstimate smooths the round-trip times of answered pings, as TCP does
// (RFC 6298), so the ping timeout follows how fast peers answer. Pings
// answered in milliseconds keep the configured timeout; on a device so
// loaded that answers take seconds, a fixed timeout would cut live peers
// off, and reconnecting them loads it more.
type rttEstimate struct {
	srtt, rttvar time.Duration // zero until the first observation
}

func (e *rttEstimate) observe(rtt time.Duration) {
	if e.srtt == 0 {
		e.srtt, e.rttvar = rtt, rtt/2
		return
	}
	e.rttvar = (3*e.rttvar + (e.srtt - rtt).Abs()) / 4
	e.srtt = (7*e.srtt + rtt) / 8
}

// maxTimeoutFactor bounds how far the timeout grows past the configured one.
const maxTimeoutFactor = 8

// timeout is how long to wait for a ping: the configured timeout, or longer
// when pings lately took that long (srtt + 4 rttvar), at most
// maxTimeoutFactor times the configured one.
func (e *rttEstimate) timeout(base time.Duration) time.Duration {
	return min(max(base, e.srtt+4*e.rttvar), maxTimeoutFactor*base)
}
