package router

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestShareRoom(t *testing.T) {
	cases := []struct {
		name     string
		limit    int64
		members  int
		own      int64
		claims   []int64
		trusting bool
		want     int64
	}{
		{"alone takes the whole cap", 30, 1, 0, nil, false, 30},
		{"three fair shares", 30, 3, 0, []int64{10, 10}, false, 10},
		{"share partly used", 30, 3, 4, []int64{10, 10}, false, 6},
		{"share spent", 30, 3, 10, []int64{10, 10}, false, 0},
		{"rounded down, never over", 10, 3, 0, []int64{3, 3}, false, 3},
		{"a member not yet shrunk to the newcomer leaves less", 30, 3, 0, []int64{15, 10}, true, 5},
		{"old spend over the new share counts in the first window", 30, 3, 0, []int64{15, 15}, true, 0},
		{"past the first window a claim counts only its share", 30, 3, 0, []int64{30, 10}, false, 10},
		{"a hostile claim cannot block beyond its share", 30, 2, 0, []int64{1 << 40}, false, 15},
		{"a negative claim counts as nothing", 30, 2, 0, []int64{-50}, false, 15},
		{"over its share after a join: negative room", 30, 3, 15, []int64{10, 10}, false, -5},
		{"zero members counts as one", 30, 0, 0, nil, false, 30},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ShareRoom(tc.limit, tc.members, tc.own, tc.claims, tc.trusting); got != tc.want {
				t.Errorf("ShareRoom(%d, %d, %d, %v, %v) = %d, want %d", tc.limit, tc.members, tc.own, tc.claims, tc.trusting, got, tc.want)
			}
		})
	}
}

func TestNewSwarmBudgetValidates(t *testing.T) {
	cases := []struct {
		name string
		self string
		opts []SwarmBudgetOption
		ok   bool
	}{
		{"defaults", "a", nil, true},
		{"caps", "a", []SwarmBudgetOption{WithSwarmCalls(30, 300), WithSwarmTokens(1000, 0)}, true},
		{"no id", "", nil, false},
		{"negative calls", "a", []SwarmBudgetOption{WithSwarmCalls(-1, 0)}, false},
		{"negative tokens", "a", []SwarmBudgetOption{WithSwarmTokens(0, -1)}, false},
		{"no slots", "a", []SwarmBudgetOption{WithSwarmWindow(time.Minute, 0)}, false},
		{"zero TTL", "a", []SwarmBudgetOption{WithMemberTTL(0)}, false},
		{"negative join period", "a", []SwarmBudgetOption{WithJoinPeriod(-time.Second)}, false},
		{"no members", "a", []SwarmBudgetOption{WithMaxMembers(0)}, false},
		{"nil notify", "a", []SwarmBudgetOption{WithSwarmNotify(nil)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSwarmBudget(tc.self, t0, tc.opts...)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
				t.Errorf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func newSwarm(t *testing.T, self string, start time.Time, opts ...SwarmBudgetOption) *SwarmBudget {
	t.Helper()
	s, err := NewSwarmBudget(self, start, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fill reserves and settles calls until the share refuses (at most 1000),
// and returns how many it took.
func fill(t *testing.T, s *SwarmBudget, now time.Time) int {
	t.Helper()
	n := 0
	for ; n < 1000; n++ {
		r, err := s.Reserve(now, 10)
		if err != nil {
			if !errors.Is(err, ErrOverBudget) {
				t.Fatalf("reserve: %v, want over budget", err)
			}
			return n
		}
		r.Settle(now, 10)
	}
	return n
}

// claimOf is a member's claim as it would gossip it.
func claimOf(seq uint64, used, claim int64) SwarmClaim {
	return SwarmClaim{Seq: seq, Hour: WindowClaim{Calls: used, ClaimCalls: claim}, Day: WindowClaim{Calls: used, ClaimCalls: claim}}
}

func TestSwarmBudgetShares(t *testing.T) {
	late := t0.Add(25 * time.Hour) // past the node's first hour and day: claims count for their share at most
	cases := []struct {
		name   string
		now    time.Time
		opts   []SwarmBudgetOption
		peers  map[string]SwarmClaim
		want   int
		status int // members counted
	}{
		{"no caps: unlimited", late, nil, nil, 1000, 1},
		{"alone: the whole cap", late, []SwarmBudgetOption{WithSwarmCalls(30, 0)}, nil, 30, 1},
		{"three members: a third", late, []SwarmBudgetOption{WithSwarmCalls(30, 0)},
			map[string]SwarmClaim{"b": claimOf(1, 0, 10), "c": claimOf(1, 4, 10)}, 10, 3},
		{"the day cap binds too", late, []SwarmBudgetOption{WithSwarmCalls(30, 12)},
			map[string]SwarmClaim{"b": claimOf(1, 0, 10), "c": claimOf(1, 0, 4)}, 4, 3},
		{"hostile claim counts for its share only", late, []SwarmBudgetOption{WithSwarmCalls(30, 0)},
			map[string]SwarmClaim{"b": claimOf(1, 30, 30)}, 15, 2},
		{"first window: old members' spend counts in full", t0, []SwarmBudgetOption{WithSwarmCalls(30, 0)},
			map[string]SwarmClaim{"b": claimOf(1, 15, 15), "c": claimOf(1, 12, 12)}, 3, 3},
		{"tokens: the share of tokens", late, []SwarmBudgetOption{WithSwarmTokens(100, 0)},
			map[string]SwarmClaim{"b": {Seq: 1, Hour: WindowClaim{ClaimTokens: 50}}}, 5, 2},
		{"a goodbye frees the share, its spend still counts", late, []SwarmBudgetOption{WithSwarmCalls(30, 0)},
			map[string]SwarmClaim{"b": {Seq: 1, Leaving: true, Hour: WindowClaim{Calls: 6, ClaimCalls: 6}}}, 24, 1},
		{"a newcomer counts the spend of a member that left before it came", t0, []SwarmBudgetOption{WithSwarmCalls(30, 0)},
			map[string]SwarmClaim{"b": {Seq: 1, Hour: WindowClaim{ClaimCalls: 10, DepartedCalls: 6}}}, 14, 2},
		{"a departure heard and reported counts once", t0, []SwarmBudgetOption{WithSwarmCalls(30, 0)},
			map[string]SwarmClaim{"b": {Seq: 1, Hour: WindowClaim{ClaimCalls: 10, DepartedCalls: 6}},
				"c": {Seq: 1, Leaving: true, Hour: WindowClaim{Calls: 6, ClaimCalls: 6}}}, 14, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSwarm(t, "a", t0, tc.opts...)
			for p, c := range tc.peers {
				if err := s.Observe(tc.now, p, c); err != nil {
					t.Fatal(err)
				}
			}
			if st := s.Status(tc.now); st.Members != tc.status {
				t.Errorf("members = %d, want %d", st.Members, tc.status)
			}
			if got := fill(t, s, tc.now); got != tc.want {
				t.Errorf("calls allowed = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestSwarmBudgetMembership(t *testing.T) {
	s := newSwarm(t, "a", t0, WithSwarmCalls(30, 0), WithMemberTTL(10*time.Minute), WithJoinPeriod(time.Second),
		WithSwarmWindow(time.Minute, 6))
	if err := s.Allow(t0); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("in the join period: %v, want over budget", err)
	}
	if st := s.Status(t0); st.HourCalls.Room != 0 || st.HourCalls.Share != 30 {
		t.Errorf("in the join period: %+v, want a share of 30 and no room yet", st.HourCalls)
	}
	now := t0.Add(2 * time.Minute) // past the join period and the first window
	for _, p := range []string{"b", "c"} {
		if err := s.Observe(now, p, claimOf(5, 0, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Observe(now, "b", claimOf(5, 0, 10)); !errors.Is(err, ErrStaleClaim) {
		t.Errorf("replayed claim: %v, want stale", err)
	}
	if err := s.Observe(now, "a", claimOf(9, 0, 10)); !errors.Is(err, ErrStaleClaim) {
		t.Errorf("own claim: %v, want stale", err)
	}
	if got := fill(t, s, now); got != 10 {
		t.Fatalf("3 members: %d calls, want 10", got)
	}
	// c falls silent (a partition): it keeps its share until the TTL.
	now = now.Add(9 * time.Minute)
	if err := s.Observe(now, "b", claimOf(6, 0, 10)); err != nil {
		t.Fatal(err)
	}
	if got := s.Status(now); got.Members != 3 || got.HourCalls.Share != 10 {
		t.Errorf("c silent within the TTL: %+v, want 3 members, share 10", got)
	}
	// Past the TTL c's share is free; a's own calls have left the window.
	now = now.Add(2 * time.Minute)
	if err := s.Observe(now, "b", claimOf(7, 0, 15)); err != nil {
		t.Fatal(err)
	}
	if got := fill(t, s, now); got != 15 {
		t.Errorf("c gone: %d calls, want 15", got)
	}
	if got := s.Claim(now, false); got.Members != 2 || got.Hour.ClaimCalls != 15 || got.Hour.Calls != 15 {
		t.Errorf("own claim = %+v", got)
	}
	if got := s.Claim(now, true); !got.Leaving || got.Hour.ClaimCalls != 15 {
		t.Errorf("goodbye claim = %+v, want leaving, claim = spend", got)
	}
}

func TestSwarmBudgetMaxMembers(t *testing.T) {
	s := newSwarm(t, "a", t0, WithSwarmCalls(30, 0), WithMaxMembers(2), WithMemberTTL(time.Minute))
	for _, p := range []string{"b", "c"} {
		if err := s.Observe(t0, p, claimOf(1, 0, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Observe(t0, "d", claimOf(1, 0, 10)); !errors.Is(err, ErrTooManyMembers) {
		t.Errorf("third peer: %v, want too many", err)
	}
	// Once b and c are silent past the TTL, there is room again.
	if err := s.Observe(t0.Add(2*time.Minute), "d", claimOf(1, 0, 10)); err != nil {
		t.Errorf("after the TTL: %v", err)
	}
}

func TestSwarmBudgetReservations(t *testing.T) {
	var notified int
	s := newSwarm(t, "a", t0, WithSwarmCalls(2, 0), WithSwarmTokens(100, 0), WithSwarmNotify(func() { notified++ }))
	r1, err := s.Reserve(t0, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(t0, 60); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("60 + 60 tokens of 100: %v, want over budget", err)
	}
	r1.Settle(t0, 30)
	r1.Settle(t0, 30) // twice: nothing
	r1.Release()
	r2, err := s.Reserve(t0, 60)
	if err != nil {
		t.Fatalf("30 used, 60 more: %v", err)
	}
	if st := s.Status(t0); st.HeldCalls != 1 || st.HourCalls.Used != 2 || st.HourTokens.Used != 90 || st.HourCalls.Room != 0 {
		t.Errorf("status = %+v", st)
	}
	r2.Release()
	if st := s.Status(t0); st.HeldCalls != 0 || st.HourCalls.Used != 1 || st.HourTokens.Used != 30 {
		t.Errorf("after release: %+v", st)
	}
	if notified != 4 { // two reservations, one settlement, one release
		t.Errorf("notified %d times, want 4", notified)
	}
}

func TestBudgetWithSwarm(t *testing.T) {
	s := newSwarm(t, "a", t0, WithSwarmCalls(3, 0))
	b, err := NewBudget(WithMaxCalls(5, 0), WithSwarm(s))
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Reserve(t0, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	r.Release()
	for range 3 {
		spend(t, b, t0, "", 10)
	}
	if err := b.Allow(t0, ""); !errors.Is(err, ErrOverBudget) {
		t.Errorf("swarm share spent, local cap not: Allow = %v, want over budget", err)
	}
	if _, err := b.Reserve(t0, "", 10); !errors.Is(err, ErrOverBudget) {
		t.Errorf("Reserve = %v, want over budget", err)
	}
	if got := s.Status(t0); got.HourCalls.Used != 3 || got.HeldCalls != 0 {
		t.Errorf("swarm status = %+v, want 3 used, none held", got)
	}
	if got := b.Usage(t0); got.Calls != 3 || got.Held != 0 {
		t.Errorf("local usage = %+v", got)
	}
}

// TestSwarmBudgetNeverOvershoots runs up to five members that join at
// different times, gossip their claims with random delays and loss, reserve
// and settle interleaved calls, and one that leaves; in 200 runs the calls
// made in the window never exceed the cap.
func TestSwarmBudgetNeverOvershoots(t *testing.T) {
	const limit = 40
	for seed := range uint64(200) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			type msg struct {
				at   time.Time
				from string
				to   int
				c    SwarmClaim
			}
			var (
				members []*SwarmBudget
				names   []string
				queue   []msg
				made    int
				held    []*SwarmReservation
			)
			join := func(now time.Time) {
				name := fmt.Sprintf("m%d", len(members))
				members = append(members, newSwarm(t, name, now, WithSwarmCalls(limit, 0),
					WithJoinPeriod(3*time.Second), WithMemberTTL(time.Hour)))
				names = append(names, name)
			}
			// Heartbeats and goodbyes arrive within 1.5 s, inside the join
			// period (what the node's gossip interval is chosen for); one in
			// ten of the updates between them is lost.
			gossip := func(now time.Time, i int, leaving, lossy bool) {
				c := members[i].Claim(now, leaving)
				for j := range members {
					if j != i && (!lossy || rng.IntN(10) > 0) {
						queue = append(queue, msg{now.Add(time.Duration(rng.IntN(1500)) * time.Millisecond), names[i], j, c})
					}
				}
			}
			now := t0
			join(now)
			left := -1
			for step := range 600 {
				now = now.Add(100 * time.Millisecond)
				if len(members) < 5 && rng.IntN(60) == 0 {
					join(now)
				}
				if left < 0 && step > 300 && rng.IntN(100) == 0 {
					left = rng.IntN(len(members))
					gossip(now, left, true, false)
				}
				rest := queue[:0]
				for _, m := range queue {
					if m.at.After(now) {
						rest = append(rest, m)
						continue
					}
					_ = members[m.to].Observe(now, m.from, m.c) // stale ones are dropped
				}
				queue = rest
				for i := range members {
					if i == left {
						continue
					}
					if step%10 == i%10 {
						gossip(now, i, false, false) // the heartbeat
					}
					if rng.IntN(3) == 0 {
						if r, err := members[i].Reserve(now, 1); err == nil {
							held = append(held, r)
							made++
							gossip(now, i, false, true)
						}
					}
				}
				for len(held) > 0 && rng.IntN(2) == 0 { // settle some, in random order
					k := rng.IntN(len(held))
					held[k].Settle(now, 1)
					held = append(held[:k], held[k+1:]...)
				}
			}
			if made > limit {
				t.Fatalf("%d members made %d calls in the window, cap %d", len(members), made, limit)
			}
			if made < limit/4 { // not vacuous: carry-over after joins and a departure can lock shares
				t.Errorf("%d members made only %d calls of %d", len(members), made, limit)
			}
		})
	}
}

// TestSwarmBudgetConcurrent: many goroutines reserving on one share take
// exactly the share, no more (run with -race).
func TestSwarmBudgetConcurrent(t *testing.T) {
	s := newSwarm(t, "a", t0, WithSwarmCalls(30, 0))
	if err := s.Observe(t0.Add(2*time.Hour), "b", claimOf(1, 0, 15)); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(2 * time.Hour)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := s.Reserve(now, 1); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
				r.Settle(now, 1)
			}
		}()
	}
	wg.Wait()
	if ok != 15 {
		t.Errorf("50 concurrent reservations on a share of 15: %d made", ok)
	}
}
