package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Option configures NewSLM or NewCloud.
type Option func(*options)

type options struct {
	seed         uint64
	latencyScale float64
	log          *slog.Logger
	apiKey       string // cloud only
	fault        Fault
	answerTokens int // pad shorter answers to this many tokens (WithAnswerTokens)
}

func defaultOptions() options {
	return options{latencyScale: 1, log: slog.New(slog.DiscardHandler)}
}

// WithSeed mixes a server-wide seed into every draw: a different seed gives a
// different, equally deterministic, run.
func WithSeed(seed uint64) Option { return func(o *options) { o.seed = seed } }

// WithLatencyScale multiplies every simulated latency; 0 answers at once
// (fast tests), 1 is the profile's own latency.
func WithLatencyScale(f float64) Option { return func(o *options) { o.latencyScale = f } }

// WithLogger sets the logger (default: discard). Prompts and answers are
// logged at Debug only.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithAPIKey makes the cloud stand-in require "Authorization: Bearer key" on
// /v1/ (401 in OpenAI's error shape otherwise). Cloud only.
func WithAPIKey(key string) Option { return func(o *options) { o.apiKey = key } }

// WithAnswerTokens makes every answer at least n tokens long: a shorter one
// is restated (its own words repeated) until it is. The workload's answers
// are a word or two, where real models write sentences; padded, an answer
// takes as long to generate as a real one, so time to first token means
// something, while what it says, whether it is right and which answers agree
// stay the same. Each added token draws its logprob like the others, from
// the answer's hidden confidence plus fresh noise.
func WithAnswerTokens(n int) Option { return func(o *options) { o.answerTokens = n } }

func (o *options) validate() error {
	if o.answerTokens < 0 {
		return fmt.Errorf("answer tokens %d: must not be negative", o.answerTokens)
	}
	if !(o.latencyScale >= 0) || o.latencyScale > 1000 {
		return fmt.Errorf("latency scale %v: must be in [0,1000]", o.latencyScale)
	}
	if o.log == nil {
		return errors.New("logger must not be nil")
	}
	if f := o.fault.Slow; f != 0 && !(f >= 1 && f <= 1000) {
		return fmt.Errorf("fault slow=%v: must be in [1,1000]", f)
	}
	return nil
}

func (o *options) scale(d Duration) time.Duration {
	return time.Duration(float64(d) * o.latencyScale)
}

// tokenLatency is the wait per output token: scaled, and slowed by the fault.
func (o *options) tokenLatency(d Duration) time.Duration {
	return time.Duration(float64(o.scale(d)) * o.fault.tokenFactor())
}

// Server is a running simulated backend on a real TCP listener.
type Server struct {
	url     string
	addr    string
	srv     *http.Server
	cancel  context.CancelFunc
	served  chan struct{} // closed when Serve returns
	watched chan struct{} // closed when the ctx watcher returns
	once    sync.Once
	err     error
}

// Serve starts h on addr (e.g. "127.0.0.1:0" for a free port). The server
// stops when ctx is cancelled or Close is called; in-flight requests see
// their context cancelled.
func Serve(ctx context.Context, addr string, h http.Handler) (*Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for simulated backend on %s: %w", addr, err)
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Server{
		addr:    ln.Addr().String(),
		url:     "http://" + ln.Addr().String(),
		cancel:  cancel,
		served:  make(chan struct{}),
		watched: make(chan struct{}),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return base },
		},
	}
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	// stop with ctx; the goroutine ends with Close too, since Close cancels base
	go func() {
		defer close(s.watched)
		select {
		case <-ctx.Done():
			s.stop()
		case <-base.Done():
		}
	}()
	return s, nil
}

// URL is the base URL, e.g. http://127.0.0.1:11501.
func (s *Server) URL() string { return s.url }

// Addr is the listening host:port.
func (s *Server) Addr() string { return s.addr }

// Close stops the server, cancels in-flight requests and waits for them. It
// is idempotent and safe to call from several goroutines.
func (s *Server) Close() error {
	s.stop()
	<-s.watched
	return s.err
}

func (s *Server) stop() {
	s.once.Do(func() {
		s.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.srv.Close()
		}
		<-s.served
	})
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
