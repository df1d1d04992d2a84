package cms

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmllm/swarmllm/cms/cmspb"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// floodSize is how many records of made-up identities the flooder sends.
const floodSize = 2000

// flooder is a peer with no store: a bare host and gossipsub on the
// capability topic, announcing records of identities it makes up, each
// message signed by the made-up key, all over its one connection.
type flooder struct {
	h      host.Host
	topic  *pubsub.Topic
	cancel context.CancelFunc
}

func newFlooder(t testing.TB) *flooder {
	t.Helper()
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithFloodPublish(true))
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(protocol.TopicCMS)
	if err != nil {
		t.Fatal(err)
	}
	return &flooder{h: h, topic: topic, cancel: cancel}
}

func (f *flooder) close() {
	_ = f.topic.Close()
	f.cancel()
	_ = f.h.Close()
}

// flood has a new flooder connect to victim (the flooder dials, so no dials
// cross) and send n valid records of made-up identities, each as large as a
// record gets (an embedding of MaxEmbeddingDim), issued at now() and valid
// for MaxTTL (now is the victim's clock, so none is too far ahead). It paces
// itself by the victim's count of received announcements, so none is lost to
// a full queue. It returns once the flooder is closed and its goroutines are
// gone, so what the flood costs the victim can be measured alone.
func flood(t testing.TB, victim *testNode, reg *prometheus.Registry, n int, now func() time.Time) {
	t.Helper()
	received := func() float64 {
		return metricValue(t, reg, "swarmllm_cms_received_total", map[string]string{"via": viaGossip})
	}
	floodPeer(t, peer.AddrInfo{ID: victim.h.ID(), Addrs: victim.h.Addrs()}, received, n, now)
}

// floodPeer floods the peer at target as flood does, pacing by received
// (the victim's count of gossiped announcements).
func floodPeer(t testing.TB, target peer.AddrInfo, received func() float64, n int, now func() time.Time) {
	t.Helper()
	goroutines := runtime.NumGoroutine()
	f := newFlooder(t)
	defer func() {
		f.close()
		p2ptest.Eventually(t, func() bool { return runtime.NumGoroutine() <= goroutines }, 10*time.Second)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.h.Connect(ctx, target); err != nil {
		t.Fatalf("flooder connect: %v", err)
	}
	p2ptest.Eventually(t, func() bool {
		for _, p := range f.topic.ListPeers() {
			if p == target.ID {
				return true
			}
		}
		return false
	}, 5*time.Second)
	vec := make([]float32, MaxEmbeddingDim)
	for i := range vec {
		vec[i] = float32(i%7) / 7
	}
	base := received()
	const batch = 16 // below pubsub's per-peer outbound queue (32)
	for i := 0; i < n; i++ {
		priv, id := p2ptest.NewIdentity(t)
		issued := now()
		fields := testFields(id, 1, issued)
		fields.ExpiresUnixMs = issued.Add(MaxTTL).UnixMilli()
		fields.DescriptionEmbedding = &cmspb.Embedding{Model: "flood", Dim: MaxEmbeddingDim, Vector: vec}
		raw, err := Seal(priv, fields)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.topic.Publish(context.Background(), raw, pubsub.WithSecretKeyAndPeerId(priv, id)); err != nil {
			t.Fatalf("flood publish %d: %v", i, err)
		}
		if sent := i + 1; sent%batch == 0 || sent == n {
			p2ptest.Eventually(t, func() bool { return received()-base >= float64(sent) }, 10*time.Second)
		}
	}
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestRecordFlood: one connection floods 2000 valid self-signed records of
// made-up identities. The victim keeps at most the per-source cap of them,
// its heap grows by little, /swarm/v1/cms stays small, an honest peer's
// record still gets in, and the strangers are gone after their grace.
func TestRecordFlood(t *testing.T) {
	const grace = 2 * time.Second
	// The victim's clock stands still but for skew, so no stranger's grace
	// runs out during the flood, however slow the machine.
	start := time.Now()
	var skew atomic.Int64
	clock := func() time.Time { return start.Add(time.Duration(skew.Load())) }
	victim := newTestNode(t, nodeConfig{opts: []Option{WithStrangerGrace(grace), WithClock(clock)}})
	reg := victim.reg

	before := heapInUse()
	flood(t, victim, reg, floodSize, clock)
	grown := int64(heapInUse()) - int64(before)

	recs := victim.store.Records()
	body, err := json.Marshal(victim.store.Views())
	if err != nil {
		t.Fatal(err)
	}
	refused := metricValue(t, reg, "swarmllm_cms_received_total", map[string]string{"via": viaGossip, "result": resultRefused})
	t.Logf("after %d flooded records: %d cached, %.0f refused, heap %+.1f MiB, views %d bytes",
		floodSize, len(recs), refused, float64(grown)/(1<<20), len(body))
	if len(recs) != DefaultMaxRecordsPerSource || refused != floodSize-DefaultMaxRecordsPerSource {
		t.Errorf("cached %d and refused %.0f, want %d and the rest", len(recs), refused, DefaultMaxRecordsPerSource)
	}
	// The cap's records of the largest kind cost a few MiB; all 2000 cost ~70.
	if grown > 16<<20 {
		t.Errorf("heap grew by %.1f MiB", float64(grown)/(1<<20))
	}
	if len(body) > DefaultMaxRecordsPerSource<<10 { // a view is well under 1 KiB
		t.Errorf("views are %d bytes", len(body))
	}

	// An honest peer still gets in: it counts against its own budget.
	honest := newTestNode(t, nodeConfig{domain: "law"})
	honest.connect(t, victim)
	p2ptest.Eventually(t, func() bool { return victim.holds(honest.h.ID(), nil) }, 10*time.Second)

	skew.Store(int64(grace))
	p2ptest.Eventually(t, func() bool { return len(victim.store.Records()) == 1 }, 10*time.Second)
	if !victim.holds(honest.h.ID(), nil) {
		t.Error("honest peer's record dropped with the strangers")
	}
}

// BenchmarkRecordFlood: what a flood of 2000 of the largest valid records of
// made-up identities from one connection leaves in a node's heap, with the
// default caps and without them.
func BenchmarkRecordFlood(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []Option
	}{
		{"capped", nil},
		{"uncapped", []Option{WithRecordLimits(1<<20, 1<<20)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var grown int64
			var kept, viewBytes int
			for b.Loop() {
				victim := newTestNode(b, nodeConfig{opts: bc.opts})
				before := heapInUse()
				flood(b, victim, victim.reg, floodSize, time.Now)
				grown = int64(heapInUse()) - int64(before)
				kept = len(victim.store.Records())
				body, err := json.Marshal(victim.store.Views())
				if err != nil {
					b.Fatal(err)
				}
				viewBytes = len(body)
				victim.close()
			}
			b.ReportMetric(float64(grown)/(1<<20), "MiB-retained")
			b.ReportMetric(float64(kept), "records")
			b.ReportMetric(float64(viewBytes)/(1<<10), "KiB-views")
		})
	}
}

// TestFloodANode floods a node running elsewhere (a `swarmllm node`
// process) over loopback, so its RSS can be read before and after:
// scripts/bench-flood-rss.sh runs it. SWARM_FLOOD_NODE is the node's
// multiaddr with /p2p/<id>, SWARM_FLOOD_METRICS its /metrics URL (the flood
// paces itself by the node's count of received announcements).
func TestFloodANode(t *testing.T) {
	target, metrics := os.Getenv("SWARM_FLOOD_NODE"), os.Getenv("SWARM_FLOOD_METRICS")
	if target == "" || metrics == "" {
		t.Skip("set SWARM_FLOOD_NODE and SWARM_FLOOD_METRICS (scripts/bench-flood-rss.sh)")
	}
	info, err := peer.AddrInfoFromString(target)
	if err != nil {
		t.Fatal(err)
	}
	// No idle connections left behind: the flood counts goroutines.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	received := func() float64 {
		resp, err := client.Get(metrics)
		if err != nil {
			t.Fatalf("read the node's metrics: %v", err)
		}
		defer resp.Body.Close()
		var sum float64
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "swarmllm_cms_received_total{") || !strings.Contains(line, `via="`+viaGossip+`"`) {
				continue
			}
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			sum += v
		}
		return sum
	}
	floodPeer(t, *info, received, floodSize, time.Now)
}
