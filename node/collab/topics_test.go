package collab

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// validated is how many round messages a node's validator judged, of any
// kind and verdict.
func validated(t testing.TB, n *testNode) float64 {
	t.Helper()
	var sum float64
	for _, kind := range []string{kindOpen, kindBallot, kindMalformed} {
		for _, reason := range []string{reasonOK, reasonMalformed, reasonExpired, reasonBadDeadline, reasonNotOrigin,
			reasonRepeatedOpen, reasonTooManyOrigins, reasonUnknownRound, reasonNotParticipant, reasonBadChoice, reasonDuplicate} {
			sum += counter(t, n, "messages", kind, reason)
		}
	}
	return sum
}

// TestRoundScopedToHomeTopics: in a swarm of a dozen nodes over 4 round
// topics, a round between nodes of two topics completes, its participants'
// topic mates validate its messages, and no node of the other topics ever
// judges one of them.
func TestRoundScopedToHomeTopics(t *testing.T) {
	const count = 4
	byHome := map[int][]*testNode{}
	var nodes []*testNode
	// A dozen nodes nearly always fill three of the four topics; a few more
	// are added in the rare draw that does not.
	for len(nodes) < 12 || len(byHome) < 3 {
		if len(nodes) == 24 {
			t.Fatalf("24 nodes on %d of %d topics", len(byHome), count)
		}
		n := newNode(t, nodeOpts{opts: []Option{WithRoundTopicCount(count)}})
		home := router.Home(n.id().String(), count)
		byHome[home] = append(byHome[home], n)
		nodes = append(nodes, n)
	}
	members := make([]meshMember, len(nodes))
	for i, n := range nodes {
		members[i] = n
	}
	mesh(t, members...)

	// The origin's topic and another one each give participants; the rest
	// are bystanders.
	homes := make([]int, 0, len(byHome))
	for h := range byHome {
		homes = append(homes, h)
	}
	slices.SortFunc(homes, func(a, b int) int { return len(byHome[b]) - len(byHome[a]) })
	originHome, otherHome := homes[0], homes[1]
	origin := byHome[originHome][0]
	peers := []peer.ID{byHome[otherHome][0].id()}
	if len(byHome[originHome]) > 1 {
		peers = append(peers, byHome[originHome][1].id())
	}
	if len(byHome[otherHome]) > 1 {
		peers = append(peers, byHome[otherHome][1].id())
	}
	var bystanders []*testNode
	for _, h := range homes[2:] {
		bystanders = append(bystanders, byHome[h]...)
	}

	// Each peer asked on its own, so no early majority leaves one out.
	req := newRequest(protocol.NewID(), time.Now().Add(5*time.Second))
	props := origin.askEach(t.Context(), req, peers...)
	res, err := origin.c.RunRound(t.Context(), RoundSpec{Request: req, Proposals: props, Deadline: time.Now().Add(5 * time.Second),
		Local: origin.local()})
	if err != nil {
		t.Fatal(err)
	}
	if res.End != EndAllVoted || len(res.Ballots) != len(peers)+1 {
		t.Fatalf("end %s with %d ballots, want all %d", res.End, len(res.Ballots), len(peers)+1)
	}
	if res.Tally.Outcome != router.OutcomeConsensus {
		t.Errorf("outcome %s, want consensus", res.Tally.Outcome)
	}
	// Every node of the two topics judged the open (each heard it on its
	// home topic); the origin judged its own copy to each topic.
	for _, h := range []int{originHome, otherHome} {
		for _, n := range byHome[h] {
			p2ptest.Eventually(t, func() bool { return counter(t, n, "messages", kindOpen, reasonOK) >= 1 }, p2ptest.Patience)
		}
	}
	if got := counter(t, origin, "messages", kindOpen, reasonOK); got != 2 {
		t.Errorf("the origin judged its open %v times, want once per topic (2)", got)
	}
	// The origin's topic mates judge every ballot; nobody else is sent one.
	// Ballots judged by this time are all there will be: the round ended on
	// the last one, and the origin's topic mates hear them from the voters
	// directly, at the same time as the origin.
	ballots := func(n *testNode) float64 { // one may overtake the open to a topic mate
		return counter(t, n, "messages", kindBallot, reasonOK) + counter(t, n, "messages", kindBallot, reasonUnknownRound)
	}
	for _, n := range byHome[originHome] {
		p2ptest.Eventually(t, func() bool { return ballots(n) == float64(len(peers)+1) }, p2ptest.Patience)
	}
	for _, n := range byHome[otherHome] {
		if n == origin || slices.Contains(peers, n.id()) {
			continue
		}
		if got := ballots(n); got != 0 {
			t.Errorf("a bystander on a participant's topic judged %v ballots, want 0 (ballots go to the origin's topic)", got)
		}
	}
	for _, n := range bystanders {
		if got := validated(t, n); got != 0 {
			t.Errorf("node on topic %d of %d judged %v round messages, want none", router.Home(n.id().String(), count), count, got)
		}
	}
}

// TestHomeTopicsFollowTheSwarm: a node told the swarm grew from 10 to 100
// nodes moves from the topics at counts 1 and 2 to those at 8 and 16.
func TestHomeTopicsFollowTheSwarm(t *testing.T) {
	var size atomic.Int64
	size.Store(10)
	n := newNode(t, nodeOpts{opts: []Option{
		WithSwarmSize(func() int { return int(size.Load()) }),
		func(c *config) { c.topicsEvery = 10 * time.Millisecond },
	}})
	homes := func(counts ...int) []string {
		var out []string
		for _, k := range counts {
			out = append(out, protocol.RoundTopic(k, router.Home(n.id().String(), k)))
		}
		return out
	}
	listening := func(want []string) func() bool {
		return func() bool {
			got := n.homeTopics()
			slices.Sort(got)
			slices.Sort(want)
			return slices.Equal(got, want)
		}
	}
	if !listening(homes(1, 2))() {
		t.Fatalf("at 10 nodes listening on %v, want %v", n.homeTopics(), homes(1, 2))
	}
	if got := n.c.publishCount(); got != 1 {
		t.Errorf("at 10 nodes publishing at %d topics, want 1", got)
	}
	size.Store(100)
	p2ptest.Eventually(t, listening(homes(8, 16)), p2ptest.Patience)
	if got := n.c.publishCount(); got != 16 {
		t.Errorf("at 100 nodes publishing at %d topics, want 16", got)
	}
}

// TestRoundWithPeersJustDialled: peers dialled for the ask itself answer
// before their pubsub says which topics they listen on; the open and the
// ballots still reach them (flood publish sends only to peers known to
// listen, and a small topic may have no mesh to relay through).
func TestRoundWithPeersJustDialled(t *testing.T) {
	for i := range 5 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			o := newNode(t, nodeOpts{})
			b := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.8}})
			c := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "paris", confidence: 0.85}})
			for _, n := range []*testNode{b, c} {
				o.h.Peerstore().AddAddrs(n.id(), n.h.Addrs(), time.Hour)
			}
			req := newRequest(protocol.NewID(), time.Now().Add(5*time.Second))
			props := o.askEach(t.Context(), req, b.id(), c.id())
			res, err := o.c.RunRound(t.Context(), RoundSpec{Request: req, Proposals: props, Deadline: time.Now().Add(5 * time.Second),
				Local: router.Proposal{Model: "fake:1", Answer: "Paris", Confidence: 0.9}})
			if err != nil {
				t.Fatal(err)
			}
			if res.End != EndAllVoted || len(res.Ballots) != 3 {
				t.Errorf("end %s with %d ballots, want all 3 voted", res.End, len(res.Ballots))
			}
		})
	}
}
