package cmssync

import "github.com/prometheus/client_golang/prometheus"

// Results of a served pull.
const (
	resultOK         = "ok"
	resultRefused    = "refused"     // over the per-peer or global limit, or closing
	resultBadRequest = "bad_request" // oversize, undecodable or invalid request
	resultError      = "error"       // the stream failed or stalled past its deadline
)

type metrics struct {
	served *prometheus.CounterVec
	sent   prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		served: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_cms_sync_served_total",
			Help: "Capability-record pulls this node served, by result (ok, refused, bad_request, error).",
		}, []string{"result"}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmllm_cms_sync_records_sent_total",
			Help: "Capability records this node sent to peers pulling them.",
		}),
	}
	for _, r := range []string{resultOK, resultRefused, resultBadRequest, resultError} {
		m.served.WithLabelValues(r) // shown at zero from the start
	}
	return m
}

// Collectors are the service's metrics, for the caller to register (the
// service registers nothing itself). The pulls this node makes are counted
// by the store (swarmllm_cms_syncs_total).
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.m.served, s.m.sent}
}
