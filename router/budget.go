package router

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Budget limits cloud FM use over a sliding window (default one hour): at
// most MaxShare of the queries seen in the window (plus a small burst, so
// the first queries after a quiet spell can still reach the cloud) and at
// most MaxTokens tokens. A zero limit is no limit. The window is kept in
// fixed slots (default 60), so memory is constant however many queries
// pass; a slot's events leave the window together.
//
// Time is passed in, never read. Budget holds its own mutex and is safe for
// concurrent use; Allow and Record are separate calls, so concurrent queries
// may overshoot a limit by at most the number of cloud calls in flight.
type Budget struct {
	maxShare  float64
	maxTokens int64
	burst     int64
	window    time.Duration
	nslots    int

	mu    sync.Mutex // guards slots
	slots []budgetSlot
}

type budgetSlot struct {
	epoch                 int64 // which slot-length interval since the Unix epoch this slot holds
	queries, calls, token int64
}

// BudgetUsage is what the window holds now.
type BudgetUsage struct {
	Queries int64   `json:"queries"`
	Calls   int64   `json:"cloud_calls"`
	Tokens  int64   `json:"cloud_tokens"`
	Share   float64 `json:"cloud_share"` // Calls / Queries, 0 with no queries
}

// BudgetOption configures a Budget.
type BudgetOption func(*Budget)

// WithMaxShare caps the share of queries sent to the cloud, 0…1 (0: no cap).
func WithMaxShare(share float64) BudgetOption { return func(b *Budget) { b.maxShare = share } }

// WithMaxTokens caps the cloud tokens (prompt + completion) per window (0: no cap).
func WithMaxTokens(n int64) BudgetOption { return func(b *Budget) { b.maxTokens = n } }

// WithBurst sets how many cloud calls the share cap allows beyond
// MaxShare × queries (default 2).
func WithBurst(n int) BudgetOption { return func(b *Budget) { b.burst = int64(n) } }

// WithWindow sets the sliding window and how many slots it is kept in
// (defaults one hour, 60 slots).
func WithWindow(d time.Duration, slots int) BudgetOption {
	return func(b *Budget) { b.window, b.nslots = d, slots }
}

// NewBudget builds a budget; with no options it allows everything and only counts.
func NewBudget(opts ...BudgetOption) (*Budget, error) {
	b := &Budget{burst: 2, window: time.Hour, nslots: 60}
	for _, o := range opts {
		o(b)
	}
	switch {
	case math.IsNaN(b.maxShare) || b.maxShare < 0 || b.maxShare > 1:
		return nil, fmt.Errorf("budget: max share %v: want 0…1: %w", b.maxShare, ErrInvalidConfig)
	case b.maxTokens < 0:
		return nil, fmt.Errorf("budget: max tokens %d: want ≥ 0: %w", b.maxTokens, ErrInvalidConfig)
	case b.burst < 0:
		return nil, fmt.Errorf("budget: burst %d: want ≥ 0: %w", b.burst, ErrInvalidConfig)
	case b.nslots < 1 || b.window < time.Duration(b.nslots):
		return nil, fmt.Errorf("budget: window %v in %d slots: want ≥ 1 slot of ≥ 1ns: %w", b.window, b.nslots, ErrInvalidConfig)
	}
	b.slots = make([]budgetSlot, b.nslots)
	for i := range b.slots {
		b.slots[i].epoch = math.MinInt64
	}
	return b, nil
}

func (b *Budget) epochOf(now time.Time) int64 {
	width := int64(b.window) / int64(b.nslots)
	ns := now.UnixNano()
	e := ns / width
	if ns%width < 0 { // floor division for times before 1970
		e--
	}
	return e
}

// slotLocked is the slot for now, cleared if it last held an older
// interval; nil if now is older than the slot's data (the clock went back by
// more than a window), in which case the event is ignored.
func (b *Budget) slotLocked(now time.Time) *budgetSlot {
	e := b.epochOf(now)
	s := &b.slots[int(((e%int64(b.nslots))+int64(b.nslots))%int64(b.nslots))]
	switch {
	case s.epoch == e:
	case s.epoch < e:
		*s = budgetSlot{epoch: e}
	default:
		return nil
	}
	return s
}

// Query counts one query (the denominator of the share). Call it once per query.
func (b *Budget) Query(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.slotLocked(now); s != nil {
		s.queries++
	}
}

// Record counts one cloud call and its tokens.
func (b *Budget) Record(now time.Time, tokens int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.slotLocked(now); s != nil {
		s.calls++
		s.token += int64(max(tokens, 0))
	}
}

// Allow says whether one more cloud call fits the budget now: nil, or an
// error wrapping ErrOverBudget that names the limit reached.
func (b *Budget) Allow(now time.Time) error {
	u := b.Usage(now)
	if b.maxShare > 0 {
		if allowed := int64(math.Floor(b.maxShare*float64(u.Queries))) + b.burst; u.Calls >= allowed {
			return fmt.Errorf("%d cloud calls for %d queries in the last %v reach the %.0f%% share: %w",
				u.Calls, u.Queries, b.window, 100*b.maxShare, ErrOverBudget)
		}
	}
	if b.maxTokens > 0 && u.Tokens >= b.maxTokens {
		return fmt.Errorf("%d cloud tokens in the last %v reach the cap of %d: %w", u.Tokens, b.window, b.maxTokens, ErrOverBudget)
	}
	return nil
}

// Usage sums the window ending now.
func (b *Budget) Usage(now time.Time) BudgetUsage {
	e := b.epochOf(now)
	b.mu.Lock()
	defer b.mu.Unlock()
	var u BudgetUsage
	for _, s := range b.slots {
		if s.epoch > e-int64(b.nslots) { // also counts slots "ahead" of a clock that went back a little
			u.Queries += s.queries
			u.Calls += s.calls
			u.Tokens += s.token
		}
	}
	if u.Queries > 0 {
		u.Share = float64(u.Calls) / float64(u.Queries)
	}
	return u
}
