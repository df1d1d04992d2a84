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
