package protocol

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// fixedNowMS is the clock of every fixture, so encodings are reproducible.
const fixedNowMS int64 = 1_767_225_600_000 // 2026-01-01T00:00:00Z

// testPeers returns n peer ids from Ed25519 keys derived from their index, so
// fixtures and golden files are the same on every run.
var testPeers = sync.OnceValue(func() []peer.ID {
	ids := make([]peer.ID, MaxParticipants+1)
	for i := range ids {
		seed := sha256.Sum256(fmt.Appendf(nil, "swarmllm test peer %d", i))
		priv, _, err := crypto.GenerateEd25519Key(&seedReader{b: seed[:]})
		if err != nil {
			panic(err)
		}
		ids[i], err = peer.IDFromPrivateKey(priv)
		if err != nil {
			panic(err)
		}
	}
	return ids
})

type seedReader struct{ b []byte }

func (r *seedReader) Read(p []byte) (int, error) {
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func peerStrings(n int) []string {
	out := make([]string, n)
	for i, id := range testPeers()[:n] {
		out[i] = id.String()
	}
	return out
}

func validAskRequest() *AskRequest {
	return &AskRequest{
		QueryId: "0123456789abcdef0123456789abcdef",
		RoundId: "fedcba9876543210fedcba9876543210",
		Messages: []*ChatMessage{
			{Role: RoleSystem, Content: "Answer briefly."},
			{Role: RoleUser, Content: "What is the capital of Australia?"},
		},
		MaxTokens:      128,
		Temperature:    proto.Float64(0),
		Seed:           proto.Int64(42),
		DeadlineUnixMs: fixedNowMS + 5000,
		WantLogprobs:   true,
		Purpose:        Purpose_ANSWER,
		OriginModel:    "qwen2.5:0.5b",
	}
}

func validAskResponse() *AskResponse {
	return &AskResponse{
		QueryId:    "0123456789abcdef0123456789abcdef",
		Answer:     "Canberra.",
		Model:      "llama3.2:1b",
		Confidence: 0.87,
		Uncertainty: &Uncertainty{
			Tokens: 3, MeanLogprob: -0.12, MinLogprob: -0.4, MeanEntropy: 0.3,
		},
		LatencyMs:        41.5,
		PromptTokens:     24,
		CompletionTokens: 3,
	}
}

// validRoundOpen is a typical round: three peers asked, three proposals.
func validRoundOpen() *RoundOpen {
	ps := peerStrings(4)
	req := validAskRequest()
	answer := "The capital of Australia is Canberra, chosen in 1908 as a compromise between Sydney and Melbourne. " +
		"Parliament moved there in 1927. It lies in the Australian Capital Territory, about 280 km south-west of Sydney."
	return &RoundOpen{
		RoundId:      req.RoundId,
		Origin:       ps[0],
		QueryDigest:  QueryDigest(req.Messages),
		Participants: ps[1:4],
		Proposals: []*Proposal{
			{Peer: ps[1], Model: "llama3.2:1b", Answer: answer, Confidence: 0.81, LatencyMs: 212},
			{Peer: ps[2], Model: "gemma3:1b", Answer: "Sydney.", Confidence: 0.42, LatencyMs: 180},
			{Peer: ps[3], Model: "phi4-mini", Answer: "Canberra is the capital.", Confidence: 0.77, LatencyMs: 305},
		},
		Quorum:         2,
		DeadlineUnixMs: fixedNowMS + 3000,
		Version:        RoundVersion,
	}
}

func validBallot() *Ballot {
	return &Ballot{RoundId: "fedcba9876543210fedcba9876543210", Choice: 0, Confidence: 0.9}
}

func openMsg(o *RoundOpen) *RoundMessage {
	return &RoundMessage{Body: &RoundMessage_Open{Open: o}}
}

func ballotMsg(b *Ballot) *RoundMessage {
	return &RoundMessage{Body: &RoundMessage_Ballot{Ballot: b}}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustFrame(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b := mustMarshal(t, m)
	return append(protowire.AppendVarint(nil, uint64(len(b))), b...)
}

func validCMSSyncRequest() *CMSSyncRequest {
	ids := testPeers()
	return &CMSSyncRequest{
		Held:       []*CMSHeld{{Peer: []byte(ids[0]), Seq: 1764490000000}, {Peer: []byte(ids[1]), Seq: 1764490000123}},
		MaxRecords: 1024,
	}
}
