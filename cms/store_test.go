package cms

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmllm/swarmllm/cms/cmspb"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

func TestSwarmConvergesAndPropagatesChanges(t *testing.T) {
	for _, n := range []int{3, 20} {
		t.Run(string(rune('0'+n/10))+string(rune('0'+n%10))+"nodes", func(t *testing.T) {
			start := time.Now()
			nodes := startSwarm(t, n, nil)
			took := p2ptest.Eventually(t, func() bool { return allHold(nodes) }, p2ptest.Patience)
			t.Logf("%d nodes: all records everywhere %s after the last connection (%s after start)", n, took, time.Since(start))

			// A changed record (new model) reaches every peer.
			src := nodes[n/2]
			src.self.update(func(f *cmspb.CapabilityRecord) { f.Model.Name = "bigger:7b" })
			src.store.Changed()
			took = p2ptest.Eventually(t, func() bool {
				for _, o := range nodes {
					if o != src && !o.holds(src.h.ID(), func(r *Record) bool { return r.Fields.GetModel().GetName() == "bigger:7b" }) {
						return false
					}
				}
				return true
			}, p2ptest.Patience)
			t.Logf("%d nodes: changed record everywhere after %s", n, took)

			// A node joining late is learnt by all, and learns all.
			late := newTestNode(t, nodeConfig{})
			late.connect(t, nodes[0])
			all := append(nodes, late)
			took = p2ptest.Eventually(t, func() bool { return allHold(all) }, p2ptest.Patience)
			t.Logf("%d nodes: a late joiner and every peer hold each other's records after %s", n, took)
		})
	}
}

func TestStoppedNodeExpires(t *testing.T) {
	const ttl = 2 * time.Second
	nodes := startSwarm(t, 3, func(int) nodeConfig {
		return nodeConfig{opts: []Option{WithTTL(ttl), WithMinPublishInterval(100 * time.Millisecond)}}
	})
	p2ptest.Eventually(t, func() bool { return allHold(nodes) }, p2ptest.Patience)
	// Put went out (Refresh waits for it), so the DHT holds the record too.
	gone := nodes[2]
	if err := gone.store.Refresh(context.Background()); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	goneID := gone.h.ID()
	stopped := time.Now()
	gone.close()
	took := p2ptest.Eventually(t, func() bool {
		for _, o := range nodes[:2] {
			if o.holds(goneID, nil) || len(o.store.Records()) != 1 {
				return false
			}
		}
		return true
	}, ttl+3*time.Second)
	t.Logf("stopped node forgotten %s after it stopped (ttl %s)", took, ttl)
	if since := time.Since(stopped); since > ttl+2*time.Second {
		t.Errorf("forgotten only after %s", since)
	}
	// Nor does the DHT return it any more.
	if _, err := nodes[0].store.Get(context.Background(), goneID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(stopped) = %v, want ErrNotFound", err)
	}
}

// TestDiscoveryThroughDHT: an asker on a gossip topic of its own learns
// nothing by gossip, so it finds the specialists by domain and peer id
// through the DHT alone, then ranks them.
func TestDiscoveryThroughDHT(t *testing.T) {
	for _, tc := range []struct {
		name     string
		embedder Embedder // published by the specialists and used by the asker (nil: lexical)
		recVec   bool
	}{
		{"lexical fallback", nil, false},
		{"shared embedding model", &topicEmbedder{model: "fake-shared-embed"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.embedder != nil {
				opts = append(opts, WithEmbedder(tc.embedder))
			}
			nodes := startSwarm(t, 3, func(i int) nodeConfig {
				return nodeConfig{domain: specialists[i].domain, desc: specialists[i].description, opts: opts}
			})
			for _, n := range nodes {
				if err := n.store.Refresh(context.Background()); err != nil {
					t.Fatalf("refresh: %v", err)
				}
			}
			asker := newTestNode(t, nodeConfig{topic: "/swarmllm/test/isolated", opts: opts})
			asker.connect(t, nodes[0])
			ctx := context.Background()
			// The asker's routing table fills asynchronously after connecting.
			p2ptest.Eventually(t, func() bool { return asker.kad.RoutingTable().Size() > 0 }, p2ptest.Patience)

			var found []*Record
			for i, sp := range specialists {
				start := time.Now()
				var recs []*Record
				p2ptest.Eventually(t, func() bool {
					var err error
					recs, err = asker.store.FindByDomain(ctx, sp.domain)
					if err != nil {
						t.Fatal(err)
					}
					return len(recs) == 1
				}, p2ptest.Patience)
				if recs[0].Peer != nodes[i].h.ID() {
					t.Fatalf("FindByDomain(%s) = %s, want %s", sp.domain, recs[0].Peer, nodes[i].h.ID())
				}
				t.Logf("FindByDomain(%s) through the DHT: %s", sp.domain, time.Since(start))
				found = append(found, recs[0])
			}
			if got := len(asker.store.Records()); got != 3 {
				t.Fatalf("asker cached %d records", got)
			}
			r := NewRanker(tc.embedder)
			for i, sp := range specialists {
				for _, q := range sp.queries {
					ranked, err := r.Rank(ctx, q, found, 1, RankOptions{})
					if err != nil {
						t.Fatal(err)
					}
					if ranked[0].Record.Peer != nodes[i].h.ID() || ranked[0].RecordVector != tc.recVec {
						t.Errorf("Rank(%q) first = %v (record vector %v), want %s", q, ranked[0].Record.Fields.GetDomains(), ranked[0].RecordVector, sp.domain)
					}
				}
			}
		})
	}
}

// TestJoinedPeerFetchedFromDHT: when a joined peer's announcements are lost
// and it cannot be pulled from (an older build), its record still arrives,
// through the DHT.
func TestJoinedPeerFetchedFromDHT(t *testing.T) {
	nodes := startSwarm(t, 2, func(int) nodeConfig { return nodeConfig{noPull: true} })
	mute := newTestNode(t, nodeConfig{mute: true, noPull: true})
	mute.connect(t, nodes[0])
	mute.connect(t, nodes[1])
	took := p2ptest.Eventually(t, func() bool {
		return nodes[0].holds(mute.h.ID(), nil) && nodes[1].holds(mute.h.ID(), nil)
	}, joinFetchDelay+5*time.Second)
	t.Logf("muted peer's record fetched from the DHT %s after it joined", took)
	if took < joinFetchDelay/2 {
		t.Errorf("arrived after %s: by gossip, not the fallback", took)
	}
}

func TestGetThroughDHT(t *testing.T) {
	nodes := startSwarm(t, 3, nil)
	published := map[peer.ID]uint64{}
	for _, n := range nodes {
		if err := n.store.Refresh(context.Background()); err != nil {
			t.Fatalf("refresh: %v", err)
		}
		published[n.h.ID()] = n.store.Self().Seq()
	}
	asker := newTestNode(t, nodeConfig{topic: "/swarmllm/test/isolated"})
	asker.connect(t, nodes[1])
	p2ptest.Eventually(t, func() bool { return asker.kad.RoutingTable().Size() > 0 }, p2ptest.Patience)
	ctx := context.Background()
	for _, n := range nodes {
		r, err := asker.store.Get(ctx, n.h.ID())
		if err != nil {
			t.Fatalf("Get(%s): %v", n.h.ID(), err)
		}
		// At least what Refresh put (a background publication may be newer).
		if r.Seq() < published[n.h.ID()] {
			t.Fatalf("Get seq %d, published %d", r.Seq(), published[n.h.ID()])
		}
	}
	stranger := newIdentity(t).id
	if _, err := asker.store.Get(ctx, stranger); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(stranger) = %v, want ErrNotFound", err)
	}
	if r, err := asker.store.Get(ctx, asker.h.ID()); err != nil || r != asker.store.Self() {
		t.Fatalf("Get(self) = %v, %v", r, err)
	}
	views := asker.store.Views()
	if len(views) != 4 || !views[0].Self || views[0].Peer != asker.h.ID().String() || views[1].Self {
		t.Fatalf("views: %+v", views)
	}
	for _, v := range views {
		if v.Model != "tiny:1" || !v.Healthy || !v.Expires.After(time.Now()) {
			t.Fatalf("view: %+v", v)
		}
	}
}

func TestSelfSourceFailure(t *testing.T) {
	n := newTestNode(t, nodeConfig{})
	topic, err := n.ps.Join("/swarmllm/test/selfless")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("ollama unreachable")
	s, err := New(n.h, n.kad, topic, SelfFunc(func(context.Context) (*cmspb.CapabilityRecord, error) { return nil, boom }))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = s.Close()
		_ = topic.Close()
	}()
	if err := s.Refresh(context.Background()); !errors.Is(err, ErrSelfSource) || !errors.Is(err, boom) {
		t.Fatalf("Refresh = %v", err)
	}
	if s.Self() != nil {
		t.Fatal("published without a description")
	}
}

func TestStoreLifecycle(t *testing.T) {
	n := newTestNode(t, nodeConfig{})
	if err := n.store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.store.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := n.store.Refresh(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Refresh after Close = %v", err)
	}
	n.store.Changed() // must not block or panic
	if _, err := n.store.Get(context.Background(), newIdentity(t).id); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close = %v", err)
	}
	if _, err := n.store.FindByDomain(context.Background(), "law"); !errors.Is(err, ErrClosed) {
		t.Fatalf("FindByDomain after Close = %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	n := newTestNode(t, nodeConfig{})
	topic, err := n.ps.Join("/swarmllm/test/options")
	if err != nil {
		t.Fatal(err)
	}
	defer topic.Close()
	cases := []struct {
		name string
		opts []Option
	}{
		{"ttl too short", []Option{WithTTL(time.Millisecond)}},
		{"ttl too long", []Option{WithTTL(MaxTTL + time.Hour)}},
		{"publish interval above ttl/3", []Option{WithTTL(3 * time.Second), WithMinPublishInterval(2 * time.Second)}},
		{"zero announce delay", []Option{WithAnnounceDelay(0)}},
		{"zero sync interval", []Option{WithSyncInterval(0)}},
		{"nil clock", []Option{WithClock(nil)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := New(n.h, n.kad, topic, n.self, tc.opts...); err == nil {
				_ = s.Close()
				t.Fatal("accepted")
			}
		})
	}
	if _, err := New(n.h, nil, topic, n.self); err == nil {
		t.Fatal("nil routing accepted")
	}
}

// metricValue sums the samples of the named metric whose labels include
// want, from reg.
func metricValue(t testing.TB, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue metrics
				}
			}
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum
}

func TestMetrics(t *testing.T) {
	nodes := startSwarm(t, 2, nil)
	regs := []*prometheus.Registry{nodes[0].reg, nodes[1].reg}
	p2ptest.Eventually(t, func() bool { return allHold(nodes) }, p2ptest.Patience)
	p2ptest.Eventually(t, func() bool {
		return metricValue(t, regs[0], "swarmllm_cms_publish_total", map[string]string{"via": viaDHT, "result": resultOK}) >= 1
	}, p2ptest.Patience)
	if got := metricValue(t, regs[0], "swarmllm_cms_records", nil); got != 1 {
		t.Errorf("swarmllm_cms_records = %v, want 1", got)
	}
	if got := metricValue(t, regs[0], "swarmllm_cms_publish_total", map[string]string{"via": viaGossip, "result": resultOK}); got < 1 {
		t.Errorf("gossip publications = %v", got)
	}
	// The later node pulled the earlier one's record when they met, or
	// heard it announced: either way it was received and accepted.
	if got := metricValue(t, regs[1], "swarmllm_cms_received_total", map[string]string{"result": resultAccepted}); got < 1 {
		t.Errorf("records received = %v", got)
	}
	if got := metricValue(t, regs[0], "swarmllm_cms_syncs_total", nil) + metricValue(t, regs[1], "swarmllm_cms_syncs_total", nil); got < 1 {
		t.Errorf("pulls = %v, want at least the one of the nodes meeting", got)
	}
}
