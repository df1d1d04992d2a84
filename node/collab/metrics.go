package collab

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	asks      *prometheus.CounterVec
	askTime   prometheus.Histogram
	rounds    *prometheus.CounterVec
	roundTime prometheus.Histogram
	messages  *prometheus.CounterVec
	votes     *prometheus.CounterVec
	// busyRetries counts spares asked in place of a peer that refused as BUSY.
	busyRetries prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{asks: prometheus.NewCounterVec(prometheus.CounterOpts{
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
		busyRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmllm_collab_busy_retries_total",
			Help: "Spares this node asked within a round in place of a peer that refused as BUSY.",
		}),
	}
}

// Collectors are collaboration's metrics, for the caller to register
// (Collab registers nothing itself).
func (c *Collab) Collectors() []prometheus.Collector {
	m := c.m
	return []prometheus.Collector{m.asks, m.askTime, m.rounds, m.roundTime, m.messages, m.votes, m.busyRetries}
}
