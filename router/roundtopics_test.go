package router

import (
	"fmt"
	"slices"
	"testing"
)

func TestRoundTopicsCountAndListen(t *testing.T) {
	r := RoundTopics{Group: 8, Max: 16}
	tests := []struct {
		name   string
		nodes  int
		count  int
		listen []int
	}{
		{"no estimate yet", 0, 1, []int{1, 2}},
		{"alone", 1, 1, []int{1, 2}},
		{"10 nodes: one topic", 10, 1, []int{1, 2}},
		{"just below √2 × Group", 11, 1, []int{1, 2}},
		{"√2 × Group rounds up", 12, 2, []int{1, 2}},
		{"two groups", 16, 2, []int{2, 4}},
		{"50 nodes", 50, 8, []int{4, 8}},
		{"100 nodes", 100, 16, []int{8, 16}},
		{"at the cap", 128, 16, []int{16}},
		{"past the cap", 5000, 16, []int{16}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Count(tt.nodes); got != tt.count {
				t.Errorf("Count(%d) = %d, want %d", tt.nodes, got, tt.count)
			}
			if got := r.Listen(tt.nodes); !slices.Equal(got, tt.listen) {
				t.Errorf("Listen(%d) = %v, want %v", tt.nodes, got, tt.listen)
			}
		})
	}
}

// An origin's count is always one its own estimate listens at, and an
// estimate off by up to √2 still listens there: no round is published where
// its participants do not listen while their views of the swarm agree that
// closely.
func TestRoundTopicsListenCoversNearbyCounts(t *testing.T) {
	r := DefaultRoundTopics(128)
	for n := range 3000 {
		count := r.Count(n)
		if !slices.Contains(r.Listen(n), count) {
			t.Fatalf("Count(%d) = %d is not in Listen(%d) = %v", n, count, n, r.Listen(n))
		}
		for _, other := range []int{n * 10 / 14, n * 14 / 10} {
			if !slices.Contains(r.Listen(other), count) {
				t.Fatalf("an origin at %d nodes publishes at %d; a node at %d listens at %v", n, count, other, r.Listen(other))
			}
		}
	}
}

// A topic holds about Group nodes at every size: 50, 100 and 200 nodes all
// come to 6.25 per topic at the default group of 8.
func TestRoundTopicsGroupSize(t *testing.T) {
	r := DefaultRoundTopics(128)
	for _, n := range []int{10, 50, 100, 200, 400, 1000} {
		per := float64(n) / float64(r.Count(n))
		if per > float64(r.Group)*1.42 || (n >= 2*r.Group && per < float64(r.Group)/1.42) {
			t.Errorf("%d nodes: %.1f per topic, want about %d", n, per, r.Group)
		}
	}
}

func TestHome(t *testing.T) {
	tests := []struct {
		name  string
		peer  string
		count int
	}{
		{"one topic", "12D3KooWA", 1},
		{"no topics counts as one", "12D3KooWA", 0},
		{"four topics", "12D3KooWB", 4},
		{"the cap", "12D3KooWC", 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Home(tt.peer, tt.count)
			if got < 0 || got >= max(tt.count, 1) {
				t.Errorf("Home(%q, %d) = %d, out of range", tt.peer, tt.count, got)
			}
			if again := Home(tt.peer, tt.count); again != got {
				t.Errorf("Home(%q, %d) = %d then %d", tt.peer, tt.count, got, again)
			}
		})
	}
}

// Homes nest (a peer's home at 2K is its home at K, or K more) and spread:
// 1024 peers leave none of 8 topics empty or holding over twice its share.
func TestHomeNestsAndSpreads(t *testing.T) {
	per := make([]int, 8)
	for i := range 1024 {
		p := fmt.Sprintf("12D3KooW%d", i)
		for k := 1; k < 128; k *= 2 {
			if Home(p, 2*k)%k != Home(p, k) {
				t.Fatalf("Home(%q, %d) = %d does not nest in Home(%q, %d) = %d", p, 2*k, Home(p, 2*k), p, k, Home(p, k))
			}
		}
		per[Home(p, 8)]++
	}
	for k, n := range per {
		if n == 0 || n > 2*1024/8 {
			t.Errorf("topic %d of 8 holds %d of 1024 peers", k, n)
		}
	}
}
