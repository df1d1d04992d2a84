package collab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

func TestAskBudget(t *testing.T) {
	a, b := peer.ID("peer-a"), peer.ID("peer-b")
	t0 := time.Unix(1_000_000, 0)
	// Half the model's time, after a burst of 1 s. Each step: at t0+at,
	// charge the previous answer (if any), then ask.
	steps := []struct {
		name   string
		p      peer.ID
		at     time.Duration
		charge time.Duration // charged to p at t0+at before the ask
		want   bool
	}{
		{"fresh peer", a, 0, 0, true},
		{"600 ms answer leaves 400 ms", a, 600 * time.Millisecond, 600 * time.Millisecond, true},
		{"300 ms refilled, a 900 ms answer: in debt", a, 1200 * time.Millisecond, 900 * time.Millisecond, false},
		{"another peer has its own budget", b, 1200 * time.Millisecond, 0, true},
		{"debt repaid at half speed", a, 1800 * time.Millisecond, 0, true},
		{"an answer longer than the burst costs the burst", a, 1800 * time.Millisecond, time.Hour, false},
		{"still in debt 1 s later", a, 2800 * time.Millisecond, 0, false},
		{"repaid 1.8 s after", a, 3601 * time.Millisecond, 0, true},
		{"instant answers cost nothing", a, 3601 * time.Millisecond, 0, true},
	}
	bud := newAskBudget(0.5, time.Second)
	for _, st := range steps {
		now := t0.Add(st.at)
		bud.charge(st.p, now, st.charge)
		if got := bud.allow(st.p, now); got != st.want {
			t.Fatalf("%s: allowed = %v, want %v", st.name, got, st.want)
		}
	}
}

// Many one-off askers never grow the budget past its sweep size.
func TestAskBudgetForgetsIdlePeers(t *testing.T) {
	bud := newAskBudget(0.5, time.Second)
	t0 := time.Unix(1_000_000, 0)
	for i := range 10 * askBudgetSweep {
		// Each peer takes 1 s of model time, 3 s after the previous one:
		// by the time the map is full, the early ones have refilled.
		now := t0.Add(time.Duration(i) * 3 * time.Second)
		p := peer.ID(fmt.Sprintf("peer-%d", i))
		bud.allow(p, now)
		bud.charge(p, now, time.Second)
	}
	bud.mu.Lock()
	n := len(bud.peers)
	bud.mu.Unlock()
	if n > askBudgetSweep {
		t.Fatalf("tracking %d peers, want ≤ %d", n, askBudgetSweep)
	}
}

// A peer flooding asks gets its budget answered and then BUSY at once; other
// peers are served as before.
func TestAskBudgetLimitsAFlood(t *testing.T) {
	const (
		answer = 50 * time.Millisecond
		burst  = 120 * time.Millisecond // at most 3 answers of ≥ 50 ms
		asks   = 10
	)
	// So small a share that the refill during the test is negligible.
	srv := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.9, delay: answer},
		opts: []Option{WithAskBudget(0.001, burst)}})
	flooder, honest := newNode(t, nodeOpts{}), newNode(t, nodeOpts{})
	p2ptest.Connect(t, flooder.h, srv.h)
	p2ptest.Connect(t, honest.h, srv.h)

	served, refused := 0, 0
	for i := range asks {
		resp, err := flooder.c.Ask(context.Background(), srv.id(), newRequest("", time.Now().Add(5*time.Second)))
		switch {
		case err == nil && refused == 0:
			served++
		case errors.Is(err, ErrRefused) && resp.GetErrorCode() == protocol.ErrorCode_BUSY &&
			strings.Contains(resp.GetErrorMessage(), "rate limited"):
			refused++
		default:
			t.Fatalf("ask %d (after %d served, %d refused): %v (%v)", i+1, served, refused, err, resp)
		}
	}
	if served < 1 || served > int(burst/answer)+1 || refused != asks-served {
		t.Fatalf("served %d and refused %d of %d asks, want at most %d served, then only refusals",
			served, refused, asks, int(burst/answer)+1)
	}
	if got := int(srv.ans.calls.Load()); got != served {
		t.Errorf("the model answered %d asks, want %d", got, served)
	}
	if _, err := honest.c.Ask(context.Background(), srv.id(), newRequest("", time.Now().Add(5*time.Second))); err != nil {
		t.Fatalf("another peer's ask after the flood: %v", err)
	}
	if got := counter(t, srv, "asks", "busy"); got != float64(refused) {
		t.Errorf("asks_total{result=busy} = %v, want %d", got, refused)
	}
}

func TestAskBudgetOptionValidated(t *testing.T) {
	tests := []struct {
		name  string
		share float64
		burst time.Duration
	}{
		{"zero share", 0, time.Second},
		{"negative share", -1, time.Second},
		{"sub-millisecond burst", 0.5, time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			WithAskBudget(tt.share, tt.burst)(&cfg)
			if err := cfg.validate(); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("validate: %v, want ErrInvalidConfig", err)
			}
		})
	}
}
