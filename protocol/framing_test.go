package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func TestWriteReadMsgRoundTrip(t *testing.T) {
	failed := &AskResponse{ErrorCode: ErrorCode_BUSY, ErrorMessage: "3 asks in flight"}
	cases := []struct {
		name string
		msg  proto.Message
		new  func() proto.Message
	}{
		{"ask request", validAskRequest(), func() proto.Message { return new(AskRequest) }},
		{"ask response", validAskResponse(), func() proto.Message { return new(AskResponse) }},
		{"failed ask response", failed, func() proto.Message { return new(AskResponse) }},
		{"round open", openMsg(validRoundOpen()), func() proto.Message { return new(RoundMessage) }},
		{"ballot", ballotMsg(validBallot()), func() proto.Message { return new(RoundMessage) }},
		{"empty message", &Ballot{}, func() proto.Message { return new(Ballot) }},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"plain", func(r io.Reader) io.Reader { return struct{ io.Reader }{r} }},
		{"one byte at a time", iotest.OneByteReader},
		{"bufio", func(r io.Reader) io.Reader { return bufio.NewReader(r) }},
	}
	for _, c := range cases {
		for _, rd := range readers {
			t.Run(c.name+"/"+rd.name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := WriteMsg(&buf, c.msg, MaxAskResponseBytes); err != nil {
					t.Fatalf("WriteMsg: %v", err)
				}
				if got, want := buf.Len(), protowire.SizeVarint(uint64(proto.Size(c.msg)))+proto.Size(c.msg); got != want {
					t.Fatalf("frame is %d bytes, want %d", got, want)
				}
				got := c.new()
				if err := ReadMsg(rd.wrap(&buf), got, MaxAskResponseBytes); err != nil {
					t.Fatalf("ReadMsg: %v", err)
				}
				if !proto.Equal(got, c.msg) {
					t.Fatalf("round trip changed the message:\n got %v\nwant %v", got, c.msg)
				}
			})
		}
	}
}

// A stream carries several frames; ReadMsg must not consume the next one,
// even from a reader it cannot buffer.
func TestReadMsgLeavesNextFrame(t *testing.T) {
	msgs := []*Ballot{
		{RoundId: "a", Choice: 0, Confidence: 0.5},
		{RoundId: "b", Choice: -1, Confidence: 1},
		{RoundId: "c", Choice: 2},
	}
	var buf bytes.Buffer
	for _, m := range msgs {
		if err := WriteMsg(&buf, m, 1024); err != nil {
			t.Fatal(err)
		}
	}
	r := struct{ io.Reader }{&buf} // hides bytes.Buffer's ReadByte
	for i, want := range msgs {
		got := new(Ballot)
		if err := ReadMsg(r, got, 1024); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("frame %d: got %v, want %v", i, got, want)
		}
	}
	if err := ReadMsg(r, new(Ballot), 1024); !errors.Is(err, io.EOF) || errors.Is(err, ErrMalformed) {
		t.Fatalf("after the last frame: got %v, want io.EOF", err)
	}
}

func TestWriteMsgRefusesOversize(t *testing.T) {
	m := &ChatMessage{Role: RoleUser, Content: strings.Repeat("x", 100)}
	size := proto.Size(m)
	for _, c := range []struct {
		name    string
		max     int
		wantErr error
	}{
		{"one under", size - 1, ErrTooLarge},
		{"exactly", size, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteMsg(&buf, m, c.max)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, c.wantErr)
			}
			if c.wantErr != nil && buf.Len() != 0 {
				t.Fatalf("wrote %d bytes of a refused message", buf.Len())
			}
		})
	}
}

func TestReadMsgRefusesOversizeBeforeAllocating(t *testing.T) {
	const max = 64 << 10
	for _, c := range []struct {
		name  string
		claim uint64
	}{
		{"one over the cap", max + 1},
		{"1 GiB", 1 << 30},
		{"max uint64", 1<<64 - 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Only the prefix is sent: a reader that trusted it would allocate
			// c.claim bytes and then wait for a body that never comes.
			prefix := protowire.AppendVarint(nil, c.claim)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := ReadMsg(bytes.NewReader(prefix), new(AskRequest), max)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("got %v, want ErrTooLarge", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc >= max {
				t.Fatalf("allocated %d bytes refusing the frame, want far less than the %d-byte cap", alloc, max)
			}
		})
	}
}

func TestReadMsgBadInput(t *testing.T) {
	valid := mustFrame(t, validBallot())
	badUTF8 := append(protowire.AppendTag(nil, 1, protowire.BytesType), 2, 0xff, 0xfe)
	cases := []struct {
		name  string
		in    []byte
		want  []error
		never error
	}{
		{"empty stream", nil, []error{io.EOF}, ErrMalformed},
		{"varint cut short", []byte{0x80}, []error{ErrMalformed, io.ErrUnexpectedEOF}, nil},
		{"prefix without body", []byte{0x05}, []error{ErrMalformed, io.ErrUnexpectedEOF}, nil},
		{"body cut short", valid[:len(valid)-1], []error{ErrMalformed, io.ErrUnexpectedEOF}, nil},
		{"varint overflow", bytes.Repeat([]byte{0xff}, 11), []error{ErrMalformed}, ErrTooLarge},
		{"garbage body", []byte{3, 0xff, 0xff, 0xff}, []error{ErrMalformed}, nil},
		{"reserved wire type", []byte{1, 0x0f}, []error{ErrMalformed}, nil},
		{"invalid utf-8 in a string", append([]byte{byte(len(badUTF8))}, badUTF8...), []error{ErrMalformed}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ReadMsg(bytes.NewReader(c.in), new(Ballot), 1024)
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("got %v, want it to match %v", err, w)
				}
			}
			if c.never != nil && errors.Is(err, c.never) {
				t.Errorf("got %v, must not match %v", err, c.never)
			}
		})
	}
}

// A reset or timed-out stream is the network's fault, not the peer's.
func TestReadMsgPassesReaderErrors(t *testing.T) {
	boom := errors.New("stream reset")
	valid := mustFrame(t, validBallot())
	for _, c := range []struct {
		name string
		r    io.Reader
	}{
		{"in the prefix", iotest.ErrReader(boom)},
		{"in the body", io.MultiReader(bytes.NewReader(valid[:3]), iotest.ErrReader(boom))},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := ReadMsg(c.r, new(Ballot), 1024)
			if !errors.Is(err, boom) || errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want the reader's error and not ErrMalformed", err)
			}
		})
	}
}

func TestFramingRefusesNonPositiveCap(t *testing.T) {
	for _, max := range []int{0, -1} {
		if err := WriteMsg(io.Discard, validBallot(), max); err == nil {
			t.Errorf("WriteMsg with cap %d: no error", max)
		}
		if err := ReadMsg(bytes.NewReader(mustFrame(t, validBallot())), new(Ballot), max); err == nil {
			t.Errorf("ReadMsg with cap %d: no error", max)
		}
	}
}
