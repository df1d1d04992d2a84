package cms

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pb "github.com/libp2p/go-libp2p-kad-dht/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmllm/swarmllm/cms/cmspb"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

func TestProvisionDue(t *testing.T) {
	const interval = 10 * time.Minute
	at := testNow
	tests := []struct {
		name  string
		p     provision
		now   time.Time
		peers int
		want  bool
	}{
		{"never provided", provision{}, at, 5, true},
		{"provided just now", provision{at: at, peers: 4}, at.Add(time.Second), 4, false},
		{"the interval passed", provision{at: at, peers: 40}, at.Add(interval), 40, true},
		{"the swarm doubled since", provision{at: at, peers: 4}, at.Add(reprovideGap), 8, true},
		{"the swarm doubled, too soon", provision{at: at, peers: 4}, at.Add(reprovideGap - time.Second), 8, false},
		{"the swarm grew, not doubled", provision{at: at, peers: 4}, at.Add(reprovideGap), 7, false},
		{"provided with no peer, one now", provision{at: at, peers: 0}, at.Add(reprovideGap), 2, true},
		{"provided into a settled table", provision{at: at, peers: settledPeers}, at.Add(reprovideGap), 4 * settledPeers, false},
		{"table size unknown", provision{at: at, peers: -1}, at.Add(reprovideGap), 100, false},
		{"table size unknown now", provision{at: at, peers: 4}, at.Add(reprovideGap), -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.due(tt.now, tt.peers, interval); got != tt.want {
				t.Errorf("due = %v, want %v", got, tt.want)
			}
		})
	}
}

// forgetfulDHT is a DHT whose peers closest to every key lose this node's
// provider records until it has provided keep times: its checks find the
// record missing and provide again until the peers keep it.
type forgetfulDHT struct {
	*dht.IpfsDHT
	self peer.ID
	keep int

	mu       sync.Mutex // owns provides
	provides int
}

func (f *forgetfulDHT) Provide(ctx context.Context, c cid.Cid, announce bool) error {
	f.mu.Lock()
	f.provides++
	f.mu.Unlock()
	return f.IpfsDHT.Provide(ctx, c, announce)
}

func (f *forgetfulDHT) providesSoFar() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.provides
}

// GetClosestPeers names made-up peers: only MessageSender answers for them.
func (f *forgetfulDHT) GetClosestPeers(context.Context, string) ([]peer.ID, error) {
	return []peer.ID{"closest-1", "closest-2", "closest-3", "closest-4"}, nil
}

func (f *forgetfulDHT) MessageSender() pb.MessageSender { return forgetfulSender{f} }

type forgetfulSender struct{ f *forgetfulDHT }

// SendRequest answers GET_PROVIDERS with this node once it has provided
// keep times, and with nobody before.
func (s forgetfulSender) SendRequest(_ context.Context, _ peer.ID, m *pb.Message) (*pb.Message, error) {
	if m.GetType() != pb.Message_GET_PROVIDERS {
		return nil, fmt.Errorf("unexpected %s", m.GetType())
	}
	resp := pb.NewMessage(pb.Message_GET_PROVIDERS, m.GetKey(), 0)
	if s.f.providesSoFar() >= s.f.keep {
		resp.ProviderPeers = pb.RawPeerInfosToPBPeers([]peer.AddrInfo{{ID: s.f.self}})
	}
	return resp, nil
}

func (forgetfulSender) SendMessage(context.Context, peer.ID, *pb.Message) error {
	return errors.New("not sent")
}

// A provide the peers closest to the key do not hold is provided again until
// they do.
func TestProvideCheckedUntilHeld(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for two checks (checkDelay, then twice that)")
	}
	h := p2ptest.NewHost(t)
	kad, err := dht.New(h, dht.Mode(dht.ModeServer), dht.ProtocolPrefix(protocol.DHTProtocolPrefix),
		dht.NamespacedValidator(protocol.CapabilityNamespace, Validator{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kad.Close() })
	peerNode := newTestNode(t, nodeConfig{})
	p2ptest.Connect(t, h, peerNode.h) // a DHT peer, so provides succeed
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	topic, err := p2ptest.GossipSub(ctx, t, h).Join(protocol.TopicCMS)
	if err != nil {
		t.Fatal(err)
	}
	f := &forgetfulDHT{IpfsDHT: kad, self: h.ID(), keep: 3}
	self := &selfDesc{rec: &cmspb.CapabilityRecord{Domains: []string{"medicine"}, Health: cmspb.Health_HEALTH_OK}}
	store, err := New(h, f, topic, self)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	reg := prometheus.NewRegistry()
	reg.MustRegister(store.Collectors()...)

	checks := func(res string) float64 {
		return metricValue(t, reg, "swarmllm_cms_publish_total", map[string]string{"via": viaProvideCheck, "result": res})
	}
	p2ptest.Eventually(t, func() bool { return checks(resultOK) >= 1 }, time.Minute)
	// Other writes (the first put's retry, a joined peer) may provide too,
	// but only checks that found it missing can have brought it to keep.
	if got := f.providesSoFar(); got < f.keep {
		t.Errorf("provided %d times before the check found it held, want at least %d", got, f.keep)
	}
	if got := checks(resultMissing); got < 1 {
		t.Errorf("%v checks found the record missing, want at least 1", got)
	}
	if store.Self() == nil {
		t.Fatal("no record published")
	}
}
