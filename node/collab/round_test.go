package collab

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// round asks peers from origin and runs a round on their answers, as the
// node's engine will.
func round(t *testing.T, origin *testNode, peers []peer.ID, askFor, voteFor time.Duration) (*RoundResult, error) {
	t.Helper()
	start := time.Now()
	req := newRequest(protocol.NewID(), start.Add(askFor))
	props := origin.c.AskAll(context.Background(), peers, req)
	return origin.c.RunRound(context.Background(), RoundSpec{
		Request:   req,
		Local:     origin.local(),
		Proposals: props,
		Deadline:  time.Now().Add(voteFor),
	})
}

func voters(res *RoundResult) []string {
	var out []string
	for _, b := range res.Ballots {
		out = append(out, b.Voter)
	}
	slices.Sort(out)
	return out
}

func ids(nodes ...*testNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.id().String())
	}
	slices.Sort(out)
	return out
}

// TestRoundThreeNodes runs real rounds: asks over streams, the open and the
// ballots over gossipsub, among three nodes.
func TestRoundThreeNodes(t *testing.T) {
	tests := []struct {
		name    string
		answers [3]string
		want    router.TallyOutcome
		winner  string
	}{
		{"all agree", [3]string{"Paris", "paris.", "The answer is Paris"}, router.OutcomeConsensus, "Paris"},
		{"two agree", [3]string{"Paris", "London", "Paris"}, router.OutcomeConsensus, "Paris"},
		{"all differ", [3]string{"Paris", "London", "Berlin"}, router.OutcomeSplit, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nodes []*testNode
			for _, a := range tt.answers {
				nodes = append(nodes, newNode(t, nodeOpts{ans: &fakeAnswerer{answer: a, confidence: 0.9}}))
			}
			a, b, c := nodes[0], nodes[1], nodes[2]
			mesh(t, a, b, c)

			res, err := round(t, a, []peer.ID{b.id(), c.id()}, 5*time.Second, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if res.End != EndAllVoted || !slices.Equal(voters(res), ids(a, b, c)) {
				t.Fatalf("end %s with ballots from %v, want all of %v", res.End, voters(res), ids(a, b, c))
			}
			for i, n := range nodes {
				p := res.Proposals[i]
				if p.Peer != n.id().String() || p.Answer != tt.answers[i] || p.Err != "" {
					t.Errorf("proposal %d: %+v, want %s's %q", i, p, n.id(), tt.answers[i])
				}
			}
			rep := a.c.TrackRecord()
			for _, bl := range res.Ballots {
				if want := 0.9 * rep.Standing(bl.Voter, nil); bl.Weight != want {
					t.Errorf("ballot of %s weighs %v, want confidence × track record = %v", bl.Voter, bl.Weight, want)
				}
			}
			if res.Tally.Outcome != tt.want {
				t.Errorf("outcome %s, want %s (tally %+v)", res.Tally.Outcome, tt.want, res.Tally)
			}
			if tt.winner != "" && res.Proposals[res.Tally.Winner].Answer != tt.winner {
				t.Errorf("winner %q, want %q", res.Proposals[res.Tally.Winner].Answer, tt.winner)
			}
			// The tally is router.Tally over what was collected: nothing else decides.
			params := router.DefaultThresholds().TallyParams(res.Participants)
			params.Proven = func(v string) bool { return v == a.id().String() } // the origin trusts itself; nobody is checked yet
			if got := router.Tally(res.Proposals, res.Ballots, params); got.Outcome != res.Tally.Outcome || got.Winner != res.Tally.Winner {
				t.Errorf("recomputed tally %+v differs from %+v", got, res.Tally)
			}
			for _, n := range []*testNode{b, c} {
				p2ptest.Eventually(t, func() bool { return counter(t, n, "votes", voteCast) == 1 }, p2ptest.Patience)
			}
			t.Logf("round of 3: elapsed %s, last ballot → tally %s", res.Elapsed, res.Settle)
		})
	}
}

// TestRoundPeerDiesMidRound: a peer whose host closes while it answers is
// reported failed by AskAll in time, and the round completes with the rest.
func TestRoundPeerDiesMidRound(t *testing.T) {
	started := make(chan struct{}, 1)
	a := newNode(t, nodeOpts{})
	b := newNode(t, nodeOpts{})
	c := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.8, delay: 50 * time.Millisecond}})
	d := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "never", confidence: 0.9, delay: time.Minute, started: started}})
	mesh(t, a, b, c, d)
	go func() {
		<-started
		_ = d.h.Close()
	}()
	start := time.Now()
	res, err := round(t, a, []peer.ID{b.id(), d.id(), c.id()}, 10*time.Second, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("asks and round took %s: the dead peer held them up", took)
	}
	if !slices.Equal(res.Participants, []string{a.id().String(), b.id().String(), c.id().String()}) {
		t.Errorf("participants %v, want a, b, c", res.Participants)
	}
	if last := res.Proposals[len(res.Proposals)-1]; last.Peer != d.id().String() || last.Err == "" {
		t.Errorf("dead peer's proposal %+v, want its error listed last", last)
	}
	if res.End != EndAllVoted || res.Tally.Outcome != router.OutcomeConsensus || len(res.Tally.Weights) != 4 {
		t.Errorf("end %s, tally %+v", res.End, res.Tally)
	}
}

// TestRoundEnds: a participant that answered but never votes holds the
// round until the deadline unless its ballot can no longer matter.
func TestRoundEnds(t *testing.T) {
	tests := []struct {
		name    string
		answers [3]string
		want    RoundEnd
	}{
		{"decided without the silent voter", [3]string{"Paris", "Paris", "Paris"}, EndDecided},
		{"the silent voter could still tip it", [3]string{"Paris", "London", "Berlin"}, EndDeadline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: tt.answers[0], confidence: 0.9}, opts: []Option{WithDecidedGrace(20 * time.Millisecond)}})
			b := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: tt.answers[1], confidence: 0.9}})
			c := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: tt.answers[2], confidence: 0.9}})
			silent := p2ptest.NewHost(t)
			rawAskHandler(silent, func(req *protocol.AskRequest) *protocol.AskResponse {
				return &protocol.AskResponse{QueryId: req.QueryId, Model: "m", Answer: "Paris", Confidence: 0.9}
			})
			mesh(t, a, b, c)
			p2ptest.Connect(t, a.h, silent)
			// Long enough that a loaded machine delivers every ballot by
			// then: the decided round must end on the decision, not here.
			const vote = 5 * time.Second
			// Each peer asked on its own: asked together, two agreeing
			// answers would end the asks early (router.EnoughProposals) and
			// leave the third peer out of the round this test is about.
			req := newRequest(protocol.NewID(), time.Now().Add(5*time.Second))
			props := a.askEach(context.Background(), req, b.id(), c.id(), silent.ID())
			res, err := a.c.RunRound(context.Background(), RoundSpec{Request: req, Proposals: props, Deadline: time.Now().Add(vote),
				Local: a.local()})
			if err != nil {
				t.Fatal(err)
			}
			if res.End != tt.want || len(res.Ballots) != 3 {
				t.Errorf("end %s with %d ballots after %s, want %s with 3", res.End, len(res.Ballots), res.Elapsed, tt.want)
			}
			t.Logf("round ended by %s after %s of its %s", res.End, res.Elapsed.Round(time.Millisecond), vote)
		})
	}
}

func TestRunRoundSpec(t *testing.T) {
	a := newNode(t, nodeOpts{})
	soon := time.Now().Add(5 * time.Second)
	local := router.Proposal{Model: "m", Answer: "Paris", Confidence: 0.9}
	tests := []struct {
		name string
		spec RoundSpec
		want error
	}{
		{"no request", RoundSpec{Local: local, Deadline: soon}, ErrInvalidSpec},
		{"no round id", RoundSpec{Request: newRequest("", soon), Local: local, Deadline: soon}, ErrInvalidSpec},
		{"deadline passed", RoundSpec{Request: newRequest("r", soon), Local: local, Deadline: time.Now().Add(-time.Second)}, ErrInvalidSpec},
		{"deadline too far", RoundSpec{Request: newRequest("r", soon), Local: local, Deadline: time.Now().Add(time.Hour)}, ErrInvalidSpec},
		{"local answer without model", RoundSpec{Request: newRequest("r", soon), Local: router.Proposal{Answer: "x"}, Deadline: soon}, ErrInvalidSpec},
		{"bad peer id", RoundSpec{Request: newRequest("r", soon), Local: local, Deadline: soon,
			Proposals: []router.Proposal{{Peer: "nobody", Model: "m", Answer: "x"}}}, ErrInvalidSpec},
		{"nothing to vote on", RoundSpec{Request: newRequest("r", soon), Local: router.Proposal{Err: "down"}, Deadline: soon,
			Proposals: []router.Proposal{{Peer: newPeerID(t).String(), Err: "refused"}}}, ErrNoProposals},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := a.c.RunRound(context.Background(), tt.spec); !errors.Is(err, tt.want) {
				t.Errorf("RunRound: %v, want %v", err, tt.want)
			}
		})
	}
	// Alone, this node is the only participant and decides by itself.
	res, err := a.c.RunRound(context.Background(), RoundSpec{Request: newRequest(protocol.NewID(), soon), Local: local, Deadline: soon})
	if err != nil || res.End != EndAllVoted || res.Tally.Outcome != router.OutcomeConsensus {
		t.Fatalf("solo round: %+v, %v", res, err)
	}
	if got := counter(t, a, "rounds", "error"); got != float64(len(tests)) {
		t.Errorf("rounds_total{outcome=error} = %v", got)
	}
}

// TestRunRoundCancelled: the caller giving up ends the round with its error,
// and Close ends it with ErrClosed, both before the deadline.
func TestRunRoundCancelled(t *testing.T) {
	for _, viaClose := range []bool{false, true} {
		name := map[bool]string{false: "ctx", true: "close"}[viaClose]
		t.Run(name, func(t *testing.T) {
			a := newNode(t, nodeOpts{opts: []Option{WithDecidedGrace(time.Minute)}})
			silent := p2ptest.NewHost(t)
			rawAskHandler(silent, func(req *protocol.AskRequest) *protocol.AskResponse {
				return &protocol.AskResponse{QueryId: req.QueryId, Model: "m", Answer: "Paris", Confidence: 0.9}
			})
			p2ptest.Connect(t, a.h, silent)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req := newRequest(protocol.NewID(), time.Now().Add(5*time.Second))
			props := a.c.AskAll(ctx, []peer.ID{silent.ID()}, req)
			errc := make(chan error, 1)
			go func() {
				_, err := a.c.RunRound(ctx, RoundSpec{Request: req, Local: router.Proposal{Model: "m", Answer: "Paris", Confidence: 0.9},
					Proposals: props, Deadline: time.Now().Add(time.Minute)})
				errc <- err
			}()
			p2ptest.Eventually(t, func() bool { return counter(t, a, "messages", kindBallot, reasonOK) == 1 }, p2ptest.Patience)
			want := context.Canceled
			if viaClose {
				want = ErrClosed
				_ = a.c.Close()
			} else {
				cancel()
			}
			select {
			case err := <-errc:
				if !errors.Is(err, want) {
					t.Errorf("RunRound: %v, want %v", err, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("RunRound did not return")
			}
		})
	}
}
