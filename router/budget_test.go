package router

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// spend makes one cloud call of tokens for key, failing the test if the
// budget refuses it.
func spend(t *testing.T, b *Budget, now time.Time, key string, tokens int) {
	t.Helper()
	r, err := b.Reserve(now, key, 0)
	if err != nil {
		t.Fatalf("reserve at %v for %q: %v", now, key, err)
	}
	r.Settle(now, tokens)
}

func TestBudgetShare(t *testing.T) {
	b, err := NewBudget(WithMaxShare(0.25), WithBurst(1))
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	b.Query(now)
	if err := b.Allow(now, ""); err != nil {
		t.Fatalf("first query: burst should allow the cloud: %v", err)
	}
	spend(t, b, now, "", 100)
	if err := b.Allow(now, ""); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("1 call for 1 query at 25%%: err = %v, want over budget", err)
	}
	for range 7 {
		b.Query(now)
	}
	// 8 queries: floor(0.25·8)+1 = 3 calls allowed, 1 used.
	if err := b.Allow(now, ""); err != nil {
		t.Fatalf("1 of 3 allowed calls used: %v", err)
	}
	spend(t, b, now, "", 100)
	spend(t, b, now, "", 100)
	if err := b.Allow(now, ""); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("3 of 3 used: err = %v", err)
	}
	u := b.Usage(now)
	if u.Queries != 8 || u.Calls != 3 || u.Tokens != 300 || math.Abs(u.Share-3.0/8) > 1e-12 {
		t.Errorf("usage = %+v", u)
	}
}

// TestBudgetAbsoluteCaps: calls and tokens per hour and per day hold however
// many cheap queries make room under the share (the 40 of 40).
func TestBudgetAbsoluteCaps(t *testing.T) {
	cases := []struct {
		name  string
		opt   BudgetOption
		calls int           // calls of 100 tokens that fit
		next  time.Duration // when the next call fits again
	}{
		{"calls per hour", WithMaxCalls(3, 0), 3, time.Hour},
		{"calls per day", WithMaxCalls(0, 5), 5, 24 * time.Hour},
		{"tokens per hour", WithMaxTokens(450, 0), 4, time.Hour},
		{"tokens per day", WithMaxTokens(0, 250), 2, 24 * time.Hour},
		{"hour cap under the day cap", WithMaxCalls(2, 3), 2, time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := NewBudget(WithMaxShare(0.25), c.opt)
			if err != nil {
				t.Fatal(err)
			}
			for range 1000 { // cheap local queries: the share alone would allow 250 calls
				b.Query(t0)
			}
			for range c.calls {
				spend(t, b, t0, "", 100)
			}
			if _, err := b.Reserve(t0, "", 100); !errors.Is(err, ErrOverBudget) {
				t.Fatalf("after %d calls, one more of 100 tokens: err = %v, want over budget", c.calls, err)
			}
			later := t0.Add(c.next)
			for range 1000 {
				b.Query(later)
			}
			if err := b.Allow(later, ""); err != nil {
				t.Fatalf("after %v: %v", c.next, err)
			}
		})
	}
}

// TestBudgetReservations: what is reserved counts as spent until settled, so
// concurrent calls cannot all pass the same last slot; a failed call gives
// its reservation back, and settling twice counts once.
func TestBudgetReservations(t *testing.T) {
	b, err := NewBudget(WithMaxCalls(2, 0), WithMaxTokens(1000, 0))
	if err != nil {
		t.Fatal(err)
	}
	r1, err := b.Reserve(t0, "", 600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Reserve(t0, "", 600); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("600 held + 600 > 1000 tokens: err = %v", err)
	}
	r2, err := b.Reserve(t0, "", 300)
	if err != nil {
		t.Fatalf("600 held + 300: %v", err)
	}
	if _, err := b.Reserve(t0, "", 1); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("2 calls held of 2: err = %v", err)
	}
	if u := b.Usage(t0); u.Held != 2 || u.Calls != 0 {
		t.Fatalf("usage = %+v", u)
	}
	r1.Release() // the call failed
	r1.Settle(t0, 999)
	r2.Settle(t0, 50) // it used less than reserved
	r2.Settle(t0, 50)
	r2.Release()
	if u := b.Usage(t0); u.Held != 0 || u.Calls != 1 || u.Tokens != 50 {
		t.Fatalf("after settling: usage = %+v, want 1 call of 50 tokens", u)
	}
	if _, err := b.Reserve(t0, "", 900); err != nil {
		t.Fatalf("1 call and 50 tokens used: %v", err)
	}
}

// TestBudgetPerKey: a key's own caps hold beside the node's, and other keys
// and keyless callers are not charged for it.
func TestBudgetPerKey(t *testing.T) {
	b, err := NewBudget(WithKeyCaps("bob", KeyCaps{Requests: 3, CloudCalls: 2, CloudTokens: 1000}), WithMaxCalls(10, 0))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := b.Admit(t0, "bob"); err != nil {
			t.Fatalf("query %d of 3: %v", i+1, err)
		}
	}
	if err := b.Admit(t0, "bob"); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("query 4 of 3: err = %v, want over quota", err)
	}
	for range 10 {
		if err := b.Admit(t0, "alice"); err != nil {
			t.Fatalf("alice has no quota: %v", err)
		}
	}
	if _, err := b.Reserve(t0, "bob", 2000); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("an estimate over bob's tokens: err = %v", err)
	}
	spend(t, b, t0, "bob", 10)
	spend(t, b, t0, "bob", 10)
	if err := b.Allow(t0, "bob"); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("bob's third call: err = %v", err)
	}
	for range 8 {
		spend(t, b, t0, "alice", 10)
	}
	if err := b.Allow(t0, ""); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("the node's 10 calls are spent (2 bob, 8 alice): err = %v", err)
	}
	later := t0.Add(time.Hour)
	if err := b.Admit(later, "bob"); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
	if err := b.Allow(later, "bob"); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
}

func TestBudgetRetryAfter(t *testing.T) {
	b, _ := NewBudget(WithKeyCaps("bob", KeyCaps{Requests: 2}))
	if got := b.RetryAfter(t0, "bob"); got != 0 {
		t.Errorf("nothing counted: RetryAfter = %v", got)
	}
	for _, at := range []time.Duration{10 * time.Second, 5 * time.Minute} {
		if err := b.Admit(t0.Add(at), "bob"); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		at   time.Duration
		want time.Duration
	}{
		// The first query's slot (minute 0) leaves the window at t0+1h.
		{20 * time.Minute, 40 * time.Minute},
		{59*time.Minute + 30*time.Second, 30 * time.Second},
		// Then the second's (minute 5) at t0+1h05.
		{time.Hour, 5 * time.Minute},
	}
	for _, c := range cases {
		now := t0.Add(c.at)
		if got := b.RetryAfter(now, "bob"); got != c.want {
			t.Errorf("RetryAfter(+%v) = %v, want %v", c.at, got, c.want)
		}
	}
	if err := b.Admit(t0.Add(20*time.Minute), "bob"); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("third query: %v", err)
	}
	if err := b.Admit(t0.Add(20*time.Minute+40*time.Minute), "bob"); err != nil {
		t.Fatalf("after RetryAfter: %v", err)
	}
	if got := b.RetryAfter(t0, "alice"); got != 0 {
		t.Errorf("a key without caps: RetryAfter = %v", got)
	}
}

func TestEstimateCloudTokens(t *testing.T) {
	cases := []struct{ bytes, maxTokens, want int }{
		{0, 0, DefaultCompletionEstimate},
		{400, 0, 100 + DefaultCompletionEstimate},
		{401, 64, 101 + 64},
		{-5, 10, 10},
	}
	for _, c := range cases {
		if got := EstimateCloudTokens(c.bytes, c.maxTokens); got != c.want {
			t.Errorf("EstimateCloudTokens(%d, %d) = %d, want %d", c.bytes, c.maxTokens, got, c.want)
		}
	}
}

func TestBudgetSlidingWindow(t *testing.T) {
	b, err := NewBudget(WithMaxTokens(100, 0), WithWindow(time.Hour, 60))
	if err != nil {
		t.Fatal(err)
	}
	spend(t, b, t0, "", 60)
	spend(t, b, t0.Add(30*time.Minute), "", 40)
	cases := []struct {
		at     time.Duration
		tokens int64
		allow  bool
	}{
		{30 * time.Minute, 100, false},
		{59 * time.Minute, 100, false},
		{60 * time.Minute, 40, true}, // the first minute's slot has left the window
		{90 * time.Minute, 0, true},
		// A clock that steps back still sees what was recorded "later": the
		// budget errs on the side of spending less.
		{-10 * time.Minute, 100, false},
	}
	for _, tc := range cases {
		t.Run(tc.at.String(), func(t *testing.T) {
			now := t0.Add(tc.at)
			if u := b.Usage(now); u.Tokens != tc.tokens {
				t.Errorf("tokens at %v = %d, want %d", tc.at, u.Tokens, tc.tokens)
			}
			if err := b.Allow(now, ""); (err == nil) != tc.allow {
				t.Errorf("Allow at %v = %v, want allow=%v", tc.at, err, tc.allow)
			}
		})
	}
}

func TestBudgetClockGoesBack(t *testing.T) {
	b, _ := NewBudget(WithWindow(time.Minute, 2))
	b.Query(t0.Add(5 * time.Minute))
	b.Query(t0) // more than a window older than what the slot holds: ignored
	b.Query(t0.Add(5*time.Minute - 10*time.Second))
	if u := b.Usage(t0.Add(5 * time.Minute)); u.Queries != 2 {
		t.Errorf("queries = %d, want 2", u.Queries)
	}
}

func TestBudgetUnlimited(t *testing.T) {
	b, err := NewBudget()
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		r, err := b.Reserve(t0, "anyone", 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		r.Settle(t0, 1_000_000)
	}
	if err := b.Allow(t0, ""); err != nil {
		t.Errorf("no limits configured: %v", err)
	}
	if u := b.Usage(t0); u.Share != 0 || u.Calls != 50 || u.DayCalls != 50 {
		t.Errorf("usage = %+v", u)
	}
}

func TestNewBudgetInvalid(t *testing.T) {
	cases := []struct {
		name string
		opt  BudgetOption
	}{
		{"share above one", WithMaxShare(1.5)},
		{"negative share", WithMaxShare(-0.1)},
		{"nan share", WithMaxShare(math.NaN())},
		{"negative tokens", WithMaxTokens(-1, 0)},
		{"negative day calls", WithMaxCalls(0, -1)},
		{"negative key cap", WithKeyCaps("bob", KeyCaps{CloudTokens: -1})},
		{"negative burst", WithBurst(-1)},
		{"no slots", WithWindow(time.Hour, 0)},
		{"zero window", WithWindow(0, 60)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewBudget(tc.opt); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// TestBudgetConcurrent: with reservations, concurrent callers never overshoot
// an absolute cap, and the share by at most what was in flight.
func TestBudgetConcurrent(t *testing.T) {
	b, _ := NewBudget(WithMaxShare(0.5), WithMaxCalls(300, 0), WithKeyCaps("k", KeyCaps{CloudCalls: 100}))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 250 {
				now := t0.Add(time.Duration(g*250+i) * time.Millisecond)
				b.Query(now)
				key := ""
				if i%2 == 0 {
					key = "k"
				}
				if r, err := b.Reserve(now, key, 10); err == nil {
					r.Settle(now, 10)
				}
			}
		})
	}
	wg.Wait()
	u := b.Usage(t0.Add(time.Second))
	if u.Queries != 1000 || u.Calls > 300 || u.Held != 0 {
		t.Errorf("usage = %+v", u)
	}
	b.mu.Lock()
	kc := b.keys["k"].hour.sum(t0.Add(time.Second)).calls
	b.mu.Unlock()
	if kc > 100 {
		t.Errorf("key k made %d calls, cap 100", kc)
	}
}
