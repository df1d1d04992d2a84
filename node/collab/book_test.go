package collab

import (
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

func newPeerID(t testing.TB) peer.ID {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func testOpen(round string, origin peer.ID, deadline time.Time, participants ...peer.ID) *protocol.RoundOpen {
	o := &protocol.RoundOpen{
		RoundId: round, Origin: origin.String(), QueryDigest: make([]byte, protocol.DigestBytes),
		Quorum: 1, DeadlineUnixMs: deadline.UnixMilli(), Version: protocol.RoundVersion,
	}
	for _, p := range participants {
		o.Participants = append(o.Participants, p.String())
		o.Proposals = append(o.Proposals, &protocol.Proposal{Peer: p.String(), Model: "m", Answer: "a", Confidence: 0.5})
	}
	return o
}

func encodeOpen(t testing.TB, o *protocol.RoundOpen) []byte {
	t.Helper()
	b, err := protocol.EncodeRound(&protocol.RoundMessage{Body: &protocol.RoundMessage_Open{Open: o}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encodeBallot(t testing.TB, round string, choice int32) []byte {
	t.Helper()
	b, err := protocol.EncodeRound(&protocol.RoundMessage{Body: &protocol.RoundMessage_Ballot{
		Ballot: &protocol.Ballot{RoundId: round, Choice: choice, Confidence: 0.5}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBookJudge runs one sequence of messages through a fresh book: each
// step's verdict depends on the steps before it.
func TestBookJudge(t *testing.T) {
	self, origin, voter, other, stranger := newPeerID(t), newPeerID(t), newPeerID(t), newPeerID(t), newPeerID(t)
	now := time.Now()
	soon := now.Add(5 * time.Second)
	book := newRoundBook(self, 16)
	front := []peer.ID{newPeerID(t), newPeerID(t), newPeerID(t), newPeerID(t)}

	steps := []struct {
		name   string
		author peer.ID
		data   []byte
		at     time.Time
		want   pubsub.ValidationResult
		reason string
	}{
		{"malformed bytes", voter, []byte("\x0a\x03abc"), now, pubsub.ValidationReject, reasonMalformed},
		{"empty message", voter, nil, now, pubsub.ValidationReject, reasonMalformed},
		{"ballot before its open", voter, encodeBallot(t, "r1", 0), now, pubsub.ValidationIgnore, reasonUnknownRound},
		{"open by someone else than its origin", voter, encodeOpen(t, testOpen("r1", origin, soon, origin, voter)), now, pubsub.ValidationReject, reasonNotOrigin},
		{"expired open", origin, encodeOpen(t, testOpen("r0", origin, now.Add(-time.Minute), origin)), now, pubsub.ValidationIgnore, reasonExpired},
		{"open too far ahead", origin, encodeOpen(t, testOpen("r0", origin, now.Add(time.Hour), origin)), now, pubsub.ValidationReject, reasonBadDeadline},
		{"open", origin, encodeOpen(t, testOpen("r1", origin, soon, origin, voter)), now, pubsub.ValidationAccept, reasonOK},
		{"the origin opens it again", origin, encodeOpen(t, testOpen("r1", origin, soon, origin, voter, other)), now, pubsub.ValidationIgnore, reasonRepeatedOpen},
		{"the origin's same open heard again", origin, encodeOpen(t, testOpen("r1", origin, soon, origin, voter)), now, pubsub.ValidationIgnore, reasonRepeatedOpen},
		{"this node's open", self, encodeOpen(t, testOpen("r9", self, soon, self, voter)), now, pubsub.ValidationAccept, reasonOK},
		{"this node's open to another home topic", self, encodeOpen(t, testOpen("r9", self, soon, self, voter)), now, pubsub.ValidationAccept, reasonOK},
		{"this node changing its open", self, encodeOpen(t, testOpen("r9", self, soon, self, voter, other)), now, pubsub.ValidationIgnore, reasonRepeatedOpen},
		{"ballot from a non-participant", stranger, encodeBallot(t, "r1", 0), now, pubsub.ValidationReject, reasonNotParticipant},
		{"ballot of the origin's later open is still refused", other, encodeBallot(t, "r1", 0), now, pubsub.ValidationReject, reasonNotParticipant},
		{"choice out of range", voter, encodeBallot(t, "r1", 2), now, pubsub.ValidationReject, reasonBadChoice},
		{"ballot", voter, encodeBallot(t, "r1", 1), now, pubsub.ValidationAccept, reasonOK},
		{"second ballot", voter, encodeBallot(t, "r1", 0), now, pubsub.ValidationReject, reasonDuplicate},
		{"escalation by the origin", origin, encodeBallot(t, "r1", -1), now, pubsub.ValidationAccept, reasonOK},
		{"ballot for another round", voter, encodeBallot(t, "r2", 0), now, pubsub.ValidationIgnore, reasonUnknownRound},
		{"front-running open under the same id", front[0], encodeOpen(t, testOpen("r1", front[0], soon, front[0], stranger)), now, pubsub.ValidationAccept, reasonOK},
		{"its participant votes there", stranger, encodeBallot(t, "r1", 0), now, pubsub.ValidationAccept, reasonOK},
		{"more origins", front[1], encodeOpen(t, testOpen("r1", front[1], soon, front[1])), now, pubsub.ValidationAccept, reasonOK},
		{"up to the cap", front[2], encodeOpen(t, testOpen("r1", front[2], soon, front[2])), now, pubsub.ValidationAccept, reasonOK},
		{"origins past the cap", front[3], encodeOpen(t, testOpen("r1", front[3], soon, front[3])), now, pubsub.ValidationIgnore, reasonTooManyOrigins},
		{"late ballot", other, encodeBallot(t, "r1", 0), soon.Add(protocol.MaxClockSkew + time.Second), pubsub.ValidationIgnore, reasonExpired},
	}
	for _, s := range steps {
		m, _, v := book.judge(s.author, s.data, s.at)
		if v.result != s.want || v.reason != s.reason {
			t.Errorf("%s: %v (%s), want %v (%s)", s.name, v.result, v.reason, s.want, s.reason)
		}
		if v.result == pubsub.ValidationAccept && m == nil {
			t.Errorf("%s: accepted without the decoded message", s.name)
		}
	}
}

func TestBookCapacity(t *testing.T) {
	self, a := newPeerID(t), newPeerID(t)
	now := time.Now()
	book := newRoundBook(self, 2)
	mustAccept := func(author peer.ID, data []byte) {
		t.Helper()
		if _, _, v := book.judge(author, data, now); v.result != pubsub.ValidationAccept {
			t.Fatalf("refused: %s", v.reason)
		}
	}
	mustAccept(self, encodeOpen(t, testOpen("mine", self, now.Add(time.Second), self, a)))
	mustAccept(a, encodeOpen(t, testOpen("theirs-1", a, now.Add(time.Second), a)))
	mustAccept(a, encodeOpen(t, testOpen("theirs-2", a, now.Add(time.Second), a)))
	// The oldest round this node did not open made room; its own stayed.
	if _, _, v := book.judge(a, encodeBallot(t, "mine", 0), now); v.result != pubsub.ValidationAccept {
		t.Errorf("ballot for this node's round after eviction: %s", v.reason)
	}
	if _, _, v := book.judge(a, encodeBallot(t, "theirs-1", 0), now); v.reason != reasonUnknownRound {
		t.Errorf("ballot for the evicted round: %s, want %s", v.reason, reasonUnknownRound)
	}
	// Expired rounds go first, even this node's own.
	later := now.Add(time.Minute)
	if _, _, v := book.judge(a, encodeOpen(t, testOpen("theirs-3", a, later.Add(time.Second), a)), later); v.result != pubsub.ValidationAccept {
		t.Fatal(v.reason)
	}
	if len(book.rounds) != 1 {
		t.Errorf("%d rounds kept after expiry, want 1", len(book.rounds))
	}
}

func TestAnswerCache(t *testing.T) {
	asker, other := newPeerID(t), newPeerID(t)
	now := time.Now()
	digest := []byte("digest")
	own := router.Proposal{Peer: "me", Model: "m", Answer: "Paris", Confidence: 0.9}
	c := newAnswerCache(2, time.Minute)
	c.put(asker, "r1", digest, own, now)

	tests := []struct {
		name   string
		origin peer.ID
		round  string
		digest []byte
		at     time.Time
		want   string
	}{
		{"another origin under the same id", other, "r1", digest, now, voteNoAnswer},
		{"another prompt", asker, "r1", []byte("other"), now, voteDigestMismatch},
		{"unknown round", asker, "r9", digest, now, voteNoAnswer},
		{"after the TTL", asker, "r1", digest, now.Add(2 * time.Minute), voteNoAnswer},
		{"vote", asker, "r1", digest, now, ""},
		{"vote again", asker, "r1", digest, now, voteAlreadyVoted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := c.claim(tt.origin, tt.round, tt.digest, tt.at)
			if why != tt.want || (why == "" && got != own) {
				t.Errorf("claim = %+v, %q; want %q", got, why, tt.want)
			}
		})
	}
	// A retried ask does not earn a second ballot.
	c.put(asker, "r1", digest, own, now)
	if _, why := c.claim(asker, "r1", digest, now); why != voteAlreadyVoted {
		t.Errorf("after a retried ask: %q", why)
	}
	// Bounded: the oldest entry makes room.
	c.put(asker, "r2", digest, own, now)
	c.put(asker, "r3", digest, own, now)
	if len(c.entries) != 2 {
		t.Errorf("%d entries, cap 2", len(c.entries))
	}
	if _, why := c.claim(asker, "r3", digest, now); why != "" {
		t.Errorf("newest entry: %q", why)
	}
}

// FuzzJudge: whatever bytes arrive on the topic, the validator decides
// without panicking, and only ever accepts what decodes.
func FuzzJudge(f *testing.F) {
	origin, voter := newPeerID(f), newPeerID(f)
	now := time.Now()
	f.Add(encodeOpen(f, testOpen("r1", origin, now.Add(time.Second), origin, voter)), false)
	f.Add(encodeBallot(f, "r1", 0), true)
	f.Add(encodeBallot(f, "r1", -1), true)
	f.Add([]byte("\x12\x04\x0a\x02r1"), true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, fromVoter bool) {
		book := newRoundBook(origin, 8)
		book.judge(origin, encodeOpen(t, testOpen("r1", origin, now.Add(time.Second), origin, voter)), now)
		author := origin
		if fromVoter {
			author = voter
		}
		m, _, v := book.judge(author, data, now)
		if v.result == pubsub.ValidationAccept && (m == nil || m.Validate() != nil) {
			t.Fatalf("accepted an invalid message: %v", m)
		}
	})
}
