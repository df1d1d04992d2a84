package router

import (
	"hash/fnv"
	"math"
	"math/bits"
)

// RoundTopics decides which of the swarm's round topics carry a round, so a
// round's messages are validated by its participants and the few nodes
// sharing their topics instead of by every node. The swarm's nodes are
// spread over Count topics by a hash of their peer id (Home); an origin
// publishes its open on each participant's home topic and collects the
// ballots on its own. Count grows with the swarm by powers of two, and a
// node listens at the two counts either side of its estimate of the swarm
// (Listen), so two nodes whose estimates differ by up to √2 (and often 2)
// still meet.
type RoundTopics struct {
	// Group is the number of nodes a topic is sized for: each message of a
	// round is validated by about Group nodes per topic it goes to.
	Group int
	// Max caps the count (a power of two): past Max × Group nodes the
	// topics grow instead of multiplying.
	Max int
}

// DefaultRoundGroup sizes the round topics. A round of P participants
// costs about (2P − 1) × nodes/Count validations (the open on up to P
// topics, P − 1 ballots on the origin's; plus each publisher's check of
// its own copies), and nodes/Count stays between
// Group/√2 and Group × √2: for P = 4, 40 to 79, 44 at 50, 100 and 200
// nodes, where one swarm-wide topic cost 4 × N (40 at 10 nodes, 800 at
// 200). Participants get every message straight from the publisher (they
// are connected to the origin, which asked them), so a small topic needs
// no relays.
const DefaultRoundGroup = 8

// DefaultRoundTopics are the round topics' defaults; max is the protocol's
// cap on the count.
func DefaultRoundTopics(max int) RoundTopics { return RoundTopics{Group: DefaultRoundGroup, Max: max} }

// Count is the number of topics an origin that knows of nodes nodes (itself
// included) publishes at: nodes / Group rounded to the nearest power of two
// (on a log scale), at least 1 and at most Max. It is always one of
// Listen(nodes).
func (r RoundTopics) Count(nodes int) int {
	lo := r.floor(nodes)
	if lo < r.Max && float64(nodes) >= math.Sqrt2*float64(lo)*float64(r.Group) {
		return 2 * lo
	}
	return lo
}

// Listen is the counts a node that knows of nodes nodes subscribes at, one
// home topic each: the powers of two just below and just above
// nodes / Group (one when Max caps them). Keeping both, a node is found by
// an origin whose estimate of the swarm is off by up to √2, and a change of
// the swarm never leaves the count both sides publish at unheard.
func (r RoundTopics) Listen(nodes int) []int {
	lo := r.floor(nodes)
	if lo >= r.Max {
		return []int{lo}
	}
	return []int{lo, 2 * lo}
}

// floor is the largest power of two at most nodes / Group, within [1, Max].
func (r RoundTopics) floor(nodes int) int {
	x := nodes / max(r.Group, 1)
	if x <= 1 {
		return 1
	}
	return min(1<<(bits.Len(uint(x))-1), max(r.Max, 1))
}

// Home is the topic, of count topics, that peer listens on: a hash of its
// id. Count is a power of two, so a peer's home at 2K is its home at K or
// K more.
func Home(peer string, count int) int {
	if count <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(peer)) // a hash.Hash never returns an error
	return int(h.Sum64() % uint64(count))
}
