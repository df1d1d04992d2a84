package collab

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// frozenPeer is a host whose ask handler takes the stream and the request
// and then never answers nor acks, like a process stopped with its
// connections open. It lets go when the test ends.
func frozenPeer(t *testing.T) *testNode {
	t.Helper()
	h := p2ptest.NewHost(t)
	h.SetStreamHandler(protocol.AskProtocol, func(s network.Stream) {
		_, _ = protocol.ReadAskRequest(s)
		<-t.Context().Done()
		_ = s.Reset()
	})
	return &testNode{h: h}
}

// A frozen peer costs a round the ack timeout, not the ask's deadline: the
// live peers' answers come back and the frozen one is dropped with ErrNoAck.
// A peer that acked has the whole deadline, however slow its answer.
func TestAskAllDropsAFrozenPeer(t *testing.T) {
	// Long enough for a live peer to ack on a loaded machine under -race.
	const ackTimeout = time.Second
	asker := newNode(t, nodeOpts{opts: []Option{WithAckTimeout(ackTimeout)}})
	fast := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.9}})
	slow := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.8, delay: 2 * ackTimeout}}) // acks, then answers after the ack timeout
	frozen := frozenPeer(t)
	for _, n := range []*testNode{fast, slow, frozen} {
		p2ptest.Connect(t, asker.h, n.h)
	}
	const deadline = time.Minute
	start := time.Now()
	props := asker.c.AskAll(t.Context(), []peer.ID{fast.id(), slow.id(), frozen.id()}, newRequest("r", start.Add(deadline)))
	took := time.Since(start)
	for i, p := range props[:2] {
		if p.Err != "" || p.Answer != "Paris" {
			t.Errorf("live peer %d: %+v, want Paris", i, p)
		}
	}
	if p := props[2]; !strings.Contains(p.Err, ErrNoAck.Error()) {
		t.Errorf("frozen peer: %+v, want %v", p, ErrNoAck)
	}
	t.Logf("round with a frozen peer: AskAll took %v (ack timeout %v, ask deadline %v)", took.Round(time.Millisecond), ackTimeout, deadline)

	// Its breaker keeps it out until the cooldown ends; the live peers stay in.
	if !asker.c.Excluded(frozen.id()) || asker.c.Excluded(fast.id()) || asker.c.Excluded(slow.id()) {
		t.Errorf("excluded: frozen %v, fast %v, slow %v; want only the frozen peer",
			asker.c.Excluded(frozen.id()), asker.c.Excluded(fast.id()), asker.c.Excluded(slow.id()))
	}
	if _, err := asker.c.Ask(t.Context(), frozen.id(), newRequest("", time.Now().Add(deadline))); !errors.Is(err, ErrPeerExcluded) {
		t.Errorf("asking the frozen peer again: %v, want %v without waiting", err, ErrPeerExcluded)
	}
}

// A peer of an older build never acks; it is live if it answers within the
// ack timeout, and its answer is read as before.
func TestAskOldPeerThatNeverAcks(t *testing.T) {
	asker := newNode(t, nodeOpts{opts: []Option{WithAckTimeout(p2ptest.Patience)}})
	old := p2ptest.NewHost(t)
	var sawWantAck atomic.Bool
	rawAskHandler(old, func(req *protocol.AskRequest) *protocol.AskResponse {
		sawWantAck.Store(req.GetWantAck())
		return &protocol.AskResponse{QueryId: req.GetQueryId(), Model: "old:1", Answer: "Paris", Confidence: 0.9}
	})
	p2ptest.Connect(t, asker.h, old)
	resp, err := asker.c.Ask(context.Background(), old.ID(), newRequest("", time.Now().Add(time.Minute)))
	if err != nil || resp.GetAnswer() != "Paris" {
		t.Fatalf("Ask of a peer that never acks: %v, %v; want Paris", resp, err)
	}
	if !sawWantAck.Load() {
		t.Error("the request did not ask for an ack")
	}
}

// Once a majority of the peers asked agree, AskAll stops waiting: a
// straggler that acked but answers late (the 50 s peer) does not
// hold the round, and is not counted as dead for it.
func TestAskAllStopsOnAnAgreeingMajority(t *testing.T) {
	asker := newNode(t, nodeOpts{})
	a := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.9}})
	b := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "paris", confidence: 0.8}})
	straggler := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Lyon", confidence: 0.9, delay: time.Minute}})
	for _, n := range []*testNode{a, b, straggler} {
		p2ptest.Connect(t, asker.h, n.h)
	}
	const deadline = time.Minute
	start := time.Now()
	props := asker.c.AskAll(t.Context(), []peer.ID{a.id(), straggler.id(), b.id()}, newRequest("r", start.Add(deadline)))
	took := time.Since(start)
	if props[0].Err != "" || props[2].Err != "" {
		t.Errorf("agreeing peers: %+v, %+v", props[0], props[2])
	}
	if props[1].Err == "" {
		t.Errorf("straggler: %+v, want it cut off", props[1])
	}
	if asker.c.Excluded(straggler.id()) {
		t.Error("the straggler acked: it is slow, not dead, and must not be excluded")
	}
	t.Logf("round with a straggler: AskAll took %v (ask deadline %v)", took.Round(time.Millisecond), deadline)
}

// silentVoterSwarm is three meshed voting nodes with split answers (Paris,
// London, Berlin) and a fourth host, connected to the first, that answers
// asks ("Paris") but never votes.
func silentVoterSwarm(tb testing.TB) (a, b, c *testNode, silent host.Host) {
	tb.Helper()
	a = newNode(tb, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.9}})
	b = newNode(tb, nodeOpts{ans: &fakeAnswerer{answer: "London", confidence: 0.9}})
	c = newNode(tb, nodeOpts{ans: &fakeAnswerer{answer: "Berlin", confidence: 0.9}})
	silent = p2ptest.NewHost(tb)
	rawAskHandler(silent, func(req *protocol.AskRequest) *protocol.AskResponse {
		return &protocol.AskResponse{QueryId: req.QueryId, Model: "m", Answer: "Paris", Confidence: 0.9}
	})
	mesh(tb, a, b, c)
	p2ptest.Connect(tb, a.h, silent)
	return a, b, c, silent
}

// A participant that answered but left a round unvoted until its deadline
// holds no later round: the next one closes as soon as every live
// participant voted, with the silent one out of the quorum count.
func TestSilentVoterHoldsOneRoundOnly(t *testing.T) {
	a, b, c, silent := silentVoterSwarm(t)
	round := func() *RoundResult {
		t.Helper()
		req := newRequest(protocol.NewID(), time.Now().Add(p2ptest.Patience))
		// Each peer asked on its own, so none is cut as a straggler.
		props := a.askEach(context.Background(), req, b.id(), c.id(), silent.ID())
		res, err := a.c.RunRound(context.Background(), RoundSpec{Request: req, Proposals: props, Deadline: time.Now().Add(time.Second),
			Local: a.local()})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// Split answers: the silent participant's ballot could tip the first
	// round, so that round waits for it until the deadline.
	first := round()
	if first.End != EndDeadline || len(first.Silent) != 0 {
		t.Fatalf("first round: end %s, silent %v; want the deadline with everyone waited for", first.End, first.Silent)
	}
	second := round()
	if second.End != EndLiveVoted || len(second.Ballots) != 3 || !slices.Equal(second.Silent, []string{silent.ID().String()}) {
		t.Errorf("second round: end %s with %d ballots, silent %v; want %s with 3, the silent peer not waited for",
			second.End, len(second.Ballots), second.Silent, EndLiveVoted)
	}
	if second.Tally.Outcome == router.OutcomeQuorumMissed {
		t.Errorf("second round missed its quorum: %+v", second.Tally)
	}
	t.Logf("a round with a silent voter: %v the first time (its deadline), %v once it is known silent", first.Elapsed.Round(time.Millisecond), second.Elapsed.Round(time.Millisecond))
}

// A peer that refuses as BUSY is replaced within the round by the best
// spare not asked yet and not known full, and its load is remembered.
func TestAskAllRetriesBusyOnASpare(t *testing.T) {
	asker := newNode(t, nodeOpts{})
	busyPeer := func() host.Host {
		h := p2ptest.NewHost(t)
		rawAskHandler(h, func(req *protocol.AskRequest) *protocol.AskResponse {
			return &protocol.AskResponse{QueryId: req.QueryId, ErrorCode: protocol.ErrorCode_BUSY, ErrorMessage: "answering 1 asks already",
				Load: &protocol.PeerLoad{InFlight: 1, Slots: 1}}
		})
		p2ptest.Connect(t, asker.h, h)
		return h
	}
	busy, alsoBusy := busyPeer(), busyPeer()
	spare := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.9}})
	other := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.8}})
	p2ptest.Connect(t, asker.h, spare.h)
	p2ptest.Connect(t, asker.h, other.h)

	tests := []struct {
		name     string
		peers    []peer.ID
		spares   []peer.ID
		wantPeer []peer.ID // who answered each place
		wantBusy []bool    // that place ended BUSY
	}{
		{"a spare takes the busy peer's place", []peer.ID{other.id(), busy.ID()}, []peer.ID{spare.id()},
			[]peer.ID{other.id(), spare.id()}, []bool{false, false}},
		{"a spare asked already is not asked twice", []peer.ID{spare.id(), busy.ID()}, []peer.ID{spare.id()},
			[]peer.ID{spare.id(), busy.ID()}, []bool{false, true}},
		{"a spare known full is passed over", []peer.ID{busy.ID()}, []peer.ID{alsoBusy.ID(), spare.id()},
			[]peer.ID{spare.id()}, []bool{false}},
		{"no spare left", []peer.ID{busy.ID()}, nil, []peer.ID{busy.ID()}, []bool{true}},
	}
	// alsoBusy reports its load once, so the third case knows it full.
	if _, err := asker.c.Ask(t.Context(), alsoBusy.ID(), newRequest("", time.Now().Add(time.Minute))); !errors.Is(err, ErrRefused) {
		t.Fatalf("asking a busy peer: %v, want %v", err, ErrRefused)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props := asker.c.AskAll(t.Context(), tt.peers, newRequest("r", time.Now().Add(time.Minute)), tt.spares...)
			for i, p := range props {
				gotBusy := strings.Contains(p.Err, protocol.ErrorCode_BUSY.String())
				if p.Peer != tt.wantPeer[i].String() || gotBusy != tt.wantBusy[i] || (!gotBusy && p.Answer != "Paris") {
					t.Errorf("place %d: %s answered %q (err %q); want %s, busy %v", i, p.Peer, p.Answer, p.Err, tt.wantPeer[i], tt.wantBusy[i])
				}
			}
		})
	}
	if l, ok := asker.c.PeerLoad(busy.ID()); !ok || !l.Full() {
		t.Errorf("busy peer's load %+v (known %v), want full", l, ok)
	}
}

// A node reports its load on the ack of an ask it starts and on the BUSY
// refusal of one it cannot.
func TestAskReportsLoad(t *testing.T) {
	started := make(chan struct{}, 1)
	asker := newNode(t, nodeOpts{})
	peerNode := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.9, delay: time.Minute, started: started},
		opts: []Option{WithMaxConcurrent(1)}})
	p2ptest.Connect(t, asker.h, peerNode.h)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = asker.c.Ask(ctx, peerNode.id(), newRequest("", time.Now().Add(time.Minute)))
	}()
	<-started
	// The ack left before the answer started; the asker reads it soon after.
	p2ptest.Eventually(t, func() bool {
		l, ok := asker.c.PeerLoad(peerNode.id())
		return ok && l == router.Load{InFlight: 1, Slots: 1}
	}, p2ptest.Patience)
	resp, err := asker.c.Ask(t.Context(), peerNode.id(), newRequest("", time.Now().Add(time.Minute)))
	if !errors.Is(err, ErrRefused) || resp.GetErrorCode() != protocol.ErrorCode_BUSY || resp.GetLoad().GetInFlight() != 1 || resp.GetLoad().GetSlots() != 1 {
		t.Errorf("second ask: %v, %v; want BUSY with 1 of 1 slot in flight", resp, err)
	}
	cancel()
	<-done
}

// A peer excluded for failed asks and unvoted rounds (a partition) gets its
// probe as soon as it connects again, not when its cooldown runs out.
func TestReconnectedPeerIsProbedAtOnce(t *testing.T) {
	asks, err := router.NewBreakers(time.Hour, time.Hour, 8)
	if err != nil {
		t.Fatal(err)
	}
	votes, err := router.NewBreakers(time.Hour, time.Hour, 8)
	if err != nil {
		t.Fatal(err)
	}
	a := newNode(t, nodeOpts{opts: []Option{WithPeerBreakers(asks), WithVoterBreakers(votes)}})
	b := newNode(t, nodeOpts{})
	p2ptest.Connect(t, a.h, b.h)
	bid := b.id().String()
	asks.Failure(bid, time.Now())
	votes.Failure(bid, time.Now())
	if got := asks.State(bid, time.Now()); got != router.BreakerExcluded {
		t.Fatalf("after the failure: %v, want excluded", got)
	}

	if err := a.h.Network().ClosePeer(b.id()); err != nil {
		t.Fatal(err)
	}
	p2ptest.Eventually(t, func() bool { return a.h.Network().Connectedness(b.id()) != network.Connected }, 10*time.Second)
	p2ptest.Connect(t, a.h, b.h)
	p2ptest.Eventually(t, func() bool {
		now := time.Now()
		return asks.State(bid, now) == router.BreakerProbe && votes.State(bid, now) == router.BreakerProbe
	}, 10*time.Second)
}
