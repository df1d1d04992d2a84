package protocol

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"
)

func TestAskRequestValidate(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(r *AskRequest)
		wantErr error
	}{
		{"valid", func(*AskRequest) {}, nil},
		{"no round", func(r *AskRequest) { r.RoundId = "" }, nil},
		{"refine purpose", func(r *AskRequest) { r.Purpose = Purpose_REFINE }, nil},
		{"defaults left unset", func(r *AskRequest) { r.Temperature, r.Seed, r.MaxTokens = nil, nil, 0 }, nil},
		{"prompt at the cap", func(r *AskRequest) {
			r.Messages = []*ChatMessage{{Role: RoleUser, Content: strings.Repeat("a", MaxPromptBytes)}}
		}, nil},
		{"empty query id", func(r *AskRequest) { r.QueryId = "" }, ErrMalformed},
		{"query id with a slash", func(r *AskRequest) { r.QueryId = "../etc" }, ErrMalformed},
		{"query id too long", func(r *AskRequest) { r.QueryId = strings.Repeat("a", MaxIDBytes+1) }, ErrMalformed},
		{"round id with a space", func(r *AskRequest) { r.RoundId = "a b" }, ErrMalformed},
		{"no messages", func(r *AskRequest) { r.Messages = nil }, ErrMalformed},
		{"too many messages", func(r *AskRequest) {
			r.Messages = make([]*ChatMessage, MaxMessages+1)
			for i := range r.Messages {
				r.Messages[i] = &ChatMessage{Role: RoleUser, Content: "x"}
			}
		}, ErrTooLarge},
		{"nil message", func(r *AskRequest) { r.Messages[1] = nil }, ErrMalformed},
		{"unknown role", func(r *AskRequest) { r.Messages[0].Role = "tool" }, ErrMalformed},
		{"empty prompt", func(r *AskRequest) {
			r.Messages = []*ChatMessage{{Role: RoleUser}, {Role: RoleSystem}}
		}, ErrMalformed},
		{"prompt over the cap", func(r *AskRequest) {
			r.Messages = []*ChatMessage{
				{Role: RoleSystem, Content: strings.Repeat("a", MaxPromptBytes/2)},
				{Role: RoleUser, Content: strings.Repeat("a", MaxPromptBytes/2+1)},
			}
		}, ErrTooLarge},
		{"max tokens over the cap", func(r *AskRequest) { r.MaxTokens = MaxCompletionTokens + 1 }, ErrMalformed},
		{"negative temperature", func(r *AskRequest) { r.Temperature = proto.Float64(-0.1) }, ErrMalformed},
		{"temperature over the top", func(r *AskRequest) { r.Temperature = proto.Float64(2.5) }, ErrMalformed},
		{"NaN temperature", func(r *AskRequest) { r.Temperature = proto.Float64(math.NaN()) }, ErrMalformed},
		{"no deadline", func(r *AskRequest) { r.DeadlineUnixMs = 0 }, ErrMalformed},
		{"negative deadline", func(r *AskRequest) { r.DeadlineUnixMs = -1 }, ErrMalformed},
		{"unknown purpose", func(r *AskRequest) { r.Purpose = 7 }, ErrMalformed},
		{"origin model too long", func(r *AskRequest) { r.OriginModel = strings.Repeat("m", MaxModelNameBytes+1) }, ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := validAskRequest()
			c.mutate(r)
			checkErr(t, r.Validate(), c.wantErr)
		})
	}
	checkErr(t, (*AskRequest)(nil).Validate(), ErrMalformed)
}

func TestAskResponseValidate(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(r *AskResponse)
		wantErr error
	}{
		{"valid", func(*AskResponse) {}, nil},
		{"no logprobs", func(r *AskResponse) { r.Uncertainty = nil }, nil},
		{"empty answer", func(r *AskResponse) { r.Answer = "" }, nil},
		{"answer at the cap", func(r *AskResponse) { r.Answer = strings.Repeat("a", MaxAnswerBytes) }, nil},
		{"failure without query id", func(r *AskResponse) {
			*r = AskResponse{ErrorCode: ErrorCode_BAD_REQUEST, ErrorMessage: "no messages"}
		}, nil},
		{"failure with an unknown code", func(r *AskResponse) {
			*r = AskResponse{QueryId: "q1", ErrorCode: 99, ErrorMessage: "from a newer peer"}
		}, nil},
		{"failure with a bad query id", func(r *AskResponse) {
			*r = AskResponse{QueryId: "q 1", ErrorCode: ErrorCode_BUSY}
		}, ErrMalformed},
		{"failure message too long", func(r *AskResponse) {
			*r = AskResponse{ErrorCode: ErrorCode_INTERNAL, ErrorMessage: strings.Repeat("e", MaxErrorMessageBytes+1)}
		}, ErrTooLarge},
		{"ack", func(r *AskResponse) { *r = AskResponse{QueryId: "q1", Ack: true} }, nil},
		{"ack without query id", func(r *AskResponse) { *r = AskResponse{Ack: true} }, ErrMalformed},
		{"ack with an answer", func(r *AskResponse) { *r = AskResponse{QueryId: "q1", Ack: true, Answer: "Paris"} }, ErrMalformed},
		{"ack with an error code", func(r *AskResponse) { *r = AskResponse{QueryId: "q1", Ack: true, ErrorCode: ErrorCode_BUSY} }, ErrMalformed},
		{"answer without query id", func(r *AskResponse) { r.QueryId = "" }, ErrMalformed},
		{"answer without model", func(r *AskResponse) { r.Model = "" }, ErrMalformed},
		{"answer over the cap", func(r *AskResponse) { r.Answer = strings.Repeat("a", MaxAnswerBytes+1) }, ErrTooLarge},
		{"confidence over 1", func(r *AskResponse) { r.Confidence = 1.01 }, ErrMalformed},
		{"NaN confidence", func(r *AskResponse) { r.Confidence = math.NaN() }, ErrMalformed},
		{"negative latency", func(r *AskResponse) { r.LatencyMs = -1 }, ErrMalformed},
		{"knowledge sources", func(r *AskResponse) { r.Sources = []string{"manuals/lathe.md", "saw.pdf"} }, nil},
		{"empty source name", func(r *AskResponse) { r.Sources = []string{""} }, ErrMalformed},
		{"source name too long", func(r *AskResponse) { r.Sources = []string{strings.Repeat("s", MaxSourceBytes+1)} }, ErrMalformed},
		{"too many sources", func(r *AskResponse) { r.Sources = make([]string, MaxSources+1) }, ErrTooLarge},
		{"infinite latency", func(r *AskResponse) { r.LatencyMs = math.Inf(1) }, ErrMalformed},
		{"positive logprob", func(r *AskResponse) { r.Uncertainty.MeanLogprob = 0.5 }, ErrMalformed},
		{"infinite min logprob", func(r *AskResponse) { r.Uncertainty.MinLogprob = math.Inf(-1) }, ErrMalformed},
		{"negative entropy", func(r *AskResponse) { r.Uncertainty.MeanEntropy = -0.1 }, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := validAskResponse()
			c.mutate(r)
			checkErr(t, r.Validate(), c.wantErr)
		})
	}
	checkErr(t, (*AskResponse)(nil).Validate(), ErrMalformed)
}

func TestRoundOpenValidate(t *testing.T) {
	ps := peerStrings(MaxParticipants + 1)
	// The CIDv1 form decodes to the same peer as ps[1] but is not canonical.
	nonCanonical := peer.ToCid(testPeers()[1]).String()
	cases := []struct {
		name    string
		mutate  func(o *RoundOpen)
		wantErr error
	}{
		{"valid", func(*RoundOpen) {}, nil},
		{"origin also votes", func(o *RoundOpen) { o.Participants = append(o.Participants, o.Origin) }, nil},
		{"fewer proposals than participants", func(o *RoundOpen) { o.Proposals = o.Proposals[:1] }, nil},
		{"quorum of all", func(o *RoundOpen) { o.Quorum = uint32(len(o.Participants)) }, nil},
		{"max participants", func(o *RoundOpen) { o.Participants = ps[1:] }, nil},
		{"no version", func(o *RoundOpen) { o.Version = 0 }, ErrMalformed},
		{"newer version", func(o *RoundOpen) { o.Version = RoundVersion + 1 }, ErrUnsupportedVersion},
		{"bad round id", func(o *RoundOpen) { o.RoundId = "r/1" }, ErrMalformed},
		{"origin not a peer id", func(o *RoundOpen) { o.Origin = "alice" }, ErrMalformed},
		{"short digest", func(o *RoundOpen) { o.QueryDigest = o.QueryDigest[:16] }, ErrMalformed},
		{"no participants", func(o *RoundOpen) { o.Participants = nil }, ErrMalformed},
		{"too many participants", func(o *RoundOpen) { o.Participants = append(ps[1:], ps[0]) }, ErrTooLarge},
		{"participant not a peer id", func(o *RoundOpen) { o.Participants[2] = "alice" }, ErrMalformed},
		{"participant base58 but no multihash", func(o *RoundOpen) { o.Participants[2] = "12D3KooWnotapeer" }, ErrMalformed},
		{"participant sha2 prefix but garbage", func(o *RoundOpen) { o.Participants[2] = "QmQmQm" }, ErrMalformed},
		{"participant not canonical", func(o *RoundOpen) { o.Participants[0] = nonCanonical }, ErrMalformed},
		{"participant twice", func(o *RoundOpen) { o.Participants[2] = o.Participants[0] }, ErrMalformed},
		{"no proposals", func(o *RoundOpen) { o.Proposals = nil }, ErrMalformed},
		{"more proposals than participants", func(o *RoundOpen) { o.Participants = o.Participants[:2] }, ErrMalformed},
		{"proposal from a non-participant", func(o *RoundOpen) { o.Proposals[1].Peer = o.Origin }, ErrMalformed},
		{"two proposals from one peer", func(o *RoundOpen) { o.Proposals[1].Peer = o.Proposals[0].Peer }, ErrMalformed},
		{"nil proposal", func(o *RoundOpen) { o.Proposals[2] = nil }, ErrMalformed},
		{"proposal without model", func(o *RoundOpen) { o.Proposals[0].Model = "" }, ErrMalformed},
		{"proposal answer over the cap", func(o *RoundOpen) {
			o.Proposals[0].Answer = strings.Repeat("a", MaxProposalAnswerBytes+1)
		}, ErrTooLarge},
		{"proposal confidence negative", func(o *RoundOpen) { o.Proposals[0].Confidence = -0.5 }, ErrMalformed},
		{"proposal latency NaN", func(o *RoundOpen) { o.Proposals[0].LatencyMs = math.NaN() }, ErrMalformed},
		{"zero quorum", func(o *RoundOpen) { o.Quorum = 0 }, ErrMalformed},
		{"quorum over participants", func(o *RoundOpen) { o.Quorum = uint32(len(o.Participants) + 1) }, ErrMalformed},
		{"no deadline", func(o *RoundOpen) { o.DeadlineUnixMs = 0 }, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := validRoundOpen()
			c.mutate(o)
			checkErr(t, o.Validate(), c.wantErr)
		})
	}
	checkErr(t, (*RoundOpen)(nil).Validate(), ErrMalformed)
}

func TestBallot(t *testing.T) {
	open := validRoundOpen() // three proposals
	cases := []struct {
		name                string
		mutate              func(b *Ballot)
		wantErr, wantSecond error // from Validate, then from CheckAgainst(open)
	}{
		{"first proposal", func(*Ballot) {}, nil, nil},
		{"last proposal", func(b *Ballot) { b.Choice = 2 }, nil, nil},
		{"escalate", func(b *Ballot) { b.Choice = Escalate }, nil, nil},
		{"choice past the proposals", func(b *Ballot) { b.Choice = 3 }, nil, ErrMalformed},
		{"other round", func(b *Ballot) { b.RoundId = "another-round" }, nil, ErrMalformed},
		{"choice below escalate", func(b *Ballot) { b.Choice = -2 }, ErrMalformed, nil},
		{"choice past any round", func(b *Ballot) { b.Choice = MaxParticipants }, ErrMalformed, nil},
		{"no round id", func(b *Ballot) { b.RoundId = "" }, ErrMalformed, nil},
		{"confidence over 1", func(b *Ballot) { b.Confidence = 2 }, ErrMalformed, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := validBallot()
			c.mutate(b)
			err := b.Validate()
			checkErr(t, err, c.wantErr)
			if err == nil {
				checkErr(t, b.CheckAgainst(open), c.wantSecond)
			}
		})
	}
	checkErr(t, (*Ballot)(nil).Validate(), ErrMalformed)
}

func TestRoundMessageValidate(t *testing.T) {
	cases := []struct {
		name    string
		msg     *RoundMessage
		wantErr error
	}{
		{"open", openMsg(validRoundOpen()), nil},
		{"ballot", ballotMsg(validBallot()), nil},
		{"no body", &RoundMessage{}, ErrMalformed},
		{"nil message", nil, ErrMalformed},
		{"open wrapper without open", &RoundMessage{Body: &RoundMessage_Open{}}, ErrMalformed},
		{"ballot wrapper without ballot", &RoundMessage{Body: &RoundMessage_Ballot{}}, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkErr(t, c.msg.Validate(), c.wantErr) })
	}
}

func TestHasParticipant(t *testing.T) {
	open := validRoundOpen()
	ids := testPeers()
	for _, c := range []struct {
		name string
		id   peer.ID
		want bool
	}{
		{"participant", ids[2], true},
		{"origin only", ids[0], false},
		{"stranger", ids[10], false},
		{"empty", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := open.HasParticipant(c.id); got != c.want {
				t.Fatalf("HasParticipant = %v, want %v", got, c.want)
			}
		})
	}
}

func TestCheckDeadline(t *testing.T) {
	now := time.UnixMilli(fixedNowMS)
	for _, c := range []struct {
		name     string
		deadline time.Time
		wantErr  error
	}{
		{"in a second", now.Add(time.Second), nil},
		{"now", now, nil},
		{"just past, within skew", now.Add(-MaxClockSkew + time.Millisecond), nil},
		{"furthest allowed", now.Add(MaxDeadlineAhead + MaxClockSkew), nil},
		{"past beyond skew", now.Add(-MaxClockSkew - time.Millisecond), ErrExpired},
		{"too far ahead", now.Add(MaxDeadlineAhead + MaxClockSkew + time.Millisecond), ErrMalformed},
		{"epoch", time.UnixMilli(0), ErrExpired},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkErr(t, CheckDeadline(c.deadline.UnixMilli(), now), c.wantErr)
		})
	}
}

func TestQueryDigest(t *testing.T) {
	msgs := func(pairs ...string) []*ChatMessage {
		var out []*ChatMessage
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, &ChatMessage{Role: pairs[i], Content: pairs[i+1]})
		}
		return out
	}
	base := QueryDigest(msgs("user", "What is 2+2?"))
	if len(base) != DigestBytes {
		t.Fatalf("digest is %d bytes, want %d", len(base), DigestBytes)
	}
	if !bytes.Equal(base, QueryDigest(msgs("user", "What is 2+2?"))) {
		t.Fatal("the same prompt hashed differently")
	}
	for _, c := range []struct {
		name string
		msgs []*ChatMessage
	}{
		{"other content", msgs("user", "What is 2+3?")},
		{"other role", msgs("system", "What is 2+2?")},
		{"boundary moved into the role", msgs("userW", "hat is 2+2?")},
		{"split into two turns", msgs("user", "What is", "user", " 2+2?")},
		{"extra empty turn", msgs("user", "What is 2+2?", "assistant", "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			if bytes.Equal(QueryDigest(c.msgs), base) {
				t.Fatal("a different prompt hashed the same")
			}
		})
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if err := checkID("id", id); err != nil {
			t.Fatalf("NewID() = %q: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
}

// The field caps must fit inside the frame caps, or a message that passes
// validation could still be refused on the wire.
func TestLargestValidMessagesFitTheirFrames(t *testing.T) {
	t.Run("ask request", func(t *testing.T) {
		r := validAskRequest()
		r.QueryId = strings.Repeat("q", MaxIDBytes)
		r.RoundId = strings.Repeat("r", MaxIDBytes)
		r.OriginModel = strings.Repeat("m", MaxModelNameBytes)
		r.MaxTokens = MaxCompletionTokens
		r.Seed = proto.Int64(math.MinInt64)
		r.DeadlineUnixMs = math.MaxInt64
		r.Messages = make([]*ChatMessage, MaxMessages)
		per := MaxPromptBytes / MaxMessages
		for i := range r.Messages {
			r.Messages[i] = &ChatMessage{Role: RoleAssistant, Content: strings.Repeat("a", per)}
		}
		r.Messages[0].Content += strings.Repeat("a", MaxPromptBytes-per*MaxMessages)
		fits(t, r, MaxAskRequestBytes)
	})
	t.Run("ask response", func(t *testing.T) {
		r := validAskResponse()
		r.QueryId = strings.Repeat("q", MaxIDBytes)
		r.Model = strings.Repeat("m", MaxModelNameBytes)
		r.Answer = strings.Repeat("a", MaxAnswerBytes)
		r.ErrorMessage = strings.Repeat("e", MaxErrorMessageBytes)
		fits(t, r, MaxAskResponseBytes)
	})
	t.Run("round open, seven answers at the cap", func(t *testing.T) {
		o := validRoundOpen()
		ps := peerStrings(MaxParticipants + 1)
		o.Participants = ps[1:]
		o.Proposals = nil
		for i := range 7 {
			o.Proposals = append(o.Proposals, &Proposal{
				Peer: ps[i+1], Model: strings.Repeat("m", MaxModelNameBytes),
				Answer: strings.Repeat("a", MaxProposalAnswerBytes), Confidence: 1, LatencyMs: 1,
			})
		}
		fits(t, openMsg(o), MaxRoundMessageBytes)
	})
}

func fits(t *testing.T, m interface {
	proto.Message
	Validate() error
}, max int) {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatalf("largest valid message does not validate: %v", err)
	}
	if size := proto.Size(m); size > max {
		t.Fatalf("largest valid message is %d bytes, over its %d-byte frame cap", size, max)
	} else {
		t.Logf("%d of %d bytes", size, max)
	}
}

// checkErr fails unless err matches want, or both are nil.
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}
