package router

import (
	"fmt"
	"sync"
	"time"
)

// BreakerState is where a circuit breaker stands.
type BreakerState int

const (
	// BreakerHealthy lets every call through.
	BreakerHealthy BreakerState = iota
	// BreakerExcluded lets no call through until its cooldown ends.
	BreakerExcluded
	// BreakerProbe lets one call through to see whether the target is back;
	// while that probe is out, no other call goes.
	BreakerProbe
)

var breakerStateNames = map[BreakerState]string{
	BreakerHealthy: "healthy", BreakerExcluded: "excluded", BreakerProbe: "probe",
}

func (s BreakerState) String() string { return enumName(breakerStateNames, s) }

// Breaker is a circuit breaker for one target (the cloud FM, a peer): a
// failed call — an error or a hang cut by its deadline — excludes the target
// for a cooldown that doubles with every failure in a row up to a maximum;
// after the cooldown one probe call goes, and only its success makes the
// target healthy again. So a hung target costs one call's deadline per
// cooldown, not one per query.
//
// Time is passed in, never read. Breaker holds its own mutex and is safe for
// concurrent use.
type Breaker struct {
	base, max time.Duration

	mu       sync.Mutex
	failures int       // failed calls in a row
	until    time.Time // excluded before this
	probing  bool      // a probe call is out
}

// NewBreaker returns a healthy breaker whose first cooldown is base, doubling
// up to max.
func NewBreaker(base, max time.Duration) (*Breaker, error) {
	if base <= 0 || max < base {
		return nil, fmt.Errorf("new breaker: cooldown %v, max %v: %w", base, max, ErrInvalidConfig)
	}
	return &Breaker{base: base, max: max}, nil
}

// State is where the breaker stands at now. BreakerProbe means a call may go
// as the probe; it reads as BreakerExcluded while that probe is out.
func (b *Breaker) State(now time.Time) BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stateLocked(now)
}

func (b *Breaker) stateLocked(now time.Time) BreakerState {
	switch {
	case b.failures == 0:
		return BreakerHealthy
	case b.probing || now.Before(b.until):
		return BreakerExcluded
	default:
		return BreakerProbe
	}
}

// Allow says whether a call may go at now; when the call is the probe, it
// takes the probe's slot, so of many concurrent callers only one gets
// through. Every allowed call must be followed by Success or Failure.
func (b *Breaker) Allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.stateLocked(now) {
	case BreakerHealthy:
		return true
	case BreakerProbe:
		b.probing = true
		return true
	default:
		return false
	}
}

// Success records a call that answered: the target is healthy.
func (b *Breaker) Success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.probing, b.until = 0, false, time.Time{}
}

// Reachable ends a cooldown early: the target showed it is back by other
// means (it reconnected), so the next call may go as the probe instead of
// waiting out the cooldown. The failures in a row stand, so a failed probe
// excludes it for the doubled cooldown; a probe already out is left alone.
func (b *Breaker) Reachable() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures > 0 && !b.probing {
		b.until = time.Time{}
	}
}

// Failure records a call that failed or hung at now: the target is excluded
// for the next cooldown.
func (b *Breaker) Failure(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cool := b.base
	for i := 0; i < b.failures && cool < b.max; i++ {
		cool *= 2
	}
	b.failures++
	b.probing = false
	b.until = now.Add(min(cool, b.max))
}

// Breakers keeps one Breaker per target (peer id), each as Breaker
// describes; a target with no failures holds no memory. At most maxTargets
// targets are remembered: past that, the least recently failed one is
// forgotten (healthy again).
//
// Time is passed in, never read. Breakers is safe for concurrent use.
type Breakers struct {
	base, max  time.Duration
	maxTargets int

	mu sync.Mutex
	by map[string]*Breaker
}

// NewBreakers returns breakers whose first cooldown is base, doubling up to
// max, remembering at most maxTargets failing targets.
func NewBreakers(base, max time.Duration, maxTargets int) (*Breakers, error) {
	if _, err := NewBreaker(base, max); err != nil {
		return nil, err
	}
	if maxTargets < 1 {
		return nil, fmt.Errorf("new breakers: %d targets: %w", maxTargets, ErrInvalidConfig)
	}
	return &Breakers{base: base, max: max, maxTargets: maxTargets, by: map[string]*Breaker{}}, nil
}

func (bs *Breakers) get(target string) *Breaker {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bs.by[target]
}

// State is where target's breaker stands at now (BreakerHealthy when it has
// none).
func (bs *Breakers) State(target string, now time.Time) BreakerState {
	if b := bs.get(target); b != nil {
		return b.State(now)
	}
	return BreakerHealthy
}

// Allow says whether a call to target may go at now (Breaker.Allow).
func (bs *Breakers) Allow(target string, now time.Time) bool {
	if b := bs.get(target); b != nil {
		return b.Allow(now)
	}
	return true
}

// Success records that target answered: it is healthy and forgotten.
func (bs *Breakers) Success(target string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	delete(bs.by, target)
}

// Reachable ends target's cooldown early (Breaker.Reachable); a target
// without failures has nothing to end.
func (bs *Breakers) Reachable(target string) {
	if b := bs.get(target); b != nil {
		b.Reachable()
	}
}

// Failure records that a call to target failed or hung at now.
func (bs *Breakers) Failure(target string, now time.Time) {
	bs.mu.Lock()
	b := bs.by[target]
	if b == nil {
		if len(bs.by) >= bs.maxTargets {
			bs.evictLocked()
		}
		b = &Breaker{base: bs.base, max: bs.max}
		bs.by[target] = b
	}
	bs.mu.Unlock()
	b.Failure(now)
}

// evictLocked forgets the target whose exclusion ends first.
func (bs *Breakers) evictLocked() {
	var oldest string
	var until time.Time
	for k, b := range bs.by {
		b.mu.Lock()
		u := b.until
		b.mu.Unlock()
		if oldest == "" || u.Before(until) {
			oldest, until = k, u
		}
	}
	delete(bs.by, oldest)
}
