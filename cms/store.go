package cms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	kb "github.com/libp2p/go-libp2p-kbucket"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"
	"google.golang.org/protobuf/proto"

	"github.com/swarmllm/swarmllm/cms/cmspb"
)

// Routing is what the store uses of the DHT (*dht.IpfsDHT satisfies it).
type Routing interface {
	PutValue(ctx context.Context, key string, value []byte, opts ...routing.Option) error
	GetValue(ctx context.Context, key string, opts ...routing.Option) ([]byte, error)
	Provide(ctx context.Context, key cid.Cid, announce bool) error
	FindProvidersAsync(ctx context.Context, key cid.Cid, count int) <-chan peer.AddrInfo
}

// Topic is what the store uses of the joined /swarmllm/v1/cms gossip topic
// (*pubsub.Topic satisfies it).
type Topic interface {
	String() string
	Publish(ctx context.Context, data []byte, opts ...pubsub.PubOpt) error
	Subscribe(opts ...pubsub.SubOpt) (*pubsub.Subscription, error)
	EventHandler(opts ...pubsub.TopicEventHandlerOpt) (*pubsub.TopicEventHandler, error)
}

// SelfSource describes this node now: model facts (Ollama /api/show),
// configured domains, description and sources, measured performance, load
// and health. The store fills in, overriding anything set, schema_version,
// peer_id, seq, issued/expires and description_embedding; it uses the host's
// addresses when addrs is empty, and normalizes and de-duplicates domains.
// It must not hold on to the returned record.
type SelfSource interface {
	CapabilityRecord(ctx context.Context) (*cmspb.CapabilityRecord, error)
}

// SelfFunc adapts a function to SelfSource.
type SelfFunc func(ctx context.Context) (*cmspb.CapabilityRecord, error)

// CapabilityRecord implements SelfSource.
func (f SelfFunc) CapabilityRecord(ctx context.Context) (*cmspb.CapabilityRecord, error) {
	return f(ctx)
}

// joinFetchDelay is how long after a peer joins the topic the store looks
// its record up in the DHT if gossip has not delivered it by then; gossip
// normally does within tens of milliseconds, so this is the rare fallback.
const joinFetchDelay = time.Second

// dhtMinInterval bounds how often the store writes its record to the DHT
// (at most TTL/6, so short test TTLs still refresh in time).
const dhtMinInterval = 5 * time.Second

// joinSettle is how long after a peer joins the topic the store announces
// its record to it (see publishLoop).
const joinSettle = 20 * time.Millisecond

// maxDomainProviders bounds the providers one FindByDomain takes from the DHT.
const maxDomainProviders = 100

// maxParallelGets bounds FindByDomain's concurrent record lookups.
const maxParallelGets = 8

// Store publishes this node's capability record and caches every other
// peer's. It runs five goroutines (publish loop, gossip receiver, topic peer
// events, DHT writer, DHT fetcher for joined peers), all stopped and awaited
// by Close.
type Store struct {
	h     host.Host
	dht   Routing
	topic Topic
	self  SelfSource
	cfg   config
	priv  crypto.PrivKey
	valid Validator
	log   *slog.Logger
	m     *metrics

	sub    *pubsub.Subscription
	events *pubsub.TopicEventHandler

	// mu owns the cache: peers (other peers' records; expired ones are
	// dropped by the sweep and never returned) and selfRec.
	mu      sync.Mutex
	peers   map[peer.ID]*Record
	selfRec *Record

	// pubMu serializes building and signing this node's records and owns
	// what that needs across publications.
	pubMu     sync.Mutex
	lastSeq   uint64
	embedText string
	embedVec  *cmspb.Embedding

	// dhtMu serializes DHT writes of this node's record and owns their state.
	dhtMu    sync.Mutex
	putSeq   uint64
	provided map[string]time.Time // domain → last successful Provide

	changed  chan struct{}  // Changed → publish loop (cap 1)
	joined   chan struct{}  // a peer joined the topic → publish loop (cap 1)
	newcomer chan struct{}  // an unknown peer's record arrived → publish loop (cap 1)
	dhtQueue chan *Record   // publish loop → DHT writer (cap 1, latest wins)
	dhtKick  chan struct{}  // peer joined → DHT writer retries a failed write (cap 1)
	fetchQ   chan joinFetch // peer joined → DHT fetcher, in due order (cap 256, drops when full)

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New starts a store for host h publishing self's record through d and t.
// It returns at once: the first record is published in the background (call
// Refresh to wait for one). Register GossipValidator on the pubsub for t's
// topic so invalid announcements are refused before they are relayed.
func New(h host.Host, d Routing, t Topic, self SelfSource, opts ...Option) (*Store, error) {
	if h == nil || d == nil || t == nil || self == nil {
		return nil, errors.New("new cms store: nil host, routing, topic or self source")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("new cms store: %w", err)
	}
	priv := h.Peerstore().PrivKey(h.ID())
	if priv == nil {
		return nil, fmt.Errorf("new cms store: no private key for host %s", h.ID())
	}
	m, err := newMetrics(cfg.registerer)
	if err != nil {
		return nil, fmt.Errorf("new cms store: %w", err)
	}
	// Room for a burst of announcements (every peer re-announcing when a
	// node joins) while the receiver verifies signatures.
	sub, err := t.Subscribe(pubsub.WithBufferSize(256))
	if err != nil {
		return nil, fmt.Errorf("new cms store: subscribe %s: %w", t, err)
	}
	events, err := t.EventHandler()
	if err != nil {
		sub.Cancel()
		return nil, fmt.Errorf("new cms store: topic events %s: %w", t, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{
		h: h, dht: d, topic: t, self: self, cfg: cfg, priv: priv,
		valid:    Validator{Now: cfg.now},
		log:      cfg.log.With("topic", t.String()),
		m:        m,
		sub:      sub,
		events:   events,
		peers:    make(map[peer.ID]*Record),
		provided: make(map[string]time.Time),
		changed:  make(chan struct{}, 1),
		joined:   make(chan struct{}, 1),
		newcomer: make(chan struct{}, 1),
		dhtQueue: make(chan *Record, 1),
		dhtKick:  make(chan struct{}, 1),
		fetchQ:   make(chan joinFetch, 256),
		ctx:      ctx,
		cancel:   cancel,
	}
	s.wg.Add(5)
	go s.publishLoop()
	go s.receiveLoop()
	go s.eventLoop()
	go s.dhtLoop()
	go s.fetchLoop()
	return s, nil
}

// Close stops the store's goroutines and waits for them. The record already
// published stays valid until it expires. Idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.events.Cancel()
		s.sub.Cancel()
		s.wg.Wait()
	})
	return nil
}

// Changed tells the store this node's description changed (model, load,
// health, ...): it publishes a new record at once, or at the end of the
// minimum publish interval if it published very recently. Never blocks.
func (s *Store) Changed() { signal(s.changed) }

// Refresh publishes a new record of this node now and waits for its gossip
// announcement and DHT put (and any due provider records). Errors name which
// part failed; the record is cached as Self even if the DHT put failed.
func (s *Store) Refresh(ctx context.Context) error {
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	rec, err := s.publish(ctx)
	if rec == nil {
		return err
	}
	return errors.Join(err, s.putDHT(ctx, rec))
}

// Self is this node's latest published record, or nil before the first.
func (s *Store) Self() *Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.selfRec
}

// Records returns the unexpired records of every other known peer, sorted by
// peer id. The records are shared and must not be modified.
func (s *Store) Records() []*Record {
	now := s.cfg.now()
	s.mu.Lock()
	out := make([]*Record, 0, len(s.peers))
	for _, r := range s.peers {
		if !r.Expired(now) {
			out = append(out, r)
		}
	}
	s.mu.Unlock()
	sortByPeer(out)
	return out
}

// Get returns p's record from the cache, or else from the DHT (caching it).
// It wraps ErrNotFound when no valid record exists; ErrClosed after Close.
func (s *Store) Get(ctx context.Context, p peer.ID) (*Record, error) {
	if s.ctx.Err() != nil {
		return nil, ErrClosed
	}
	if p == s.h.ID() {
		if r := s.Self(); r != nil {
			return r, nil
		}
		return nil, fmt.Errorf("get own record: %w", ErrNotFound)
	}
	if r := s.cached(p); r != nil {
		return r, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.opTimeout)
	defer cancel()
	start := time.Now()
	raw, err := s.dht.GetValue(ctx, Key(p))
	s.m.lookup.WithLabelValues("peer").Observe(time.Since(start).Seconds())
	if errors.Is(err, routing.ErrNotFound) {
		return nil, fmt.Errorf("get record of %s: %w", p, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get record of %s from dht: %w", p, err)
	}
	rec, err := s.valid.open(Key(p), raw)
	if err != nil {
		s.m.received.WithLabelValues(viaDHT, resultInvalid).Inc()
		return nil, fmt.Errorf("get record of %s: %w", p, err)
	}
	s.accept(rec, viaDHT)
	if r := s.cached(p); r != nil {
		return r, nil // rec, or a newer one gossip delivered meanwhile
	}
	return nil, fmt.Errorf("get record of %s: %w", p, ErrNotFound) // expired meanwhile
}

// FindByDomain returns the unexpired records of other peers that declare
// domain: those in the cache, plus the DHT's providers of DomainCID(domain)
// (fetched with Get), so it works through the DHT alone. Sorted by peer id;
// empty when nobody declares it (or the lookup timed out: what was found by
// then is returned). ErrClosed after Close.
func (s *Store) FindByDomain(ctx context.Context, domain string) ([]*Record, error) {
	if s.ctx.Err() != nil {
		return nil, ErrClosed
	}
	d := NormalizeDomain(domain)
	c, err := DomainCID(d)
	if err != nil {
		return nil, fmt.Errorf("find by domain: %w", err)
	}
	found := make(map[peer.ID]*Record)
	for _, r := range s.Records() {
		if r.HasDomain(d) {
			found[r.Peer] = r
		}
	}

	ctx, cancel := context.WithTimeout(ctx, s.cfg.opTimeout)
	defer cancel()
	start := time.Now()
	var (
		mu  sync.Mutex // owns found while the lookups below run
		wg  sync.WaitGroup
		sem = make(chan struct{}, maxParallelGets)
	)
	for ai := range s.dht.FindProvidersAsync(ctx, c, maxDomainProviders) {
		mu.Lock()
		_, known := found[ai.ID]
		mu.Unlock()
		if known || ai.ID == s.h.ID() {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(p peer.ID) {
			defer func() { <-sem; wg.Done() }()
			r, err := s.Get(ctx, p)
			if err != nil {
				// Providers outlive records: a peer that left or dropped the domain.
				s.log.Debug("domain provider without record", "peer", p, "err", err)
				return
			}
			if r.HasDomain(d) {
				mu.Lock()
				found[p] = r
				mu.Unlock()
			}
		}(ai.ID)
	}
	wg.Wait()
	s.m.lookup.WithLabelValues("domain").Observe(time.Since(start).Seconds())
	out := make([]*Record, 0, len(found))
	for _, r := range found {
		out = append(out, r)
	}
	sortByPeer(out)
	return out, nil
}

// GossipValidator is the pubsub validator of the capability topic:
// it rejects envelopes Open refuses (forged, tampered, oversized, garbage)
// and records whose owner is not the message's author; it ignores (drops
// without penalizing the relay) expired records and records older than the
// cached one. Register it with ps.RegisterTopicValidator(protocol.TopicCMS, …).
func (s *Store) GossipValidator() pubsub.ValidatorEx {
	return func(_ context.Context, _ peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		rec, err := s.checkGossip(msg)
		switch {
		case err == nil:
			msg.ValidatorData = rec
			return pubsub.ValidationAccept
		case errors.Is(err, ErrExpired), errors.Is(err, errStale):
			s.log.Debug("ignore capability announcement", "peer", msg.GetFrom(), "err", err)
			return pubsub.ValidationIgnore
		default:
			s.m.received.WithLabelValues(viaGossip, resultInvalid).Inc()
			s.log.Info("reject capability announcement", "peer", msg.GetFrom(), "err", err)
			return pubsub.ValidationReject
		}
	}
}

// errStale marks an announcement older than the cached record.
var errStale = errors.New("capability record older than cached")

func (s *Store) checkGossip(msg *pubsub.Message) (*Record, error) {
	// Most announcements repeat a record already verified (re-announcements
	// to newcomers reach everyone): skip the signature check for those.
	// pubsub's StrictSign has already authenticated the author.
	author := msg.GetFrom()
	if old := s.cached(author); old != nil && bytes.Equal(old.Raw, msg.GetData()) {
		return old, nil
	}
	if own := s.Self(); author == s.h.ID() && own != nil && bytes.Equal(own.Raw, msg.GetData()) {
		return own, nil
	}
	rec, err := Open(msg.GetData(), s.cfg.now())
	if err != nil {
		return nil, err
	}
	if rec.Peer != author {
		return nil, fmt.Errorf("record of %s announced by %s: %w", rec.Peer, author, ErrWrongOwner)
	}
	if old := s.cached(rec.Peer); old != nil && better(old, rec) {
		return nil, fmt.Errorf("seq %d < cached %d: %w", rec.Seq(), old.Seq(), errStale)
	}
	return rec, nil
}

// cached returns p's unexpired cached record, or nil.
func (s *Store) cached(p peer.ID) *Record {
	now := s.cfg.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.peers[p]; r != nil && !r.Expired(now) {
		return r
	}
	return nil
}

// accept caches rec unless the cache holds one at least as good, and
// re-announces this node's record when rec's peer was unknown, so a node
// that just joined learns every record within one round of gossip.
func (s *Store) accept(rec *Record, via string) {
	if rec.Peer == s.h.ID() {
		return
	}
	now := s.cfg.now()
	s.mu.Lock()
	old := s.peers[rec.Peer]
	fresh := old == nil || old.Expired(now)
	if !rec.Expired(now) && (fresh || better(rec, old)) {
		s.peers[rec.Peer] = rec
		s.mu.Unlock()
		s.m.received.WithLabelValues(via, resultAccepted).Inc()
		s.updateGauge()
		if fresh {
			s.log.Debug("new capability record", "peer", rec.Peer, "seq", rec.Seq())
			signal(s.newcomer)
		}
		return
	}
	s.mu.Unlock()
	s.m.received.WithLabelValues(via, resultStale).Inc()
}

func (s *Store) updateGauge() {
	s.m.records.Set(float64(len(s.Records())))
}

// sweep drops expired records.
func (s *Store) sweep() {
	now := s.cfg.now()
	s.mu.Lock()
	n := 0
	for p, r := range s.peers {
		if r.Expired(now) {
			delete(s.peers, p)
			n++
		}
	}
	s.mu.Unlock()
	if n > 0 {
		s.m.expired.Add(float64(n))
		s.updateGauge()
	}
}

// publish builds, signs and caches a new record of this node and announces
// it on the topic. It returns the record when it was signed, even if the
// announcement failed.
func (s *Store) publish(ctx context.Context) (*Record, error) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, s.cfg.opTimeout)
	defer cancel()
	desc, err := s.self.CapabilityRecord(ctx)
	if err == nil && desc == nil {
		err = errors.New("nil record")
	}
	if err != nil {
		return nil, fmt.Errorf("publish: %w: %w", ErrSelfSource, err)
	}
	f := proto.CloneOf(desc)
	now := s.cfg.now()
	seq := max(s.lastSeq+1, uint64(max(now.UnixMilli(), 0))) // time-based so it grows across restarts
	f.SchemaVersion = SchemaVersion
	f.PeerId = []byte(s.h.ID())
	f.Seq = seq
	f.IssuedUnixMs = now.UnixMilli()
	f.ExpiresUnixMs = now.Add(s.cfg.ttl).UnixMilli()
	if len(f.Addrs) == 0 {
		for _, a := range s.h.Addrs() {
			if len(f.Addrs) < MaxListLen {
				f.Addrs = append(f.Addrs, a.Bytes())
			}
		}
	}
	f.Domains = normalizeDomains(f.Domains)
	f.DescriptionEmbedding = s.embedding(ctx, ProfileText(f))

	raw, err := Seal(s.priv, f)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	rec, err := Open(raw, now)
	if err != nil {
		return nil, fmt.Errorf("publish: own record refused: %w", err)
	}
	s.lastSeq = seq
	s.mu.Lock()
	s.selfRec = rec
	s.mu.Unlock()

	err = s.topic.Publish(ctx, raw)
	s.m.publish.WithLabelValues(viaGossip, result(err)).Inc()
	if err != nil {
		return rec, fmt.Errorf("publish: announce seq %d: %w", seq, err)
	}
	return rec, nil
}

// embedding returns the published embedding of text, embedding it only when
// the text changed; on failure the record goes out without one (peers embed
// its text themselves) and the next publication tries again.
func (s *Store) embedding(ctx context.Context, text string) *cmspb.Embedding {
	e := s.cfg.embedder
	if e == nil || e.Model() == LexicalModel || text == "" {
		return nil
	}
	if text == s.embedText && s.embedVec != nil {
		return s.embedVec
	}
	vs, err := e.Embed(ctx, []string{text})
	if err == nil && (len(vs) != 1 || len(vs[0]) != e.Dim() || e.Dim() > MaxEmbeddingDim) {
		err = fmt.Errorf("embedder %s returned %d vectors, want 1 of dim %d (max %d)", e.Model(), len(vs), e.Dim(), MaxEmbeddingDim)
	}
	if err != nil {
		s.log.Warn("embed own description", "err", err)
		return nil
	}
	s.embedText = text
	s.embedVec = &cmspb.Embedding{Model: e.Model(), Dim: uint32(e.Dim()), Vector: vs[0]}
	return s.embedVec
}

// putDHT stores rec under this node's key, unless one at least as new is
// already there, and provides its domains that are due.
func (s *Store) putDHT(ctx context.Context, rec *Record) error {
	s.dhtMu.Lock()
	defer s.dhtMu.Unlock()
	var err error
	if rec.Seq() > s.putSeq {
		opCtx, cancel := context.WithTimeout(ctx, s.cfg.opTimeout)
		err = s.dht.PutValue(opCtx, Key(s.h.ID()), rec.Raw)
		cancel()
		s.m.publish.WithLabelValues(viaDHT, result(err)).Inc()
		if err != nil {
			err = fmt.Errorf("put record seq %d: %w", rec.Seq(), err)
		} else {
			s.putSeq = rec.Seq()
		}
	}

	domains := rec.Fields.GetDomains()
	for d := range s.provided {
		if !slices.Contains(domains, d) {
			delete(s.provided, d) // so declaring it again provides at once
		}
	}
	var errs []error
	for _, d := range domains {
		if last, ok := s.provided[d]; ok && time.Since(last) < s.cfg.provideInterval {
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
		s.provided[d] = time.Now()
	}
	return errors.Join(append([]error{err}, errs...)...)
}

// publishLoop publishes on start, every TTL/3, on Changed (throttled), and
// re-announces on topic joins and newcomers (throttled); it also sweeps.
func (s *Store) publishLoop() {
	defer s.wg.Done()
	refresh := time.NewTicker(s.cfg.ttl / 3)
	defer refresh.Stop()
	sweep := time.NewTicker(min(max(s.cfg.ttl/10, 100*time.Millisecond), 5*time.Second))
	defer sweep.Stop()
	pub := throttle{interval: s.cfg.minInterval}
	defer pub.stop()
	// Two throttles: announcing for a newcomer's record reaches direct peers
	// at once but others only through the gossip mesh, which a new peer
	// enters at the next heartbeat; the announcement for a peer that just
	// joined reaches that peer directly, so it must not wait behind the first.
	// It waits joinSettle instead: pubsub reports the join when the peer's
	// subscription arrives, possibly before our stream to it is open, and
	// drops what it cannot send.
	annJoin := throttle{interval: s.cfg.announceDelay, settle: joinSettle}
	defer annJoin.stop()
	annNew := throttle{interval: s.cfg.announceDelay}
	defer annNew.stop()
	var retry <-chan time.Time

	doPublish := func() {
		pub.ran()
		rec, err := s.publish(s.ctx)
		if err != nil && s.ctx.Err() == nil {
			s.log.Warn("publish capability record", "err", err)
		}
		retry = nil
		if rec == nil && s.ctx.Err() == nil {
			retry = time.After(min(s.cfg.ttl/3, 5*time.Second))
		}
		if rec != nil {
			s.queueDHT(rec)
		}
	}
	doAnnounce := func(t *throttle, reason string) {
		rec := s.Self()
		if rec == nil {
			return // the first publication will announce
		}
		t.ran()
		s.log.Debug("re-announce capability record", "reason", reason, "seq", rec.Seq())
		err := s.topic.Publish(s.ctx, rec.Raw)
		s.m.publish.WithLabelValues(viaGossip, result(err)).Inc()
		if err != nil && s.ctx.Err() == nil {
			s.log.Warn("re-announce capability record", "err", err)
		}
	}

	doPublish()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-refresh.C:
			doPublish()
		case <-retry:
			doPublish()
		case <-s.changed:
			if pub.request() {
				doPublish()
			}
		case <-pub.C():
			pub.fired()
			doPublish()
		case <-s.joined:
			if annJoin.request() {
				doAnnounce(&annJoin, "peer joined")
			}
		case <-annJoin.C():
			annJoin.fired()
			doAnnounce(&annJoin, "peer joined")
		case <-s.newcomer:
			if annNew.request() {
				doAnnounce(&annNew, "new peer record")
			}
		case <-annNew.C():
			annNew.fired()
			doAnnounce(&annNew, "new peer record")
		case <-sweep.C:
			s.sweep()
		}
	}
}

// queueDHT hands rec to the DHT writer, replacing a record still waiting.
func (s *Store) queueDHT(rec *Record) {
	for {
		select {
		case s.dhtQueue <- rec:
			return
		default:
		}
		select {
		case <-s.dhtQueue:
		default:
		}
	}
}

// dhtLoop writes queued records to the DHT, at most one per
// dhtMinInterval (the latest at the interval's end): load and health change
// often and reach LAN peers by gossip at once, while DHT readers can live
// with seconds of staleness. A failed write (typically: no DHT peers yet) is
// retried with the latest record after a backoff, and at once when a peer
// joins, so a node is findable through the DHT soon after it gets its first
// peer rather than at the next refresh.
func (s *Store) dhtLoop() {
	defer s.wg.Done()
	const firstBackoff = 500 * time.Millisecond
	var (
		retry   <-chan time.Time
		backoff = firstBackoff
		pending *Record
	)
	put := throttle{interval: min(dhtMinInterval, s.cfg.ttl/6)}
	defer put.stop()
	write := func(rec *Record) {
		put.ran()
		err := s.putDHT(s.ctx, rec)
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
		case pending = <-s.dhtQueue:
			if put.request() {
				writePending()
			}
		case <-put.C():
			put.fired()
			writePending()
		case <-retry:
			write(s.Self())
		case <-s.dhtKick:
			if retry != nil {
				write(s.Self())
			}
		}
	}
}

func (s *Store) receiveLoop() {
	defer s.wg.Done()
	for {
		msg, err := s.sub.Next(s.ctx)
		if err != nil {
			return // cancelled by Close
		}
		if msg.GetFrom() == s.h.ID() {
			continue
		}
		rec, ok := msg.ValidatorData.(*Record)
		if !ok { // GossipValidator not registered: check here instead
			if rec, err = s.checkGossip(msg); err != nil {
				s.m.received.WithLabelValues(viaGossip, resultInvalid).Inc()
				s.log.Debug("drop capability announcement", "peer", msg.GetFrom(), "err", err)
				continue
			}
		}
		s.accept(rec, viaGossip)
	}
}

func (s *Store) eventLoop() {
	defer s.wg.Done()
	for {
		ev, err := s.events.NextPeerEvent(s.ctx)
		if err != nil {
			return // cancelled by Close
		}
		if ev.Type == pubsub.PeerJoin {
			signal(s.joined)  // it can hear flood-published announcements now
			signal(s.dhtKick) // and may be the DHT peer a failed write lacked
			select {
			case s.fetchQ <- joinFetch{p: ev.Peer, due: time.Now().Add(joinFetchDelay)}:
			default: // a join storm: gossip and refreshes will do
			}
		}
	}
}

// joinFetch is a peer that joined the topic, to look up in the DHT at due
// unless its record arrived by gossip.
type joinFetch struct {
	p       peer.ID
	due     time.Time
	attempt int
}

// maxJoinFetches bounds the DHT lookups for one joined peer (its record may
// reach the DHT only after our first try).
const maxJoinFetches = 3

// fetchLoop looks up the records of joined peers that gossip did not deliver
// (an announcement can be lost while a new peer's gossip stream opens).
// Every entry is due joinFetchDelay after it was queued, so the queue is in
// due order.
func (s *Store) fetchLoop() {
	defer s.wg.Done()
	for {
		var jf joinFetch
		select {
		case <-s.ctx.Done():
			return
		case jf = <-s.fetchQ:
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
			case s.fetchQ <- joinFetch{p: jf.p, due: time.Now().Add(joinFetchDelay), attempt: jf.attempt + 1}:
			default:
			}
		}
	}
}

// throttle runs an action at most once per interval, on both edges: a
// request runs it at once if the last run was at least interval ago, else
// once when the interval is up. With settle > 0 it never runs at once: a
// request runs it after at least settle. Owned by one goroutine.
type throttle struct {
	interval time.Duration
	settle   time.Duration
	last     time.Time
	timer    *time.Timer // non-nil while a trailing run is pending
}

// request reports whether to run now; otherwise a run is (or was already)
// scheduled on C.
func (t *throttle) request() bool {
	if t.timer != nil {
		return false
	}
	wait := t.interval - time.Since(t.last)
	if wait <= 0 && t.settle <= 0 {
		return true
	}
	t.timer = time.NewTimer(max(wait, t.settle))
	return false
}

func (t *throttle) ran() { t.last = time.Now() }

func (t *throttle) fired() { t.timer = nil }

func (t *throttle) stop() {
	if t.timer != nil {
		t.timer.Stop()
	}
}

// C fires when a scheduled run is due (nil channel when none is).
func (t *throttle) C() <-chan time.Time {
	if t.timer == nil {
		return nil
	}
	return t.timer.C
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func normalizeDomains(in []string) []string {
	out := make([]string, 0, len(in))
	for _, d := range in {
		if d = NormalizeDomain(d); d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

func sortByPeer(rs []*Record) {
	slices.SortFunc(rs, func(a, b *Record) int { return strings.Compare(string(a.Peer), string(b.Peer)) })
}

// Views renders this node's record (first, if published) and every other
// known record for GET /swarm/v1/cms and `swarmllm peers`.
func (s *Store) Views() []RecordView {
	now := s.cfg.now()
	var out []RecordView
	if r := s.Self(); r != nil {
		out = append(out, r.View(now, true))
	}
	for _, r := range s.Records() {
		out = append(out, r.View(now, false))
	}
	return out
}
