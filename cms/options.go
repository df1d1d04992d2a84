package cms

import (
	"fmt"
	"log/slog"
	"time"
)

type config struct {
	ttl             time.Duration
	minInterval     time.Duration
	announceDelay   time.Duration
	provideInterval time.Duration
	opTimeout       time.Duration
	maxRecords      int
	maxPerSource    int
	strangerGrace   time.Duration
	syncInterval    time.Duration
	puller          Puller
	now             func() time.Time
	embedder        Embedder
	log             *slog.Logger
}

func defaultConfig() config {
	return config{
		ttl:             DefaultTTL,
		minInterval:     500 * time.Millisecond,
		announceDelay:   100 * time.Millisecond,
		provideInterval: 10 * time.Minute,
		opTimeout:       10 * time.Second,
		maxRecords:      DefaultMaxRecords,
		maxPerSource:    DefaultMaxRecordsPerSource,
		strangerGrace:   DefaultStrangerGrace,
		syncInterval:    DefaultSyncInterval,
		now:             time.Now,
		log:             slog.Default(),
	}
}

func (c config) validate() error {
	switch {
	case c.ttl < MinTTL || c.ttl > MaxTTL:
		return fmt.Errorf("ttl %s outside [%s, %s]", c.ttl, MinTTL, MaxTTL)
	case c.minInterval <= 0 || c.minInterval > c.ttl/3:
		return fmt.Errorf("min publish interval %s outside (0, ttl/3]", c.minInterval)
	case c.announceDelay <= 0:
		return fmt.Errorf("announce delay %s not positive", c.announceDelay)
	case c.provideInterval <= 0:
		return fmt.Errorf("provide interval %s not positive", c.provideInterval)
	case c.opTimeout <= 0:
		return fmt.Errorf("operation timeout %s not positive", c.opTimeout)
	case c.maxRecords <= 0 || c.maxPerSource <= 0:
		return fmt.Errorf("record limits %d in all, %d per source: not positive", c.maxRecords, c.maxPerSource)
	case c.strangerGrace <= 0:
		return fmt.Errorf("stranger grace %s not positive", c.strangerGrace)
	case c.syncInterval <= 0:
		return fmt.Errorf("sync interval %s not positive", c.syncInterval)
	case c.now == nil || c.log == nil:
		return fmt.Errorf("nil clock or logger")
	}
	return nil
}

// Option configures a Store.
type Option func(*config)

// WithTTL sets how long this node's records stay valid (default DefaultTTL,
// within [MinTTL, MaxTTL]); the store republishes every TTL/3.
func WithTTL(d time.Duration) Option { return func(c *config) { c.ttl = d } }

// WithMinPublishInterval bounds how often Changed leads to a new signed
// record (default 500 ms): a burst of changes becomes one record at the
// interval's end. At most TTL/3.
func WithMinPublishInterval(d time.Duration) Option { return func(c *config) { c.minInterval = d } }

// WithAnnounceDelay bounds how often the store announces again a record
// it published while the topic had no peers, as peers join (default 100 ms).
func WithAnnounceDelay(d time.Duration) Option { return func(c *config) { c.announceDelay = d } }

// WithProvideInterval sets how often each declared domain's provider record
// is re-announced in the DHT (default 10 min; also at once when a domain is added).
func WithProvideInterval(d time.Duration) Option { return func(c *config) { c.provideInterval = d } }

// WithOpTimeout bounds each DHT operation and SelfSource call (default 10 s).
func WithOpTimeout(d time.Duration) Option { return func(c *config) { c.opTimeout = d } }

// WithRecordLimits caps the cache of other peers' records: at most total in
// all (default DefaultMaxRecords) and perSource counted against one source
// (default DefaultMaxRecordsPerSource). A record's source is its owner once
// the owner has been connected to this node, else the gossip peer that
// relayed it, or this node for what its DHT lookups found.
func WithRecordLimits(total, perSource int) Option {
	return func(c *config) { c.maxRecords, c.maxPerSource = total, perSource }
}

// WithStrangerGrace sets how long the cache keeps the records of a peer that
// has never been connected to this node (default DefaultStrangerGrace).
func WithStrangerGrace(d time.Duration) Option { return func(c *config) { c.strangerGrace = d } }

// WithClock sets the clock records are stamped and judged by (default
// time.Now). Timers still run on real time.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithEmbedder makes the store publish the embedding of its ProfileText by
// e, so peers sharing e's model rank it without embedding anything. Without
// it (or with LexicalEmbedder, whose vectors any peer recomputes for free)
// records carry no embedding.
func WithEmbedder(e Embedder) Option { return func(c *config) { c.embedder = e } }

// WithPuller lets the store pull the records it lacks from peers it meets
// and, every sync interval, from one at random (sync.go). The node passes
// its protocol.CMSSyncProtocol client. Without one, a store learns records
// published before it joined only from the DHT (a joined peer's own) and at
// their owners' refreshes (every TTL/3).
func WithPuller(p Puller) Option { return func(c *config) { c.puller = p } }

// WithSyncInterval sets how often the store pulls from a random topic peer
// (default DefaultSyncInterval); used only with WithPuller.
func WithSyncInterval(d time.Duration) Option { return func(c *config) { c.syncInterval = d } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }
