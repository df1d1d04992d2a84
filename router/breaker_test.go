package router

import (
	"errors"
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	const base, max = 10 * time.Second, 40 * time.Second
	// step is one thing that happens to the breaker at t0+at, and what
	// the breaker says then.
	type step struct {
		at    time.Duration
		do    string // allow | success | failure | reachable | state
		allow bool   // for allow: whether the call may go
		state BreakerState
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{name: "healthy lets every call through", steps: []step{
			{at: 0, do: "allow", allow: true, state: BreakerHealthy},
			{at: 0, do: "allow", allow: true, state: BreakerHealthy},
			{at: 0, do: "success", state: BreakerHealthy},
		}},
		{name: "a failure excludes for the cooldown, then one probe goes", steps: []step{
			{at: 0, do: "failure", state: BreakerExcluded},
			{at: base - time.Nanosecond, do: "allow", allow: false, state: BreakerExcluded},
			{at: base, do: "state", state: BreakerProbe},
			{at: base, do: "allow", allow: true, state: BreakerExcluded},
			{at: base, do: "allow", allow: false, state: BreakerExcluded}, // the probe is out
			{at: base + time.Second, do: "success", state: BreakerHealthy},
			{at: base + time.Second, do: "allow", allow: true, state: BreakerHealthy},
		}},
		{name: "a failed probe doubles the cooldown up to the maximum", steps: []step{
			{at: 0, do: "failure"},
			{at: base, do: "allow", allow: true},
			{at: base, do: "failure", state: BreakerExcluded},
			{at: base + 2*base - time.Nanosecond, do: "allow", allow: false},
			{at: 3 * base, do: "allow", allow: true},
			{at: 3 * base, do: "failure"}, // 4×base = max
			{at: 7 * base, do: "allow", allow: true},
			{at: 7 * base, do: "failure"}, // capped at max
			{at: 7*base + max - time.Nanosecond, do: "state", state: BreakerExcluded},
			{at: 7*base + max, do: "state", state: BreakerProbe},
		}},
		{name: "success after failures starts the cooldown over", steps: []step{
			{at: 0, do: "failure"},
			{at: base, do: "allow", allow: true},
			{at: base, do: "failure"},
			{at: 3 * base, do: "allow", allow: true},
			{at: 3 * base, do: "success"},
			{at: 3 * base, do: "failure"},
			{at: 4 * base, do: "state", state: BreakerProbe},
		}},
		{name: "a reconnected target gets its probe before the cooldown ends", steps: []step{
			{at: 0, do: "failure", state: BreakerExcluded},
			{at: time.Second, do: "reachable", state: BreakerProbe},
			{at: time.Second, do: "allow", allow: true, state: BreakerExcluded},
			{at: time.Second, do: "failure", state: BreakerExcluded}, // the probe failed: doubled cooldown
			{at: time.Second + 2*base - time.Nanosecond, do: "state", state: BreakerExcluded},
			{at: time.Second + 2*base, do: "state", state: BreakerProbe},
		}},
		{name: "reachable leaves a probe that is out, and a healthy target, alone", steps: []step{
			{at: 0, do: "reachable", state: BreakerHealthy},
			{at: 0, do: "failure"},
			{at: base, do: "allow", allow: true},
			{at: base, do: "reachable", state: BreakerExcluded},
			{at: base, do: "allow", allow: false, state: BreakerExcluded},
			{at: base, do: "success", state: BreakerHealthy},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewBreaker(base, max)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				now := t0.Add(s.at)
				switch s.do {
				case "allow":
					if got := b.Allow(now); got != s.allow {
						t.Fatalf("step %d: Allow at +%v = %v, want %v", i, s.at, got, s.allow)
					}
				case "success":
					b.Success()
				case "failure":
					b.Failure(now)
				case "reachable":
					b.Reachable()
				}
				if s.do == "state" || s.state != BreakerHealthy || s.do == "success" || s.do == "reachable" {
					if got := b.State(now); got != s.state {
						t.Fatalf("step %d (%s at +%v): state %v, want %v", i, s.do, s.at, got, s.state)
					}
				}
			}
		})
	}
}

func TestNewBreakerRefusesBadCooldowns(t *testing.T) {
	for _, c := range [][2]time.Duration{{0, time.Second}, {time.Second, time.Millisecond}, {-time.Second, time.Second}} {
		if _, err := NewBreaker(c[0], c[1]); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewBreaker(%v, %v) = %v, want %v", c[0], c[1], err, ErrInvalidConfig)
		}
	}
}

func TestBreakers(t *testing.T) {
	const base = 10 * time.Second
	bs, err := NewBreakers(base, 4*base, 2)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		do    func()
		at    time.Duration
		want  map[string]BreakerState
		allow map[string]bool
	}{
		{name: "unknown targets are healthy", do: func() {}, want: map[string]BreakerState{"a": BreakerHealthy}, allow: map[string]bool{"a": true}},
		{name: "a failing target is excluded, the others not", do: func() { bs.Failure("a", t0) },
			want: map[string]BreakerState{"a": BreakerExcluded, "b": BreakerHealthy}, allow: map[string]bool{"a": false, "b": true}},
		{name: "after the cooldown one probe goes", do: func() {}, at: base,
			want: map[string]BreakerState{"a": BreakerProbe}, allow: map[string]bool{"a": true}},
		{name: "while the probe is out the target stays excluded", do: func() {}, at: base,
			want: map[string]BreakerState{"a": BreakerExcluded}, allow: map[string]bool{"a": false}},
		{name: "a success forgets it", do: func() { bs.Success("a") }, at: base,
			want: map[string]BreakerState{"a": BreakerHealthy}, allow: map[string]bool{"a": true}},
		{name: "past capacity the exclusion that ends first is forgotten", do: func() {
			bs.Failure("x", t0)
			bs.Failure("y", t0.Add(time.Second))
			bs.Failure("z", t0.Add(2*time.Second))
		}, at: 2 * time.Second, want: map[string]BreakerState{"x": BreakerHealthy, "y": BreakerExcluded, "z": BreakerExcluded}},
	}
	for _, tc := range cases {
		tc.do()
		now := t0.Add(tc.at)
		for k, want := range tc.want {
			if got := bs.State(k, now); got != want {
				t.Errorf("%s: %s is %v, want %v", tc.name, k, got, want)
			}
		}
		for k, want := range tc.allow {
			if got := bs.Allow(k, now); got != want {
				t.Errorf("%s: Allow(%s) = %v, want %v", tc.name, k, got, want)
			}
		}
	}
	if _, err := NewBreakers(base, base, 0); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewBreakers with no room: %v, want %v", err, ErrInvalidConfig)
	}
}
