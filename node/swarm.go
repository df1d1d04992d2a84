package node

import (
	"context"
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/collab"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// refineInstruction asks a better-matched peer to improve the local draft
// (sequential collaboration).
const refineInstruction = "Above is a draft answer from a smaller model. Check it and reply with the corrected, final answer only."

// viaSwarm collaborates with the candidates as d says: a chain (a peer
// refines the local draft) or a vote round, then decides from the outcome.
func (n *Node) viaSwarm(ctx context.Context, q *query, d router.Decision, feat router.Features, cands []candidate) (*nodeapi.Response, error) {
	q.note(d)
	if d.Collab == router.CollabChain {
		refined, tokens := n.viaChain(ctx, q, cands)
		feat.Refined = refined
		d = router.DecideAfterChain(feat, q.rules)
		q.note(d)
		if d.Collab == router.CollabChain {
			return n.respond(q, router.RouteSwarm, refined.Answer, refined.Model, 0, tokens), nil
		}
	}

	req := n.askRequest(q, protocol.Purpose_ANSWER, n.forPeers(ctx, q, q.msgs)) // privacy.go
	req.RoundId = protocol.NewID()
	t := time.Now()
	proposals := n.collab.AskAll(ctx, ids(cands), req)
	q.trace.Timings.PeersMS = ms(time.Since(t))
	q.trace.Peers = proposals

	own := router.Proposal{Peer: n.host.ID().String(), Model: n.cfg.Model, Confidence: q.local.unc.Confidence, LatencyMS: ms(q.local.dur)}
	if q.local.err != nil {
		own.Err = q.local.err.Error()
	} else {
		own.Model, own.Answer = q.local.res.Model, n.forPeersAnswer(ctx, q, q.local.res.Text) // privacy.go: the open carries it
	}
	for _, p := range proposals {
		if p.Err == "" {
			feat.Answered++
		}
	}
	d = router.DecideRound(feat, q.rules)
	q.note(d)
	if d.Collab == router.CollabVote {
		t = time.Now()
		res, err := n.collab.RunRound(ctx, collab.RoundSpec{
			Request:   req,
			Local:     own,
			Proposals: proposals,
			Deadline:  time.Now().Add(n.cfg.VoteTimeout),
		})
		q.trace.Timings.VoteMS = ms(time.Since(t))
		switch {
		case err == nil:
			q.trace.Peers, q.trace.Ballots, q.trace.Tally = res.Proposals, res.Ballots, &res.Tally
			feat.Tally = &res.Tally
		case errors.Is(err, collab.ErrNoProposals):
			// No usable answer anywhere: the decision treats it as a missed quorum.
		default:
			n.log.Warn("vote round failed", "err", err)
		}
	}

	d = router.DecideAfterVote(feat, q.rules)
	var best *router.Proposal
	if feat.Tally != nil && feat.Tally.Winner >= 0 && feat.Tally.Winner < len(q.trace.Peers) {
		best = &q.trace.Peers[feat.Tally.Winner]
	}
	switch d.Route {
	case router.RouteCloud:
		if resp, ok := n.viaCloud(ctx, q, d, best); ok {
			n.learn(q, resp.Text)
			return resp, nil
		}
		return n.fallback(q, best)
	case router.RouteSwarm:
		if best == nil { // the decision only answers from the swarm with a winner
			return n.fallback(q, nil)
		}
		q.note(d)
		n.learn(q, best.Answer)
		return n.respond(q, router.RouteSwarm, best.Answer, best.Model, 0, 0), nil
	}
	return n.finishLocal(q, d)
}

// learn updates the voters' track records against the final answer.
func (n *Node) learn(q *query, final string) {
	if q.trace.Tally != nil {
		n.reputation.Learn(q.trace.Peers, q.trace.Ballots, *q.trace.Tally, final, q.rules.Thresholds.Agreement)
	}
}

// viaChain asks the best-matched peer to refine the local draft and records
// the chain in the trace. It returns the refiner's answer (Err set when the
// ask failed; nil without a candidate or a draft) and the tokens it generated.
func (n *Node) viaChain(ctx context.Context, q *query, cands []candidate) (*router.Proposal, int) {
	if len(cands) == 0 || q.local.err != nil {
		return nil, 0
	}
	refiner := cands[0]
	msgs := append(append([]slm.Message(nil), q.msgs...),
		slm.Message{Role: nodeapi.RoleAssistant, Content: q.local.res.Text},
		slm.Message{Role: nodeapi.RoleUser, Content: refineInstruction})
	req := n.askRequest(q, protocol.Purpose_REFINE, n.forPeers(ctx, q, msgs)) // privacy.go
	t := time.Now()
	resp, err := n.collab.Ask(ctx, refiner.id, req)
	q.trace.Timings.PeersMS = ms(time.Since(t))
	q.trace.Chain = []router.ChainStep{
		{Peer: n.host.ID().String(), Model: q.local.res.Model, Role: "draft", LatencyMS: ms(q.local.dur)},
		{Peer: refiner.id.String(), Model: refiner.model, Role: "refine", LatencyMS: ms(time.Since(t))},
	}
	out := &router.Proposal{Peer: refiner.id.String(), Model: refiner.model, LatencyMS: q.trace.Chain[1].LatencyMS}
	switch {
	case err != nil:
		out.Err = err.Error()
	case resp.GetErrorCode() != protocol.ErrorCode_OK:
		out.Err = resp.GetErrorCode().String()
	}
	if out.Err != "" || resp.GetAnswer() == "" {
		n.log.Info("refine failed", "peer", refiner.id, "err", err, "code", resp.GetErrorCode().String())
		return out, 0
	}
	q.trace.Chain[1].Model = resp.GetModel()
	out.Model, out.Answer, out.Confidence = resp.GetModel(), resp.GetAnswer(), resp.GetConfidence()
	return out, int(resp.GetCompletionTokens())
}

// askRequest builds the p2p ask for q's messages.
func (n *Node) askRequest(q *query, purpose protocol.Purpose, msgs []slm.Message) *protocol.AskRequest {
	req := &protocol.AskRequest{
		QueryId:        q.trace.QueryID,
		MaxTokens:      uint32(max(q.req.Options.MaxTokens, 0)),
		Temperature:    q.req.Options.Temperature,
		Seed:           q.req.Options.Seed,
		DeadlineUnixMs: time.Now().Add(n.cfg.AskTimeout).UnixMilli(),
		WantLogprobs:   true,
		Purpose:        purpose,
		OriginModel:    n.cfg.Model,
	}
	for _, m := range msgs {
		req.Messages = append(req.Messages, &protocol.ChatMessage{Role: m.Role, Content: m.Content})
	}
	return req
}

func ids(cands []candidate) []peer.ID {
	out := make([]peer.ID, len(cands))
	for i, c := range cands {
		out[i] = c.id
	}
	return out
}

// Answer serves a peer's ask with the local model (collab.Answerer).
func (n *Node) Answer(ctx context.Context, req *protocol.AskRequest) *protocol.AskResponse {
	creq := slm.ChatRequest{MaxTokens: int(req.GetMaxTokens()), Temperature: req.Temperature}
	if req.Seed != nil {
		s := int(*req.Seed)
		creq.Seed = &s
	}
	for _, m := range req.GetMessages() {
		creq.Messages = append(creq.Messages, slm.Message{Role: m.GetRole(), Content: m.GetContent()})
	}
	la := n.answerLocally(ctx, creq)
	resp := &protocol.AskResponse{QueryId: req.GetQueryId(), LatencyMs: ms(la.dur)}
	if la.err != nil {
		resp.ErrorCode, resp.ErrorMessage = protocol.ErrorCode_INTERNAL, truncate(la.err.Error(), protocol.MaxErrorMessageBytes)
		switch {
		case errors.Is(la.err, nodeapi.ErrUnavailable):
			resp.ErrorCode = protocol.ErrorCode_BACKEND_DOWN
		case errors.Is(la.err, context.DeadlineExceeded):
			resp.ErrorCode = protocol.ErrorCode_DEADLINE
		}
		return resp
	}
	resp.Answer = truncate(la.res.Text, protocol.MaxAnswerBytes)
	resp.Model = la.res.Model
	resp.Confidence = la.unc.Confidence
	resp.PromptTokens, resp.CompletionTokens = uint32(max(la.res.PromptTokens, 0)), uint32(max(la.res.CompletionTokens, 0))
	if la.unc.Tokens > 0 {
		resp.Uncertainty = &protocol.Uncertainty{Tokens: uint32(la.unc.Tokens), MeanLogprob: la.unc.MeanLogprob,
			MinLogprob: la.unc.MinLogprob, MeanEntropy: la.unc.MeanEntropy}
	}
	return resp
}

var _ collab.Answerer = (*Node)(nil)

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
