package cmssync

import (
	"context"
	"testing"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/cms/cmspb"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// newService starts a service on h; it closes at cleanup.
func newService(t testing.TB, h host.Host, opts ...Option) *Service {
	t.Helper()
	s, err := New(h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fixedSource serves the same envelopes to every asker, whatever it holds.
type fixedSource [][]byte

func (f fixedSource) Missing(_ []cms.Held, most int) [][]byte { return f[:min(len(f), most)] }

// served is how many serves ended with result.
func served(t testing.TB, s *Service, result string) float64 {
	t.Helper()
	var m dto.Metric
	if err := s.m.served.WithLabelValues(result).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// serving reports whether a serve for p is under way, and how many are.
func (s *Service) serves(p peer.ID) (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.serving[p]
	return ok, len(s.serving)
}

// openStream opens a sync stream from h to p, as a hand-written asker.
func openStream(t testing.TB, h host.Host, p peer.ID) network.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), p2ptest.ConnectTimeout)
	defer cancel()
	str, err := h.NewStream(ctx, p, protocol.CMSSyncProtocol)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	t.Cleanup(func() { _ = str.Reset() })
	// The protocol is negotiated lazily, on the first write: an empty one
	// sends the negotiation alone, so the server's handler starts now.
	if _, err := str.Write(nil); err != nil {
		t.Fatalf("negotiate stream: %v", err)
	}
	return str
}

// prefix is a frame's length prefix announcing n bytes.
func prefix(n int) []byte { return protowire.AppendVarint(nil, uint64(n)) }

// recordFrame is one well-formed record frame carrying env.
func recordFrame(t testing.TB, env []byte) []byte {
	t.Helper()
	b, err := proto.Marshal(&protocol.CMSSyncRecord{Envelope: env})
	if err != nil {
		t.Fatal(err)
	}
	return append(prefix(len(b)), b...)
}

// storeNode is a node's capability side as node.New builds it: a loopback
// host, a server-mode DHT under our prefix, gossipsub, a service, and a
// store that pulls through the service and is served by it.
type storeNode struct {
	h     host.Host
	svc   *Service
	store *cms.Store
}

func newStoreNode(t testing.TB) *storeNode {
	t.Helper()
	h := p2ptest.NewHost(t)
	kad, err := dht.New(h, dht.Mode(dht.ModeServer),
		dht.ProtocolPrefix(protocol.DHTProtocolPrefix),
		dht.NamespacedValidator(protocol.CapabilityNamespace, cms.Validator{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps := p2ptest.GossipSub(ctx, t, h)
	topic, err := ps.Join(protocol.TopicCMS)
	if err != nil {
		t.Fatal(err)
	}
	self := cms.SelfFunc(func(context.Context) (*cmspb.CapabilityRecord, error) {
		return &cmspb.CapabilityRecord{
			Model:        &cmspb.Model{Name: "tiny:1", Family: "llama", ParameterSize: "10M", Quantization: "F16", ContextLength: 2048},
			Capabilities: []string{"completion"},
			Domains:      []string{"general"},
			Health:       cmspb.Health_HEALTH_OK,
			Load:         &cmspb.Load{Slots: 1},
		}, nil
	})
	svc, err := New(h)
	if err != nil {
		t.Fatal(err)
	}
	store, err := cms.New(h, kad, topic, self, cms.WithPuller(svc))
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.RegisterTopicValidator(protocol.TopicCMS, store.GossipValidator()); err != nil {
		t.Fatal(err)
	}
	svc.Serve(store)
	t.Cleanup(func() { // as the node closes them: the service before the store
		_ = svc.Close()
		_ = store.Close()
		cancel()
		_ = kad.Close()
	})
	return &storeNode{h: h, svc: svc, store: store}
}
