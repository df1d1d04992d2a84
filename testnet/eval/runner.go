package eval

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// Asker answers one query through a node's native API; *api.Client is one.
type Asker interface {
	Ask(ctx context.Context, req api.AskRequest) (*api.AskResult, error)
}

// StreamAsker also answers as a stream, piece by piece; *api.Client is one.
type StreamAsker interface {
	AskStream(ctx context.Context, req api.AskRequest, onText func(string)) (*api.AskResult, error)
}

var (
	_ Asker       = (*api.Client)(nil)
	_ StreamAsker = (*api.Client)(nil)
)

// ErrNoTargets is returned for a runner without a node to ask.
var ErrNoTargets = errors.New("eval: no node to ask")

// Outcome is how one query ended, from the caller's side.
type Outcome int

const (
	Answered Outcome = iota + 1 // the node answered (right or wrong)
	Failed                      // the node answered with an error (it said it could not)
	Lost                        // no answer at all: transport error, timeout, or never asked
)

var outcomeNames = map[Outcome]string{Answered: "answered", Failed: "failed", Lost: "lost"}

func (o Outcome) String() string {
	if s, ok := outcomeNames[o]; ok {
		return s
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Result is one query's outcome.
type Result struct {
	Item    workload.Item
	Node    int // index of the target asked
	Outcome Outcome
	Answer  string
	Route   string // local | swarm | cloud; "" unless answered
	Reason  string // the trace's reason
	Flags   []string
	Correct bool // workload.Correct; false unless answered
	// Model and Confidence are the local model's name and its answer's
	// confidence, when it answered; Domain the first domain the node
	// classified the query in.
	Model, Domain string
	Confidence    float64
	Latency       time.Duration
	// Tokens the cloud FM read (prompt) and wrote (completion) for this query.
	CloudPromptTokens, CloudCompletionTokens int
	Err                                      string
	// Sources are the documents a grounded knowledge answer cites (none
	// when the query took no knowledge route, or its answer did not stand).
	Sources []string
	// FirstText is when the first words of the answer arrived (streamed
	// runs, WithStream); Prefix is the trace's verdict on the local
	// answer's first tokens ("" when none was made).
	FirstText time.Duration
	Prefix    string
}

// Runner asks a workload's items of a set of nodes, round robin, with
// bounded concurrency. It is safe for concurrent use.
type Runner struct {
	targets     []Asker
	concurrency int
	timeout     time.Duration
	progress    *Progress
	stream      bool
}

// Option configures a Runner.
type Option func(*Runner)

// WithConcurrency bounds the queries in flight (default 4).
func WithConcurrency(n int) Option { return func(r *Runner) { r.concurrency = n } }

// WithTimeout bounds one query (default api.DefaultClientTimeout).
func WithTimeout(d time.Duration) Option { return func(r *Runner) { r.timeout = d } }

// WithProgress reports progress to p (default none).
func WithProgress(p *Progress) Option { return func(r *Runner) { r.progress = p } }

// WithStream asks every query as a stream (targets must be StreamAskers)
// and records when its first words arrived.
func WithStream() Option { return func(r *Runner) { r.stream = true } }

// NewRunner returns a runner over targets: item i goes to target i mod len(targets).
func NewRunner(targets []Asker, opts ...Option) (*Runner, error) {
	r := &Runner{targets: targets, concurrency: 4, timeout: api.DefaultClientTimeout}
	for _, o := range opts {
		o(r)
	}
	switch {
	case len(targets) == 0:
		return nil, ErrNoTargets
	case r.concurrency < 1:
		return nil, fmt.Errorf("eval: concurrency %d: want ≥ 1", r.concurrency)
	case r.timeout <= 0:
		return nil, fmt.Errorf("eval: timeout %v: want > 0", r.timeout)
	}
	for i, t := range targets {
		if t == nil {
			return nil, fmt.Errorf("eval: target %d is nil", i)
		}
		if _, ok := t.(StreamAsker); r.stream && !ok {
			return nil, fmt.Errorf("eval: target %d cannot stream", i)
		}
	}
	return r, nil
}

// Run asks every item under policy ("" = each node's default) and returns
// one result per item, in item order. A query that fails is a result, not
// an error; Run fails only when ctx ends, and then the unasked items are
// Lost.
func (r *Runner) Run(ctx context.Context, label, policy string, items []workload.Item) ([]Result, error) {
	results := make([]Result, len(items))
	for i, it := range items {
		results[i] = Result{Item: it, Node: i % len(r.targets), Outcome: Lost, Err: "not asked"}
	}
	r.progress.start(label, len(items))
	defer r.progress.finish()

	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(r.concurrency, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results[i] = r.ask(ctx, results[i], policy)
				r.progress.add(results[i].Outcome == Answered && results[i].Correct)
			}
		}()
	}
feed:
	for i := range items {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return results, fmt.Errorf("run %s: %w", label, err)
	}
	return results, nil
}

// ask sends one query; res arrives with Item and Node set.
func (r *Runner) ask(ctx context.Context, res Result, policy string) Result {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	start := time.Now()
	req := api.AskRequest{Prompt: res.Item.Prompt, Policy: policy}
	var out *api.AskResult
	var err error
	if r.stream {
		out, err = r.targets[res.Node].(StreamAsker).AskStream(ctx, req, func(string) {
			if res.FirstText == 0 {
				res.FirstText = time.Since(start)
			}
		})
	} else {
		out, err = r.targets[res.Node].Ask(ctx, req)
	}
	res.Latency = time.Since(start)
	var apiErr *api.APIError
	switch {
	case errors.As(err, &apiErr):
		res.Outcome, res.Err = Failed, err.Error()
		return res
	case err != nil:
		res.Outcome, res.Err = Lost, err.Error()
		return res
	}
	res.Outcome, res.Err = Answered, ""
	res.Answer = out.Answer
	res.Route = out.Trace.Route.String()
	res.Reason = out.Trace.Reason
	res.Flags = out.Trace.Flags
	if l := out.Trace.Local; l != nil && l.Err == "" {
		res.Model, res.Confidence = l.Model, l.Uncertainty.Confidence // raw: Confidence is calibrated
	}
	if pr := out.Trace.Prefix; pr != nil {
		res.Prefix = pr.Verdict.String()
	}
	if ds := out.Trace.Classification.Domains; len(ds) > 0 {
		res.Domain = ds[0]
	}
	if c := out.Trace.Cloud; c != nil && c.Summoned {
		res.CloudPromptTokens, res.CloudCompletionTokens = c.PromptTokens, c.CompletionTokens
	}
	if k := out.Trace.Knowledge; k != nil && k.Grounded {
		res.Sources = k.Sources
	}
	res.Correct = workload.Correct(res.Item, res.Answer, res.Route)
	return res
}
