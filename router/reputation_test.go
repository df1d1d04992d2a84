package router

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
)

func TestReputationObserve(t *testing.T) {
	r, err := NewReputation()
	if err != nil {
		t.Fatal(err)
	}
	if w := r.Weight("new"); w != 0.75 {
		t.Errorf("unknown voter weight = %v, want 0.75", w)
	}
	if w := r.Observe("good", true); math.Abs(w-0.8) > 1e-12 {
		t.Errorf("after one agreement = %v, want 0.8", w)
	}
	for range 100 {
		r.Observe("good", true)
		r.Observe("bad", false)
	}
	if w := r.Weight("good"); w > 1 || w < 0.99 {
		t.Errorf("good voter weight = %v, want close to and at most 1", w)
	}
	if w := r.Weight("bad"); w < 0.05 || w > 0.06 {
		t.Errorf("bad voter weight = %v, want close to and at least 0.05", w)
	}
	if snap := r.Snapshot(); len(snap) != 2 || snap["good"] != r.Weight("good") {
		t.Errorf("snapshot = %v", snap)
	}
}

func TestReputationCapacity(t *testing.T) {
	r, err := NewReputation(WithCapacity(2))
	if err != nil {
		t.Fatal(err)
	}
	r.Observe("old", false)
	r.Observe("mid", false)
	r.Observe("old", false) // seen again: "mid" is now the least recent
	r.Observe("new", false)
	snap := r.Snapshot()
	if _, ok := snap["mid"]; ok || len(snap) != 2 {
		t.Errorf("after eviction = %v, want old and new", snap)
	}
}

func TestReputationLearn(t *testing.T) {
	proposals := []Proposal{{Peer: "a", Answer: "Canberra"}, {Peer: "b", Answer: "Sydney"}, {Peer: "c", Err: "down"}}
	ballots := []Ballot{{"a", 0, 1}, {"b", 1, 1}, {"e", Escalate, 1}, {"x", 0, 1}, {"bogus", 5, 1}}
	tally := TallyResult{Counted: []int{0, 1, 2, 4, 99, -1}}
	cases := []struct {
		name  string
		final string
		want  map[string]float64
	}{
		{"the swarm had the answer", "canberra.", map[string]float64{"a": 0.8, "b": 0.61, "e": 0.61}},
		{"the cloud knew better", "Melbourne", map[string]float64{"a": 0.61, "b": 0.61, "e": 0.8}},
		{"no final answer teaches nothing", "", map[string]float64{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := NewReputation()
			r.Learn(proposals, ballots, tally, tc.final, 0.8)
			snap := r.Snapshot()
			if len(snap) != len(tc.want) {
				t.Fatalf("learned %v, want %v (x did not count; bogus chose nothing)", snap, tc.want)
			}
			for v, w := range tc.want {
				if math.Abs(snap[v]-w) > 1e-9 {
					t.Errorf("%s = %v, want %v", v, snap[v], w)
				}
			}
		})
	}
}

func TestNewReputationInvalid(t *testing.T) {
	cases := []struct {
		name string
		opt  ReputationOption
	}{
		{"min above max", WithWeightBounds(0.9, 0.1)},
		{"max above one", WithWeightBounds(0, 2)},
		{"nan bound", WithWeightBounds(math.NaN(), 1)},
		{"initial outside", WithInitialWeight(0.01)},
		{"zero rate", WithLearningRate(0)},
		{"rate above one", WithLearningRate(1.5)},
		{"zero capacity", WithCapacity(0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewReputation(tc.opt); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestReputationConcurrent(t *testing.T) {
	r, _ := NewReputation(WithCapacity(8))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				v := fmt.Sprintf("v%d", (g+i)%16)
				r.Observe(v, i%3 == 0)
				if w := r.Weight(v); w < 0.05 || w > 1 {
					t.Errorf("weight %v out of bounds", w)
				}
			}
		})
	}
	wg.Wait()
	if n := len(r.Snapshot()); n > 8 {
		t.Errorf("remembers %d voters, capacity 8", n)
	}
}
