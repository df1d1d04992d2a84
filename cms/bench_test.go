package cms

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// BenchmarkRecordPropagation: a new node connects to two members of a
// converged swarm; ms-to-all is until every member holds its record,
// ms-learn-all until it holds every member's, all from the first dial
// (ms-connect: until both connections are up; ns/op includes node setup).
func BenchmarkRecordPropagation(b *testing.B) {
	for _, n := range []int{3, 20} {
		b.Run(fmt.Sprintf("%dnodes", n), func(b *testing.B) {
			nodes := startSwarm(b, n-1, nil)
			p2ptest.Eventually(b, func() bool { return allHold(nodes) }, 30*time.Second)
			var connect, toAll, learnAll []time.Duration
			for i := 0; b.Loop(); i++ {
				late := newTestNode(b, nodeConfig{})
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				start := time.Now()
				for _, j := range rng.Perm(len(nodes))[:min(2, len(nodes))] {
					late.connect(b, nodes[j])
				}
				connect = append(connect, time.Since(start))
				id := late.h.ID()
				p2ptest.Eventually(b, func() bool {
					for _, o := range nodes {
						if !o.holds(id, nil) {
							return false
						}
					}
					return true
				}, 10*time.Second)
				toAll = append(toAll, time.Since(start))
				p2ptest.Eventually(b, func() bool {
					for _, o := range nodes {
						if !late.holds(o.h.ID(), nil) {
							return false
						}
					}
					return true
				}, 10*time.Second)
				learnAll = append(learnAll, time.Since(start))
				late.close()
				// Isolated joins: a join within the announce delay of the
				// previous one is answered at the delay's end, by design.
				time.Sleep(250 * time.Millisecond)
			}
			b.ReportMetric(ms(median(connect)), "ms-connect-p50")
			b.ReportMetric(ms(median(toAll)), "ms-to-all-p50")
			b.ReportMetric(ms(slices.Max(toAll)), "ms-to-all-max")
			b.ReportMetric(ms(median(learnAll)), "ms-learn-all-p50")
		})
	}
}

// BenchmarkDHTLookup measures Get (cache cleared: a DHT GetValue) and
// FindByDomain (cache cleared: FindProviders plus a Get per provider) from a
// node that hears no gossip, in a swarm of 20.
func BenchmarkDHTLookup(b *testing.B) {
	const n, domains = 20, 5
	nodes := startSwarm(b, n, func(i int) nodeConfig { return nodeConfig{domain: fmt.Sprintf("domain-%d", i%domains)} })
	for _, nd := range nodes {
		if err := nd.store.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	asker := newTestNode(b, nodeConfig{topic: "/swarmllm/test/isolated"})
	asker.connect(b, nodes[0])
	asker.connect(b, nodes[n/2])
	p2ptest.Eventually(b, func() bool { return asker.kad.RoutingTable().Size() > 0 }, p2ptest.Patience)
	forget := func() { asker.store.cache.do(func() { clear(asker.store.cache.peers) }) }
	ctx := context.Background()

	b.Run("by-peer", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			forget()
			target := nodes[i%n].h.ID()
			start := time.Now()
			if _, err := asker.store.Get(ctx, target); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		b.ReportMetric(ms(median(lat)), "ms-p50")
	})
	b.Run("by-domain", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			forget()
			start := time.Now()
			recs, err := asker.store.FindByDomain(ctx, fmt.Sprintf("domain-%d", i%domains))
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			if len(recs) != n/domains {
				b.Fatalf("found %d providers, want %d", len(recs), n/domains)
			}
		}
		b.ReportMetric(ms(median(lat)), "ms-p50")
	})
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
