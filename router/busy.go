package router

import "time"

// Load is how busy a peer reported itself when it last acked or refused an
// ask: asks it is answering, asks it answers at once, requests waiting.
type Load struct {
	InFlight, Slots, Queued int
}

// Full says whether a peer with this load would refuse one more ask: every
// slot taken (a peer that does not say its slots has one).
func (l Load) Full() bool { return l.InFlight+l.Queued >= max(l.Slots, 1) }

// LoadFresh is how long a reported load still describes a peer: asks come
// and go in seconds, so an older report says nothing about now.
const LoadFresh = 10 * time.Second

// NextPeer picks who to ask in place of a peer that refused as BUSY, within
// the same round: the first of spares (ranked best first) that is not asked
// yet in this round, may be asked (its breaker lets it), and is not known
// full by a fresh load report; "" when none is left. A spare known full is
// passed over, since it would refuse too.
func NextPeer(spares []string, taken func(peer string) bool, load func(peer string) (Load, bool)) string {
	for _, p := range spares {
		if taken(p) {
			continue
		}
		if l, ok := load(p); ok && l.Full() {
			continue
		}
		return p
	}
	return ""
}
