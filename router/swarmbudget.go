package router

import (
	"fmt"
	"sync"
	"time"
)

// SwarmBudget is this node's part of a swarm-wide cloud budget: caps on the
// cloud calls and tokens the whole swarm spends per hour and per day, kept
// with no central service. The node gossips its claim (SwarmClaim) and
// hands the claims it hears to Observe; Reserve decides whether one more
// cloud call fits.
//
// # Why shares, not a quorum
//
// A reservation acknowledged by a quorum cannot overshoot, but under a
// partition the minority side can spend nothing at all, and every call
// waits for a round trip. A budget that must hold with 0 overshoot under
// concurrency and still serve each side of a partition has to be decidable
// from what one node knows: so each member owns a share and decides alone.
//
//   - Each member's fair share of a cap is cap / N (rounded down), N the
//     members it counts, itself included. It announces a claim: the most it
//     will have spent in the window, max(spent + held, fair share).
//   - A node may spend up to min(fair share, cap − the others' claims).
//     Claims only shrink while members stay (a newcomer makes every share
//     smaller, and a claim never drops below what its owner has spent), so
//     a stale claim errs on the side of spending less; when every member
//     keeps under its own claim, and takes room only left by the others'
//     claims, the sum stays under the cap however the calls interleave.
//   - A claim grows only when a member leaves. One that says goodbye frees
//     its share at once but its spend still counts until it leaves the
//     window; one that falls silent keeps its claim for the member TTL (a
//     day by default). So a partition degrades to each side's fair share:
//     neither side can tell "gone" from "cut off", and neither takes the
//     other's share. A partition (or a crash) longer than the TTL frees the
//     share; two swarms that formed apart each spent a whole cap before they
//     met, and a node that restarts forgets what it spent: those are the
//     limits of deciding without a central service.
//   - A newcomer reserves nothing during the join period (it hears the
//     others' claims first), then takes only what their claims leave.
//   - Hostile claims: a claim counts for at most its owner's fair share, so
//     a peer cannot announce the whole budget spent to block the others.
//     Only during a node's own first window does it count the others'
//     claims in full, because what they spent before it joined may exceed
//     the share a bigger swarm now gives them, and that spend is real.
//     Members are capped (WithMaxMembers); every identity counts as one, so
//     open swarms bound identities with --allow-peers or a swarm key.
//
// Unused shares are not lent: a busy node cannot borrow an idle one's.
//
// Time is passed in, never read. SwarmBudget holds its own mutex and is
// safe for concurrent use.
type SwarmBudget struct {
	self       string
	caps       [nDims]int64
	window     time.Duration // the "hour" window
	nslots     int
	ttl        time.Duration // how long a silent member keeps its share
	joinPeriod time.Duration
	maxMembers int
	notify     func()
	start      time.Time

	mu    sync.Mutex // guards everything below
	hour  *counter
	day   *counter
	held  usage
	seq   uint64
	peers map[string]*swarmMember
	// reservations and refusals since the start, for metrics
	reservations, refused int64
}

// The four quantities a swarm cap can bound.
const (
	dimHourCalls = iota
	dimHourTokens
	dimDayCalls
	dimDayTokens
	nDims
)

var dimNames = [nDims]string{"cloud calls per hour", "cloud tokens per hour", "cloud calls per day", "cloud tokens per day"}

// SwarmClaim is what one member gossips of its spend.
type SwarmClaim struct {
	// Seq orders one member's claims: a claim not newer than the last one
	// heard is stale. It starts at the member's start time in nanoseconds,
	// so a restarted member's claims are newer than its old ones.
	Seq     uint64
	Members int // how many members the sender counts, itself included
	Hour    WindowClaim
	Day     WindowClaim
	// Leaving says the sender stops spending: its share is free, its spend
	// still counts until it leaves the window.
	Leaving bool
}

// WindowClaim is a member's spend over one window: what it has used
// (settled and held), the most it will have used (its claim), and what it
// counts for members that said goodbye, whom a newcomer never heard.
type WindowClaim struct {
	Calls          int64
	Tokens         int64
	ClaimCalls     int64
	ClaimTokens    int64
	DepartedCalls  int64
	DepartedTokens int64
}

type swarmMember struct {
	claim SwarmClaim
	heard time.Time
	left  time.Time // zero unless the member said goodbye
}

// SwarmBudgetOption configures a SwarmBudget.
type SwarmBudgetOption func(*SwarmBudget)

// WithSwarmCalls caps the swarm's cloud calls per hour and per day (0: no cap).
func WithSwarmCalls(perHour, perDay int64) SwarmBudgetOption {
	return func(s *SwarmBudget) { s.caps[dimHourCalls], s.caps[dimDayCalls] = perHour, perDay }
}

// WithSwarmTokens caps the swarm's cloud tokens per hour and per day (0: no cap).
func WithSwarmTokens(perHour, perDay int64) SwarmBudgetOption {
	return func(s *SwarmBudget) { s.caps[dimHourTokens], s.caps[dimDayTokens] = perHour, perDay }
}

// WithSwarmWindow sets the hourly window and its slots (default an hour in
// 60); tests shorten it. The day stays a day.
func WithSwarmWindow(d time.Duration, slots int) SwarmBudgetOption {
	return func(s *SwarmBudget) { s.window, s.nslots = d, slots }
}

// WithMemberTTL sets how long a member that fell silent keeps its share
// (default a day: a partition shorter than that cannot overshoot).
func WithMemberTTL(d time.Duration) SwarmBudgetOption { return func(s *SwarmBudget) { s.ttl = d } }

// WithJoinPeriod sets how long after its start the node reserves nothing
// while it hears the others' claims (default 0; the node sets a few gossip
// intervals).
func WithJoinPeriod(d time.Duration) SwarmBudgetOption {
	return func(s *SwarmBudget) { s.joinPeriod = d }
}

// WithMaxMembers caps how many other members are tracked (default 256).
func WithMaxMembers(n int) SwarmBudgetOption { return func(s *SwarmBudget) { s.maxMembers = n } }

// WithSwarmNotify sets a function called whenever the node's own claim may
// have changed (a reservation, a settlement, a member joined or left), so
// the node can gossip it. It runs under the budget's lock and must not block
// or call back into the budget.
func WithSwarmNotify(f func()) SwarmBudgetOption { return func(s *SwarmBudget) { s.notify = f } }

// NewSwarmBudget builds the share of node self, started at now. With no
// caps it allows everything and only counts.
func NewSwarmBudget(self string, now time.Time, opts ...SwarmBudgetOption) (*SwarmBudget, error) {
	s := &SwarmBudget{self: self, window: time.Hour, nslots: 60, ttl: 24 * time.Hour, maxMembers: 256,
		notify: func() {}, start: now}
	for _, o := range opts {
		o(s)
	}
	for d, c := range s.caps {
		if c < 0 {
			return nil, fmt.Errorf("swarm budget: %s %d: want ≥ 0: %w", dimNames[d], c, ErrInvalidConfig)
		}
	}
	switch {
	case self == "":
		return nil, fmt.Errorf("swarm budget: no node id: %w", ErrInvalidConfig)
	case s.nslots < 1 || s.window < time.Duration(s.nslots):
		return nil, fmt.Errorf("swarm budget: window %v in %d slots: want ≥ 1 slot of ≥ 1ns: %w", s.window, s.nslots, ErrInvalidConfig)
	case s.ttl <= 0 || s.joinPeriod < 0:
		return nil, fmt.Errorf("swarm budget: member TTL %v, join period %v: want > 0, ≥ 0: %w", s.ttl, s.joinPeriod, ErrInvalidConfig)
	case s.maxMembers < 1:
		return nil, fmt.Errorf("swarm budget: max members %d: want ≥ 1: %w", s.maxMembers, ErrInvalidConfig)
	case s.notify == nil:
		return nil, fmt.Errorf("swarm budget: nil notify: %w", ErrInvalidConfig)
	}
	s.hour = newCounter(s.window, s.nslots)
	s.day = newCounter(24*time.Hour, daySlots)
	s.peers = map[string]*swarmMember{}
	s.seq = uint64(max(now.UnixNano(), 0))
	return s, nil
}

// Capped reports whether any swarm cap is set (without one there is
// nothing to gossip).
func (s *SwarmBudget) Capped() bool { return s.caps != [nDims]int64{} }

// ShareRoom is how much more a member may spend of one cap: up to its fair
// share (cap / members, rounded down) and up to what the others' claims
// leave, less what it has spent and holds (own). Past its first window a
// member counts each claim for at most the fair share (trusting is false),
// so no claim can take more than its owner's share. It can be negative.
func ShareRoom(limit int64, members int, own int64, claims []int64, trusting bool) int64 {
	fair := limit / int64(max(members, 1))
	return min(fair, limit-countClaims(limit, fair, claims, trusting)) - own
}

// countClaims sums the others' claims as ShareRoom counts them.
func countClaims(limit, fair int64, claims []int64, trusting bool) int64 {
	var sum int64
	for _, c := range claims {
		c = min(max(c, 0), limit)
		if !trusting {
			c = min(c, fair)
		}
		sum += c
	}
	return sum
}

// Reserve holds one cloud call and an estimate of its tokens against the
// node's share, or refuses with an error wrapping ErrOverBudget.
func (s *SwarmBudget) Reserve(now time.Time, tokens int) (*SwarmReservation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := int64(max(tokens, 0))
	if err := s.checkLocked(now, t); err != nil {
		s.refused++
		return nil, err
	}
	s.reservations++
	s.held = s.held.plus(usage{calls: 1, tokens: t})
	s.notify()
	return &SwarmReservation{s: s, tokens: t}, nil
}

// Allow says whether one more cloud call fits the node's share now.
func (s *SwarmBudget) Allow(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkLocked(now, 0)
}

func (s *SwarmBudget) checkLocked(now time.Time, tokens int64) error {
	if !s.Capped() {
		return nil
	}
	if now.Before(s.start.Add(s.joinPeriod)) {
		return fmt.Errorf("swarm budget: still hearing the swarm's claims (%v after start): %w", s.joinPeriod, ErrOverBudget)
	}
	own := s.ownLocked(now)
	n := s.membersLocked(now)
	for d, c := range s.caps {
		if c == 0 {
			continue
		}
		need := int64(1)
		if d == dimHourTokens || d == dimDayTokens {
			need = max(tokens, 1)
		}
		claims, trusting := s.othersLocked(now, d)
		if room := ShareRoom(c, n, own[d], claims, trusting); room < need {
			return fmt.Errorf("swarm budget: this node's share of the swarm's %d %s is spent (%d members, %d used here, %d left, %d needed): %w",
				c, dimNames[d], n, own[d], max(room, 0), need, ErrOverBudget)
		}
	}
	return nil
}

// windowOf is the window a quantity is capped over.
func (s *SwarmBudget) windowOf(d int) time.Duration {
	if d == dimDayCalls || d == dimDayTokens {
		return 24 * time.Hour
	}
	return s.window
}

// trustingLocked: during its own first window a node counts claims in full.
func (s *SwarmBudget) trustingLocked(now time.Time, d int) bool {
	return now.Sub(s.start) < s.windowOf(d)
}

// ownLocked is what the node has spent and holds in each window.
func (s *SwarmBudget) ownLocked(now time.Time) [nDims]int64 {
	h, d := s.hour.sum(now).plus(s.held), s.day.sum(now).plus(s.held)
	return [nDims]int64{h.calls, h.tokens, d.calls, d.tokens}
}

// membersLocked counts the members sharing the caps: the node, and every
// other member heard within the TTL that has not said goodbye.
func (s *SwarmBudget) membersLocked(now time.Time) int {
	n := 1
	for _, m := range s.peers {
		if m.left.IsZero() && now.Sub(m.heard) < s.ttl {
			n++
		}
	}
	return n
}

// countLocked is what member m holds of quantity d: a member heard within
// the TTL holds its claim; one that said goodbye (away) its spend until that
// leaves the window. ok is false when m holds nothing.
func (s *SwarmBudget) countLocked(now time.Time, m *swarmMember, d int) (v int64, away, ok bool) {
	switch {
	case !m.left.IsZero():
		return m.claim.used(d), true, now.Sub(m.left) < s.windowOf(d)
	case now.Sub(m.heard) >= s.ttl:
		return 0, false, false
	default:
		return m.claim.claimed(d), false, true
	}
}

func (c SwarmClaim) used(d int) int64 {
	return [nDims]int64{c.Hour.Calls, c.Hour.Tokens, c.Day.Calls, c.Day.Tokens}[d]
}

func (c SwarmClaim) claimed(d int) int64 {
	return [nDims]int64{c.Hour.ClaimCalls, c.Hour.ClaimTokens, c.Day.ClaimCalls, c.Day.ClaimTokens}[d]
}

func (c SwarmClaim) departed(d int) int64 {
	return [nDims]int64{c.Hour.DepartedCalls, c.Hour.DepartedTokens, c.Day.DepartedCalls, c.Day.DepartedTokens}[d]
}

// othersLocked is what the others hold of quantity d, as ShareRoom takes
// it. A node in its first window counts the spend of members that left as
// the most any member reports (or its own sum, if more), since it may never
// have heard them itself; past it, each by its own claim. Every member
// hears the same goodbyes, so the reports agree and the most is not a sum.
func (s *SwarmBudget) othersLocked(now time.Time, d int) (claims []int64, trusting bool) {
	trusting = s.trustingLocked(now, d)
	var away int64
	for _, m := range s.peers {
		v, gone, ok := s.countLocked(now, m, d)
		switch {
		case !ok:
		case gone && trusting:
			away += v
		default:
			claims = append(claims, v)
		}
	}
	if trusting {
		for _, m := range s.peers {
			if m.live(now, s.ttl) {
				away = max(away, m.claim.departed(d))
			}
		}
		claims = append(claims, away)
	}
	return claims, trusting
}

// departedLocked is what this node counts for members that left, in
// quantity d (see WindowClaim).
func (s *SwarmBudget) departedLocked(now time.Time, d int) int64 {
	var sum int64
	for _, m := range s.peers {
		if v, away, ok := s.countLocked(now, m, d); ok && away {
			sum += v
		}
	}
	return sum
}

// Claim is the node's own claim to gossip now; each call takes a new Seq.
// Leaving marks the goodbye sent when the node stops.
func (s *SwarmBudget) Claim(now time.Time, leaving bool) SwarmClaim {
	s.mu.Lock()
	defer s.mu.Unlock()
	own := s.ownLocked(now)
	n := s.membersLocked(now)
	var cl, gone [nDims]int64
	for d, c := range s.caps {
		cl[d] = own[d]
		if c > 0 && !leaving {
			cl[d] = max(own[d], c/int64(n))
		}
		gone[d] = s.departedLocked(now, d)
	}
	s.seq++
	return SwarmClaim{Seq: s.seq, Members: n, Leaving: leaving,
		Hour: WindowClaim{Calls: own[dimHourCalls], Tokens: own[dimHourTokens], ClaimCalls: cl[dimHourCalls], ClaimTokens: cl[dimHourTokens],
			DepartedCalls: gone[dimHourCalls], DepartedTokens: gone[dimHourTokens]},
		Day: WindowClaim{Calls: own[dimDayCalls], Tokens: own[dimDayTokens], ClaimCalls: cl[dimDayCalls], ClaimTokens: cl[dimDayTokens],
			DepartedCalls: gone[dimDayCalls], DepartedTokens: gone[dimDayTokens]},
	}
}

// Observe records peer's claim, heard at now. It returns nil, or an error
// wrapping ErrStaleClaim (not newer than the last one heard: drop it) or
// ErrTooManyMembers (a new member while the table is full: drop it).
func (s *SwarmBudget) Observe(now time.Time, peer string, c SwarmClaim) error {
	if peer == s.self {
		return fmt.Errorf("swarm claim from this node itself: %w", ErrStaleClaim)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.peers[peer]
	if m != nil && c.Seq <= m.claim.Seq {
		return fmt.Errorf("swarm claim %d of %s after %d: %w", c.Seq, peer, m.claim.Seq, ErrStaleClaim)
	}
	if m == nil {
		if len(s.peers) >= s.maxMembers {
			s.pruneLocked(now)
		}
		if len(s.peers) >= s.maxMembers {
			return fmt.Errorf("swarm claim of %s: %d members tracked: %w", peer, len(s.peers), ErrTooManyMembers)
		}
		m = &swarmMember{}
		s.peers[peer] = m
	}
	before := m.live(now, s.ttl)
	m.claim, m.heard = c, now
	switch {
	case c.Leaving && m.left.IsZero():
		m.left = now
	case !c.Leaving:
		m.left = time.Time{}
	}
	if m.live(now, s.ttl) != before {
		s.notify() // the shares changed: tell the others at once
	}
	return nil
}

func (m *swarmMember) live(now time.Time, ttl time.Duration) bool {
	return m.left.IsZero() && now.Sub(m.heard) < ttl
}

// pruneLocked forgets members whose claims no longer count.
func (s *SwarmBudget) pruneLocked(now time.Time) {
	for p, m := range s.peers {
		silent := m.left.IsZero() && now.Sub(m.heard) >= s.ttl
		gone := !m.left.IsZero() && now.Sub(m.left) >= 24*time.Hour
		if silent || gone {
			delete(s.peers, p)
		}
	}
}

// SwarmReservation is one cloud call held against the node's share. Settle
// or Release it exactly once; later calls do nothing.
type SwarmReservation struct {
	s      *SwarmBudget
	tokens int64
	done   bool // guarded by s.mu
}

// Settle records the call with the tokens it really used and frees the hold.
func (r *SwarmReservation) Settle(now time.Time, tokens int) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !r.releaseLocked() {
		return
	}
	u := usage{calls: 1, tokens: int64(max(tokens, 0))}
	s.hour.add(now, u)
	s.day.add(now, u)
}

// Release frees the hold of a call that was not made or failed.
func (r *SwarmReservation) Release() {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.releaseLocked()
}

func (r *SwarmReservation) releaseLocked() bool {
	if r.done {
		return false
	}
	r.done = true
	r.s.held = r.s.held.minus(usage{calls: 1, tokens: r.tokens})
	r.s.notify()
	return true
}

// SwarmStatus is what the node's share looks like now (metrics, dashboard).
type SwarmStatus struct {
	Members      int
	Capped       bool
	HeldCalls    int64 // reserved, not yet settled
	Reservations int64 // calls reserved since the start
	Refused      int64 // calls refused since the start
	HourCalls    SwarmQuantity
	HourTokens   SwarmQuantity
	DayCalls     SwarmQuantity
	DayTokens    SwarmQuantity
}

// SwarmQuantity is one capped quantity: the swarm's cap, this node's fair
// share, what it has used (held included), the others' claims as counted,
// and the room left here (0 when spent or in the join period; all 0
// without a cap but Used).
type SwarmQuantity struct {
	Cap, Share, Used, Others, Room int64
}

// Status sums the node's share at now.
func (s *SwarmBudget) Status(now time.Time) SwarmStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	own := s.ownLocked(now)
	n := s.membersLocked(now)
	var q [nDims]SwarmQuantity
	for d, c := range s.caps {
		q[d].Used = own[d]
		if c == 0 {
			continue
		}
		claims, trusting := s.othersLocked(now, d)
		q[d].Cap, q[d].Share = c, c/int64(n)
		if !now.Before(s.start.Add(s.joinPeriod)) { // nothing while it hears the swarm
			q[d].Room = max(ShareRoom(c, n, own[d], claims, trusting), 0)
		}
		q[d].Others = countClaims(c, q[d].Share, claims, trusting)
	}
	return SwarmStatus{Members: n, Capped: s.Capped(), HeldCalls: s.held.calls, Reservations: s.reservations, Refused: s.refused,
		HourCalls: q[dimHourCalls], HourTokens: q[dimHourTokens], DayCalls: q[dimDayCalls], DayTokens: q[dimDayTokens]}
}
