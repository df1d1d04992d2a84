package router

import (
	"fmt"
	"math"
	"sync"
)

// Reputation is one node's view of each voter's track record: a weight in
// [Min, Max] that moves towards Max when the voter's ballot agreed with the
// final answer and towards Min when it did not (an exponential moving
// average, so old rounds fade). It remembers at most Capacity voters,
// forgetting the one seen least recently, so a flood of new identities
// costs bounded memory. It holds its own mutex: safe for concurrent use.
type Reputation struct {
	initial, lo, hi, rate float64
	capacity              int

	mu    sync.Mutex // guards voters and clock
	clock uint64
	// voters maps a voter to its weight and the clock of its last update.
	voters map[string]repEntry
}

type repEntry struct {
	weight float64
	seen   uint64
}

// ReputationOption configures a Reputation.
type ReputationOption func(*Reputation)

// WithInitialWeight sets the weight of a voter not seen yet (default 0.75).
func WithInitialWeight(w float64) ReputationOption { return func(r *Reputation) { r.initial = w } }

// WithWeightBounds sets the weight range (default 0.05…1): a voter is never
// silenced entirely, and never counts for more than one vote.
func WithWeightBounds(lo, hi float64) ReputationOption {
	return func(r *Reputation) { r.lo, r.hi = lo, hi }
}

// WithLearningRate sets how far one outcome moves a weight (default 0.2).
func WithLearningRate(rate float64) ReputationOption { return func(r *Reputation) { r.rate = rate } }

// WithCapacity sets how many voters are remembered (default 1024).
func WithCapacity(n int) ReputationOption { return func(r *Reputation) { r.capacity = n } }

// NewReputation builds an empty track record.
func NewReputation(opts ...ReputationOption) (*Reputation, error) {
	r := &Reputation{initial: 0.75, lo: 0.05, hi: 1, rate: 0.2, capacity: 1024, voters: map[string]repEntry{}}
	for _, o := range opts {
		o(r)
	}
	ok := func(v float64) bool { return !math.IsNaN(v) && v >= 0 && v <= 1 }
	switch {
	case !ok(r.lo) || !ok(r.hi) || r.lo > r.hi:
		return nil, fmt.Errorf("reputation: bounds %v…%v: want 0 ≤ min ≤ max ≤ 1: %w", r.lo, r.hi, ErrInvalidConfig)
	case !ok(r.initial) || r.initial < r.lo || r.initial > r.hi:
		return nil, fmt.Errorf("reputation: initial weight %v outside %v…%v: %w", r.initial, r.lo, r.hi, ErrInvalidConfig)
	case !ok(r.rate) || r.rate == 0:
		return nil, fmt.Errorf("reputation: learning rate %v: want 0 < rate ≤ 1: %w", r.rate, ErrInvalidConfig)
	case r.capacity < 1:
		return nil, fmt.Errorf("reputation: capacity %d: want ≥ 1: %w", r.capacity, ErrInvalidConfig)
	}
	return r, nil
}

// Weight is the voter's current weight (the initial weight if unknown).
func (r *Reputation) Weight(voter string) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.voters[voter]; ok {
		return e.weight
	}
	return r.initial
}

// Observe records one outcome for a voter and returns its new weight.
func (r *Reputation) Observe(voter string, agreed bool) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.observeLocked(voter, agreed)
}

func (r *Reputation) observeLocked(voter string, agreed bool) float64 {
	e, ok := r.voters[voter]
	if !ok {
		if len(r.voters) >= r.capacity {
			r.evictLocked()
		}
		e.weight = r.initial
	}
	target := r.lo
	if agreed {
		target = r.hi
	}
	e.weight = min(max(e.weight+r.rate*(target-e.weight), r.lo), r.hi)
	r.clock++
	e.seen = r.clock
	r.voters[voter] = e
	return e.weight
}

// evictLocked forgets the voter seen least recently. It scans, which is
// cheap at the default capacity and only happens when a new voter arrives at
// a full table.
func (r *Reputation) evictLocked() {
	oldest, first := "", true
	for v, e := range r.voters {
		if first || e.seen < r.voters[oldest].seen {
			oldest, first = v, false
		}
	}
	delete(r.voters, oldest)
}

// Learn updates the record of every voter whose ballot counted in a round
// (tally.Counted) against the final answer: a ballot for a proposal agreed
// if that proposal agrees with final at least agreement; an escalation
// agreed if no usable proposal did (the swarm did not have the answer).
func (r *Reputation) Learn(proposals []Proposal, ballots []Ballot, tally TallyResult, final string, agreement float64) {
	finalKey := keyOf(final)
	if len(finalKey.tokens) == 0 {
		return // nothing to learn against
	}
	agrees := make([]bool, len(proposals))
	anyAgrees := false
	for i, p := range proposals {
		agrees[i] = usable(p) && agreeKeys(keyOf(p.Answer), finalKey) >= agreement
		anyAgrees = anyAgrees || agrees[i]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, bi := range tally.Counted {
		if bi < 0 || bi >= len(ballots) {
			continue
		}
		switch b := ballots[bi]; {
		case b.Choice == Escalate:
			r.observeLocked(b.Voter, !anyAgrees)
		case b.Choice >= 0 && b.Choice < len(proposals):
			r.observeLocked(b.Voter, agrees[b.Choice])
		}
	}
}

// Snapshot copies the current weights, for the dashboard and tests.
func (r *Reputation) Snapshot() map[string]float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]float64, len(r.voters))
	for v, e := range r.voters {
		out[v] = e.weight
	}
	return out
}
