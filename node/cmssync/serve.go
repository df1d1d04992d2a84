package cmssync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/protocol"
)

// handle serves one pull: one request in, the records the asker lacks out,
// then the stream closes. Whatever fails, the stream is reset.
func (s *Service) handle(str network.Stream, src Source) {
	from := str.Conn().RemotePeer()
	if err := s.admit(from); err != nil {
		_ = str.Reset()
		s.m.served.WithLabelValues(resultRefused).Inc()
		s.log.Debug("refuse capability record pull", "peer", from, "err", err)
		return
	}
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.serveTimeout)
	defer cancel()
	// Close or the timeout resets the stream; the deadline bounds each read
	// and write even if the reset is lost.
	stop := context.AfterFunc(ctx, func() { _ = str.Reset() })
	defer stop()
	_ = str.SetDeadline(time.Now().Add(s.cfg.serveTimeout))

	sent, err := s.serve(str, src)
	s.m.sent.Add(float64(sent))
	result := resultOK
	switch {
	case errors.Is(err, protocol.ErrMalformed), errors.Is(err, protocol.ErrTooLarge):
		result = resultBadRequest
	case err != nil:
		result = resultError
	}
	s.m.served.WithLabelValues(result).Inc()
	// The slot is free before the asker sees the end: it may pull again at once.
	s.free(from)
	if err != nil {
		_ = str.Reset()
		s.log.Debug("serve capability record pull", "peer", from, "err", err)
		return
	}
	_ = str.Close()
}

// serve reads the request and writes the records; it returns how many it sent.
func (s *Service) serve(str network.Stream, src Source) (int, error) {
	req, err := protocol.ReadCMSSyncRequest(str)
	if err != nil {
		return 0, err
	}
	held := make([]cms.Held, 0, len(req.GetHeld()))
	for _, h := range req.GetHeld() {
		id, err := peer.IDFromBytes(h.GetPeer()) // validated by the read
		if err != nil {
			return 0, fmt.Errorf("held peer: %w: %w", protocol.ErrMalformed, err)
		}
		held = append(held, cms.Held{Peer: id, Seq: h.GetSeq()})
	}
	most := int(req.GetMaxRecords())
	envs := src.Missing(held, most)
	for i, env := range envs[:min(len(envs), most)] {
		if err := protocol.WriteCMSSyncRecord(str, env); err != nil {
			return i, err
		}
	}
	return min(len(envs), most), nil
}
