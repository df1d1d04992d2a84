package node

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// nodeMetrics are the query pipeline's counters; the API, CMS and collab
// packages register their own on the same registry.
type nodeMetrics struct {
	queries prometheus.Counter
	failed  prometheus.Counter
	routes  *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func newNodeMetrics(reg prometheus.Registerer) (*nodeMetrics, error) {
	m := &nodeMetrics{
		queries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmllm_query_received_total", Help: "Queries this node was asked to answer.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmllm_query_failed_total", Help: "Queries no model could answer.",
		}),
		routes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_query_answered_total", Help: "Queries answered, by route.",
		}, []string{"route"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "swarmllm_query_duration_seconds",
			Help:    "Time from query to answer, by route.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14), // 5 ms … 41 s
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.queries, m.failed, m.routes, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register query metrics: %w", err)
		}
	}
	return m, nil
}
