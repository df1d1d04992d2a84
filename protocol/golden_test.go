package protocol

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite testdata/*.hex from the current encoding")

// TestGoldenWire pins the wire format: bytes written by an earlier build must
// decode to the same message, so renumbering or retyping a field fails here.
// Only appending fields may (and must, with -update) change the files.
func TestGoldenWire(t *testing.T) {
	failed := &AskResponse{QueryId: "0123456789abcdef0123456789abcdef", ErrorCode: ErrorCode_DEADLINE, ErrorMessage: "deadline passed after 5s"}
	refine := validAskRequest()
	refine.Purpose = Purpose_REFINE
	refine.Messages = append(refine.Messages, &ChatMessage{Role: RoleAssistant, Content: "Draft: Sydney."})
	for _, c := range []struct {
		name string
		msg  proto.Message
		new  func() proto.Message
	}{
		{"ask_request", validAskRequest(), func() proto.Message { return new(AskRequest) }},
		{"ask_request_refine", refine, func() proto.Message { return new(AskRequest) }},
		{"ask_response", validAskResponse(), func() proto.Message { return new(AskResponse) }},
		{"ask_response_failed", failed, func() proto.Message { return new(AskResponse) }},
		{"round_open", openMsg(validRoundOpen()), func() proto.Message { return new(RoundMessage) }},
		{"cms_sync_request", validCMSSyncRequest(), func() proto.Message { return new(CMSSyncRequest) }},
		{"cms_sync_record", &CMSSyncRecord{Envelope: []byte("signed capability record envelope")}, func() proto.Message { return new(CMSSyncRecord) }},
		{"round_ballot_escalate", ballotMsg(&Ballot{RoundId: "fedcba9876543210fedcba9876543210", Choice: Escalate, Confidence: 0.6}), func() proto.Message { return new(RoundMessage) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join("testdata", c.name+".hex")
			enc, err := proto.MarshalOptions{Deterministic: true}.Marshal(c.msg)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(path, []byte(hexLines(enc)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./protocol -run TestGoldenWire -update to create it)", err)
			}
			golden, err := hex.DecodeString(strings.Join(strings.Fields(string(text)), ""))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			got := c.new()
			if err := proto.Unmarshal(golden, got); err != nil {
				t.Fatalf("decode %s: %v", path, err)
			}
			if !proto.Equal(got, c.msg) {
				t.Fatalf("%s decodes to\n%v\nwant\n%v", path, got, c.msg)
			}
			if !bytes.Equal(enc, golden) {
				t.Fatalf("encoding differs from %s; if a field was appended, rerun with -update", path)
			}
		})
	}
}

func hexLines(b []byte) string {
	s := hex.EncodeToString(b)
	var out strings.Builder
	for len(s) > 64 {
		out.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	out.WriteString(s + "\n")
	return out.String()
}
