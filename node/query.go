package node

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/collab"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// A failed or hung cloud FM counts as down for cloudCooldown, doubling with
// each failed probe up to cloudMaxCooldown (router.Breaker), so a dead
// endpoint costs one call's deadline per cooldown, not one per query.
const (
	cloudCooldown    = 10 * time.Second
	cloudMaxCooldown = 2 * time.Minute
)

// ownModel is this node's own model as the pipeline uses it (localModel).
type ownModel interface {
	Name() string
	answer(ctx context.Context, req slm.ChatRequest) localAnswer
	// findPersonalData lists the personal spans of text (privacy.go); the
	// text stays on the device.
	findPersonalData(ctx context.Context, text string, kinds []string) ([]slm.PersonalSpan, error)
}

// peerFinder picks the peers to ask for a query (finder).
type peerFinder interface {
	// discover returns the peers to ask and, ranked after them, spares to
	// ask in place of one that refuses as BUSY.
	discover(ctx context.Context, prompt string, domains []string) (ask, spares []candidate)
	// serving lists the connected peers serving a model by name (swarmmodels.go).
	serving(model string) []router.ModelHost
}

// swarmCaller asks peers and runs vote rounds (collab.Collab).
type swarmCaller interface {
	Ask(ctx context.Context, p peer.ID, req *protocol.AskRequest) (*protocol.AskResponse, error)
	AskAll(ctx context.Context, peers []peer.ID, req *protocol.AskRequest, spares ...peer.ID) []router.Proposal
	RunRound(ctx context.Context, spec collab.RoundSpec) (*collab.RoundResult, error)
}

// cloudFM is the cloud foundation model (slm.Cloud).
type cloudFM interface {
	Model() string
	CompleteStream(ctx context.Context, msgs []slm.Message, maxTokens int, onText func(string)) (*slm.CloudResult, error)
}

var (
	_ swarmCaller = (*collab.Collab)(nil)
	_ cloudFM     = (*slm.Cloud)(nil)
)

// pipeline answers queries: it classifies, asks the local model, finds
// peers, runs chains and vote rounds, summons the cloud FM, and follows
// router's decision at every step; it makes none of its own.
type pipeline struct {
	self          string // this node's peer id, for traces and its own proposal
	model         ownModel
	peers         peerFinder
	swarm         swarmCaller
	cloud         cloudFM         // nil when no cloud FM is configured
	knowledge     ownKnowledge    // this node's documents (knowledge.go); nil without --knowledge
	peerKnowledge knowledgeFinder // the peers' advertised collections; nil: none asked
	selfDomains   []string        // normalized --domains
	classifier    *router.Classifier
	rules         router.Rules
	budget        *router.Budget
	trust         *router.TrackRecord  // what checked outcomes say of each peer
	calib         *calibration         // what checked outcomes say of this node's own confidence
	gossip        gossipScorer         // feeds the record into gossip peer scores
	peerPrivacy   router.PrivacyPolicy // for prompts bound for peers (router.PeerPrivacy)
	piiModel      bool                 // the own model also looks for personal data (privacy.go)…
	piiTimeout    time.Duration        // …within this deadline
	askTimeout    time.Duration        // one peer's answer, and the cloud FM's
	voteTimeout   time.Duration        // ballots, once the proposals are in
	metrics       *nodeMetrics
	queries       *nodeapi.QueryLog // the dashboard's recent queries (nil: none kept)
	log           *slog.Logger
	cloudBreaker  *router.Breaker // whether the cloud FM may be called now
	// streamer streams the own model's answer for the early decision on its
	// first tokens (early.go); nil, or prefixRule off, judges answers whole.
	streamer   tokenStreamer
	prefixRule router.PrefixRule
}

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
	spares  []candidate  // discovery's next-best peers, asked in place of busy ones
	// declared are the domains this node and each peer discovery found
	// declare, by peer id: what a round's ballots are fitted to the query by.
	declared map[string][]string
}

// Ask answers one query: classify, answer locally, and then, as the router
// decides, keep that answer, let the peers answer and vote, or summon the
// cloud FM. When the cloud FM fails the router decides again without it;
// only a query nothing could answer returns an error.
func (p *pipeline) Ask(ctx context.Context, req nodeapi.Request) (*nodeapi.Response, error) {
	q := &query{req: req, msgs: chatMessages(req.Messages), prompt: lastUserPrompt(req.Messages), rules: p.rules, start: time.Now()}
	if req.Policy != "" {
		q.rules.Policy = req.Policy
	}
	q.trace = router.Trace{QueryID: protocol.NewID(), Node: p.self, Policy: q.rules.Policy}
	p.metrics.queries.Inc()
	p.budget.Query(q.start)

	t := time.Now()
	q.trace.Classification = p.classifier.Classify(q.prompt)
	q.trace.Classification.PII = p.conversationPII(q) // every message, not only the last (privacy.go)
	q.trace.Timings.ClassifyMS = ms(time.Since(t))

	if p.namesPeerModel(req.Model) {
		return p.viaNamedModel(ctx, q)
	}
	if resp := p.viaKnowledge(ctx, q); resp != nil { // knowledge.go
		return resp, nil
	}
	feat := router.Features{Class: q.trace.Classification, Cloud: p.cloudState(q.req.Caller)}
	d := router.DecideBeforeLocal(feat, q.rules)
	if d.Route == router.RouteCloud {
		resp, cloud, err := p.viaCloud(ctx, q, d)
		if resp != nil || err != nil {
			return resp, err
		}
		feat.Class, feat.Cloud = q.trace.Classification, cloud // the rest of the query knows why it failed
	}

	if req.Sink != nil && p.streamer != nil && p.prefixRule.MinTokens > 0 {
		return p.askEarly(ctx, q, feat) // early.go: judged on its first tokens, streamed live
	}
	q.local = p.model.answer(ctx, q.chatRequest())
	p.noteLocal(q, &feat)
	candidates := p.discover(ctx, q, &feat)
	return p.afterLocal(ctx, q, feat, candidates)
}

// chatRequest is q as the local model takes it.
func (q *query) chatRequest() slm.ChatRequest {
	o := q.req.Options
	return slm.ChatRequest{Messages: q.msgs, MaxTokens: o.MaxTokens, Temperature: o.Temperature, Seed: seedOf(o.Seed)}
}

// noteLocal records the local answer in the trace and the features.
func (p *pipeline) noteLocal(q *query, feat *router.Features) {
	q.trace.Local = q.local.info(p.model.Name())
	q.trace.Timings.LocalMS = ms(q.local.dur)
	// The decision reads the confidence calibrated by this model's checked
	// outcomes in the query's domain; the trace keeps the raw one in
	// Uncertainty.
	feat.Confidence = p.calib.calibrate(p.model.Name(), firstDomain(q.trace.Classification.Domains), q.local.unc.Confidence)
	if q.trace.Local != nil {
		q.trace.Local.Confidence = feat.Confidence
	}
	feat.LocalFailed = q.local.err != nil
}

// discover finds the peers to ask, when the policy asks any, and notes
// what the decisions read of them in feat.
func (p *pipeline) discover(ctx context.Context, q *query, feat *router.Features) []candidate {
	var candidates []candidate
	if q.rules.Policy.AsksPeers() {
		t := time.Now()
		candidates, q.spares = p.peers.discover(ctx, q.prompt, q.trace.Classification.Domains)
		q.trace.Timings.DiscoverMS = ms(time.Since(t))
		q.declared = map[string][]string{p.self: p.selfDomains}
		for _, c := range append(slices.Clip(candidates), q.spares...) {
			q.declared[c.id.String()] = c.domains
		}
	}
	feat.Peers = len(candidates)
	feat.OffDomain = p.offDomain(q.trace.Classification.Domains, candidates)
	return candidates
}

// afterLocal follows the decision on the whole local answer: keep it, let
// the peers answer and vote, or summon the cloud FM.
func (p *pipeline) afterLocal(ctx context.Context, q *query, feat router.Features, candidates []candidate) (*nodeapi.Response, error) {
	d := router.DecideAfterLocal(feat, q.rules)
	if d.Route == router.RouteCloud {
		resp, cloud, err := p.viaCloud(ctx, q, d)
		if err != nil {
			return nil, err
		}
		if resp != nil {
			p.judgeOwn(q, p.checked(q, nil, resp.Text)) // the cloud's answer checks the local one
			return resp, nil
		}
		feat.Class, feat.Cloud = q.trace.Classification, cloud // decide again without it
		d = router.DecideAfterLocal(feat, q.rules)
	}
	if d.Route == router.RouteSwarm {
		return p.viaSwarm(ctx, q, d, feat, candidates)
	}
	return p.finishLocal(q, d)
}

// finishLocal answers with the local model's answer, or reports why there is none.
func (p *pipeline) finishLocal(q *query, d router.Decision) (*nodeapi.Response, error) {
	q.note(d)
	if q.local.err != nil || q.local.res == nil {
		p.metrics.failed.Inc()
		// Nothing else may answer: the caller gets 503, the log the cause.
		err := fmt.Errorf("answer query (%s): %w", q.trace.Reason, nodeapi.ErrUnavailable)
		if q.local.err != nil {
			err = fmt.Errorf("%w: %w", err, q.local.err)
		}
		return nil, err
	}
	return p.respond(q, router.RouteLocal, q.local.res.Text, q.local.res.Model, q.local.res.PromptTokens, q.local.res.CompletionTokens), nil
}

// respond seals the trace and builds the API response.
func (p *pipeline) respond(q *query, route router.Route, text, model string, promptTokens, completionTokens int) *nodeapi.Response {
	text = q.restore(text) // placeholders in an answer back to this device's data (privacy.go)
	q.trace.Route = route
	q.trace.Timings.TotalMS = ms(time.Since(q.start))
	p.metrics.routes.WithLabelValues(route.String()).Inc()
	p.metrics.latency.WithLabelValues(route.String()).Observe(time.Since(q.start).Seconds())
	p.queries.Record(q.trace, time.Now())
	p.log.Debug("answered", "query", q.trace.QueryID, "route", route.String(), "reason", q.trace.Reason, "prompt", q.prompt, "answer", text)
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
	if !slices.Contains(q.trace.Flags, f) {
		q.trace.Flags = append(q.trace.Flags, f)
	}
}

func seedOf(s *int64) *int {
	if s == nil {
		return nil
	}
	v := int(*s)
	return &v
}

// chatMessages converts API messages into the backend's.
func chatMessages(msgs []nodeapi.Message) []slm.Message {
	out := make([]slm.Message, len(msgs))
	for i, m := range msgs {
		out[i] = slm.Message{Role: m.Role, Content: m.Content}
	}
	return out
}

// lastUserPrompt is the text the classifier and discovery judge: the latest user turn.
func lastUserPrompt(msgs []nodeapi.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == nodeapi.RoleUser {
			return msgs[i].Content
		}
	}
	if len(msgs) > 0 {
		return msgs[len(msgs)-1].Content
	}
	return ""
}

// offDomain reports whether the query's domains are declared by one of the
// candidates and by none of this node's own domains (a feature the decision
// after the local answer reads).
func (p *pipeline) offDomain(queryDomains []string, cands []candidate) bool {
	queryDomains = normalizeDomains(queryDomains)
	declares := func(have []string) bool {
		return slices.ContainsFunc(queryDomains, func(d string) bool { return slices.Contains(have, d) })
	}
	if len(queryDomains) == 0 || declares(p.selfDomains) {
		return false
	}
	return slices.ContainsFunc(cands, func(c candidate) bool { return declares(c.domains) })
}

// normalizeDomains spells a query's domains as capability records do.
func normalizeDomains(domains []string) []string {
	out := make([]string, len(domains))
	for i, d := range domains {
		out[i] = cms.NormalizeDomain(d)
	}
	return out
}

// cloudState says whether the cloud FM can take a call for this caller (an
// API key's name, "" for none) now.
func (p *pipeline) cloudState(caller string) router.CloudState {
	switch {
	case p.cloud == nil:
		return router.CloudNone
	case p.cloudBreaker.State(time.Now()) == router.BreakerExcluded:
		return router.CloudDown
	case p.budget.Allow(time.Now(), caller) != nil:
		return router.CloudOverBudget
	}
	return router.CloudReady
}

// viaCloud summons the cloud FM for q as d says, with the conversation as
// the privacy policy lets it leave the device (privacy.go). When the cloud
// could not answer it returns no response and the cloud state for the next
// decision, which also reads the classification the privacy check may have
// extended; the trace says why. On a streamed query the answer goes to the
// caller as it arrives; should the cloud fail after some of it went out,
// viaCloud returns an error, which ends the query: nothing else may answer.
func (p *pipeline) viaCloud(ctx context.Context, q *query, d router.Decision) (*nodeapi.Response, router.CloudState, error) {
	q.note(d)
	info := &router.CloudInfo{Summoned: true, Model: p.cloud.Model()}
	q.trace.Cloud = info
	// Every message, through the detectors and the own model; under block,
	// never leak what the policy keeps home.
	msgs, redactions, err := p.forCloud(ctx, q)
	if err != nil {
		info.Summoned, info.Err = false, err.Error()
		q.flag(router.FlagPIIBlocked)
		return nil, router.CloudReady, nil // the cloud is fine; the personal data it found keeps the query home
	}
	info.Redactions = redactions
	// The budget holds the call before it is made; another query cannot
	// take the same last slot meanwhile.
	resv, err := p.budget.Reserve(time.Now(), q.req.Caller, router.EstimateCloudTokens(promptBytes(msgs), q.req.Options.MaxTokens))
	if err != nil {
		info.Summoned, info.Err = false, err.Error()
		q.flag(router.FlagOverBudget)
		q.trace.Reason += "; the cloud budget is spent"
		return nil, router.CloudOverBudget, nil
	}
	t := time.Now()
	// Another query may have taken the one probe of a cloud coming back.
	if !p.cloudBreaker.Allow(t) {
		resv.Release()
		info.Summoned, info.Err = false, "the cloud FM is being probed after a failure"
		q.flag(router.FlagCloudDown)
		q.trace.Reason += "; the cloud FM is down"
		return nil, router.CloudDown, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.askTimeout)
	defer cancel()
	// A streamed query gets the cloud's answer as it arrives, restored.
	var live *cloudLive
	var onText func(string)
	if q.req.Sink != nil {
		live = &cloudLive{restorer: q.privacy.last.StreamRestorer(), prefix: &prefixState{start: q.start, sink: q.req.Sink,
			queryID: q.trace.QueryID, model: p.cloud.Model()}}
		onText = live.write
	}
	res, err := p.cloud.CompleteStream(ctx, msgs, q.req.Options.MaxTokens, onText)
	if live != nil && err == nil {
		live.flush()
	}
	if err != nil {
		resv.Release()
		p.cloudBreaker.Failure(time.Now())
	} else {
		resv.Settle(time.Now(), res.PromptTokens+res.CompletionTokens)
		p.cloudBreaker.Success()
	}
	q.trace.Timings.CloudMS = ms(time.Since(t))
	info.LatencyMS = q.trace.Timings.CloudMS
	if err != nil {
		info.Err = err.Error()
		q.flag(router.FlagCloudDown)
		q.trace.Reason += "; the cloud FM failed"
		p.log.Warn("cloud FM failed", "err", err)
		if live != nil && live.prefix.out {
			// Part of its answer went out: no other answer may follow it.
			p.metrics.failed.Inc()
			return nil, router.CloudDown, fmt.Errorf("answer query: the cloud FM broke off its streamed answer: %w: %w", nodeapi.ErrUnavailable, err)
		}
		return nil, router.CloudDown, nil
	}
	info.Model, info.PromptTokens, info.CompletionTokens = res.Model, res.PromptTokens, res.CompletionTokens
	return p.respond(q, router.RouteCloud, res.Text, res.Model, res.PromptTokens, res.CompletionTokens), router.CloudReady, nil
}

func promptBytes(msgs []slm.Message) int {
	n := 0
	for _, m := range msgs {
		n += len(m.Content)
	}
	return n
}
