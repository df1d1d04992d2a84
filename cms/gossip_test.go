package cms

import (
	"bytes"
	"context"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms/cmspb"
)

func TestGossipValidator(t *testing.T) {
	n := newTestNode(t, nodeConfig{opts: []Option{WithClock(func() time.Time { return testNow })}})
	a, b := newIdentity(t), newIdentity(t)
	seal := func(id identity, f *cmspb.CapabilityRecord) []byte {
		raw, err := Seal(id.priv, f)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	cachedRaw := seal(a, testFields(a.id, 5, testNow))
	cached, err := Open(cachedRaw, testNow)
	if err != nil {
		t.Fatal(err)
	}
	_ = n.store.cache.put(cached, viaGossip, a.id)

	tampered := bytes.Clone(seal(a, testFields(a.id, 6, testNow)))
	tampered[bytes.Index(tampered, []byte("clinical"))] ^= 0x20
	expired := testFields(a.id, 9, testNow.Add(-time.Hour))

	cases := []struct {
		name string
		from peer.ID
		data []byte
		want pubsub.ValidationResult
	}{
		{"newer record from its owner", a.id, seal(a, testFields(a.id, 6, testNow)), pubsub.ValidationAccept},
		{"the cached record again (relayed re-announcement)", a.id, cachedRaw, pubsub.ValidationAccept},
		{"another owner's first record", b.id, seal(b, testFields(b.id, 1, testNow)), pubsub.ValidationAccept},
		{"forged: a's record signed by b", a.id, sealRaw(t, b.priv, &payload{rec: testFields(a.id, 6, testNow)}), pubsub.ValidationReject},
		{"b's genuine record announced by a", a.id, seal(b, testFields(b.id, 1, testNow)), pubsub.ValidationReject},
		{"tampered", a.id, tampered, pubsub.ValidationReject},
		{"truncated", a.id, cachedRaw[:len(cachedRaw)-1], pubsub.ValidationReject},
		{"garbage", a.id, []byte{0x0a, 0xff, 0x01, 0x02}, pubsub.ValidationReject},
		{"oversized", a.id, make([]byte, MaxRecordBytes+1), pubsub.ValidationReject},
		{"bad field", a.id, sealRaw(t, a.priv, &payload{rec: func() *cmspb.CapabilityRecord {
			f := testFields(a.id, 7, testNow)
			f.Domains = []string{"UPPER"}
			return f
		}()}), pubsub.ValidationReject},
		{"expired", a.id, seal(a, expired), pubsub.ValidationIgnore},
		{"stale: older than cached", a.id, seal(a, testFields(a.id, 4, testNow)), pubsub.ValidationIgnore},
	}
	validate := n.store.GossipValidator()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := &pubsub.Message{Message: &pb.Message{From: []byte(tc.from), Data: tc.data}, ReceivedFrom: tc.from}
			got := validate(context.Background(), tc.from, msg)
			if got != tc.want {
				t.Fatalf("validator = %v, want %v", got, tc.want)
			}
			if rec, ok := msg.ValidatorData.(*Record); (got == pubsub.ValidationAccept) != ok || (ok && rec.Peer != tc.from) {
				t.Fatalf("ValidatorData = %v for result %v", msg.ValidatorData, got)
			}
		})
	}
}
