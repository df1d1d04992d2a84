package node

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/router"
)

// tokenStreamer is the own model answering token by token (localModel).
type tokenStreamer interface {
	answerStream(ctx context.Context, req slm.ChatRequest, onToken func(slm.Token)) localAnswer
}

// askEarly answers a streaming query while the local model generates: the
// router judges the first tokens (router.DecidePrefix). A confident prefix
// commits to the local answer, which then streams to the caller token by
// token; an unsure one starts the peers' round (or the cloud FM) at once,
// while the local answer finishes and joins the vote; a prefix that says
// neither waits for the whole answer and today's decision.
func (p *pipeline) askEarly(ctx context.Context, q *query, feat router.Features) (*nodeapi.Response, error) {
	genCtx, cancel := context.WithCancel(ctx)
	feed := newTokenFeed()
	go func() { feed.finish(p.streamer.answerStream(genCtx, q.chatRequest(), feed.add)) }()
	// The generation never outlives the query: an answer that went to the
	// cloud FM stops it.
	defer func() { cancel(); <-feed.done }()

	candidates := p.discover(ctx, q, &feat)
	prefix := &prefixState{start: q.start, sink: q.req.Sink, queryID: q.trace.QueryID, model: p.model.Name()}
	// The prefix is held to the bar as the whole answer would be: calibrated.
	domain := firstDomain(q.trace.Classification.Domains)
	calibrate := func(c float64) float64 { return p.calib.calibrate(p.model.Name(), domain, c) }
	// Some routes do not depend on the answer: those are decided on no tokens.
	pd := router.DecidePrefix(feat, nil, p.prefixRule, q.rules, calibrate)
	for pd.Verdict == router.PrefixWait {
		<-feed.ready
		toks, done := feed.read()
		prefix.add(toks)
		if done {
			break
		}
		pd = router.DecidePrefix(feat, prefix.logprobs, p.prefixRule, q.rules, calibrate)
	}
	q.trace.Prefix = prefix.info(pd, q.rules.Thresholds.Weights)

	switch pd.Verdict {
	case router.PrefixCommit:
		for {
			toks, done := feed.read()
			prefix.add(toks)
			prefix.stream(pd.Decision.Route)
			if done {
				break
			}
			<-feed.ready
		}
		q.trace.Prefix.FirstTextMS = prefix.firstText
		return p.finishCommitted(q, feat, pd.Decision, feed.answer())
	case router.PrefixEscalate:
		return p.escalateEarly(ctx, q, feat, pd.Decision, candidates, feed)
	}
	q.local = feed.answer()
	p.noteLocal(q, &feat)
	return p.afterLocal(ctx, q, feat, candidates)
}

// finishCommitted answers with a local answer committed on its prefix. The
// trace keeps the whole answer's decision when it agrees, else the prefix's
// with what the whole answer would have said.
func (p *pipeline) finishCommitted(q *query, feat router.Features, d router.Decision, la localAnswer) (*nodeapi.Response, error) {
	q.local = la
	p.noteLocal(q, &feat)
	if whole := router.DecideAfterLocal(feat, q.rules); whole.Route == router.RouteLocal {
		d = whole
	} else if !feat.LocalFailed {
		d.Reason += fmt.Sprintf(" (the whole answer's confidence, %.2f, would not have kept it local)", feat.Confidence)
	}
	return p.finishLocal(q, d)
}

// escalateEarly takes the route an unsure prefix chose while the local
// answer finishes: a vote round's asks go out at once and the local answer
// joins as this node's proposal; the cloud FM is summoned at once; a chain,
// which refines the whole local draft, waits for it and the whole answer's
// decision.
func (p *pipeline) escalateEarly(ctx context.Context, q *query, feat router.Features, d router.Decision,
	candidates []candidate, feed *tokenFeed) (*nodeapi.Response, error) {
	wait := func() {
		q.local = feed.answer()
		p.noteLocal(q, &feat)
	}
	switch {
	case d.Route == router.RouteSwarm && d.Collab == router.CollabVote:
		q.note(d)
		req := p.roundRequest(ctx, q)
		type asked struct {
			proposals []router.Proposal
			took      time.Duration
		}
		hedge := make(chan asked, 1)
		go func() {
			t := time.Now()
			hedge <- asked{p.swarm.AskAll(ctx, ids(candidates), req, ids(q.spares)...), time.Since(t)}
		}()
		wait()
		a := <-hedge
		return p.vote(ctx, q, feat, req, a.proposals, a.took)
	case d.Route == router.RouteCloud:
		resp, cloud, err := p.viaCloud(ctx, q, d)
		if resp != nil || err != nil {
			return resp, err // the local answer is not needed: its generation stops
		}
		wait()
		feat.Cloud = cloud // decide again without it, on the whole answer
		return p.afterLocal(ctx, q, feat, candidates)
	}
	wait()
	return p.afterLocal(ctx, q, feat, candidates)
}

// tokenFeed carries the tokens of a local answer from the goroutine
// generating it to the query's; mu owns the fields below it.
type tokenFeed struct {
	ready chan struct{} // signalled (capacity 1) when there is news
	done  chan struct{} // closed once the answer is complete

	mu     sync.Mutex
	tokens []slm.Token // not yet read
	ended  bool
	la     localAnswer
}

func newTokenFeed() *tokenFeed {
	return &tokenFeed{ready: make(chan struct{}, 1), done: make(chan struct{})}
}

func (f *tokenFeed) add(t slm.Token) {
	f.mu.Lock()
	f.tokens = append(f.tokens, t)
	f.mu.Unlock()
	f.signal()
}

func (f *tokenFeed) finish(la localAnswer) {
	f.mu.Lock()
	f.ended, f.la = true, la
	f.mu.Unlock()
	close(f.done)
	f.signal()
}

func (f *tokenFeed) signal() {
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

// read takes the tokens that came since the last read, and whether the
// answer is complete (then they are its last).
func (f *tokenFeed) read() ([]slm.Token, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	toks := f.tokens
	f.tokens = nil
	return toks, f.ended
}

// answer is the complete answer; call it once done.
func (f *tokenFeed) answer() localAnswer {
	<-f.done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.la
}

// prefixState is what has been generated of a streamed local answer, and
// what of it went to the caller. It is owned by the query's goroutine.
type prefixState struct {
	start    time.Time
	sink     nodeapi.Sink
	queryID  string
	model    string
	text     strings.Builder
	logprobs []router.TokenLogprob
	// sent is how much of text went to the caller: never leading space, and
	// never trailing space until more text follows, so what was sent always
	// begins the trimmed answer.
	sent      int
	out       bool    // some text went to the caller
	firstText float64 // ms since the query began when text first went out
}

func (s *prefixState) add(toks []slm.Token) {
	for _, t := range toks {
		s.text.WriteString(t.Text)
		s.logprobs = append(s.logprobs, tokenLogprobs(t.Logprobs)...)
	}
}

// stream sends what was generated since the last call, up to its last non-space.
func (s *prefixState) stream(route router.Route) {
	all := s.text.String()
	if s.sent == 0 {
		s.sent = len(all) - len(strings.TrimLeftFunc(all, unicode.IsSpace))
	}
	end := len(strings.TrimRightFunc(all, unicode.IsSpace))
	if end <= s.sent {
		return
	}
	if !s.out {
		s.out, s.firstText = true, ms(time.Since(s.start))
	}
	s.sink(nodeapi.Piece{QueryID: s.queryID, Route: route, Model: s.model, Text: all[s.sent:end]})
	s.sent = end
}

// cloudLive streams the cloud FM's answer to the caller as it arrives,
// with this device's data restored (router.StreamRestorer) and the
// spacing trimmed as the whole answer is (prefixState.stream).
type cloudLive struct {
	restorer *router.StreamRestorer
	prefix   *prefixState
}

func (c *cloudLive) write(text string) {
	c.prefix.text.WriteString(c.restorer.Write(text))
	c.prefix.stream(router.RouteCloud)
}

// flush sends what the restorer held back, once the answer is complete.
func (c *cloudLive) flush() {
	c.prefix.text.WriteString(c.restorer.Flush())
	c.prefix.stream(router.RouteCloud)
}

// info is the trace's record of the prefix decision.
func (s *prefixState) info(pd router.PrefixDecision, w router.ConfidenceWeights) *router.PrefixInfo {
	u := router.Estimate(s.logprobs, w)
	if pd.Verdict != router.PrefixWait {
		u = pd.Uncertainty
	}
	return &router.PrefixInfo{Verdict: pd.Verdict, Tokens: len(s.logprobs), Text: s.text.String(),
		Confidence: u.Confidence, AtMS: ms(time.Since(s.start))}
}
