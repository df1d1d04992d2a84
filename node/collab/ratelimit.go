package collab

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"
)

// askBudgetSweep is how many peers the ask budget tracks before it forgets
// the idle ones.
const askBudgetSweep = 1024

// askBudget is a token bucket per asking peer, members and strangers alike,
// counted in the model's time rather than in asks: what a peer takes from
// this node is its model's time, and a count would treat a one-word answer
// like a long one (and throttle a fast model as hard as a slow one). A peer
// with time left is served; the answer's duration is then charged, and a
// peer in debt is refused with BUSY until the refill repays it.
type askBudget struct {
	limit rate.Limit // milliseconds of model time per second
	burst int        // milliseconds

	mu    sync.Mutex
	peers map[peer.ID]*rate.Limiter
}

// newAskBudget lets each peer use share of the model's time on average
// (0.5 = half of every second), after a burst of burst.
func newAskBudget(share float64, burst time.Duration) *askBudget {
	return &askBudget{limit: rate.Limit(share * 1000), burst: int(burst / time.Millisecond),
		peers: make(map[peer.ID]*rate.Limiter)}
}

func (b *askBudget) bucket(p peer.ID, now time.Time) *rate.Limiter {
	lim, ok := b.peers[p]
	if !ok {
		if len(b.peers) >= askBudgetSweep {
			b.sweep(now)
		}
		lim = rate.NewLimiter(b.limit, b.burst)
		b.peers[p] = lim
	}
	return lim
}

// allow reports whether p has model time left at now.
func (b *askBudget) allow(p peer.ID, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bucket(p, now).TokensAt(now) > 0
}

// charge takes d of model time from p's bucket at now, running into debt if
// it must (one answer costs at most the burst).
func (b *askBudget) charge(p peer.ID, now time.Time, d time.Duration) {
	ms := min(int(d/time.Millisecond), b.burst)
	if ms <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// A reservation never fails for n ≤ burst: it leaves the bucket negative,
	// and that debt is what refuses the peer's next asks.
	b.bucket(p, now).ReserveN(now, ms)
}

// sweep forgets every peer whose bucket has refilled: a new bucket is the
// same, so memory stays bounded by the peers that asked within the last
// burst/share.
func (b *askBudget) sweep(now time.Time) {
	for p, lim := range b.peers {
		if lim.TokensAt(now) >= float64(b.burst) {
			delete(b.peers, p)
		}
	}
}
