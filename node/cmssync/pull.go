package cmssync

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/protocol"
)

// ErrTooManyRecords is a pull's error when the peer sent more records than
// were asked for; the records up to the limit are returned with it.
var ErrTooManyRecords = errors.New("peer sent more records than asked for")

// Pull fetches from p the record envelopes p holds that a node holding held
// lacks, no more than most (clamped to 1..protocol.MaxSyncRecords; held beyond
// protocol.MaxSyncRecords entries is left out, so p may send some of those
// records again). It takes at most ctx's deadline and the pull timeout. With
// an error it returns the envelopes read before it. The envelopes are
// unverified.
func (s *Service) Pull(ctx context.Context, p peer.ID, held []cms.Held, most int) ([][]byte, error) {
	req := newRequest(held, most)
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("pull capability records from %s: %w", p, err)
	}
	if !s.enterPull() {
		return nil, fmt.Errorf("pull capability records from %s: %w", p, ErrClosed)
	}
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.pullTimeout)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel) // Close ends the pull
	defer stop()
	envs, err := s.pull(ctx, p, req)
	if err != nil {
		return envs, fmt.Errorf("pull capability records from %s: %w", p, err)
	}
	return envs, nil
}

// newRequest builds the request for held and most, within the protocol's caps.
func newRequest(held []cms.Held, most int) *protocol.CMSSyncRequest {
	held = held[:min(len(held), protocol.MaxSyncRecords)]
	req := &protocol.CMSSyncRequest{
		Held:       make([]*protocol.CMSHeld, len(held)),
		MaxRecords: uint32(min(max(most, 1), protocol.MaxSyncRecords)),
	}
	for i, h := range held {
		req.Held[i] = &protocol.CMSHeld{Peer: []byte(h.Peer), Seq: h.Seq}
	}
	return req
}

// pull runs one pull on a new stream to p.
func (s *Service) pull(ctx context.Context, p peer.ID, req *protocol.CMSSyncRequest) ([][]byte, error) {
	str, err := s.h.NewStream(ctx, p, protocol.CMSSyncProtocol)
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", err)
	}
	// A stream does not watch ctx: resetting it when ctx ends unblocks any
	// read or write, and the deadline bounds it even if the reset is lost.
	stop := context.AfterFunc(ctx, func() { _ = str.Reset() })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		_ = str.SetDeadline(d)
	}
	envs, err := readRecords(str, req)
	if err != nil {
		_ = str.Reset()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return envs, err
	}
	_ = str.Close()
	return envs, nil
}

// readRecords writes req on str and reads the answer: record frames until
// the peer closes, at most req's max_records.
func readRecords(str network.Stream, req *protocol.CMSSyncRequest) ([][]byte, error) {
	if err := protocol.WriteCMSSyncRequest(str, req); err != nil {
		return nil, err
	}
	if err := str.CloseWrite(); err != nil {
		return nil, fmt.Errorf("close write: %w", err)
	}
	var envs [][]byte
	for len(envs) < int(req.GetMaxRecords()) {
		env, err := protocol.ReadCMSSyncRecord(str)
		switch {
		case errors.Is(err, io.EOF):
			return envs, nil
		case err != nil:
			return envs, err
		}
		envs = append(envs, env)
	}
	// As many as asked for: the peer must end here.
	switch _, err := io.ReadFull(str, make([]byte, 1)); {
	case err == nil:
		return envs, fmt.Errorf("after %d records: %w", len(envs), ErrTooManyRecords)
	case !errors.Is(err, io.EOF):
		return envs, fmt.Errorf("read end of records: %w", err)
	}
	return envs, nil
}
