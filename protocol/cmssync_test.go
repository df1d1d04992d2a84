package protocol

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestCMSSyncRequestValidate(t *testing.T) {
	tooMany := validCMSSyncRequest()
	for len(tooMany.Held) <= MaxSyncRecords {
		tooMany.Held = append(tooMany.Held, tooMany.Held[0])
	}
	for _, c := range []struct {
		name string
		edit func(*CMSSyncRequest)
		ok   bool
	}{
		{"valid", func(*CMSSyncRequest) {}, true},
		{"holds nothing", func(r *CMSSyncRequest) { r.Held = nil }, true},
		{"no max records", func(r *CMSSyncRequest) { r.MaxRecords = 0 }, false},
		{"max records over the cap", func(r *CMSSyncRequest) { r.MaxRecords = MaxSyncRecords + 1 }, false},
		{"too many held", func(r *CMSSyncRequest) { r.Held = tooMany.Held }, false},
		{"held peer is garbage", func(r *CMSSyncRequest) { r.Held[1].Peer = []byte("not a peer") }, false},
		{"held peer is empty", func(r *CMSSyncRequest) { r.Held[0].Peer = nil }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := validCMSSyncRequest()
			c.edit(req)
			var buf bytes.Buffer
			err := WriteCMSSyncRequest(&buf, req)
			if c.ok != (err == nil) {
				t.Fatalf("write: err %v, want ok %v", err, c.ok)
			}
			if !c.ok {
				if !errors.Is(err, ErrMalformed) || buf.Len() != 0 {
					t.Fatalf("refused with %v after writing %d bytes; want ErrMalformed, nothing written", err, buf.Len())
				}
				// A peer that sends it anyway is refused on read.
				if _, err := ReadCMSSyncRequest(bytes.NewReader(mustFrame(t, req))); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("read of an invalid request: %v, want malformed or too large", err)
				}
				return
			}
			got, err := ReadCMSSyncRequest(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Held) != len(req.Held) || got.MaxRecords != req.MaxRecords {
				t.Fatalf("read %v, wrote %v", got, req)
			}
		})
	}
}

// TestCMSSyncRequestFitsAtTheCap: the largest request a node builds (every
// held record of MaxSyncRecords, the longest peer ids, a time-based seq)
// fits MaxCMSSyncRequestBytes.
func TestCMSSyncRequestFitsAtTheCap(t *testing.T) {
	req := &CMSSyncRequest{MaxRecords: MaxSyncRecords}
	for range MaxSyncRecords {
		req.Held = append(req.Held, &CMSHeld{Peer: []byte(testPeers()[0]), Seq: 1<<63 - 1})
	}
	if err := WriteCMSSyncRequest(io.Discard, req); err != nil {
		t.Fatalf("largest request refused: %v", err)
	}
}

func TestCMSSyncRecords(t *testing.T) {
	var buf bytes.Buffer
	envelopes := [][]byte{[]byte("first"), bytes.Repeat([]byte{7}, MaxCMSSyncRecordBytes-8)}
	for _, e := range envelopes {
		if err := WriteCMSSyncRecord(&buf, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteCMSSyncRecord(&buf, nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty envelope: %v, want ErrMalformed", err)
	}
	if err := WriteCMSSyncRecord(&buf, make([]byte, MaxCMSSyncRecordBytes)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("envelope over the cap: %v, want ErrTooLarge", err)
	}
	for i, want := range envelopes {
		got, err := ReadCMSSyncRecord(&buf)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("record %d: %d bytes, %v", i, len(got), err)
		}
	}
	if _, err := ReadCMSSyncRecord(&buf); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last record: %v, want io.EOF", err)
	}
}
