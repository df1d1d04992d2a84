package protocol

import (
	"bytes"
	"testing"
)

// A typical round: three peers asked, three proposals, one ~200-byte answer.
func BenchmarkEncodeRound(b *testing.B) {
	m := openMsg(validRoundOpen())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeRound(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRound(b *testing.B) {
	enc, err := EncodeRound(openMsg(validRoundOpen()))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRound(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBallotRoundTrip(b *testing.B) {
	m := ballotMsg(validBallot())
	b.ReportAllocs()
	for b.Loop() {
		enc, err := EncodeRound(m)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeRound(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// One ask request through the stream framing: write, then read and validate.
func BenchmarkAskRequestFrame(b *testing.B) {
	req := validAskRequest()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WriteAskRequest(&buf, req); err != nil {
			b.Fatal(err)
		}
		if _, err := ReadAskRequest(&buf); err != nil {
			b.Fatal(err)
		}
	}
}
