package node

import (
	"context"
	"sync"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/router"
)

// localAnswer is the local model's attempt at a query, judged by its logprobs.
type localAnswer struct {
	res *slm.ChatResult
	unc router.Uncertainty
	err error
	dur time.Duration
}

// info renders the attempt for the trace.
func (l localAnswer) info(model string) *router.LocalInfo {
	li := &router.LocalInfo{Model: model, LatencyMS: ms(l.dur), Uncertainty: l.unc, Confidence: l.unc.Confidence}
	if l.err != nil {
		li.Err = l.err.Error()
	} else {
		li.Model, li.Answer = l.res.Model, l.res.Text
	}
	return li
}

// answerLocally asks the node's own model, with logprobs, within the local deadline.
func (n *Node) answerLocally(ctx context.Context, req slm.ChatRequest) localAnswer {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, n.cfg.LocalTimeout)
	defer cancel()
	req.Logprobs = true
	n.load.begin()
	res, err := n.backend.Chat(ctx, req)
	n.load.end()
	out := localAnswer{res: res, dur: time.Since(start)}
	if err != nil {
		out.err = n.backendError("answer locally", err)
		return out
	}
	n.load.observe(res)
	out.unc = router.Estimate(tokenLogprobs(res.Logprobs), n.rules.Thresholds.Weights)
	return out
}

// tokenLogprobs keeps what the uncertainty estimate needs from Ollama's logprobs.
func tokenLogprobs(lps []api.Logprob) []router.TokenLogprob {
	out := make([]router.TokenLogprob, len(lps))
	for i, lp := range lps {
		top := make([]float64, len(lp.TopLogprobs))
		for j, t := range lp.TopLogprobs {
			top[j] = t.Logprob
		}
		out[i] = router.TokenLogprob{Token: lp.Token, Logprob: lp.Logprob, Top: top}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// loadMeter measures this node's load and speed for its capability record.
type loadMeter struct {
	mu        sync.Mutex // owns the fields below
	inFlight  int
	tokPerSec float64 // EWMA of generation speed as Ollama measured it
	latencyMS float64 // EWMA of whole-answer latency
}

// ewmaWeight is the share of a new observation in the moving averages.
const ewmaWeight = 0.2

func (m *loadMeter) begin() { m.mu.Lock(); m.inFlight++; m.mu.Unlock() }
func (m *loadMeter) end()   { m.mu.Lock(); m.inFlight--; m.mu.Unlock() }

func (m *loadMeter) observe(res *slm.ChatResult) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ewma := func(old, v float64) float64 {
		if old == 0 {
			return v
		}
		return old + ewmaWeight*(v-old)
	}
	if tps := res.TokensPerSecond(); tps > 0 {
		m.tokPerSec = ewma(m.tokPerSec, tps)
	}
	m.latencyMS = ewma(m.latencyMS, ms(res.Latency))
}

func (m *loadMeter) snapshot() (inFlight int, tokPerSec, latencyMS float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inFlight, m.tokPerSec, m.latencyMS
}
