package p2ptest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/goleak"

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
