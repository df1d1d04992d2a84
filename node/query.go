package node

import (
	"context"
	"fmt"
	"time"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// cloudCooldown is how long the cloud FM counts as down after a failed call,
// so a dead endpoint does not add its timeout to every query.
const cloudCooldown = 30 * time.Second

// query is one Ask in flight: its inputs and the trace it builds. It is owned
// by the goroutine running Ask.
type query struct {
	req     nodeapi.Request
	msgs    []slm.Message
	prompt  string
	rules   router.Rules
	start   time.Time
	trace   router.Trace
	local   localAnswer
	privacy queryPrivacy // privacy.go
}

// Ask answers one query: classify, answer locally, and then, as the router
// decides, keep that answer, let the peers answer and vote, or summon the
// cloud FM. A failure at any later stage falls back to the best answer so
// far, flagged; only a query nothing could answer returns an error.
func (n *Node) Ask(ctx context.Context, req nodeapi.Request) (*nodeapi.Response, error) {
	q := &query{req: req, msgs: chatMessages(req.Messages), prompt: lastUserPrompt(req.Messages), rules: n.rules, start: time.Now()}
	if req.Policy != "" {
		q.rules.Policy = req.Policy
	}
	q.trace = router.Trace{QueryID: protocol.NewID(), Node: n.host.ID().String(), Policy: q.rules.Policy}
	n.metrics.queries.Inc()
	n.budget.Query(q.start)

	t := time.Now()
	q.trace.Classification = n.classifier.Classify(q.prompt)
	q.trace.Classification.PII = n.conversationPII(q) // every message, not only the last (privacy.go)
	q.trace.Timings.ClassifyMS = ms(time.Since(t))

	feat := router.Features{Class: q.trace.Classification, Cloud: n.cloudState(q.req.Caller)}
	d := router.DecideBeforeLocal(feat, q.rules)
	if d.Route == router.RouteCloud {
		if resp, ok := n.viaCloud(ctx, q, d, nil); ok {
			return resp, nil
		}
		feat.Cloud = n.cloudState(q.req.Caller) // it just failed: the rest of the query knows
	}

	q.local = n.answerLocally(ctx, slm.ChatRequest{Messages: q.msgs, MaxTokens: req.Options.MaxTokens,
		Temperature: req.Options.Temperature, Seed: seedOf(req.Options.Seed)})
	q.trace.Local = q.local.info(n.cfg.Model)
	q.trace.Timings.LocalMS = ms(q.local.dur)

	feat.Confidence = q.local.unc.Confidence
	feat.LocalFailed = q.local.err != nil
	var candidates []candidate
	if q.rules.Policy.AsksPeers() {
		t = time.Now()
		candidates = n.discover(ctx, q.prompt, q.trace.Classification.Domains, n.cfg.TopK)
		q.trace.Timings.DiscoverMS = ms(time.Since(t))
	}
	feat.Peers = len(candidates)
	feat.OffDomain = n.offDomain(q.trace.Classification.Domains, candidates)
	d = router.DecideAfterLocal(feat, q.rules)

	switch d.Route {
	case router.RouteCloud:
		if resp, ok := n.viaCloud(ctx, q, d, nil); ok {
			return resp, nil
		}
		return n.fallback(q, nil)
	case router.RouteSwarm:
		return n.viaSwarm(ctx, q, d, feat, candidates)
	}
	return n.finishLocal(q, d)
}

// finishLocal answers with the local model's answer, or reports why there is none.
func (n *Node) finishLocal(q *query, d router.Decision) (*nodeapi.Response, error) {
	q.note(d)
	if q.local.err != nil {
		n.metrics.failed.Inc()
		// Nothing else may answer: the caller gets 503, the log the cause.
		return nil, fmt.Errorf("answer query (%s): %w: %w", d.Reason, nodeapi.ErrUnavailable, q.local.err)
	}
	return n.respond(q, router.RouteLocal, q.local.res.Text, q.local.res.Model, q.local.res.PromptTokens, q.local.res.CompletionTokens), nil
}

// fallback is the last resort after a later stage failed: the best proposal
// of a round if there is one, else the local answer, flagged best-effort.
func (n *Node) fallback(q *query, best *router.Proposal) (*nodeapi.Response, error) {
	q.flag(router.FlagBestEffort)
	if best != nil {
		q.trace.Reason += "; answering with the best swarm proposal"
		return n.respond(q, router.RouteSwarm, best.Answer, best.Model, 0, 0), nil
	}
	if q.local.err == nil && q.local.res != nil {
		q.trace.Reason += "; the local answer stands"
		return n.respond(q, router.RouteLocal, q.local.res.Text, q.local.res.Model, q.local.res.PromptTokens, q.local.res.CompletionTokens), nil
	}
	n.metrics.failed.Inc()
	q.flag(router.FlagNoAnswer)
	err := fmt.Errorf("answer query (%s): %w", q.trace.Reason, nodeapi.ErrUnavailable)
	if q.local.err != nil {
		err = fmt.Errorf("%w: %w", err, q.local.err)
	}
	return nil, err
}

// respond seals the trace and builds the API response.
func (n *Node) respond(q *query, route router.Route, text, model string, promptTokens, completionTokens int) *nodeapi.Response {
	text = q.restore(text) // placeholders in an answer back to this device's data (privacy.go)
	q.trace.Route = route
	q.trace.Timings.TotalMS = ms(time.Since(q.start))
	n.metrics.routes.WithLabelValues(route.String()).Inc()
	n.metrics.latency.WithLabelValues(route.String()).Observe(time.Since(q.start).Seconds())
	n.log.Debug("answered", "query", q.trace.QueryID, "route", route.String(), "reason", q.trace.Reason, "prompt", q.prompt, "answer", text)
	return &nodeapi.Response{
		Text:             text,
		Model:            model,
		FinishReason:     nodeapi.FinishStop,
		PromptTokens:     promptTokens,
		CompletionTokens: completionTokens,
		Trace:            q.trace,
	}
}

// note records a decision in the trace.
func (q *query) note(d router.Decision) {
	if q.trace.Reason == "" {
		q.trace.Reason = d.Reason
	} else if d.Reason != "" {
		q.trace.Reason += "; " + d.Reason
	}
	for _, f := range d.Flags {
		q.flag(f)
	}
}

func (q *query) flag(f string) {
	for _, have := range q.trace.Flags {
		if have == f {
			return
		}
	}
	q.trace.Flags = append(q.trace.Flags, f)
}

func seedOf(s *int64) *int {
	if s == nil {
		return nil
	}
	v := int(*s)
	return &v
}

// cloudState says whether the cloud FM can take a call for this caller (an
// API key's name, "" for none) now.
func (n *Node) cloudState(caller string) router.CloudState {
	switch {
	case n.cloud == nil:
		return router.CloudNone
	case time.Now().UnixNano() < n.cloudDownUntil.Load():
		return router.CloudDown
	case n.budget.Allow(time.Now(), caller) != nil:
		return router.CloudOverBudget
	}
	return router.CloudReady
}

// viaCloud summons the cloud FM for q, redacting personal data per policy.
// It reports false when the cloud could not answer; the trace says why.
func (n *Node) viaCloud(ctx context.Context, q *query, d router.Decision, best *router.Proposal) (*nodeapi.Response, bool) {
	q.note(d)
	info := &router.CloudInfo{Summoned: true, Model: n.cloud.Model()}
	q.trace.Cloud = info
	// privacy.go: every message, through the detectors and the own model;
	// under block, never leak what the policy keeps home.
	msgs, redactions, err := n.forCloud(ctx, q)
	if err != nil {
		info.Summoned, info.Err = false, err.Error()
		q.flag(router.FlagPIIBlocked)
		return nil, false
	}
	info.Redactions = redactions
	// The budget holds the call before it is made; another query cannot
	// take the same last slot meanwhile.
	resv, err := n.budget.Reserve(time.Now(), q.req.Caller, router.EstimateCloudTokens(promptBytes(msgs), q.req.Options.MaxTokens))
	if err != nil {
		info.Summoned, info.Err = false, err.Error()
		q.flag(router.FlagOverBudget)
		q.trace.Reason += "; the cloud budget is spent"
		return nil, false
	}
	t := time.Now()
	ctx, cancel := context.WithTimeout(ctx, n.cfg.AskTimeout)
	defer cancel()
	res, err := n.cloud.Complete(ctx, msgs, q.req.Options.MaxTokens)
	if err != nil {
		resv.Release()
	} else {
		resv.Settle(time.Now(), res.PromptTokens+res.CompletionTokens)
	}
	q.trace.Timings.CloudMS = ms(time.Since(t))
	info.LatencyMS = q.trace.Timings.CloudMS
	if err != nil {
		n.cloudDownUntil.Store(time.Now().Add(cloudCooldown).UnixNano())
		info.Err = err.Error()
		q.flag(router.FlagCloudDown)
		q.trace.Reason += "; the cloud FM failed"
		n.log.Warn("cloud FM failed", "err", err)
		return nil, false
	}
	info.Model, info.PromptTokens, info.CompletionTokens = res.Model, res.PromptTokens, res.CompletionTokens
	return n.respond(q, router.RouteCloud, res.Text, res.Model, res.PromptTokens, res.CompletionTokens), true
}

func promptBytes(msgs []slm.Message) int {
	n := 0
	for _, m := range msgs {
		n += len(m.Content)
	}
	return n
}
