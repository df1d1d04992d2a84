package collab

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// sparseDials is how many random others each node of a sparse scale swarm
// dials: about twice as many connections each, enough for gossipsub's
// meshes (D = 6) and far from every node, as in a swarm whose nodes meet
// through a few bootstrap peers and the DHT. denseDials gives about 80, the
// connection manager's low water mark (node/p2p): a swarm whose nodes met
// most others, as on one LAN.
const (
	sparseDials = 4
	denseDials  = 40
)

// scaleParticipants is how many peers an origin asks for a round.
const scaleParticipants = 3

// scaleSwarm is a swarm of bare nodes (host, gossipsub, collab: no
// discovery, no other traffic) sized for the round topics as a real one:
// each node holds the swarm's size as a node does once its records
// converge, so it listens on the home topics router.RoundTopics gives for
// that many nodes.
type scaleSwarm struct {
	nodes []*testNode
	rng   *rand.Rand
}

// newScaleSwarm starts n nodes, each dialling dials random others (all of
// them if fewer), and waits until each knows the home topics of those it is
// connected to. identity gives each node's key (nil: a random one).
func newScaleSwarm(t testing.TB, n, dials int, rng *rand.Rand, identity func() crypto.PrivKey) *scaleSwarm {
	t.Helper()
	s := &scaleSwarm{rng: rng}
	for range n {
		// The node passes the records it holds and itself: n once converged.
		o := nodeOpts{opts: []Option{WithSwarmSize(func() int { return n })}}
		if identity != nil {
			o.hostOpts = []libp2p.Option{libp2p.Identity(identity())}
		}
		s.nodes = append(s.nodes, newNode(t, o))
	}
	linked := map[[2]int]bool{}
	var pairs [][2]meshMember
	for i := range s.nodes {
		dialled := 0
		for _, j := range rng.Perm(n) {
			if dialled == dials {
				break
			}
			if j == i || linked[[2]int{min(i, j), max(i, j)}] {
				continue
			}
			linked[[2]int{min(i, j), max(i, j)}] = true
			pairs = append(pairs, [2]meshMember{s.nodes[i], s.nodes[j]})
			dialled++
		}
	}
	link(t, pairs...)
	return s
}

// round runs one round as TestRoundScopedToHomeTopics does: a random origin
// asks scaleParticipants random others one at a time (it knows their
// addresses, as a node does from their records; the ask dials those it is
// not connected to) and runs the round on their answers. It returns the
// round and reach: the validations its messages cost when every node of
// each topic they go to gets them, plus each publisher's check of its own
// copy. A node with no connection to a topic mate that has a message never
// gets it, so a sparse swarm may pay less.
func (s *scaleSwarm) round(t testing.TB) (res *RoundResult, reach int) {
	t.Helper()
	perm := s.rng.Perm(len(s.nodes))
	origin := s.nodes[perm[0]]
	var peers []peer.ID
	for _, i := range perm[1 : 1+scaleParticipants] {
		p := s.nodes[i]
		origin.h.Peerstore().AddAddrs(p.id(), p.h.Addrs(), time.Hour)
		peers = append(peers, p.id())
	}
	req := newRequest(protocol.NewID(), time.Now().Add(p2ptest.Patience))
	props := origin.askEach(t.Context(), req, peers...)
	res, err := origin.c.RunRound(t.Context(), RoundSpec{Request: req, Proposals: props, Local: origin.local(),
		Deadline: time.Now().Add(p2ptest.Patience)})
	if err != nil {
		t.Fatal(err)
	}
	if res.End == EndDeadline {
		t.Fatalf("round ran to its deadline with %d of %d ballots", len(res.Ballots), len(res.Participants))
	}
	count := origin.c.publishCount()
	members := func(home int, also string) int { // the topic's listeners, and also if it is not one
		k := 0
		if router.Home(also, count) != home {
			k++
		}
		for _, n := range s.nodes {
			if router.Home(n.id().String(), count) == home {
				k++
			}
		}
		return k
	}
	var homes []int
	for _, p := range res.Participants {
		if h := router.Home(p, count); !slices.Contains(homes, h) {
			homes = append(homes, h)
			reach += members(h, origin.id().String()) // the open
		}
		reach += members(homes[0], p) // p's ballot, on the origin's home
	}
	return res, reach
}

// stillFor is how long gossipsub keeps offering a message to topic peers
// that lack it (its gossip history, in heartbeats) and one heartbeat more
// for the pull: once the swarm's count of validated round messages has
// stood that long, every copy of the rounds before is in it.
var stillFor = time.Duration(pubsub.GossipSubHistoryGossip+1) * pubsub.GossipSubHeartbeatInterval

// validatedAll is the round messages validated swarm-wide, read once the
// count has stood still for stillFor.
func (s *scaleSwarm) validatedAll(t testing.TB) float64 {
	t.Helper()
	sum := func() float64 {
		var total float64
		for _, n := range s.nodes {
			total += validated(t, n)
		}
		return total
	}
	tick := time.NewTicker(stillFor / 20) // reading every node's counters is not free at 200 nodes
	defer tick.Stop()
	start := time.Now()
	last, since := sum(), start
	for time.Since(since) < stillFor {
		if time.Since(start) > p2ptest.Patience {
			t.Fatalf("round messages still being validated after %s", p2ptest.Patience)
		}
		<-tick.C
		if now := sum(); now != last {
			last, since = now, time.Now()
		}
	}
	return last
}

// evenHomes gives keys whose homes, at the count n nodes publish at, each
// hold at most their share of the n nodes: topics as even as a swarm's are
// on average, so a test's few rounds measure the design, not one crowded
// topic of an unlucky draw.
func evenHomes(t testing.TB, n int) func() crypto.PrivKey {
	count := defaultConfig().topics.Count(n)
	share := (n + count - 1) / count
	held := make([]int, count)
	return func() crypto.PrivKey {
		for {
			k, _, err := crypto.GenerateKeyPair(crypto.Ed25519, -1)
			if err != nil {
				t.Fatal(err)
			}
			id, err := peer.IDFromPrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			if h := router.Home(id.String(), count); held[h] < share {
				held[h]++
				return k
			}
		}
	}
}

// TestRoundCostFlat: a round's messages are validated by the nodes of the
// topics they go to, not by the swarm, so at 30 nodes (4 topics) a round
// costs no more validations than at 10 (one topic of every node), within
// issue 15's 1.5×. No draw fails it: at 10 nodes a round costs 50 (each of
// the 5 messages, by each node), and with even homes (8 a topic) at most 70
// at 30 (the open on 4 topics, 4 ballots on one, 9 checks a copy at most).
// BenchmarkRoundScale measures it to 200 nodes.
func TestRoundCostFlat(t *testing.T) {
	const rounds = 3
	rng := rand.New(rand.NewPCG(15, 1))
	perRound := map[int]float64{}
	for _, n := range []int{10, 30} {
		t.Run(fmt.Sprintf("nodes=%d", n), func(t *testing.T) {
			s := newScaleSwarm(t, n, sparseDials, rng, evenHomes(t, n))
			before := s.validatedAll(t)
			for range rounds {
				s.round(t)
			}
			perRound[n] = (s.validatedAll(t) - before) / rounds
			t.Logf("%d nodes: %.1f round messages validated per round", n, perRound[n])
		})
	}
	if t.Failed() {
		return
	}
	if perRound[30] > 1.5*perRound[10] {
		t.Errorf("%.1f round messages validated per round at 30 nodes, %.1f at 10: want at most 1.5×", perRound[30], perRound[10])
	}
}
