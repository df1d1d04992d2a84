package router

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func TestBudgetShare(t *testing.T) {
	b, err := NewBudget(WithMaxShare(0.25), WithBurst(1))
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	b.Query(now)
	if err := b.Allow(now); err != nil {
		t.Fatalf("first query: burst should allow the cloud: %v", err)
	}
	b.Record(now, 100)
	if err := b.Allow(now); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("1 call for 1 query at 25%%: err = %v, want over budget", err)
	}
	for range 7 {
		b.Query(now)
	}
	// 8 queries: floor(0.25·8)+1 = 3 calls allowed, 1 used.
	if err := b.Allow(now); err != nil {
		t.Fatalf("1 of 3 allowed calls used: %v", err)
	}
	b.Record(now, 100)
	b.Record(now, 100)
	if err := b.Allow(now); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("3 of 3 used: err = %v", err)
	}
	u := b.Usage(now)
	if u.Queries != 8 || u.Calls != 3 || u.Tokens != 300 || math.Abs(u.Share-3.0/8) > 1e-12 {
		t.Errorf("usage = %+v", u)
	}
}

func TestBudgetTokens(t *testing.T) {
	b, err := NewBudget(WithMaxTokens(1000))
	if err != nil {
		t.Fatal(err)
	}
	b.Record(t0, 999)
	if err := b.Allow(t0); err != nil {
		t.Fatalf("999 of 1000 tokens: %v", err)
	}
	b.Record(t0, 1)
	if err := b.Allow(t0); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("1000 of 1000 tokens: err = %v", err)
	}
	b.Record(t0, -50) // a negative count is nonsense and adds nothing
	if u := b.Usage(t0); u.Tokens != 1000 {
		t.Errorf("tokens = %d", u.Tokens)
	}
}

func TestBudgetSlidingWindow(t *testing.T) {
	b, err := NewBudget(WithMaxTokens(100), WithWindow(time.Hour, 60))
	if err != nil {
		t.Fatal(err)
	}
	b.Record(t0, 60)
	b.Record(t0.Add(30*time.Minute), 40)
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
			if err := b.Allow(now); (err == nil) != tc.allow {
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
		b.Record(t0, 1_000_000)
	}
	if err := b.Allow(t0); err != nil {
		t.Errorf("no limits configured: %v", err)
	}
	if u := b.Usage(t0); u.Share != 0 || u.Calls != 50 {
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
		{"negative tokens", WithMaxTokens(-1)},
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

func TestBudgetConcurrent(t *testing.T) {
	b, _ := NewBudget(WithMaxShare(0.5))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 250 {
				now := t0.Add(time.Duration(g*250+i) * time.Millisecond)
				b.Query(now)
				if b.Allow(now) == nil {
					b.Record(now, 10)
				}
			}
		})
	}
	wg.Wait()
	u := b.Usage(t0.Add(time.Second))
	if u.Queries != 1000 || u.Calls > 500+2+4 { // share + burst + at most one overshoot per goroutine
		t.Errorf("usage = %+v", u)
	}
}
