package p2p

import (
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestPingTurn(t *testing.T) {
	t0 := time.Unix(1000, 0)
	pinged := map[peer.ID]time.Time{"a": t0.Add(3 * time.Second), "b": t0.Add(time.Second), "c": t0.Add(2 * time.Second)}
	tests := []struct {
		name      string
		connected []peer.ID
		n         int
		want      []peer.ID
	}{
		{"fewer peers than the budget: all", []peer.ID{"a", "b"}, 16, []peer.ID{"a", "b"}},
		{"as many as the budget: all", []peer.ID{"a", "b", "c"}, 3, []peer.ID{"a", "b", "c"}},
		{"over the budget: pinged longest ago first", []peer.ID{"a", "b", "c"}, 2, []peer.ID{"b", "c"}},
		{"never pinged before any pinged", []peer.ID{"a", "new", "b"}, 2, []peer.ID{"new", "b"}},
		{"never pinged in the order connected", []peer.ID{"x", "a", "y"}, 2, []peer.ID{"x", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pingTurn(slices.Clone(tt.connected), pinged, tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("pingTurn(%v, %d) = %v, want %v", tt.connected, tt.n, got, tt.want)
			}
		})
	}
}

func TestRTTEstimateTimeout(t *testing.T) {
	const base = 2 * time.Second
	ms := time.Millisecond
	tests := []struct {
		name string
		rtts []time.Duration
		want time.Duration
	}{
		{"nothing answered yet: the configured timeout", nil, base},
		{"fast answers: the configured timeout", []time.Duration{ms, 2 * ms, ms}, base},
		{"answers taking a second: longer", []time.Duration{time.Second, time.Second}, 2*time.Second + 500*ms},
		{"answers taking ten seconds: capped", []time.Duration{10 * time.Second}, maxTimeoutFactor * base},
		{"slow, then fast again: back down", append(slices.Repeat([]time.Duration{time.Second}, 3), slices.Repeat([]time.Duration{ms}, 30)...), base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e rttEstimate
			for _, r := range tt.rtts {
				e.observe(r)
			}
			if got := e.timeout(base); got != tt.want {
				t.Errorf("timeout after %v = %v, want %v", tt.rtts, got, tt.want)
			}
		})
	}
}

func TestRanLate(t *testing.T) {
	const timeout = 2 * time.Second
	tests := []struct {
		name string
		took time.Duration
		want bool
	}{
		{"every peer answered at once", 5 * time.Millisecond, false},
		{"a silent peer: the round ends at its timeout", timeout + 20*time.Millisecond, false},
		{"a busy node: a little past the timeout", timeout + 400*time.Millisecond, false},
		{"a starved node: seconds past it", 2 * timeout, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ranLate(tt.took, timeout); got != tt.want {
				t.Errorf("ranLate(%v, %v) = %v, want %v", tt.took, timeout, got, tt.want)
			}
		})
	}
}
