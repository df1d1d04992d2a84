package slm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
)

// probeResult is what the fake backend answers one probe.
type probeResult int

const (
	answers probeResult = iota
	timesOut
	refuses
)

// fakeBackend answers each probe as told.
type fakeBackend struct{ next probeResult }

func (f *fakeBackend) Version(ctx context.Context) (string, error) {
	switch f.next {
	case timesOut:
		return "", fmt.Errorf("ollama version: %w", context.DeadlineExceeded)
	case refuses:
		return "", fmt.Errorf("ollama version: %w: connection refused", ErrUnreachable)
	}
	return "0.0.0-fake", nil
}

func (f *fakeBackend) Show(context.Context) (*ModelFacts, error) {
	return &ModelFacts{Name: "m", Family: "fake"}, nil
}

func (f *fakeBackend) Model() string   { return "m" }
func (f *fakeBackend) BaseURL() string { return "http://fake" }

// A health check that times out on a healthy backend leaves it healthy; the
// second in a row, or a refused one, makes it unreachable. Each state change
// republishes the node's record to the whole swarm, so one slow moment must
// not flip it.
func TestMonitorTimeoutNeedsTwoInARow(t *testing.T) {
	tests := []struct {
		name    string
		probes  []probeResult
		want    BackendState
		changes int // onChange calls after the first healthy probe
	}{
		{name: "one timeout: still healthy", probes: []probeResult{timesOut}, want: StateHealthy},
		{name: "a timeout between answers: still healthy", probes: []probeResult{timesOut, answers, timesOut, answers}, want: StateHealthy},
		{name: "two timeouts in a row: unreachable", probes: []probeResult{timesOut, timesOut}, want: StateUnreachable, changes: 1},
		{name: "refused: unreachable at once", probes: []probeResult{refuses}, want: StateUnreachable, changes: 1},
		{name: "unreachable, then a timeout: still unreachable", probes: []probeResult{refuses, timesOut}, want: StateUnreachable, changes: 1},
		{name: "back after two timeouts", probes: []probeResult{timesOut, timesOut, answers}, want: StateHealthy, changes: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBackend{}
			changes := 0
			m, err := NewMonitor(b, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
				WithOnChange(func(Status) { changes++ }))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			m.probe() // probed on the test's goroutine: the loop never starts
			if !m.Status().Healthy() {
				t.Fatalf("first probe: %+v, want healthy", m.Status())
			}
			changes = 0
			for _, p := range tc.probes {
				b.next = p
				m.probe()
			}
			st := m.Status()
			if st.State != tc.want || changes != tc.changes {
				t.Errorf("state %v after %d changes, want %v after %d", st.State, changes, tc.want, tc.changes)
			}
			if st.State == StateUnreachable && (st.Err == "" || st.Hint == "") {
				t.Errorf("unreachable without an error and a hint: %+v", st)
			}
		})
	}
}
