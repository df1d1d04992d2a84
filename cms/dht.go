package cms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ipfs/go-cid"
	pb "github.com/libp2p/go-libp2p-kad-dht/pb"
	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/peer"
)

// dhtMinInterval bounds how often the store writes its record to the DHT
// (at most TTL/6, so short test TTLs still refresh in time).
const dhtMinInterval = 5 * time.Second

// dhtWriter writes this node's records and provider records to the DHT.
// Its loop (run) owns every field below the channels, so writes never overlap.
type dhtWriter struct {
	s *Store

	queueC chan *Record  // publish loop → run (cap 1, latest wins)
	kick   chan struct{} // a peer joined → run retries a failed write (cap 1)
	putQ   chan putReq   // Refresh → run: write now and reply

	// prober checks provides (nil: the DHT offers no way to).
	prober *pb.ProtocolMessenger

	// Owned by run.
	putSeq   uint64
	provided map[string]provision // domain → last successful Provide
}

// provision is one successful Provide: when, and how many peers the DHT's
// routing table held then (-1: unknown); and when to check that the peers
// closest to the key hold it (zero: checked, or no way to check), with the
// wait before the check after that.
type provision struct {
	at    time.Time
	peers int
	check time.Time
	wait  time.Duration
}

// settledPeers is the routing table size (the DHT's bucket size K) past which
// a provide reached the peers closest to its key as well as it can: before
// it, while the swarm forms, the closest peers found are only the closest
// known, and a reader that later walks to the real ones finds no provider.
const settledPeers = 20

// reprovideGap is the least time between two provides of a domain while
// the swarm forms: a swarm starting all at once doubles every node's table
// several times within seconds, and providing at each doubling is a storm
// of DHT puts when the swarm is busiest.
const reprovideGap = 30 * time.Second

// due says whether a domain provided as p must be provided again at now,
// with the routing table holding peers (-1: unknown): every interval, and
// while the swarm forms once the table has doubled since, at most every
// reprovideGap, so a provider record put while few peers were known
// reaches the closest ones once they are known. A DHT's own failed puts
// do not surface, so this is how a provider record is retried until it is
// where readers look.
func (p provision) due(now time.Time, peers int, interval time.Duration) bool {
	switch {
	case p.at.IsZero(), now.Sub(p.at) >= interval:
		return true
	case p.provisional() && peers >= 0 && now.Sub(p.at) >= reprovideGap:
		return peers >= 2*max(p.peers, 1)
	}
	return false
}

// provisional says whether the provide went out before the routing table
// settled.
func (p provision) provisional() bool { return p.peers >= 0 && p.peers < settledPeers }

// provisional says whether any domain was provided before the table settled.
func (w *dhtWriter) provisional() bool {
	for _, p := range w.provided {
		if p.provisional() {
			return true
		}
	}
	return false
}

// checkDelay is how long after a provide the writer first checks that it
// landed; each failed check provides again and waits twice as long (up to
// the provide interval) before the next.
const checkDelay = 5 * time.Second

// checkPeers is how many of the peers closest to a domain's key the check
// asks: a reader's lookup walks to the closest and asks each for providers,
// so one of them holding the record is enough to be found.
const checkPeers = 3

// providerProber is what a DHT offers to check that a provider record is
// where readers look (*dht.IpfsDHT does): the peers closest to a key, and
// its message sender to ask one of them for the key's providers. A DHT's
// Provide reports no failed put to those peers, and before the routing
// table fills it puts to the closest peers known, not the closest there are.
type providerProber interface {
	GetClosestPeers(ctx context.Context, key string) ([]peer.ID, error)
	MessageSender() pb.MessageSender
}

// routingTabler is what the writer reads of a DHT that has a routing table
// (*dht.IpfsDHT does): its size, to see the swarm grow.
type routingTabler interface {
	RoutingTable() *kb.RoutingTable
}

// routingPeers is the DHT's routing table size, -1 if it has none.
func (w *dhtWriter) routingPeers() int {
	if rt, ok := w.s.dht.(routingTabler); ok {
		return rt.RoutingTable().Size()
	}
	return -1
}

// provideDue says whether any domain of rec is due to be provided (again).
func (w *dhtWriter) provideDue(rec *Record) bool {
	now, peers := time.Now(), w.routingPeers()
	for _, d := range rec.Fields.GetDomains() {
		if w.provided[d].due(now, peers, w.s.cfg.provideInterval) {
			return true
		}
	}
	return false
}

type putReq struct {
	ctx   context.Context
	rec   *Record
	reply chan<- error
}

func newDHTWriter(s *Store) *dhtWriter {
	w := &dhtWriter{
		s:        s,
		queueC:   make(chan *Record, 1),
		kick:     make(chan struct{}, 1),
		putQ:     make(chan putReq),
		provided: make(map[string]provision),
	}
	if pr, ok := s.dht.(providerProber); ok {
		w.prober, _ = pb.NewProtocolMessenger(pr.MessageSender()) // errs only on a bad option
	}
	return w
}

// queue hands rec to the loop, replacing a record still waiting. Never blocks.
func (w *dhtWriter) queue(rec *Record) {
	for {
		select {
		case w.queueC <- rec:
			return
		default:
		}
		select {
		case <-w.queueC:
		default:
		}
	}
}

// put has the loop write rec now, under ctx, and returns the outcome.
func (w *dhtWriter) put(ctx context.Context, rec *Record) error {
	reply := make(chan error, 1)
	select {
	case w.putQ <- putReq{ctx: ctx, rec: rec, reply: reply}:
	case <-w.s.ctx.Done():
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("put record seq %d: %w", rec.Seq(), ctx.Err())
	}
	return <-reply // the loop answers every request it took
}

// run writes queued records to the DHT, at most one per dhtMinInterval (the
// latest at the interval's end): load and health change often and reach LAN
// peers by gossip at once, while DHT readers can live with seconds of
// staleness. A failed write (typically: no DHT peers yet) is retried with the
// latest record after a backoff, and at once when a peer joins, so a node is
// findable through the DHT soon after it gets its first peer rather than at
// the next refresh.
func (w *dhtWriter) run() {
	s := w.s
	const firstBackoff = 500 * time.Millisecond
	var (
		retry   <-chan time.Time
		recheck <-chan time.Time // a provisional provide is due to be checked
		check   *time.Timer      // a provide is due to be checked in the DHT
		backoff = firstBackoff
		pending *Record
	)
	defer func() {
		if check != nil {
			check.Stop()
		}
	}()
	// armCheck sets check for the earliest provide due to be checked.
	armCheck := func() {
		if check != nil {
			check.Stop()
			check = nil
		}
		if at := w.nextCheck(); !at.IsZero() {
			check = time.NewTimer(time.Until(at))
		}
	}
	checkC := func() <-chan time.Time {
		if check == nil {
			return nil
		}
		return check.C
	}
	put := throttle{interval: min(dhtMinInterval, s.cfg.ttl/6)}
	defer put.stop()
	write := func(rec *Record) {
		put.ran()
		err := w.write(s.ctx, rec)
		armCheck()
		recheck = nil
		if w.provisional() {
			recheck = time.After(reprovideGap)
		}
		if err == nil || s.ctx.Err() != nil {
			retry, backoff = nil, firstBackoff
			return
		}
		level := slog.LevelInfo
		if errors.Is(err, kb.ErrLookupFailure) {
			level = slog.LevelDebug // no DHT peers yet: expected until the first one joins
		}
		s.log.Log(s.ctx, level, "publish capability record to dht", "err", err, "retry_in", backoff)
		retry = time.After(backoff)
		backoff = min(2*backoff, s.cfg.ttl/3)
	}
	writePending := func() {
		if pending != nil {
			rec := pending
			pending = nil
			write(rec)
		}
	}
	for {
		select {
		case <-s.ctx.Done():
			return
		case req := <-w.putQ:
			req.reply <- w.write(req.ctx, req.rec)
			armCheck()
		case <-checkC():
			check = nil
			w.checkProvides(s.ctx)
			armCheck()
		case pending = <-w.queueC:
			if put.request() {
				writePending()
			}
		case <-put.C():
			put.fired()
			writePending()
		case <-retry:
			write(s.Self())
		case <-w.kick:
			// A joined peer may be the DHT peer a failed write lacked, or
			// grow the swarm enough that its closest peers lack our
			// provider records.
			if rec := s.Self(); retry != nil || (rec != nil && w.provideDue(rec)) {
				write(rec)
			}
		case <-recheck:
			if rec := s.Self(); rec != nil && w.provideDue(rec) {
				write(rec)
			} else {
				recheck = time.After(reprovideGap)
			}
		}
	}
}

// write stores rec under this node's key, unless one at least as new is
// already there, and provides its domains that are due. Run by the loop.
func (w *dhtWriter) write(ctx context.Context, rec *Record) error {
	s := w.s
	var err error
	if rec.Seq() > w.putSeq {
		opCtx, cancel := context.WithTimeout(ctx, s.cfg.opTimeout)
		err = s.dht.PutValue(opCtx, Key(s.h.ID()), rec.Raw)
		cancel()
		s.m.publish.WithLabelValues(viaDHT, result(err)).Inc()
		if err != nil {
			err = fmt.Errorf("put record seq %d: %w", rec.Seq(), err)
		} else {
			w.putSeq = rec.Seq()
		}
	}

	domains := rec.Fields.GetDomains()
	for d := range w.provided {
		if !slices.Contains(domains, d) {
			delete(w.provided, d) // so declaring it again provides at once
		}
	}
	var errs []error
	peers := w.routingPeers()
	for _, d := range domains {
		if !w.provided[d].due(time.Now(), peers, s.cfg.provideInterval) {
			continue
		}
		c, cerr := DomainCID(d)
		if cerr == nil {
			opCtx, cancel := context.WithTimeout(ctx, s.cfg.opTimeout)
			cerr = s.dht.Provide(opCtx, c, true)
			cancel()
		}
		s.m.publish.WithLabelValues(viaProvide, result(cerr)).Inc()
		if cerr != nil {
			errs = append(errs, fmt.Errorf("provide domain %q: %w", d, cerr))
			continue
		}
		w.provided[d] = w.provisionNow(peers, checkDelay)
	}
	return errors.Join(append([]error{err}, errs...)...)
}

// provisionNow is a provide done now with the routing table at peers, to
// be checked after wait (unchecked without a prober).
func (w *dhtWriter) provisionNow(peers int, wait time.Duration) provision {
	p := provision{at: time.Now(), peers: peers}
	if w.prober != nil {
		p.check, p.wait = p.at.Add(wait), wait
	}
	return p
}

// nextCheck is when the earliest provide is due to be checked (zero: none).
func (w *dhtWriter) nextCheck() time.Time {
	var at time.Time
	for _, p := range w.provided {
		if !p.check.IsZero() && (at.IsZero() || p.check.Before(at)) {
			at = p.check
		}
	}
	return at
}

// checkProvides checks the provides that are due: one the closest peers
// hold is done; one they lack (or that could not be checked) is provided
// again and checked after twice the wait. Run by the loop.
func (w *dhtWriter) checkProvides(ctx context.Context) {
	s := w.s
	now := time.Now()
	for d, p := range w.provided {
		if p.check.IsZero() || p.check.After(now) {
			continue
		}
		c, err := DomainCID(d)
		if err != nil {
			continue // provided, so it has a CID
		}
		held, err := w.held(ctx, c)
		s.m.publish.WithLabelValues(viaProvideCheck, checkResult(held, err)).Inc()
		if held {
			p.check = time.Time{}
			w.provided[d] = p
			continue
		}
		s.log.Debug("provider record not found where readers look; providing again", "domain", d, "err", err)
		opCtx, cancel := context.WithTimeout(ctx, s.cfg.opTimeout)
		err = s.dht.Provide(opCtx, c, true)
		cancel()
		s.m.publish.WithLabelValues(viaProvide, result(err)).Inc()
		wait := min(2*p.wait, s.cfg.provideInterval)
		if err == nil {
			w.provided[d] = w.provisionNow(w.routingPeers(), wait)
		} else {
			p.check, p.wait = now.Add(wait), wait
			w.provided[d] = p
		}
	}
}

// held says whether one of the checkPeers peers closest to c holds this
// node's provider record for it.
func (w *dhtWriter) held(ctx context.Context, c cid.Cid) (bool, error) {
	s := w.s
	ctx, cancel := context.WithTimeout(ctx, s.cfg.opTimeout)
	defer cancel()
	closest, err := s.dht.(providerProber).GetClosestPeers(ctx, string(c.Hash()))
	if err != nil {
		return false, fmt.Errorf("peers closest to %s: %w", c, err)
	}
	var errs []error
	for _, p := range closest[:min(checkPeers, len(closest))] {
		provs, _, err := w.prober.GetProviders(ctx, p, c.Hash())
		if err != nil {
			errs = append(errs, fmt.Errorf("providers of %s at %s: %w", c, p, err))
			continue
		}
		if slices.ContainsFunc(provs, func(ai *peer.AddrInfo) bool { return ai.ID == s.h.ID() }) {
			return true, nil
		}
	}
	return false, errors.Join(errs...)
}

// joinFetchDelay is how long after a peer joins the topic the store looks
// its record up in the DHT if gossip has not delivered it by then; gossip
// normally does within tens of milliseconds, so this is the rare fallback.
const joinFetchDelay = time.Second

// maxJoinFetches bounds the DHT lookups for one joined peer (its record may
// reach the DHT only after our first try).
const maxJoinFetches = 3

// fetcher looks up the records of joined peers that gossip did not deliver
// (an announcement can be lost while a new peer's gossip stream opens). Its
// loop (run) owns the queue's order: every entry is due joinFetchDelay after
// it was queued, so the queue is in due order.
type fetcher struct {
	s *Store
	q chan joinFetch // topic-event loop and run → run (cap 256, drops when full)
}

// joinFetch is a peer that joined the topic, to look up in the DHT at due
// unless its record arrived by gossip.
type joinFetch struct {
	p       peer.ID
	due     time.Time
	attempt int
}

func newFetcher(s *Store) *fetcher { return &fetcher{s: s, q: make(chan joinFetch, 256)} }

// joined queues p's lookup. Never blocks: in a join storm, gossip and
// refreshes will do.
func (f *fetcher) joined(p peer.ID) {
	select {
	case f.q <- joinFetch{p: p, due: time.Now().Add(joinFetchDelay)}:
	default:
	}
}

func (f *fetcher) run() {
	s := f.s
	for {
		var jf joinFetch
		select {
		case <-s.ctx.Done():
			return
		case jf = <-f.q:
		}
		wait := time.NewTimer(time.Until(jf.due))
		select {
		case <-s.ctx.Done():
			wait.Stop()
			return
		case <-wait.C:
		}
		if s.cached(jf.p) != nil {
			continue
		}
		_, err := s.Get(s.ctx, jf.p)
		if err == nil || s.ctx.Err() != nil {
			continue
		}
		s.log.Debug("fetch joined peer's record", "peer", jf.p, "attempt", jf.attempt, "err", err)
		if jf.attempt+1 < maxJoinFetches {
			// Due after everything queued so far, so the queue stays in due order.
			select {
			case f.q <- joinFetch{p: jf.p, due: time.Now().Add(joinFetchDelay), attempt: jf.attempt + 1}:
			default:
			}
		}
	}
}
