package p2ptest_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/goleak"

	"github.com/swarmllm/swarmllm/node/p2p"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Two hosts dialling each other at the same moment both connect, at the
// first attempt: the reason the harness needs no retry.
func TestCrossingConnects(t *testing.T) {
	for range 20 {
		a, b := p2ptest.NewHost(t), p2ptest.NewHost(t)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, dial := range [][2]host.Host{{a, b}, {b, a}} {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), p2ptest.ConnectTimeout)
				defer cancel()
				errs[i] = dial[0].Connect(ctx, peer.AddrInfo{ID: dial[1].ID(), Addrs: dial[1].Addrs()})
			})
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("crossing dials: %v; %v", errs[0], errs[1])
		}
	}
}

func TestEventuallyReturnsTheWait(t *testing.T) {
	start := time.Now()
	took := p2ptest.Eventually(t, func() bool { return time.Since(start) > 20*time.Millisecond }, 5*time.Second)
	if took < 20*time.Millisecond {
		t.Errorf("Eventually returned %s, before the condition could hold", took)
	}
}

// A node cut off by a partition leaves the peer list of a node watching
// its peers (p2p.Liveness) while its connection is still open, and comes
// back once the partition heals, both within the watch's own timeouts
// rather than libp2p's ~25 s.
func TestPartitionAndHealChangeThePeerList(t *testing.T) {
	b := p2ptest.NewHost(t)
	link := p2ptest.NewLink(t, b)
	a := p2ptest.NewHost(t, link.OnlyRoute(b.ID()))
	cfg := p2p.LivenessConfig{Interval: 100 * time.Millisecond, Timeout: 500 * time.Millisecond, Misses: 2}
	watch, err := p2p.NewLiveness(a, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watch.Close() })
	link.Connect(a, b.ID())
	listed := func() bool { return slices.Contains(a.Network().Peers(), b.ID()) }
	p2ptest.Eventually(t, listed, p2ptest.Patience)

	link.Cut()
	gone := p2ptest.Eventually(t, func() bool { return !listed() }, p2ptest.Patience)
	link.Heal()
	back := p2ptest.Eventually(t, listed, p2ptest.Patience)
	t.Logf("cut off peer left the list after %v, back %v after the heal (ping every %v, timeout %v, %d misses)",
		gone.Round(time.Millisecond), back.Round(time.Millisecond), cfg.Interval, cfg.Timeout, cfg.Misses)
	if err := watch.Close(); err != nil {
		t.Fatal(err)
	}
	if err := watch.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
