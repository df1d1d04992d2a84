package cms

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/swarmllm/swarmllm/cms/cmspb"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// The real types satisfy the store's interfaces.
var (
	_ Routing    = (*dht.IpfsDHT)(nil)
	_ Topic      = (*pubsub.Topic)(nil)
	_ SelfSource = (*selfDesc)(nil)
)

// selfDesc is a node's mutable self-description.
type selfDesc struct {
	mu  sync.Mutex // owns rec
	rec *cmspb.CapabilityRecord
}

func (d *selfDesc) CapabilityRecord(context.Context) (*cmspb.CapabilityRecord, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return proto.CloneOf(d.rec), nil
}

func (d *selfDesc) update(f func(*cmspb.CapabilityRecord)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d.rec)
}

// testNode is one in-process swarmllm node: a p2ptest loopback host, a
// server-mode DHT under our prefix, gossipsub as the node runs it, a store.
type testNode struct {
	h      host.Host
	kad    *dht.IpfsDHT
	ps     *pubsub.PubSub
	store  *Store
	self   *selfDesc
	reg    *prometheus.Registry // the store's metrics
	cancel context.CancelFunc   // stops gossipsub
	closed bool
}

type nodeConfig struct {
	topic  string // gossip topic (default protocol.TopicCMS)
	mute   bool   // the store's announcements are lost
	noPull bool   // the store pulls no records (WithPuller unset)
	opts   []Option
	domain string
	desc   string
}

func newTestNode(t testing.TB, cfg nodeConfig) *testNode {
	t.Helper()
	h := p2ptest.NewHost(t)
	kad, err := dht.New(h, dht.Mode(dht.ModeServer),
		dht.ProtocolPrefix(protocol.DHTProtocolPrefix),
		dht.NamespacedValidator(protocol.CapabilityNamespace, Validator{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps := p2ptest.GossipSub(ctx, t, h)
	name := cfg.topic
	if name == "" {
		name = protocol.TopicCMS
	}
	topic, err := ps.Join(name)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.domain == "" {
		cfg.domain = "general"
	}
	self := &selfDesc{rec: &cmspb.CapabilityRecord{
		Model:        &cmspb.Model{Name: "tiny:1", Family: "llama", ParameterSize: "10M", Quantization: "F16", ContextLength: 2048},
		Capabilities: []string{"completion"},
		Domains:      []string{cfg.domain},
		Description:  cfg.desc,
		Health:       cmspb.Health_HEALTH_OK,
		Load:         &cmspb.Load{Slots: 1},
	}}
	var st Topic = topic
	if cfg.mute {
		st = mutedTopic{topic}
	}
	opts := cfg.opts
	if !cfg.noPull {
		opts = append([]Option{WithPuller(pullFrom{h})}, opts...)
	}
	store, err := New(h, kad, st, self, opts...)
	if err != nil {
		t.Fatal(err)
	}
	stores.Store(h.ID(), store)
	if err := ps.RegisterTopicValidator(name, store.GossipValidator()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(store.Collectors()...)
	n := &testNode{h: h, kad: kad, ps: ps, store: store, self: self, reg: reg, cancel: cancel}
	t.Cleanup(n.close)
	return n
}

// stores are the running test nodes' stores by peer, which pullFrom reads.
var stores sync.Map // peer.ID → *Store

// pullFrom is the node's sync client without the stream: it calls the
// peer's store's Missing directly, if the two hosts are connected (the
// stream itself is node/cmssync's, tested there).
type pullFrom struct{ h host.Host }

var _ Puller = pullFrom{}

func (f pullFrom) Pull(_ context.Context, p peer.ID, held []Held, max int) ([][]byte, error) {
	s, ok := stores.Load(p)
	if !ok || f.h.Network().Connectedness(p) != network.Connected {
		return nil, fmt.Errorf("pull from %s: not connected", p)
	}
	return s.(*Store).Missing(held, max), nil
}

// mutedTopic loses everything the store publishes.
type mutedTopic struct{ *pubsub.Topic }

func (mutedTopic) Publish(context.Context, []byte, ...pubsub.PubOpt) error { return nil }

func (n *testNode) close() {
	if n.closed {
		return
	}
	n.closed = true
	stores.Delete(n.h.ID())
	_ = n.store.Close()
	n.cancel()
	_ = n.kad.Close()
	_ = n.h.Close()
}

func (n *testNode) connect(t testing.TB, to *testNode) { p2ptest.Connect(t, n.h, to.h) }

// startSwarm starts n nodes and connects each to up to three earlier ones.
func startSwarm(t testing.TB, n int, cfg func(i int) nodeConfig) []*testNode {
	t.Helper()
	nodes := make([]*testNode, n)
	for i := range nodes {
		c := nodeConfig{}
		if cfg != nil {
			c = cfg(i)
		}
		nodes[i] = newTestNode(t, c)
	}
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	for i := 1; i < n; i++ {
		for _, j := range rng.Perm(i)[:min(i, 3)] {
			nodes[i].connect(t, nodes[j])
		}
	}
	return nodes
}

// holds reports whether n's cache has a record of p satisfying ok (nil: any).
func (n *testNode) holds(p peer.ID, ok func(*Record) bool) bool {
	r := n.store.cached(p)
	return r != nil && (ok == nil || ok(r))
}

// allHold reports whether every node holds every other node's record.
func allHold(nodes []*testNode) bool {
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b && !a.holds(b.h.ID(), nil) {
				return false
			}
		}
	}
	return true
}
