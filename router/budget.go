package router

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Budget limits cloud FM use, per node and per API key:
//
//   - a share: at most MaxShare of the queries seen in the last hour (plus a
//     small burst, so the first queries after a quiet spell can still reach
//     the cloud);
//   - absolute caps on cloud calls and tokens per hour and per day, which
//     cheap queries cannot make headroom under;
//   - per key, calls and tokens per hour, and the key's queries per hour.
//
// A zero limit is no limit. A cloud call is reserved before it is made
// (Reserve, with an estimate of its tokens) and settled after it with the
// tokens it really used (Settle; Release when it failed), so concurrent
// queries cannot overshoot a cap by more than one call's estimate error.
// With WithSwarm a call must also fit the node's share of the swarm-wide
// caps (SwarmBudget). Windows slide in fixed slots (the hour in 60, the day in 96), so memory
// is constant however many queries pass.
//
// Time is passed in, never read. Budget holds its own mutex and is safe for
// concurrent use.
type Budget struct {
	maxShare float64
	burst    int64
	hourCap  Caps
	dayCap   Caps
	keyCaps  map[string]KeyCaps
	window   time.Duration // the "hour" window (WithWindow changes it for tests)
	nslots   int
	swarm    *SwarmBudget // the node's share of the swarm-wide caps (nil: none)

	mu   sync.Mutex // guards everything below
	hour *counter
	day  *counter
	keys map[string]*keyState
	held usage // reserved, not yet settled (node-wide)
}

// Caps are absolute limits on cloud use over a window; 0 is no limit.
type Caps struct {
	Calls  int64
	Tokens int64
}

// KeyCaps are one API key's limits per hour; 0 is no limit.
type KeyCaps struct {
	Requests    int64 // queries
	CloudCalls  int64
	CloudTokens int64
}

type keyState struct {
	caps KeyCaps
	hour *counter
	held usage
}

type usage struct{ queries, calls, tokens int64 }

// counter sums usage over a sliding window kept in fixed slots.
type counter struct {
	width int64 // nanoseconds per slot
	slots []counterSlot
}

type counterSlot struct {
	epoch int64 // which slot-width interval since the Unix epoch this slot holds
	usage
}

func newCounter(window time.Duration, n int) *counter {
	c := &counter{width: int64(window) / int64(n), slots: make([]counterSlot, n)}
	for i := range c.slots {
		c.slots[i].epoch = math.MinInt64
	}
	return c
}

func (c *counter) epochOf(now time.Time) int64 {
	ns := now.UnixNano()
	e := ns / c.width
	if ns%c.width < 0 { // floor division for times before 1970
		e--
	}
	return e
}

// add counts u at now. An event older than the slot's data (the clock went
// back by more than a window) is ignored.
func (c *counter) add(now time.Time, u usage) {
	e := c.epochOf(now)
	n := int64(len(c.slots))
	s := &c.slots[int(((e%n)+n)%n)]
	switch {
	case s.epoch == e:
	case s.epoch < e:
		*s = counterSlot{epoch: e}
	default:
		return
	}
	s.queries += u.queries
	s.calls += u.calls
	s.tokens += u.tokens
}

// sum is the usage of the window ending now. Slots "ahead" of a clock that
// went back a little still count: the budget errs on the side of spending less.
func (c *counter) sum(now time.Time) usage {
	e := c.epochOf(now)
	var u usage
	for _, s := range c.slots {
		if s.epoch > e-int64(len(c.slots)) {
			u.queries += s.queries
			u.calls += s.calls
			u.tokens += s.tokens
		}
	}
	return u
}

// BudgetUsage is what the node's windows hold now.
type BudgetUsage struct {
	Queries   int64   `json:"queries"`
	Calls     int64   `json:"cloud_calls"`
	Tokens    int64   `json:"cloud_tokens"`
	Share     float64 `json:"cloud_share"` // Calls / Queries, 0 with no queries
	DayCalls  int64   `json:"cloud_calls_day"`
	DayTokens int64   `json:"cloud_tokens_day"`
	Held      int64   `json:"cloud_calls_in_flight"` // reserved, not yet settled
}

// BudgetOption configures a Budget.
type BudgetOption func(*Budget)

// WithMaxShare caps the share of queries sent to the cloud, 0…1 (0: no cap).
func WithMaxShare(share float64) BudgetOption { return func(b *Budget) { b.maxShare = share } }

// WithMaxCalls caps cloud calls per hour and per day (0: no cap).
func WithMaxCalls(perHour, perDay int64) BudgetOption {
	return func(b *Budget) { b.hourCap.Calls, b.dayCap.Calls = perHour, perDay }
}

// WithMaxTokens caps cloud tokens (prompt + completion) per hour and per day (0: no cap).
func WithMaxTokens(perHour, perDay int64) BudgetOption {
	return func(b *Budget) { b.hourCap.Tokens, b.dayCap.Tokens = perHour, perDay }
}

// WithKeyCaps sets one API key's limits per hour.
func WithKeyCaps(key string, c KeyCaps) BudgetOption {
	return func(b *Budget) {
		if b.keyCaps == nil {
			b.keyCaps = map[string]KeyCaps{}
		}
		b.keyCaps[key] = c
	}
}

// WithSwarm makes every reservation also hold a call against the node's
// share of the swarm-wide caps; a call must fit both.
func WithSwarm(s *SwarmBudget) BudgetOption { return func(b *Budget) { b.swarm = s } }

// WithBurst sets how many cloud calls the share cap allows beyond
// MaxShare × queries (default 2).
func WithBurst(n int) BudgetOption { return func(b *Budget) { b.burst = int64(n) } }

// WithWindow sets the hourly window and how many slots it is kept in
// (defaults one hour, 60 slots); tests shorten it. The day window stays a day.
func WithWindow(d time.Duration, slots int) BudgetOption {
	return func(b *Budget) { b.window, b.nslots = d, slots }
}

const daySlots = 96 // 15 minutes each

// NewBudget builds a budget; with no options it allows everything and only counts.
func NewBudget(opts ...BudgetOption) (*Budget, error) {
	b := &Budget{burst: 2, window: time.Hour, nslots: 60}
	for _, o := range opts {
		o(b)
	}
	switch {
	case math.IsNaN(b.maxShare) || b.maxShare < 0 || b.maxShare > 1:
		return nil, fmt.Errorf("budget: max share %v: want 0…1: %w", b.maxShare, ErrInvalidConfig)
	case b.hourCap.Calls < 0 || b.hourCap.Tokens < 0 || b.dayCap.Calls < 0 || b.dayCap.Tokens < 0:
		return nil, fmt.Errorf("budget: caps %+v per hour, %+v per day: want ≥ 0: %w", b.hourCap, b.dayCap, ErrInvalidConfig)
	case b.burst < 0:
		return nil, fmt.Errorf("budget: burst %d: want ≥ 0: %w", b.burst, ErrInvalidConfig)
	case b.nslots < 1 || b.window < time.Duration(b.nslots):
		return nil, fmt.Errorf("budget: window %v in %d slots: want ≥ 1 slot of ≥ 1ns: %w", b.window, b.nslots, ErrInvalidConfig)
	}
	b.hour = newCounter(b.window, b.nslots)
	b.day = newCounter(24*time.Hour, daySlots)
	b.keys = map[string]*keyState{}
	for k, c := range b.keyCaps {
		if c.Requests < 0 || c.CloudCalls < 0 || c.CloudTokens < 0 {
			return nil, fmt.Errorf("budget: key %q caps %+v: want ≥ 0: %w", k, c, ErrInvalidConfig)
		}
		b.keys[k] = &keyState{caps: c, hour: newCounter(b.window, b.nslots)}
	}
	return b, nil
}

// Query counts one query (the denominator of the share). Call it once per query.
func (b *Budget) Query(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hour.add(now, usage{queries: 1})
}

// Admit counts one query of an API key against its requests-per-hour quota:
// nil, or an error wrapping ErrOverQuota (the query is then not counted).
// Keys without caps, and "" (no key), are always admitted.
func (b *Budget) Admit(now time.Time, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.keys[key]
	if k == nil {
		return nil
	}
	if k.caps.Requests > 0 {
		if u := k.hour.sum(now); u.queries >= k.caps.Requests {
			return fmt.Errorf("key %s made %d queries in the last %v, its quota: %w", key, u.queries, b.window, ErrOverQuota)
		}
	}
	k.hour.add(now, usage{queries: 1})
	return nil
}

// RetryAfter is how long until key's oldest counted query leaves the hourly
// window, so a key refused by Admit may be admitted again; 0 when nothing
// of key's is counted.
func (b *Budget) RetryAfter(now time.Time, key string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.keys[key]
	if k == nil {
		return 0
	}
	c := k.hour
	e, n := c.epochOf(now), int64(len(c.slots))
	oldest := int64(math.MaxInt64)
	for _, s := range c.slots {
		if s.epoch > e-n && s.queries > 0 {
			oldest = min(oldest, s.epoch)
		}
	}
	if oldest == math.MaxInt64 {
		return 0
	}
	return max(time.Duration((oldest+n)*c.width-now.UnixNano()), 0)
}

// Allow says whether one more cloud call for key fits the budget now: nil,
// or an error wrapping ErrOverBudget that names the limit reached.
func (b *Budget) Allow(now time.Time, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.checkLocked(now, key, 0); err != nil {
		return err
	}
	if b.swarm != nil {
		return b.swarm.Allow(now)
	}
	return nil
}

// Reservation is one cloud call reserved against the budget. Settle or
// Release it exactly once; later calls do nothing.
type Reservation struct {
	b      *Budget
	key    string
	tokens int64
	swarm  *SwarmReservation // nil without WithSwarm
	done   bool              // guarded by b.mu
}

// Reserve holds one cloud call and an estimate of its tokens for key (see
// EstimateCloudTokens), or refuses with an error wrapping ErrOverBudget.
func (b *Budget) Reserve(now time.Time, key string, tokens int) (*Reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := int64(max(tokens, 0))
	if err := b.checkLocked(now, key, t); err != nil {
		return nil, err
	}
	var sr *SwarmReservation
	if b.swarm != nil {
		var err error
		if sr, err = b.swarm.Reserve(now, tokens); err != nil {
			return nil, err
		}
	}
	held := usage{calls: 1, tokens: t}
	b.held = b.held.plus(held)
	if k := b.keys[key]; k != nil {
		k.held = k.held.plus(held)
	}
	return &Reservation{b: b, key: key, tokens: t, swarm: sr}, nil
}

// Settle records the call with the tokens it really used and frees the hold.
func (r *Reservation) Settle(now time.Time, tokens int) {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if !r.releaseLocked() {
		return
	}
	u := usage{calls: 1, tokens: int64(max(tokens, 0))}
	b.hour.add(now, u)
	b.day.add(now, u)
	if k := b.keys[r.key]; k != nil {
		k.hour.add(now, u)
	}
	if r.swarm != nil {
		r.swarm.Settle(now, tokens)
	}
}

// Release frees the hold of a call that was not made or failed.
func (r *Reservation) Release() {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if r.releaseLocked() && r.swarm != nil {
		r.swarm.Release()
	}
}

func (r *Reservation) releaseLocked() bool {
	if r.done {
		return false
	}
	r.done = true
	held := usage{calls: 1, tokens: r.tokens}
	r.b.held = r.b.held.minus(held)
	if k := r.b.keys[r.key]; k != nil {
		k.held = k.held.minus(held)
	}
	return true
}

func (u usage) plus(v usage) usage {
	return usage{u.queries + v.queries, u.calls + v.calls, u.tokens + v.tokens}
}

func (u usage) minus(v usage) usage {
	return usage{u.queries - v.queries, u.calls - v.calls, u.tokens - v.tokens}
}

// checkLocked says whether one more call of tokens fits every limit, counting
// what is held as already spent.
func (b *Budget) checkLocked(now time.Time, key string, tokens int64) error {
	h, d := b.hour.sum(now).plus(b.held), b.day.sum(now).plus(b.held)
	if b.maxShare > 0 {
		if allowed := int64(math.Floor(b.maxShare*float64(h.queries))) + b.burst; h.calls >= allowed {
			return fmt.Errorf("%d cloud calls for %d queries in the last %v reach the %.0f%% share: %w",
				h.calls, h.queries, b.window, 100*b.maxShare, ErrOverBudget)
		}
	}
	if err := capCheck("this node", b.window.String(), h, b.hourCap, tokens); err != nil {
		return err
	}
	if err := capCheck("this node", "day", d, b.dayCap, tokens); err != nil {
		return err
	}
	if k := b.keys[key]; k != nil {
		ku := k.hour.sum(now).plus(k.held)
		if err := capCheck("key "+key, b.window.String(), ku, Caps{Calls: k.caps.CloudCalls, Tokens: k.caps.CloudTokens}, tokens); err != nil {
			return err
		}
	}
	return nil
}

func capCheck(who, window string, u usage, c Caps, tokens int64) error {
	if c.Calls > 0 && u.calls+1 > c.Calls {
		return fmt.Errorf("%s made %d cloud calls in the last %s, its cap: %w", who, u.calls, window, ErrOverBudget)
	}
	// A call needs at least one token of room, and room for its estimate.
	if c.Tokens > 0 && u.tokens+max(tokens, 1) > c.Tokens {
		return fmt.Errorf("%s used %d of its %d cloud tokens in the last %s; this call needs about %d: %w",
			who, u.tokens, c.Tokens, window, tokens, ErrOverBudget)
	}
	return nil
}

// Usage sums the node's windows ending now.
func (b *Budget) Usage(now time.Time) BudgetUsage {
	b.mu.Lock()
	defer b.mu.Unlock()
	h, d := b.hour.sum(now), b.day.sum(now)
	u := BudgetUsage{Queries: h.queries, Calls: h.calls, Tokens: h.tokens, DayCalls: d.calls, DayTokens: d.tokens, Held: b.held.calls}
	if u.Queries > 0 {
		u.Share = float64(u.Calls) / float64(u.Queries)
	}
	return u
}

// DefaultCompletionEstimate is the completion length a reservation assumes
// when the request sets no max_tokens.
const DefaultCompletionEstimate = 512

// EstimateCloudTokens is what a cloud call is reserved at: the prompt at
// about four bytes a token, plus max_tokens (or DefaultCompletionEstimate).
func EstimateCloudTokens(promptBytes, maxTokens int) int {
	if maxTokens <= 0 {
		maxTokens = DefaultCompletionEstimate
	}
	return (max(promptBytes, 0)+3)/4 + maxTokens
}
