package protocol

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func TestEncodeDecodeRound(t *testing.T) {
	for _, c := range []struct {
		name string
		msg  *RoundMessage
	}{
		{"open", openMsg(validRoundOpen())},
		{"ballot", ballotMsg(validBallot())},
		{"escalate ballot", ballotMsg(&Ballot{RoundId: "r1", Choice: Escalate, Confidence: 0.3})},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := EncodeRound(c.msg)
			if err != nil {
				t.Fatalf("EncodeRound: %v", err)
			}
			got, err := DecodeRound(b)
			if err != nil {
				t.Fatalf("DecodeRound: %v", err)
			}
			if !proto.Equal(got, c.msg) {
				t.Fatalf("round trip changed the message:\n got %v\nwant %v", got, c.msg)
			}
		})
	}
}

func TestEncodeRoundRefuses(t *testing.T) {
	tooBig := validRoundOpen()
	ps := peerStrings(MaxParticipants + 1)
	tooBig.Participants = ps[1:]
	tooBig.Proposals = nil
	for _, p := range tooBig.Participants {
		tooBig.Proposals = append(tooBig.Proposals, &Proposal{
			Peer: p, Model: "m", Answer: strings.Repeat("a", MaxProposalAnswerBytes), Confidence: 0.5,
		})
	}
	invalid := validRoundOpen()
	invalid.Quorum = 0
	for _, c := range []struct {
		name    string
		msg     *RoundMessage
		wantErr error
	}{
		{"valid fields, too large in all", openMsg(tooBig), ErrTooLarge},
		{"invalid open", openMsg(invalid), ErrMalformed},
		{"no body", &RoundMessage{}, ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := EncodeRound(c.msg)
			checkErr(t, err, c.wantErr)
			if b != nil {
				t.Fatalf("returned %d bytes with the error", len(b))
			}
		})
	}
}

func TestDecodeRoundRefuses(t *testing.T) {
	valid, err := EncodeRound(openMsg(validRoundOpen()))
	if err != nil {
		t.Fatal(err)
	}
	newer := validRoundOpen()
	newer.Version = RoundVersion + 1
	// Valid protobuf whose only content is an unknown field, padded past the cap.
	oversize := protowire.AppendTag(nil, 99, protowire.BytesType)
	oversize = protowire.AppendBytes(oversize, make([]byte, MaxRoundMessageBytes))
	for _, c := range []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"empty payload", nil, ErrMalformed},
		{"truncated", valid[:len(valid)-5], ErrMalformed},
		{"garbage", []byte("definitely not protobuf"), ErrMalformed},
		{"ask request on the rounds topic", mustMarshal(t, validAskRequest()), ErrMalformed},
		{"newer version", mustMarshal(t, openMsg(newer)), ErrUnsupportedVersion},
		{"over the cap", oversize, ErrTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := DecodeRound(c.in)
			checkErr(t, err, c.wantErr)
			if m != nil {
				t.Fatal("returned a message with the error")
			}
		})
	}
}

// Appended fields (from a newer build of the same version) must not make an
// older build refuse a round.
func TestDecodeRoundKeepsUnknownFields(t *testing.T) {
	b, err := EncodeRound(ballotMsg(validBallot()))
	if err != nil {
		t.Fatal(err)
	}
	withExtra := protowire.AppendTag(append([]byte(nil), b...), 15, protowire.VarintType)
	withExtra = protowire.AppendVarint(withExtra, 7)
	m, err := DecodeRound(withExtra)
	if err != nil {
		t.Fatalf("DecodeRound with an unknown field: %v", err)
	}
	if len(m.ProtoReflect().GetUnknown()) == 0 {
		t.Fatal("unknown field was not kept")
	}
}

// Round topic names are versioned, distinct, and listed once each.
func TestRoundTopics(t *testing.T) {
	names := RoundTopics()
	if want := 2*MaxRoundTopics - 1; len(names) != want {
		t.Fatalf("%d round topics, want %d", len(names), want)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("round topic %s listed twice", n)
		}
		seen[n] = true
	}
	for _, tt := range []struct {
		count, home int
		want        string
	}{
		{1, 0, "/swarmllm/v1/rounds/1/0"},
		{16, 5, "/swarmllm/v1/rounds/16/5"},
	} {
		if got := RoundTopic(tt.count, tt.home); got != tt.want || !seen[got] {
			t.Errorf("RoundTopic(%d, %d) = %q (listed: %v), want %q", tt.count, tt.home, got, seen[got], tt.want)
		}
	}
}
