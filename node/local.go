package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/cms/cmspb"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/collab"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// localModel is this node's own SLM: the Ollama backend, its health monitor
// and the load meter. It answers this node's queries (the pipeline's
// ownModel), peers' asks (collab.Answerer), and describes itself for the
// capability record (cms.SelfSource).
type localModel struct {
	name     string
	backend  *slm.Ollama
	monitor  *slm.Monitor
	timeout  time.Duration            // for one answer
	weights  router.ConfidenceWeights // turn logprobs into confidence
	domains  []string                 // as configured, for the record
	describe string
	docs     *documents // nil without --knowledge; set before the store starts
	load     loadMeter
	// onChange is set by start before the monitor's first probe and read
	// only on the monitor's goroutine after it.
	onChange func()
}

var (
	_ ownModel        = (*localModel)(nil)
	_ tokenStreamer   = (*localModel)(nil)
	_ collab.Answerer = (*localModel)(nil)
	_ cms.SelfSource  = (*localModel)(nil)
)

// newLocalModel builds the backend client and its monitor; start begins
// probing once whatever onChange reaches exists.
func newLocalModel(cfg config.Config, weights router.ConfidenceWeights, log *slog.Logger, healthInterval time.Duration) (*localModel, error) {
	backend, err := slm.NewOllama(cfg.OllamaURL, cfg.Model)
	if err != nil {
		return nil, err
	}
	m := &localModel{name: cfg.Model, backend: backend, timeout: cfg.LocalTimeout, weights: weights,
		domains: cfg.Domains, describe: cfg.Describe}
	m.monitor, err = slm.NewMonitor(backend, slm.WithLogger(log), slm.WithInterval(healthInterval),
		slm.WithOnChange(func(slm.Status) {
			if m.onChange != nil {
				m.onChange()
			}
		}))
	if err != nil {
		return nil, err
	}
	return m, nil
}

// start begins health probing; onChange (may be nil) runs after every change
// of the backend's state or facts. Call it once.
func (m *localModel) start(onChange func()) {
	m.onChange = onChange
	m.monitor.Start()
}

// close stops the health monitor.
func (m *localModel) close() error { return m.monitor.Close() }

// Name is the configured model's name.
func (m *localModel) Name() string { return m.name }

// status is the backend's health as last probed.
func (m *localModel) status() slm.Status { return m.monitor.Status() }

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

// answer asks the model, with logprobs, within the local deadline.
func (m *localModel) answer(ctx context.Context, req slm.ChatRequest) localAnswer {
	return m.generate(ctx, req, nil)
}

// answerStream is answer with the tokens handed to onToken as they come.
func (m *localModel) answerStream(ctx context.Context, req slm.ChatRequest, onToken func(slm.Token)) localAnswer {
	return m.generate(ctx, req, onToken)
}

// generate asks the model, streamed when onToken is set.
func (m *localModel) generate(ctx context.Context, req slm.ChatRequest, onToken func(slm.Token)) localAnswer {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	req.Logprobs = true
	m.load.begin()
	var res *slm.ChatResult
	var err error
	if onToken == nil {
		res, err = m.backend.Chat(ctx, req)
	} else {
		res, err = m.backend.ChatStream(ctx, req, onToken)
	}
	m.load.end()
	out := localAnswer{res: res, dur: time.Since(start)}
	if err != nil {
		out.err = m.backendError("answer locally", err)
		return out
	}
	m.load.observe(res)
	out.unc = router.Estimate(tokenLogprobs(res.Logprobs), m.weights)
	return out
}

// findPersonalData asks the model for the personal spans of text (Ollama's
// structured output): the text goes only to this device's Ollama.
func (m *localModel) findPersonalData(ctx context.Context, text string, kinds []string) ([]slm.PersonalSpan, error) {
	return m.backend.FindPersonalData(ctx, text, kinds)
}

// backendError turns a backend failure into the API's sentinel, keeping the
// cause, and asks the monitor to re-check at once.
func (m *localModel) backendError(action string, err error) error {
	m.monitor.Check()
	if errors.Is(err, slm.ErrUnreachable) || errors.Is(err, slm.ErrModelMissing) {
		return fmt.Errorf("%s: %w: %w (%s)", action, nodeapi.ErrUnavailable, err,
			slm.Hint(m.backend.BaseURL(), m.name, m.status().State))
	}
	return fmt.Errorf("%s: %w", action, err)
}

// Answer serves a peer's ask (collab.Answerer).
func (m *localModel) Answer(ctx context.Context, req *protocol.AskRequest) *protocol.AskResponse {
	creq := slm.ChatRequest{MaxTokens: int(req.GetMaxTokens()), Temperature: req.Temperature}
	if req.Seed != nil {
		s := int(*req.Seed)
		creq.Seed = &s
	}
	for _, msg := range req.GetMessages() {
		creq.Messages = append(creq.Messages, slm.Message{Role: msg.GetRole(), Content: msg.GetContent()})
	}
	if req.GetPurpose() == protocol.Purpose_KNOWLEDGE {
		return m.answerKnowledge(ctx, req, creq) // knowledge.go
	}
	return m.response(req, m.answer(ctx, creq))
}

// response is the ask's response carrying a local answer.
func (m *localModel) response(req *protocol.AskRequest, la localAnswer) *protocol.AskResponse {
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

// CapabilityRecord describes this node for the CMS (cms.SelfSource): model
// facts from Ollama's /api/show, the configured domains and description, and
// measured speed, load and health. The store signs, sequences and embeds it.
func (m *localModel) CapabilityRecord(ctx context.Context) (*cmspb.CapabilityRecord, error) {
	st := m.status()
	rec := &cmspb.CapabilityRecord{
		Model:           &cmspb.Model{Name: m.name},
		Domains:         m.domains,
		Description:     m.describe,
		SoftwareVersion: Version,
		Health:          healthOf(st),
	}
	if f := st.Facts; f != nil {
		rec.Model.Family, rec.Model.ParameterSize, rec.Model.Quantization = f.Family, f.ParameterSize, f.Quantization
		rec.Model.ContextLength = uint32(max(f.ContextLength, 0))
		rec.Capabilities = f.Capabilities
	}
	inFlight, tps, latency := m.load.snapshot()
	rec.Load = &cmspb.Load{InFlight: uint32(max(inFlight, 0)), Slots: 1}
	rec.Performance = &cmspb.Performance{TokensPerSecond: float32(tps), LatencyMs: float32(latency)}
	if m.docs != nil {
		if c := m.docs.summary(); c.Documents > 0 {
			rec.KnowledgeSources = []*cmspb.Source{knowledgeSource(c)} // knowledge.go: never the text
		}
	}
	return rec, nil
}

func healthOf(st slm.Status) cmspb.Health {
	switch st.State {
	case slm.StateHealthy:
		return cmspb.Health_HEALTH_OK
	case slm.StateUnknown:
		return cmspb.Health_HEALTH_UNSPECIFIED
	}
	return cmspb.Health_HEALTH_DOWN
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
