package p2p_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/swarmllm/swarmllm/node/p2p"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// A peer whose pings fail but whose gossip keeps arriving is not cut off:
// its messages prove it alive. Once it falls silent it is cut off as any
// peer that misses its pings.
func TestGossipKeepsAPeerWhosePingsFail(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := p2ptest.NewHost(t), p2ptest.NewHost(t)
	b.RemoveStreamHandler(ping.ID) // every ping to b fails

	heard := p2p.NewHeard()
	const topic = "heard-test"
	psA := p2ptest.GossipSub(ctx, t, a, pubsub.WithRawTracer(heard.Tracer()))
	listen, err := psA.Join(topic)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := listen.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel()
	psB := p2ptest.GossipSub(ctx, t, b)
	talk, err := psB.Join(topic)
	if err != nil {
		t.Fatal(err)
	}

	cfg := p2p.LivenessConfig{Interval: 100 * time.Millisecond, Timeout: time.Second, Misses: 2, Heard: heard}
	watch, err := p2p.NewLiveness(a, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	p2ptest.Connect(t, a, b)
	p2ptest.WaitTopicPeers(t, psB, topic, a.ID())

	// b talks for 30 rounds' worth of pings, each of which fails.
	listed := func() bool { return slices.Contains(a.Network().Peers(), b.ID()) }
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if _, err := sub.Next(ctx); err != nil {
				return
			}
		}
	})
	pace := time.NewTicker(20 * time.Millisecond)
	defer pace.Stop()
	for i := range 150 {
		if err := talk.Publish(ctx, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if !listed() {
			t.Fatalf("b cut off after %d messages although its gossip kept arriving", i)
		}
		<-pace.C
	}
	// Silent now: cut off.
	gone := p2ptest.Eventually(t, func() bool { return !listed() }, p2ptest.Patience)
	t.Logf("silent peer cut off %v after its last message", gone.Round(time.Millisecond))
	cancel()
	sub.Cancel()
	wg.Wait()
}
