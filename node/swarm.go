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
// refines the local draft) or a vote round, then follows the decision on
// the outcome.
func (p *pipeline) viaSwarm(ctx context.Context, q *query, d router.Decision, feat router.Features, cands []candidate) (*nodeapi.Response, error) {
	q.note(d)
	if d.Collab == router.CollabChain {
		refined := p.viaChain(ctx, q, cands)
		feat.Refined = refined
		if q.local.err == nil && q.local.res != nil {
			feat.Draft = q.local.res.Text
		}
		d = router.DecideAfterChain(feat, q.rules)
		q.note(d)
		if d.Collab == router.CollabChain {
			p.learn(q, []router.Proposal{*refined}, "")
			return p.respond(q, router.RouteSwarm, refined.Answer, refined.Model, refined.PromptTokens, refined.CompletionTokens), nil
		}
	}

	req := p.roundRequest(ctx, q)
	t := time.Now()
	proposals := p.swarm.AskAll(ctx, ids(cands), req, ids(q.spares)...)
	return p.vote(ctx, q, feat, req, proposals, time.Since(t))
}

// roundRequest is the ask every peer of q's vote round gets.
func (p *pipeline) roundRequest(ctx context.Context, q *query) *protocol.AskRequest {
	req := p.askRequest(q, protocol.Purpose_ANSWER, p.forPeers(ctx, q, q.msgs)) // privacy.go
	req.RoundId = protocol.NewID()
	return req
}

// vote holds the round on the peers' proposals (asked with req, in took)
// and this node's own answer, then follows the decision on the outcome.
func (p *pipeline) vote(ctx context.Context, q *query, feat router.Features, req *protocol.AskRequest, proposals []router.Proposal, took time.Duration) (*nodeapi.Response, error) {
	q.trace.Timings.PeersMS = ms(took)
	q.trace.Peers = proposals
	p.noteTrust(q, proposals)

	own := router.Proposal{Peer: p.self, Model: p.model.Name(), Confidence: q.local.unc.Confidence, LatencyMS: ms(q.local.dur)}
	if q.local.err != nil {
		own.Err = q.local.err.Error()
	} else {
		own.Model, own.Answer = q.local.res.Model, p.forPeersAnswer(ctx, q, q.local.res.Text) // privacy.go: the open carries it
		own.PromptTokens, own.CompletionTokens = q.local.res.PromptTokens, q.local.res.CompletionTokens
	}
	for _, prop := range proposals {
		if prop.Err == "" {
			feat.Answered++
		}
	}
	d := router.DecideRound(feat, q.rules)
	q.note(d)
	if d.Collab == router.CollabVote {
		t := time.Now()
		res, err := p.swarm.RunRound(ctx, collab.RoundSpec{
			Request:   req,
			Local:     own,
			Proposals: proposals,
			Deadline:  time.Now().Add(p.voteTimeout),
			Domains:   q.trace.Classification.Domains,
			Fit:       q.rules.Thresholds.DomainFit(normalizeDomains(q.trace.Classification.Domains), q.declared),
		})
		q.trace.Timings.VoteMS = ms(time.Since(t))
		switch {
		case err == nil:
			q.trace.Peers, q.trace.Ballots, q.trace.Tally = res.Proposals, res.Ballots, &res.Tally
			feat.Tally = &res.Tally
		case errors.Is(err, collab.ErrNoProposals):
			// No usable answer anywhere: the decision treats it as a missed quorum.
		default:
			p.log.Warn("vote round failed", "err", err)
		}
	}

	d = router.DecideAfterVote(feat, q.rules)
	if d.Route == router.RouteCloud {
		resp, cloud, err := p.viaCloud(ctx, q, d)
		if err != nil {
			return nil, err
		}
		if resp != nil {
			p.learn(q, q.trace.Peers, resp.Text)
			return resp, nil
		}
		feat.Cloud = cloud // decide again without it
		d = router.DecideAfterVote(feat, q.rules)
	}
	// The decision answers from the swarm only with a winner of this tally.
	if d.Route == router.RouteSwarm && feat.Tally != nil && feat.Tally.Winner >= 0 && feat.Tally.Winner < len(q.trace.Peers) {
		q.note(d)
		best := q.trace.Peers[feat.Tally.Winner]
		p.learn(q, q.trace.Peers, "")
		return p.respond(q, router.RouteSwarm, best.Answer, best.Model, best.PromptTokens, best.CompletionTokens), nil
	}
	p.learn(q, q.trace.Peers, "")
	return p.finishLocal(q, d)
}

// checked is what this query showed: the peers' answers, the cloud's (""
// without one) and this node's own.
func (p *pipeline) checked(q *query, proposals []router.Proposal, cloud string) router.Checked {
	own := router.Proposal{Peer: p.self, Confidence: q.local.unc.Confidence}
	if q.local.err == nil && q.local.res != nil {
		own.Answer = q.local.res.Text
	}
	return router.Checked{
		Self: p.self, Proposals: proposals, Domains: q.trace.Classification.Domains,
		Cloud: cloud, Local: own, Sure: q.rules.Thresholds.Confident, Agreement: q.rules.Thresholds.Agreement,
		Trust: p.trust.Weight,
		Fit:   q.rules.Thresholds.DomainFit(normalizeDomains(q.trace.Classification.Domains), q.declared),
	}
}

// judgeOwn feeds the outcome of this node's own answer, when c holds
// evidence on it (router.JudgeLocal), to its calibration and to its own
// track record, which weighs its ballots as the peers' records weigh theirs.
func (p *pipeline) judgeOwn(q *query, c router.Checked) {
	o, ok := router.JudgeLocal(c)
	if !ok {
		return
	}
	p.calib.observe(p.model.Name(), firstDomain(q.trace.Classification.Domains), q.local.unc.Confidence, o.Right)
	if err := p.trust.ObserveOwn(o); err != nil {
		p.log.Warn("record own outcome", "err", err)
	}
}

// learn records in the track record what this query showed about the
// peers' answers (router.Judge): against the cloud's answer when there is
// one, else against what independent peers agreed on, else against this
// node's own confident answer; and rescores the peers judged in gossip.
// The node's own answer, judged on the same evidence, calibrates its
// confidence.
func (p *pipeline) learn(q *query, proposals []router.Proposal, cloud string) {
	checked := p.checked(q, proposals, cloud)
	p.judgeOwn(q, checked)
	outcomes := router.Judge(checked)
	judged := make([]string, 0, len(outcomes))
	for _, o := range outcomes {
		if err := p.trust.Observe(o); err != nil {
			p.log.Warn("record outcome", "peer", o.Peer, "err", err)
			continue
		}
		judged = append(judged, o.Peer)
	}
	p.gossip.update(judged)
}

// noteTrust records in the trace this node's trust in each peer that
// answered, as it stood when their answers were weighed.
func (p *pipeline) noteTrust(q *query, proposals []router.Proposal) {
	for _, pr := range proposals {
		if pr.Peer == p.self {
			continue
		}
		if q.trace.Trust == nil {
			q.trace.Trust = map[string]router.PeerTrust{}
		}
		q.trace.Trust[pr.Peer] = p.trust.Trust(pr.Peer, q.trace.Classification.Domains)
	}
}

// viaChain asks the best-matched peer to refine the local draft and records
// the chain in the trace. It returns the refiner's answer (Err set when the
// ask failed; nil without a candidate or a draft), with the tokens it cost.
func (p *pipeline) viaChain(ctx context.Context, q *query, cands []candidate) *router.Proposal {
	if len(cands) == 0 || q.local.err != nil {
		return nil
	}
	refiner := cands[0]
	msgs := append(append([]slm.Message(nil), q.msgs...),
		slm.Message{Role: nodeapi.RoleAssistant, Content: q.local.res.Text},
		slm.Message{Role: nodeapi.RoleUser, Content: refineInstruction})
	req := p.askRequest(q, protocol.Purpose_REFINE, p.forPeers(ctx, q, msgs)) // privacy.go
	t := time.Now()
	resp, err := p.swarm.Ask(ctx, refiner.id, req)
	q.trace.Timings.PeersMS = ms(time.Since(t))
	q.trace.Chain = []router.ChainStep{
		{Peer: p.self, Model: q.local.res.Model, Role: "draft", LatencyMS: ms(q.local.dur)},
		{Peer: refiner.id.String(), Model: refiner.model, Role: "refine", LatencyMS: ms(time.Since(t))},
	}
	out := &router.Proposal{Peer: refiner.id.String(), Model: refiner.model, LatencyMS: q.trace.Chain[1].LatencyMS}
	p.noteTrust(q, []router.Proposal{*out})
	switch {
	case err != nil:
		out.Err = err.Error()
	case resp.GetErrorCode() != protocol.ErrorCode_OK:
		out.Err = resp.GetErrorCode().String()
	}
	if out.Err != "" || resp.GetAnswer() == "" {
		p.log.Info("refine failed", "peer", refiner.id, "err", err, "code", resp.GetErrorCode().String())
		return out
	}
	q.trace.Chain[1].Model = resp.GetModel()
	out.Model, out.Answer, out.Confidence = resp.GetModel(), resp.GetAnswer(), resp.GetConfidence()
	out.PromptTokens, out.CompletionTokens = int(resp.GetPromptTokens()), int(resp.GetCompletionTokens())
	return out
}

// askRequest builds the p2p ask for q's messages.
func (p *pipeline) askRequest(q *query, purpose protocol.Purpose, msgs []slm.Message) *protocol.AskRequest {
	req := &protocol.AskRequest{
		QueryId:        q.trace.QueryID,
		MaxTokens:      uint32(max(q.req.Options.MaxTokens, 0)),
		Temperature:    q.req.Options.Temperature,
		Seed:           q.req.Options.Seed,
		DeadlineUnixMs: time.Now().Add(p.askTimeout).UnixMilli(),
		WantLogprobs:   true,
		Purpose:        purpose,
		OriginModel:    p.model.Name(),
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
