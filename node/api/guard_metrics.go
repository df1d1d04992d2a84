package api

import "github.com/prometheus/client_golang/prometheus"

// guardMetrics count what the access checks refused and, per API key name
// (never its secret), what they let through.
type guardMetrics struct {
	refused *prometheus.CounterVec
	keyed   *prometheus.CounterVec
}

func newGuardMetrics() *guardMetrics {
	return &guardMetrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_api_refused_total",
			Help: "HTTP requests refused before their endpoint ran, by reason (host, origin, content_type, slow_body, auth, quota, policy).",
		}, []string{"reason"}),
		keyed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_api_key_requests_total",
			Help: "HTTP requests authenticated by an API key, by the key's name.",
		}, []string{"key"}),
	}
}
