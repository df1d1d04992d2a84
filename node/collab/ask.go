package collab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// resultStreamError labels a served ask whose response could not be written.
const resultStreamError = "stream_error"

// handleAsk serves one /swarmllm/ask/1.0.0 stream: one request in, one
// response out. Every failure the asker can act on becomes an error
// response; only a broken stream is reset.
func (c *Collab) handleAsk(s network.Stream) {
	if !c.enter() {
		_ = s.Reset()
		return
	}
	defer c.wg.Done()
	start := time.Now()
	from := s.Conn().RemotePeer()
	resp := c.serveAsk(s, from, start)
	result := strings.ToLower(resp.GetErrorCode().String())
	_ = s.SetWriteDeadline(time.Now().Add(c.cfg.streamTimeout))
	if err := protocol.WriteAskResponse(s, resp); err != nil {
		c.log.Debug("write ask response", "peer", from, "proto", protocol.AskProtocol, "err", err)
		_ = s.Reset()
		result = resultStreamError
	} else {
		_ = s.Close()
	}
	c.m.asks.WithLabelValues(result).Inc()
	c.m.askTime.Observe(time.Since(start).Seconds())
}

// serveAsk reads and answers one request. It never returns nil.
func (c *Collab) serveAsk(s network.Stream, from peer.ID, start time.Time) *protocol.AskResponse {
	_ = s.SetReadDeadline(start.Add(c.cfg.streamTimeout))
	req, err := protocol.ReadAskRequest(s)
	if err != nil {
		// Garbage, an oversize frame, an invalid request, or a stream that
		// ended or stalled before a whole request: all are the asker's to fix.
		c.log.Debug("refuse ask", "peer", from, "proto", protocol.AskProtocol, "err", err)
		return failure("", protocol.ErrorCode_BAD_REQUEST, err)
	}
	_ = s.SetReadDeadline(time.Time{})
	switch err := protocol.CheckDeadline(req.GetDeadlineUnixMs(), start); {
	case errors.Is(err, protocol.ErrExpired):
		return failure(req.GetQueryId(), protocol.ErrorCode_DEADLINE, err)
	case err != nil:
		return failure(req.GetQueryId(), protocol.ErrorCode_BAD_REQUEST, err)
	}
	if !c.askBudget.allow(from, time.Now()) {
		return c.busy(req.GetQueryId(), fmt.Errorf("rate limited: this peer has used its share (%g) of the model's time", c.cfg.askShare))
	}
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	default:
		return c.busy(req.GetQueryId(), fmt.Errorf("answering %d asks already", cap(c.slots)))
	}

	if req.GetWantAck() {
		// Started: the asker now waits for the answer until its deadline.
		_ = s.SetWriteDeadline(time.Now().Add(c.cfg.streamTimeout))
		if err := protocol.WriteAskResponse(s, &protocol.AskResponse{QueryId: req.GetQueryId(), Ack: true, Load: c.load()}); err != nil {
			c.log.Debug("write ask ack", "peer", from, "proto", protocol.AskProtocol, "err", err)
		}
	}
	ctx, cancel := context.WithDeadline(c.ctx, time.UnixMilli(req.GetDeadlineUnixMs()))
	defer cancel()
	answerStart := time.Now()
	resp := c.local.Answer(ctx, req)
	c.askBudget.charge(from, time.Now(), time.Since(answerStart))
	switch {
	case resp == nil:
		resp = failure(req.GetQueryId(), protocol.ErrorCode_INTERNAL, errors.New("local model gave no response"))
	case resp.GetErrorCode() != protocol.ErrorCode_OK && ctx.Err() != nil && c.ctx.Err() == nil:
		// The answerer gave up because the asker's deadline passed.
		resp = failure(req.GetQueryId(), protocol.ErrorCode_DEADLINE, ctx.Err())
	}
	resp.QueryId = req.GetQueryId()
	if resp.GetErrorCode() == protocol.ErrorCode_OK && resp.GetLatencyMs() == 0 {
		resp.LatencyMs = ms(time.Since(start))
	}
	if err := resp.Validate(); err != nil {
		c.log.Warn("local answer is not a valid response", "peer", from, "proto", protocol.AskProtocol, "err", err)
		return failure(req.GetQueryId(), protocol.ErrorCode_INTERNAL, fmt.Errorf("local answer: %w", err))
	}
	if resp.GetErrorCode() == protocol.ErrorCode_OK && req.GetRoundId() != "" {
		// Remembered before the response leaves, so the open (which the
		// asker publishes only after reading it) always finds it.
		c.answers.put(from, req.GetRoundId(), protocol.QueryDigest(req.GetMessages()), router.Proposal{
			Peer: c.self.String(), Model: resp.GetModel(), Answer: resp.GetAnswer(),
			Confidence: resp.GetConfidence(), LatencyMS: resp.GetLatencyMs(),
		}, time.Now())
	}
	c.log.Debug("answered ask", "peer", from, "proto", protocol.AskProtocol, "query", req.GetQueryId(),
		"code", resp.GetErrorCode().String(), "answer", resp.GetAnswer())
	return resp
}

// busy is a BUSY refusal carrying this node's load.
func (c *Collab) busy(queryID string, err error) *protocol.AskResponse {
	resp := failure(queryID, protocol.ErrorCode_BUSY, err)
	resp.Load = c.load()
	return resp
}

// failure builds an error response; the message is cut to its cap.
func failure(queryID string, code protocol.ErrorCode, err error) *protocol.AskResponse {
	return &protocol.AskResponse{QueryId: queryID, ErrorCode: code, ErrorMessage: truncate(err.Error(), protocol.MaxErrorMessageBytes)}
}

// truncate cuts s to at most n bytes on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Ask sends req to p and waits for its answer until ctx ends or the request's
// deadline passes, whichever comes first. The peer must acknowledge the ask
// (or answer it) within the ack timeout, or Ask gives up on it with ErrNoAck;
// a peer of an older build that never acks counts as live if it answers in
// that time. A peer that answers with an error code yields its response and
// an error wrapping ErrRefused; a response for another query is
// ErrQueryMismatch.
func (c *Collab) Ask(ctx context.Context, p peer.ID, req *protocol.AskRequest) (*protocol.AskResponse, error) {
	if !c.enter() {
		return nil, fmt.Errorf("ask %s: %w", p, ErrClosed)
	}
	defer c.wg.Done()
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("ask %s: %w", p, err)
	}
	now := time.Now()
	probe := c.cfg.breakers.State(p.String(), now) == router.BreakerProbe
	if !c.cfg.breakers.Allow(p.String(), now) {
		return nil, fmt.Errorf("ask %s: %w", p, ErrPeerExcluded)
	}
	resp, alive, err := c.ask(ctx, p, req)
	switch {
	case alive:
		c.cfg.breakers.Success(p.String())
	case ctx.Err() == nil && c.ctx.Err() == nil, probe:
		// Silent, dead or hung; or the probe of such a peer, which must not
		// stay out forever because its caller gave up on it.
		c.cfg.breakers.Failure(p.String(), time.Now())
	}
	return resp, err
}

// ask is Ask's exchange; alive says the peer acked, answered or refused.
func (c *Collab) ask(ctx context.Context, p peer.ID, req *protocol.AskRequest) (_ *protocol.AskResponse, alive bool, _ error) {
	if !req.GetWantAck() {
		req = proto.CloneOf(req) // the caller's request may be shared by parallel asks
		req.WantAck = true
	}
	ctx, cancel := context.WithDeadline(ctx, time.UnixMilli(req.GetDeadlineUnixMs()))
	defer cancel()
	defer context.AfterFunc(c.ctx, cancel)()
	deadline, _ := ctx.Deadline()
	ackBy := time.Now().Add(c.cfg.ackTimeout)
	if deadline.Before(ackBy) {
		ackBy = deadline
	}
	ackCtx, ackCancel := context.WithDeadline(ctx, ackBy)
	defer ackCancel()

	s, err := c.h.NewStream(ackCtx, p, protocol.AskProtocol)
	if err != nil {
		return nil, false, fmt.Errorf("ask %s: open stream: %w", p, c.ackCause(ctx, ackCtx, err))
	}
	_ = s.SetDeadline(ackBy)
	// The deadlines cover the peer's silence; this covers Close and a
	// caller that gives up early.
	defer context.AfterFunc(ctx, func() { _ = s.Reset() })()

	if err := protocol.WriteAskRequest(s, req); err != nil {
		_ = s.Reset()
		return nil, false, fmt.Errorf("ask %s: %w", p, c.ackCause(ctx, ackCtx, err))
	}
	_ = s.CloseWrite()
	resp, err := protocol.ReadAskResponse(s)
	if err == nil {
		c.loads.note(p, resp.GetLoad(), time.Now())
	}
	if err == nil && resp.GetAck() {
		// Started, so alive: the answer has until the ask's deadline.
		alive = true
		_ = s.SetReadDeadline(deadline)
		resp, err = protocol.ReadAskResponse(s)
		if err == nil && resp.GetAck() {
			err = fmt.Errorf("a second ack: %w", protocol.ErrMalformed)
		}
		if err != nil {
			_ = s.Reset()
			return nil, alive, fmt.Errorf("ask %s: %w", p, c.cause(ctx, err))
		}
	} else if err != nil {
		_ = s.Reset()
		return nil, false, fmt.Errorf("ask %s: %w", p, c.ackCause(ctx, ackCtx, err))
	}
	_ = s.Close()
	if resp.GetQueryId() != req.GetQueryId() && !(resp.GetErrorCode() != protocol.ErrorCode_OK && resp.GetQueryId() == "") {
		return nil, true, fmt.Errorf("ask %s: response names query %q, asked %q: %w", p, resp.GetQueryId(), req.GetQueryId(), ErrQueryMismatch)
	}
	if code := resp.GetErrorCode(); code != protocol.ErrorCode_OK {
		return resp, true, fmt.Errorf("ask %s: %s: %s: %w", p, code, resp.GetErrorMessage(), ErrRefused)
	}
	return resp, true, nil
}

// Excluded says whether p's breaker keeps it out of asks now, after asks it
// left unanswered; discovery leaves such peers out of its rankings.
func (c *Collab) Excluded(p peer.ID) bool {
	return c.cfg.breakers.State(p.String(), time.Now()) == router.BreakerExcluded
}

// ackCause is cause for the part of an ask before the peer acked: silence
// until the ack deadline (and not the ask's own) is ErrNoAck.
func (c *Collab) ackCause(ctx, ackCtx context.Context, err error) error {
	if ctx.Err() == nil && c.ctx.Err() == nil {
		if d, _ := ackCtx.Deadline(); ackCtx.Err() != nil || !time.Now().Before(d) {
			return fmt.Errorf("%w within %v (%v)", ErrNoAck, c.cfg.ackTimeout, err)
		}
	}
	return c.cause(ctx, err)
}

// cause names why a stream failed when it was our own doing (Close, the
// deadline, the caller) rather than the peer's.
func (c *Collab) cause(ctx context.Context, err error) error {
	switch {
	case c.ctx.Err() != nil:
		return fmt.Errorf("%w (%v)", ErrClosed, err)
	case ctx.Err() != nil:
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	// The stream's deadline is ctx's and may fire a moment before ctx's timer.
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}

// AskAll asks every peer in parallel, all under the request's deadline, and
// returns one proposal per peer in the same order once enough are in
// (router.EnoughProposals: all of them, or a majority of the peers asked
// agreeing), or the deadline (or ctx) has passed, so a round takes as long as
// its slowest needed peer rather than the sum, and a straggler does not hold
// it. A peer that refuses as BUSY is replaced within the round by the spare
// router.NextPeer picks (spares ranked best first; none asked twice, none
// known full), and the spare's answer takes its place (its Peer names the
// spare). A peer that fails, refuses, dies mid-way or is cut off as a
// straggler yields a proposal with Err set; the others are unaffected.
// LatencyMS is the wall time this node waited for the peer.
func (c *Collab) AskAll(ctx context.Context, peers []peer.ID, req *protocol.AskRequest, spares ...peer.ID) []router.Proposal {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]router.Proposal, len(peers))
	type result struct {
		i int
		p router.Proposal
	}
	var mu sync.Mutex // guards asked
	asked := make(map[string]bool, len(peers)+len(spares))
	for _, p := range peers {
		asked[p.String()] = true
	}
	spareIDs := make([]string, len(spares))
	byID := make(map[string]peer.ID, len(spares))
	for i, p := range spares {
		spareIDs[i], byID[p.String()] = p.String(), p
	}
	// next takes the spare to ask in place of a busy peer, if any is left.
	next := func() (peer.ID, bool) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		pick := router.NextPeer(spareIDs,
			func(p string) bool { return asked[p] || c.cfg.breakers.State(p, now) == router.BreakerExcluded },
			func(p string) (router.Load, bool) { return c.loads.get(byID[p], now) })
		if pick == "" {
			return "", false
		}
		asked[pick] = true
		return byID[pick], true
	}
	results := make(chan result, len(peers))
	for i, p := range peers {
		go func() {
			start := time.Now()
			resp, err := c.Ask(ctx, p, req)
			for errors.Is(err, ErrRefused) && resp.GetErrorCode() == protocol.ErrorCode_BUSY && ctx.Err() == nil {
				spare, ok := next()
				if !ok {
					break
				}
				c.m.busyRetries.Inc()
				c.log.Debug("peer busy; asking a spare", "peer", p, "spare", spare, "round", req.GetRoundId())
				p = spare
				resp, err = c.Ask(ctx, p, req)
			}
			prop := router.Proposal{Peer: p.String(), LatencyMS: ms(time.Since(start))}
			if err != nil {
				prop.Err = err.Error()
			} else {
				prop.Model, prop.Answer, prop.Confidence = resp.GetModel(), resp.GetAnswer(), resp.GetConfidence()
				prop.PromptTokens, prop.CompletionTokens = int(resp.GetPromptTokens()), int(resp.GetCompletionTokens())
			}
			results <- result{i, prop}
		}()
	}
	// Each Ask ends by the shared deadline, or at once when cancel resets its
	// stream, so these waits are bounded and leave no goroutine behind.
	in := make([]router.Proposal, 0, len(peers))
	for range peers {
		r := <-results
		out[r.i] = r.p
		in = append(in, r.p)
		if len(in) < len(peers) && router.EnoughProposals(in, len(peers), c.cfg.thresholds.Agreement, c.cfg.agree) {
			cancel() // the stragglers' answers could not change the majority
		}
	}
	return out
}
