package cms

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"

	goldenfile "github.com/swarmllm/swarmllm/testnet/golden"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestRecordViewGolden(t *testing.T) {
	// A fixed key, so the peer id (and the golden file) is stable.
	priv, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Seal(priv, testFields(id, 42, testNow))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Open(raw, testNow)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(rec.View(testNow.Add(30*time.Second), true), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	goldenfile.Check(t, "record_view.golden.json", got)
}
