package collab

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	p2pproto "github.com/libp2p/go-libp2p/core/protocol"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// rogue is a test peer that speaks the rounds topic through its own
// gossipsub, with no validator and no rules.
type rogue struct {
	h     host.Host
	ps    *pubsub.PubSub
	topic *pubsub.Topic
	sub   *pubsub.Subscription
}

func newRogue(t *testing.T, opts ...pubsub.Option) *rogue {
	t.Helper()
	h := p2ptest.NewHost(t)
	ps := p2ptest.GossipSub(t.Context(), t, h, opts...)
	topic, err := ps.Join(protocol.RoundTopic(1, 0)) // every test node's home: none is given the swarm's size
	if err != nil {
		t.Fatal(err)
	}
	sub, err := topic.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sub.Cancel()
		_ = topic.Close()
	})
	return &rogue{h: h, ps: ps, topic: topic, sub: sub}
}

func (r *rogue) host() host.Host        { return r.h }
func (r *rogue) pubsub() *pubsub.PubSub { return r.ps }
func (r *rogue) homeTopics() []string   { return []string{r.topic.String()} }

func (r *rogue) publish(t *testing.T, m *protocol.RoundMessage) {
	t.Helper()
	data, err := protocol.EncodeRound(m)
	if err != nil {
		t.Fatal(err)
	}
	r.publishRaw(t, data)
}

func (r *rogue) publishRaw(t *testing.T, data []byte) {
	t.Helper()
	if err := r.topic.Publish(context.Background(), data); err != nil {
		t.Fatalf("rogue publish: %v", err)
	}
}

// awaitOpen reads the rogue's subscription until the round's open arrives.
func (r *rogue) awaitOpen(t *testing.T, round string) *protocol.RoundOpen {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		msg, err := r.sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for the open: %v", err)
		}
		if m, err := protocol.DecodeRound(msg.GetData()); err == nil && m.GetOpen().GetRoundId() == round {
			return m.GetOpen()
		}
	}
}

func ballot(round string, choice int32, confidence float64) *protocol.RoundMessage {
	return &protocol.RoundMessage{Body: &protocol.RoundMessage_Ballot{Ballot: &protocol.Ballot{RoundId: round, Choice: choice, Confidence: confidence}}}
}

// rejectTracer records the reasons pubsub itself refused messages for.
type rejectTracer struct {
	mu      sync.Mutex
	reasons map[string]int
}

func (r *rejectTracer) count(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reasons[reason]
}

func (r *rejectTracer) RejectMessage(_ *pubsub.Message, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons[reason]++
}
func (*rejectTracer) OnNewOutboundStream(peer.ID, p2pproto.ID) {}
func (*rejectTracer) OnClosedOutboundStream(peer.ID)           {}
func (*rejectTracer) Join(string)                              {}
func (*rejectTracer) Leave(string)                             {}
func (*rejectTracer) Graft(peer.ID, string)                    {}
func (*rejectTracer) Prune(peer.ID, string)                    {}
func (*rejectTracer) ValidateMessage(*pubsub.Message)          {}
func (*rejectTracer) DeliverMessage(*pubsub.Message)           {}
func (*rejectTracer) DuplicateMessage(*pubsub.Message)         {}
func (*rejectTracer) ThrottlePeer(peer.ID)                     {}
func (*rejectTracer) RecvRPC(*pubsub.RPC)                      {}
func (*rejectTracer) SendRPC(*pubsub.RPC, peer.ID)             {}
func (*rejectTracer) DropRPC(*pubsub.RPC, peer.ID)             {}
func (*rejectTracer) UndeliverableMessage(*pubsub.Message)     {}

var _ pubsub.RawTracer = (*rejectTracer)(nil)

// TestRoundMaliciousPeers: a participant that votes out of turn, twice and
// out of range, a peer that is no participant, and a peer that forges
// another participant's authorship (unsigned, with signing disabled) change
// nothing: the origin counts exactly one ballot per participant, each the
// participant's own first valid one.
func TestRoundMaliciousPeers(t *testing.T) {
	tracer := &rejectTracer{reasons: map[string]int{}}
	// The grace is longer than the round, so the round stays open until its
	// deadline while the rogues try everything.
	o := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.9},
		opts: []Option{WithDecidedGrace(time.Minute)}, psOpts: []pubsub.Option{pubsub.WithRawTracer(tracer)}})
	b := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.8}})
	m := newRogue(t)                                                                                        // a participant
	n := newRogue(t)                                                                                        // not a participant
	f := newRogue(t, pubsub.WithMessageSignaturePolicy(pubsub.LaxNoSign), pubsub.WithMessageAuthor(b.id())) // claims to be b
	// answers, never votes: keeps the round open. Its answer differs from b's
	// so that no majority of the asked agrees before m's proposal is in (the
	// early quorum would otherwise cut m as a straggler, and m must take part).
	silent := p2ptest.NewHost(t)
	mesh(t, o, b, m, n, f)
	p2ptest.Connect(t, o.h, silent)

	round := protocol.NewID()
	early := make(chan struct{})
	rawAskHandler(m.h, func(req *protocol.AskRequest) *protocol.AskResponse {
		// Out of turn: a ballot for the round before its open exists.
		m.publish(t, ballot(req.RoundId, 0, 1))
		close(early)
		return &protocol.AskResponse{QueryId: req.QueryId, Model: "rogue", Answer: "London", Confidence: 1}
	})
	rawAskHandler(silent, func(req *protocol.AskRequest) *protocol.AskResponse {
		return &protocol.AskResponse{QueryId: req.QueryId, Model: "m", Answer: "Lyon", Confidence: 0.9}
	})
	req := newRequest(round, time.Now().Add(5*time.Second))
	props := o.c.AskAll(context.Background(), []peer.ID{b.id(), m.h.ID(), silent.ID()}, req)
	<-early
	p2ptest.Eventually(t, func() bool {
		return counter(t, o, "messages", kindBallot, reasonUnknownRound) == 1
	}, p2ptest.Patience)

	type outcome struct {
		res *RoundResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := o.c.RunRound(context.Background(), RoundSpec{Request: req,
			Local: router.Proposal{Model: "fake:1", Answer: "Paris", Confidence: 0.9}, Proposals: props,
			Deadline: time.Now().Add(1500 * time.Millisecond)})
		done <- outcome{res, err}
	}()
	open := m.awaitOpen(t, round)
	// Proposals: 0 o (Paris), 1 b (Paris), 2 m (London), 3 silent (Lyon).
	const mine = 2
	if open.Proposals[mine].GetPeer() != m.h.ID().String() {
		t.Fatalf("proposal order %v", open.Proposals)
	}
	// What b's honest ballot is: its choice by the router's rule.
	bs := router.ChooseBallot(router.Proposal{Peer: b.id().String(), Model: "fake:1", Answer: "Paris", Confidence: 0.8},
		fromWire(open.Proposals), router.DefaultThresholds().BallotParams(1)).Choice
	if bs == mine || bs == router.Escalate {
		t.Fatalf("b would choose %d: the forgery must differ from its honest choice", bs)
	}
	garbage := func(name, kind, reason string, publish func()) {
		t.Helper()
		before := counter(t, o, "messages", kind, reason)
		publish()
		p2ptest.Eventually(t, func() bool { return counter(t, o, "messages", kind, reason) > before }, p2ptest.Patience)
	}
	garbage("a ballot for another round", kindBallot, reasonUnknownRound, func() { m.publish(t, ballot(protocol.NewID(), 0, 1)) })
	garbage("a choice out of range", kindBallot, reasonBadChoice, func() { m.publish(t, ballot(round, 7, 1)) })
	garbage("an undecodable payload", kindMalformed, reasonMalformed, func() { m.publishRaw(t, []byte("\x12\x02\x08\x01garbage")) })
	garbage("an open in the origin's name", kindOpen, reasonNotOrigin, func() {
		fake := testOpen(round, o.id(), time.Now().Add(time.Second), m.h.ID())
		m.publish(t, &protocol.RoundMessage{Body: &protocol.RoundMessage_Open{Open: fake}})
	})
	garbage("a non-participant's ballot", kindBallot, reasonNotParticipant, func() { n.publish(t, ballot(round, 0, 1)) })
	// Forged authorship never reaches the validator: StrictSign drops it.
	f.publish(t, ballot(round, mine, 1))
	p2ptest.Eventually(t, func() bool { return tracer.count(pubsub.RejectMissingSignature) >= 1 }, p2ptest.Patience)
	// The participant's own vote, then a second one. pubsub validates
	// concurrently, so two ballots sent back to back may be judged in either
	// order (either way one counts): wait for the first to be judged.
	p2ptest.Eventually(t, func() bool { return counter(t, o, "messages", kindBallot, reasonOK) == 2 }, p2ptest.Patience)
	m.publish(t, ballot(round, mine, 0.5))
	p2ptest.Eventually(t, func() bool { return counter(t, o, "messages", kindBallot, reasonOK) == 3 }, p2ptest.Patience)
	garbage("a second ballot", kindBallot, reasonDuplicate, func() { m.publish(t, ballot(round, 0, 1)) })

	var got outcome
	select {
	case got = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("round did not end")
	}
	if got.err != nil {
		t.Fatal(got.err)
	}
	res := got.res
	if res.End != EndDeadline {
		t.Errorf("end %s, want the deadline (the silent participant never votes)", res.End)
	}
	want := map[string]int{o.id().String(): 0, b.id().String(): bs, m.h.ID().String(): mine}
	have := map[string]int{}
	for _, bl := range res.Ballots {
		if _, dup := have[bl.Voter]; dup {
			t.Errorf("two ballots from %s", bl.Voter)
		}
		have[bl.Voter] = bl.Choice
	}
	if len(have) != len(want) {
		t.Errorf("ballots from %v, want exactly %v", have, want)
	}
	for v, c := range want {
		if h, ok := have[v]; !ok || h != c {
			t.Errorf("ballot of %s chose %d (present %v), want %d", v, h, ok, c)
		}
	}
	// The tally is what the honest ballots alone give.
	rep := o.c.TrackRecord()
	honest := []router.Ballot{
		{Voter: o.id().String(), Choice: 0, Weight: 0.9 * rep.Standing(o.id().String(), nil)},
		{Voter: b.id().String(), Choice: bs, Weight: 0.8 * rep.Standing(b.id().String(), nil)},
		{Voter: m.h.ID().String(), Choice: mine, Weight: 0.5 * rep.Standing(m.h.ID().String(), nil)},
	}
	wantTally := router.Tally(res.Proposals, honest, router.DefaultThresholds().TallyParams(res.Participants))
	if res.Tally.Outcome != wantTally.Outcome || res.Tally.Winner != wantTally.Winner || !slices.Equal(res.Tally.Weights, wantTally.Weights) {
		t.Errorf("tally %+v, want %+v", res.Tally, wantTally)
	}
}

// ackAndHold serves the ask protocol on h as a rogue that answers very late:
// it acks at once when ack is set (else it stays mute), then holds its
// confident wrong answer until release is closed. answered is closed once
// the answer went out (or, released, the rogue found its stream reset), so
// a test can tell whether anything waited for it.
func ackAndHold(h host.Host, ack bool, release <-chan struct{}) (answered <-chan struct{}) {
	done := make(chan struct{})
	var once sync.Once
	h.SetStreamHandler(protocol.AskProtocol, func(s network.Stream) {
		defer s.Close()
		// Answered (or tried to) only once released, even when the asker
		// reset the stream first: it may cut the rogue before its ack.
		defer once.Do(func() { close(done) })
		req, err := protocol.ReadAskRequest(s)
		if err == nil && ack && req.GetWantAck() {
			err = protocol.WriteAskResponse(s, &protocol.AskResponse{QueryId: req.GetQueryId(), Ack: true})
		}
		<-release
		if err != nil {
			_ = s.Reset()
			return
		}
		_ = protocol.WriteAskResponse(s, &protocol.AskResponse{QueryId: req.GetQueryId(), Model: "rogue", Answer: "London", Confidence: 1})
	})
	return done
}

// A rogue that answers very late (confidently wrong) holds neither the ask
// past its ack timeout or the honest majority nor the round: the query is
// answered from the honest peers alone, the rogue takes no part in the
// round, and its ballot (it votes once released) is refused. Asserted by
// order, not time: the round is over before the rogue has answered at all.
func TestRogueAnsweringVeryLate(t *testing.T) {
	tests := []struct {
		name string
		ack  bool // the rogue acks (it has the whole ask deadline) or stays mute (cut at the ack timeout)
		c    string
		// cut is what AskAll reports for the rogue.
		cut error
	}{
		// Two honest peers agree with each other: AskAll stops on their majority.
		{"acks, then answers late", true, "paris", nil},
		// The honest peers disagree, so no majority cuts the rogue: only the
		// ack timeout does.
		{"never acks, answers late", false, "Lyon", ErrNoAck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const ackTimeout = 300 * time.Millisecond
			o := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.9}, opts: []Option{WithAckTimeout(ackTimeout)}})
			b := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.8}})
			c := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: tt.c, confidence: 0.85}})
			r := newRogue(t)
			release := make(chan struct{})
			answered := ackAndHold(r.h, tt.ack, release)
			t.Cleanup(func() {
				select {
				case <-release:
				default:
					close(release)
				}
			})
			mesh(t, o, b, c, r)

			round := protocol.NewID()
			req := newRequest(round, time.Now().Add(time.Minute)) // far past anything the test waits for
			props := o.c.AskAll(t.Context(), []peer.ID{b.id(), r.h.ID(), c.id()}, req)
			res, err := o.c.RunRound(t.Context(), RoundSpec{Request: req, Proposals: props, Deadline: time.Now().Add(time.Minute),
				Local: router.Proposal{Model: "fake:1", Answer: "Paris", Confidence: 0.9}})
			select {
			case <-answered:
				t.Fatal("the rogue answered before the round ended: nothing shows the round did not wait for it")
			default:
			}
			if err != nil {
				t.Fatalf("the round failed: %v", err)
			}
			if p := props[1]; p.Err == "" || (tt.cut != nil && !strings.Contains(p.Err, tt.cut.Error())) {
				t.Errorf("the rogue's proposal %+v, want it cut (%v)", p, tt.cut)
			}
			if slices.Contains(res.Participants, r.h.ID().String()) {
				t.Errorf("the late rogue is a participant: %v", res.Participants)
			}
			if res.End == EndDeadline {
				t.Errorf("the round ran to its deadline")
			}
			if w := res.Tally.Winner; w < 0 || res.Tally.Outcome != router.OutcomeConsensus || res.Proposals[w].Answer != "Paris" {
				t.Errorf("tally %+v, want consensus on Paris", res.Tally)
			}

			// Released, the rogue answers into a closed stream and votes for
			// a round it is no participant of: refused, nothing changes.
			close(release)
			<-answered
			before := counter(t, o, "messages", kindBallot, reasonNotParticipant)
			r.publish(t, ballot(round, 0, 1))
			p2ptest.Eventually(t, func() bool {
				return counter(t, o, "messages", kindBallot, reasonNotParticipant) > before
			}, p2ptest.Patience)
		})
	}
}

// A rogue that answers at once, confidently wrong, and then never votes does
// not hold the round or steer it: the honest ballots decide without it
// (router.Decided: its missing ballot, at full weight, could change
// nothing), and the answer is theirs.
func TestRogueThatNeverVotes(t *testing.T) {
	o := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.9}})
	b := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.8}})
	c := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "paris.", confidence: 0.85}})
	r := newRogue(t) // in the topic, but it never publishes
	rawAskHandler(r.h, func(req *protocol.AskRequest) *protocol.AskResponse {
		return &protocol.AskResponse{QueryId: req.QueryId, Model: "rogue", Answer: "London", Confidence: 1}
	})
	mesh(t, o, b, c, r)
	req := newRequest(protocol.NewID(), time.Now().Add(time.Minute))
	// Each peer asked on its own, so no majority cuts the rogue before its
	// answer is in: it must take part in the round.
	props := o.askEach(t.Context(), req, b.id(), r.h.ID(), c.id())
	if props[1].Err != "" || props[1].Answer != "London" {
		t.Fatalf("the rogue's proposal %+v", props[1])
	}
	// A deadline the test never reaches: ending on it would fail the test
	// by its End, without timing anything.
	res, err := o.c.RunRound(t.Context(), RoundSpec{Request: req, Proposals: props, Deadline: time.Now().Add(time.Minute),
		Local: router.Proposal{Model: "fake:1", Answer: "Paris", Confidence: 0.9}})
	if err != nil {
		t.Fatalf("the round failed: %v", err)
	}
	rogue := r.h.ID().String()
	if !slices.Contains(res.Participants, rogue) {
		t.Fatalf("the rogue is no participant: %v", res.Participants)
	}
	if res.End != EndDecided {
		t.Errorf("end %s, want %s (the honest ballots settle it without the rogue's)", res.End, EndDecided)
	}
	for _, bl := range res.Ballots {
		if bl.Voter == rogue {
			t.Errorf("a ballot from the rogue that never votes: %+v", bl)
		}
	}
	if w := res.Tally.Winner; w < 0 || res.Tally.Outcome != router.OutcomeConsensus || res.Proposals[w].Peer == rogue ||
		router.Agree(res.Proposals[w].Answer, "Paris") < router.DefaultThresholds().Agreement {
		t.Errorf("tally %+v, want consensus on an honest Paris", res.Tally)
	}
}
