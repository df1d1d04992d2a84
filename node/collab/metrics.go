package collab

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	asks      *prometheus.CounterVec
	askTime   prometheus.Histogram
	rounds    *prometheus.CounterVec
	roundTime prometheus.Histogram
	messages  *prometheus.CounterVec
	votes     *prometheus.CounterVec
	reg       prometheus.Registerer
	mine      []prometheus.Collector // the ones this instance registered
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		asks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_collab_asks_total",
			Help: "Asks this node served, by result (ok, bad_request, busy (at capacity or over the peer's rate), backend_down, deadline, internal, stream_error).",
		}, []string{"result"}),
		askTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "swarmllm_collab_ask_duration_seconds",
			Help:    "Time to serve one ask, from stream open to response written.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12), // 1 ms .. 60 s
		}),
		rounds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_collab_rounds_total",
			Help: "Rounds this node opened, by outcome (consensus, split, quorum-missed, escalate, error).",
		}, []string{"outcome"}),
		roundTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "swarmllm_collab_round_duration_seconds",
			Help:    "Time from publishing a round's open to its tally.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12), // 0.5 ms .. 30 s
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_collab_round_messages_total",
			Help: "Round topic messages the validator judged, by kind (open, ballot, malformed) and reason (ok or why refused).",
		}, []string{"kind", "reason"}),
		votes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_collab_votes_total",
			Help: "Opens naming this node as a participant, by what it did (cast, no-answer, digest-mismatch, already-voted, publish-error).",
		}, []string{"result"}),
		reg: reg,
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.asks, m.askTime, m.rounds, m.roundTime, m.messages, m.votes} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
			continue
		}
		m.mine = append(m.mine, c)
	}
	if err := errors.Join(errs...); err != nil {
		m.unregister()
		return nil, fmt.Errorf("register collab metrics: %w", err)
	}
	return m, nil
}

// unregister frees the names this instance took, so a node rebuilt on the
// same registry (tests, restarts in process) can register them again.
// Unregister matches by descriptor, so only our own registrations are undone.
func (m *metrics) unregister() {
	for _, c := range m.mine {
		m.reg.Unregister(c)
	}
	m.mine = nil
}
