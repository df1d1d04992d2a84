package protocol

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Every decoder is fuzzed: any input gives a message or an error (never a
// panic or an allocation past the cap), and whatever is accepted survives
// being sent again unchanged.

func FuzzReadMsg(f *testing.F) {
	const max = 4 << 10
	f.Add(mustFrame(f, validAskRequest()))
	f.Add(mustFrame(f, validAskResponse()))
	f.Add(append(mustFrame(f, validBallot()), mustFrame(f, openMsg(validRoundOpen()))...))
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Add(protowire.AppendVarint(nil, 1<<40))
	f.Add(bytes.Repeat([]byte{0xff}, 11))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			m := new(RoundMessage)
			if err := ReadMsg(r, m, max); err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("error from a byte slice is neither EOF, malformed nor too large: %v", err)
				}
				return
			}
			var buf bytes.Buffer
			if err := WriteMsg(&buf, m, MaxRoundMessageBytes); err != nil {
				t.Fatalf("re-encode accepted message: %v", err)
			}
			again := new(RoundMessage)
			if err := ReadMsg(&buf, again, MaxRoundMessageBytes); err != nil {
				t.Fatalf("re-read accepted message: %v", err)
			}
			if !proto.Equal(m, again) {
				t.Fatalf("accepted message changed on a second trip:\n%v\n%v", m, again)
			}
		}
	})
}

func FuzzDecodeRound(f *testing.F) {
	// Small seeds: the fuzzer minimizes every new input it finds, and on
	// kilobyte-sized round opens that alone takes tens of seconds.
	small := validRoundOpen()
	small.RoundId, small.Participants, small.Quorum = "r", small.Participants[:1], 1
	small.Proposals = []*Proposal{{Peer: small.Participants[0], Model: "m", Answer: "4", Confidence: 0.5}}
	for _, m := range []*RoundMessage{
		openMsg(small),
		ballotMsg(validBallot()),
		ballotMsg(&Ballot{RoundId: "r", Choice: Escalate}),
	} {
		b, err := EncodeRound(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeRound(data)
		if err != nil {
			if m != nil {
				t.Fatal("message returned with an error")
			}
			return
		}
		b, err := EncodeRound(m)
		if err != nil {
			t.Fatalf("re-encode accepted round message: %v", err)
		}
		again, err := DecodeRound(b)
		if err != nil {
			t.Fatalf("re-decode accepted round message: %v", err)
		}
		if !proto.Equal(m, again) {
			t.Fatalf("accepted message changed on a second trip:\n%v\n%v", m, again)
		}
		if o := m.GetOpen(); o != nil {
			// checkPeerID trusts base58 to have one spelling per id; hold it to that.
			for _, p := range append([]string{o.Origin}, o.Participants...) {
				if id, err := peer.Decode(p); err != nil || id.String() != p {
					t.Fatalf("accepted peer id %q is not canonical (%v)", p, err)
				}
			}
			for i := range o.Proposals {
				if err := (&Ballot{RoundId: o.RoundId, Choice: int32(i)}).CheckAgainst(o); err != nil {
					t.Fatalf("ballot for proposal %d refused: %v", i, err)
				}
			}
		}
	})
}

func FuzzDecodeAskRequest(f *testing.F) {
	f.Add(mustFrame(f, validAskRequest()))
	refine := validAskRequest()
	refine.Purpose, refine.Temperature, refine.Seed = Purpose_REFINE, nil, nil
	f.Add(mustFrame(f, refine))
	f.Add(mustFrame(f, &AskRequest{QueryId: "q", Messages: []*ChatMessage{{Role: "tool", Content: "x"}}, DeadlineUnixMs: 1}))
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ReadAskRequest(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteAskRequest(&buf, req); err != nil {
			t.Fatalf("re-send accepted request: %v", err)
		}
		again, err := ReadAskRequest(&buf)
		if err != nil {
			t.Fatalf("re-read accepted request: %v", err)
		}
		if !proto.Equal(req, again) {
			t.Fatalf("accepted request changed on a second trip:\n%v\n%v", req, again)
		}
	})
}

func FuzzDecodeAskResponse(f *testing.F) {
	f.Add(mustFrame(f, validAskResponse()))
	f.Add(mustFrame(f, &AskResponse{ErrorCode: ErrorCode_BACKEND_DOWN, ErrorMessage: "ollama: connection refused"}))
	f.Add([]byte{0x02, 0x48, 0x09})
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, err := ReadAskResponse(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteAskResponse(&buf, resp); err != nil {
			t.Fatalf("re-send accepted response: %v", err)
		}
		again, err := ReadAskResponse(&buf)
		if err != nil {
			t.Fatalf("re-read accepted response: %v", err)
		}
		if !proto.Equal(resp, again) {
			t.Fatalf("accepted response changed on a second trip:\n%v\n%v", resp, again)
		}
	})
}

// FuzzReadCMSSync reads a sync stream as either side would: a request, or
// record frames until the end.
func FuzzReadCMSSync(f *testing.F) {
	f.Add(mustFrame(f, validCMSSyncRequest()))
	f.Add(append(mustFrame(f, &CMSSyncRecord{Envelope: []byte("a")}), mustFrame(f, &CMSSyncRecord{Envelope: []byte("bc")})...))
	f.Add(mustFrame(f, &CMSSyncRequest{MaxRecords: 1, Held: []*CMSHeld{{Peer: []byte{0, 1}}}}))
	f.Add([]byte{0x02, 0x10, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		if req, err := ReadCMSSyncRequest(bytes.NewReader(data)); err == nil {
			var buf bytes.Buffer
			if err := WriteCMSSyncRequest(&buf, req); err != nil {
				t.Fatalf("re-send accepted request: %v", err)
			}
			again, err := ReadCMSSyncRequest(&buf)
			if err != nil || !proto.Equal(req, again) {
				t.Fatalf("accepted request changed on a second trip (%v):\n%v\n%v", err, req, again)
			}
		}
		r := bytes.NewReader(data)
		for {
			env, err := ReadCMSSyncRecord(r)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("error from a byte slice is neither EOF, malformed nor too large: %v", err)
				}
				return
			}
			if len(env) == 0 || len(env) > MaxCMSSyncRecordBytes {
				t.Fatalf("accepted an envelope of %d bytes", len(env))
			}
		}
	})
}
