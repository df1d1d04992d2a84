package cmssync

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults. A pull answers the store's syncer, which bounds each pull at 5 s
// itself; a serve allows twice that, so a slow but honest asker still reads
// its answer, while a stalled one holds a slot no longer.
const (
	DefaultPullTimeout  = 5 * time.Second
	DefaultServeTimeout = 10 * time.Second
	// DefaultMaxServes is how many pulls this node serves at once. A serve is
	// a map lookup and at most protocol.MaxSyncRecords small frames; more at
	// once only lets a crowd of askers take the link.
	DefaultMaxServes = 4
)

type config struct {
	log          *slog.Logger
	pullTimeout  time.Duration
	serveTimeout time.Duration
	maxServes    int
}

// Option configures a Service.
type Option func(*config)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithPullTimeout bounds one pull (default DefaultPullTimeout); a pull's
// context can only shorten it.
func WithPullTimeout(d time.Duration) Option { return func(c *config) { c.pullTimeout = d } }

// WithServeTimeout bounds one serve from its stream's opening (default
// DefaultServeTimeout).
func WithServeTimeout(d time.Duration) Option { return func(c *config) { c.serveTimeout = d } }

// WithMaxServes sets how many pulls are served at once (default
// DefaultMaxServes).
func WithMaxServes(n int) Option { return func(c *config) { c.maxServes = n } }

func defaults() config {
	return config{
		log:          slog.Default(),
		pullTimeout:  DefaultPullTimeout,
		serveTimeout: DefaultServeTimeout,
		maxServes:    DefaultMaxServes,
	}
}

func (c config) validate() error {
	switch {
	case c.log == nil:
		return fmt.Errorf("nil logger")
	case c.pullTimeout <= 0:
		return fmt.Errorf("pull timeout %s not positive", c.pullTimeout)
	case c.serveTimeout <= 0:
		return fmt.Errorf("serve timeout %s not positive", c.serveTimeout)
	case c.maxServes <= 0:
		return fmt.Errorf("max serves %d not positive", c.maxServes)
	}
	return nil
}
