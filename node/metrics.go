package node

import "github.com/prometheus/client_golang/prometheus"

// nodeMetrics are the query pipeline's counters. Like the API's, the CMS's
// and collab's, they are registered with the others by New, in one place
// (node/internal/metrics).
type nodeMetrics struct {
	queries prometheus.Counter
	failed  prometheus.Counter
	routes  *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func newNodeMetrics() *nodeMetrics {
	return &nodeMetrics{
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
}

func (m *nodeMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.queries, m.failed, m.routes, m.latency}
}
