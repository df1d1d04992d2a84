package cms

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	goldenfile "github.com/swarmllm/swarmllm/testnet/golden"
)

// TestRecordWireGolden pins the signed envelope bytes of a record with a
// fixed key and fields: peers running older builds must keep reading what
// this build publishes, and this build must keep reading what they publish.
func TestRecordWireGolden(t *testing.T) {
	priv, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	fields := testFields(id, 42, testNow)

	// Encoding the same input reproduces the golden bytes (ed25519 signatures
	// and deterministic protobuf make sealing deterministic).
	raw, err := Seal(priv, fields)
	if err != nil {
		t.Fatal(err)
	}
	want := goldenfile.Check(t, "record_envelope.golden.hex", []byte(hex.EncodeToString(raw)+"\n"))

	// Decoding the golden bytes still yields the same record.
	golden, err := hex.DecodeString(string(bytes.TrimSpace(want)))
	if err != nil {
		t.Fatalf("golden file is not hex: %v", err)
	}
	rec, err := Open(golden, testNow)
	if err != nil {
		t.Fatalf("Open(golden): %v", err)
	}
	if rec.Peer != id || !proto.Equal(rec.Fields, fields) {
		t.Fatalf("Open(golden) = %s %v, want %s %v", rec.Peer, rec.Fields, id, fields)
	}
	if err := (Validator{Now: func() time.Time { return testNow }}).Validate(Key(id), golden); err != nil {
		t.Fatalf("Validate(golden): %v", err)
	}
}
