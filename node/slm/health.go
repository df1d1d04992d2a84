package slm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// BackendState is the health of the local model backend.
type BackendState int

const (
	StateUnknown      BackendState = iota // not checked yet
	StateHealthy                          // Ollama answers and has the model
	StateUnreachable                      // Ollama does not answer
	StateModelMissing                     // Ollama answers without the model
)

func (s BackendState) String() string {
	switch s {
	case StateHealthy:
		return "healthy"
	case StateUnreachable:
		return "ollama-unreachable"
	case StateModelMissing:
		return "model-missing"
	}
	return "unknown"
}

// Status is a snapshot of the backend's health.
type Status struct {
	State   BackendState
	Err     string      // last error, empty when healthy
	Hint    string      // what the user should do; empty only when healthy
	Facts   *ModelFacts // from /api/show, nil until first seen
	Version string      // Ollama's version
	Since   time.Time   // when State last changed
}

// Healthy reports whether the backend can answer.
func (s Status) Healthy() bool { return s.State == StateHealthy }

// Hint says exactly what to do about a backend failure.
func Hint(baseURL, model string, state BackendState) string {
	switch state {
	case StateUnreachable:
		return fmt.Sprintf("start Ollama (`ollama serve`) or point --ollama / OLLAMA_HOST at it; nothing answers at %s", baseURL)
	case StateModelMissing:
		return fmt.Sprintf("pull the model: `ollama pull %s` (or choose another with --model)", model)
	case StateUnknown:
		return fmt.Sprintf("the first check of ollama at %s has not finished; if this lasts, see that `ollama serve` runs there", baseURL)
	}
	return ""
}

// prober is what the monitor needs from a backend.
type prober interface {
	Version(ctx context.Context) (string, error)
	Show(ctx context.Context) (*ModelFacts, error)
	Model() string
	BaseURL() string
}

var _ prober = (*Ollama)(nil)

// Monitor checks the backend on a period, so a node that started before
// Ollama (or before the model was pulled) recovers by itself.
type Monitor struct {
	backend  prober
	interval time.Duration
	timeout  time.Duration
	onChange func(Status)
	log      *slog.Logger

	mu     sync.Mutex // owns status
	status Status
	// slow says the last probe of a healthy backend timed out (owned by
	// the loop; see probe).
	slow bool

	kick      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	startOnce sync.Once
	closeOnce sync.Once
}

// MonitorOption configures a Monitor.
type MonitorOption func(*Monitor)

// WithInterval sets how often the backend is probed.
func WithInterval(d time.Duration) MonitorOption { return func(m *Monitor) { m.interval = d } }

// WithOnChange is called (from the monitor's goroutine) whenever the state or facts change.
func WithOnChange(f func(Status)) MonitorOption { return func(m *Monitor) { m.onChange = f } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) MonitorOption { return func(m *Monitor) { m.log = l } }

// NewMonitor builds a monitor of b in the unknown state; Start begins the
// probing. The two steps let its owner build whatever the change callback
// reaches (the node's capability store) in between, so no change is lost.
func NewMonitor(b prober, opts ...MonitorOption) (*Monitor, error) {
	m := &Monitor{
		backend:  b,
		interval: 5 * time.Second,
		timeout:  5 * time.Second,
		log:      slog.Default(),
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, opt := range opts {
		opt(m)
	}
	if m.interval <= 0 {
		return nil, fmt.Errorf("new monitor: interval %v must be positive", m.interval)
	}
	// Until the first probe lands the state is unknown; it is unhealthy like
	// the others, so it says what to do like the others.
	m.status = Status{State: StateUnknown, Hint: Hint(b.BaseURL(), b.Model(), StateUnknown), Since: time.Now()}
	return m, nil
}

// Start probes the backend at once and then every interval until Close.
// Calls after the first, or after Close, do nothing.
func (m *Monitor) Start() { m.startOnce.Do(func() { go m.loop() }) }

// Status returns the latest snapshot.
func (m *Monitor) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// Check probes now, without waiting for the period (e.g. after a failed call).
func (m *Monitor) Check() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Close stops the probing goroutine and waits for it. Safe to call twice,
// and before Start (which then never starts it).
func (m *Monitor) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		m.startOnce.Do(func() { close(m.done) }) // never started: nothing to wait for
	})
	<-m.done
	return nil
}

func (m *Monitor) loop() {
	defer close(m.done)
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		m.probe()
		select {
		case <-m.stop:
			return
		case <-t.C:
		case <-m.kick:
		}
	}
}

func (m *Monitor) probe() {
	ctx, cancel := context.WithTimeout(context.Background(), m.timeout)
	defer cancel()
	go func() { // a Close must not wait for a slow probe's timeout
		select {
		case <-m.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	next := Status{State: StateHealthy}
	v, err := m.backend.Version(ctx)
	if err == nil {
		next.Version = v
		next.Facts, err = m.backend.Show(ctx)
	}
	select {
	case <-m.stop: // a probe cut short by Close says nothing about the backend
		return
	default:
	}
	// One timed-out probe of a healthy backend is not enough to call it
	// unreachable: a timeout says it (or this device) is slow for now, and
	// each flip of the state is a new capability record every node of the
	// swarm checks (a 50-node start in one process flipped 60-180 times).
	// The second in a row is; a refused connection or a missing model counts
	// at once.
	timedOut := errors.Is(err, context.DeadlineExceeded) && m.Status().Healthy()
	if timedOut && !m.slow {
		m.slow = true
		m.log.Info("model backend slow to answer a health check; unreachable if the next one times out too", "model", m.backend.Model(), "err", err)
		return
	}
	m.slow = false
	if err != nil {
		next.State = StateUnreachable
		if errors.Is(err, ErrModelMissing) {
			next.State = StateModelMissing
		}
		next.Err = err.Error()
		next.Hint = Hint(m.backend.BaseURL(), m.backend.Model(), next.State)
	}

	m.mu.Lock()
	prev := m.status
	if next.Facts == nil {
		next.Facts = prev.Facts // keep what we last knew of the model
	}
	next.Since = prev.Since
	changed := prev.State != next.State || !sameFacts(prev.Facts, next.Facts)
	if prev.State != next.State {
		next.Since = time.Now()
	}
	m.status = next
	m.mu.Unlock()

	if !changed {
		return
	}
	if next.Healthy() {
		m.log.Info("model backend healthy", "model", m.backend.Model(), "ollama", m.backend.BaseURL(), "version", next.Version)
	} else {
		m.log.Warn("model backend unhealthy", "model", m.backend.Model(), "state", next.State.String(), "err", next.Err, "hint", next.Hint)
	}
	if m.onChange != nil {
		m.onChange(next)
	}
}

func sameFacts(a, b *ModelFacts) bool {
	if a == nil || b == nil {
		return a == b
	}
	return fmt.Sprint(*a) == fmt.Sprint(*b)
}
