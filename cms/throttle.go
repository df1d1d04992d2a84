package cms

import (
	"context"
	"time"
)

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

// serve runs do on each item of q until ctx ends: a worker's loop.
func serve[T any](ctx context.Context, q <-chan T, do func(T)) {
	for {
		select {
		case <-ctx.Done():
			return
		case v := <-q:
			do(v)
		}
	}
}

// signal wakes c's reader without blocking (c has capacity 1).
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
