package cmssync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/protocol"
)

// ErrClosed is returned by Pull after Close.
var ErrClosed = errors.New("cms sync closed")

var _ cms.Puller = (*Service)(nil)

// Source is what a serve reads: the store's records an asker lacks
// (cms.Store.Missing).
type Source interface {
	Missing(held []cms.Held, max int) [][]byte
}

// Service pulls capability records from peers and serves them to peers over
// protocol.CMSSyncProtocol. Create it with New, hand it to the store
// (cms.WithPuller), then Serve the store; stop it with Close.
type Service struct {
	h   host.Host
	cfg config
	log *slog.Logger
	m   *metrics

	ctx    context.Context // cancelled by Close: resets every stream under way
	cancel context.CancelFunc

	mu      sync.Mutex // guards closed, serving and wg.Add against Close's Wait
	closed  bool
	serving map[peer.ID]struct{} // peers with a serve under way; its size is the serves under way
	wg      sync.WaitGroup       // serves and pulls under way

	closeOnce sync.Once
}

// New makes a service on h. It serves nothing until Serve.
func New(h host.Host, opts ...Option) (*Service, error) {
	if h == nil {
		return nil, errors.New("new cms sync: nil host")
	}
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("new cms sync: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{
		h:       h,
		cfg:     cfg,
		log:     cfg.log.With("proto", protocol.CMSSyncProtocol),
		m:       newMetrics(),
		ctx:     ctx,
		cancel:  cancel,
		serving: make(map[peer.ID]struct{}),
	}, nil
}

// Serve answers peers' pulls from src. Called again, it replaces src; after
// Close it does nothing.
func (s *Service) Serve(src Source) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.h.SetStreamHandler(protocol.CMSSyncProtocol, func(str network.Stream) { s.handle(str, src) })
}

// Close stops serving, ends the serves and pulls under way (their streams
// are reset) and waits for them. Idempotent.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.h.RemoveStreamHandler(protocol.CMSSyncProtocol)
		s.cancel()
		s.wg.Wait()
	})
	return nil
}

// enterPull counts a pull under way, unless the service is closed.
func (s *Service) enterPull() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// admit takes a serve slot for p and counts the serve in wg, or says why
// not.
func (s *Service) admit(p peer.ID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch _, busy := s.serving[p]; {
	case s.closed:
		return ErrClosed
	case busy:
		return errors.New("already serving this peer")
	case len(s.serving) >= s.cfg.maxServes:
		return fmt.Errorf("serving %d pulls already", len(s.serving))
	}
	s.serving[p] = struct{}{}
	s.wg.Add(1)
	return nil
}

// free gives back p's serve slot; the serve still counts in wg until it
// returns.
func (s *Service) free(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.serving, p)
}
