package p2p_test

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/node/p2p"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// BenchmarkPartitionDetection cuts a connected peer off (its connection
// stays open, bytes vanish, as in a partition) and reports how long until
// it leaves the peer list (detect-s) and, once the cut heals, until it is
// back (heal-s): with Liveness at its defaults, and without (libp2p's own
// timeouts; the heal is then not measured, nothing redials the peer).
// Run with -benchtime=1x: each iteration takes seconds.
func BenchmarkPartitionDetection(b *testing.B) {
	for _, watch := range []bool{true, false} {
		name := "liveness=default"
		if !watch {
			name = "liveness=off"
		}
		b.Run(name, func(b *testing.B) {
			var detect, heal time.Duration
			for b.Loop() {
				peerHost := p2ptest.NewHost(b)
				link := p2ptest.NewLink(b, peerHost)
				h := p2ptest.NewHost(b, link.OnlyRoute(peerHost.ID()))
				if watch {
					l, err := p2p.NewLiveness(h, p2p.DefaultLiveness(), slog.New(slog.DiscardHandler))
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = l.Close() })
				}
				link.Connect(h, peerHost.ID())
				listed := func() bool { return slices.Contains(h.Network().Peers(), peerHost.ID()) }
				link.Cut()
				detect += p2ptest.Eventually(b, func() bool { return !listed() }, 5*time.Minute)
				link.Heal()
				if watch {
					heal += p2ptest.Eventually(b, listed, time.Minute)
				}
				_ = h.Close()
				_ = peerHost.Close()
			}
			b.ReportMetric(detect.Seconds()/float64(b.N), "detect-s")
			if watch {
				b.ReportMetric(heal.Seconds()/float64(b.N), "heal-s")
			}
		})
	}
}
