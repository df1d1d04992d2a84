package cms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"

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
	ListPeers() []peer.ID
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

// maxDomainProviders bounds the providers one FindByDomain takes from the DHT.
const maxDomainProviders = 100

// maxParallelGets bounds FindByDomain's concurrent record lookups.
const maxParallelGets = 8

// Store publishes this node's capability record and caches every other
// peer's. Each piece of its state has one owning goroutine, which the others
// reach only through channels (go-libp2p-pubsub's processLoop style):
//
//   - the cache loop (cache.go) owns other peers' records and what they
//     count against the caps;
//   - the publish loop (publish.go) builds and signs this node's records and
//     is the only writer of own;
//   - the DHT writer (dht.go) owns what was put and provided in the DHT;
//     the DHT fetcher (dht.go) owns the queue of joined peers to look up;
//   - the syncer loop (sync.go) owns when each peer was last pulled from;
//     its workers pull and feed the cache;
//   - the gossip receiver and the topic-event loop (gossip.go) own nothing:
//     they feed the cache, the syncer and the publish loop.
//
// Callers' goroutines (Get, FindByDomain, the gossip validator) read the DHT
// themselves and hand what they find to the cache loop. Close stops and
// awaits every goroutine.
type Store struct {
	// Set by New, read-only after.
	h      host.Host
	dht    Routing
	topic  Topic
	self   SelfSource
	cfg    config
	priv   crypto.PrivKey
	valid  Validator
	log    *slog.Logger
	m      *metrics
	sub    *pubsub.Subscription
	events *pubsub.TopicEventHandler

	// own is this node's latest signed record (nil before the first): the
	// publish loop writes it, anyone reads it.
	own atomic.Pointer[Record]

	cache   *cache
	pub     *publisher
	writer  *dhtWriter
	fetcher *fetcher
	meet    *meeter
	sync    *syncer

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
	m := newMetrics()
	// Room for a burst of announcements (a forming swarm's members each
	// announcing once) while the receiver verifies signatures.
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
		valid:  Validator{Now: cfg.now},
		log:    cfg.log.With("topic", t.String()),
		m:      m,
		sub:    sub,
		events: events,
		ctx:    ctx,
		cancel: cancel,
	}
	s.cache = newCache(s)
	s.pub = newPublisher(s)
	s.writer = newDHTWriter(s)
	s.fetcher = newFetcher(s)
	s.meet = newMeeter(s)
	s.sync = newSyncer(s)
	runs := []func(){s.cache.run, s.pub.run, s.writer.run, s.fetcher.run, s.receiveLoop, s.eventLoop, s.sync.run}
	for range meetWorkers {
		runs = append(runs, s.meet.run)
	}
	for range syncWorkers {
		runs = append(runs, s.sync.work)
	}
	for _, run := range runs {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			run()
		}()
	}
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
func (s *Store) Changed() { signal(s.pub.changed) }

// Refresh publishes a new record of this node now and waits for its gossip
// announcement and DHT put (and any due provider records). Errors name which
// part failed; the record is cached as Self even if the DHT put failed.
func (s *Store) Refresh(ctx context.Context) error {
	rec, err := s.pub.refresh(ctx)
	if rec == nil {
		return err
	}
	return errors.Join(err, s.writer.put(ctx, rec))
}

// Self is this node's latest published record, or nil before the first.
func (s *Store) Self() *Record { return s.own.Load() }

// Records returns the unexpired records of every other known peer, sorted by
// peer id. The records are shared and must not be modified.
func (s *Store) Records() []*Record { return s.cache.list() }

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
	// This node's own lookups are the source of what the DHT returns, so a
	// flood of provider records fills one source's share of the cache at most.
	if err := s.cache.put(rec, viaDHT, s.h.ID()); err != nil && !errors.Is(err, errStale) {
		return nil, fmt.Errorf("get record of %s: %w", p, err)
	}
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

// Views renders this node's record (first, if published) and every other
// known record: the records GET /swarm/v1/cms serves.
func (s *Store) Views() []RecordView {
	var out []RecordView
	if r := s.Self(); r != nil {
		out = append(out, r.View(true))
	}
	for _, r := range s.Records() {
		out = append(out, r.View(false))
	}
	return out
}

// cached returns p's unexpired cached record, or nil.
func (s *Store) cached(p peer.ID) *Record { return s.cache.get(p) }

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
