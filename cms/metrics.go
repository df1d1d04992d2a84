package cms

import "github.com/prometheus/client_golang/prometheus"

// Label values.
const (
	viaGossip  = "gossip"
	viaDHT     = "dht"
	viaProvide = "provide"
	// viaProvideCheck counts checks that a provide reached the peers
	// closest to its key: ok (found there), missing (provided again) or
	// error (could not ask; provided again).
	viaProvideCheck = "provide-check"
	resultMissing   = "missing"

	resultOK       = "ok"
	resultError    = "error"
	resultAccepted = "accepted"
	resultStale    = "stale"
	resultInvalid  = "invalid"
)

type metrics struct {
	records  prometheus.Gauge
	publish  *prometheus.CounterVec
	received *prometheus.CounterVec
	expired  prometheus.Counter
	meetings *prometheus.CounterVec
	syncs    *prometheus.CounterVec
	lookup   *prometheus.HistogramVec
}

func newMetrics() *metrics {
	return &metrics{
		records: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "swarmllm_cms_records",
			Help: "Unexpired capability records of other peers in the local cache.",
		}),
		publish: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_cms_publish_total",
			Help: "Publications of this node's record, by channel (gossip, dht, provide, provide-check: a provide found or missing where readers look) and result.",
		}, []string{"via", "result"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_cms_received_total",
			Help: "Records received from peers, by channel (gossip, sync, dht) and result (accepted, stale, refused, invalid).",
		}, []string{"via", "result"}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmllm_cms_expired_total",
			Help: "Cached records dropped because they expired.",
		}),
		meetings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_cms_meetings_total",
			Help: "Dials of the owners of cached records they had never connected to (strangers), by result (ok: met, error: unreachable).",
		}, []string{"result"}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_cms_syncs_total",
			Help: "Pulls of the records a peer holds and this node lacks, by result (ok, error: refused, unreachable or cut short).",
		}, []string{"result"}),
		lookup: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "swarmllm_cms_lookup_duration_seconds",
			Help:    "DHT lookups of a record by peer id or of providers by domain.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9), // 0.5 ms .. 33 s
		}, []string{"kind"}),
	}
}

// Collectors are the store's metrics, for the caller to register (the
// store registers nothing itself).
func (s *Store) Collectors() []prometheus.Collector {
	m := s.m
	return []prometheus.Collector{m.records, m.publish, m.received, m.expired, m.meetings, m.syncs, m.lookup}
}

// checkResult labels a provide check.
func checkResult(held bool, err error) string {
	switch {
	case held:
		return resultOK
	case err != nil:
		return resultError
	}
	return resultMissing
}

func result(err error) string {
	if err != nil {
		return resultError
	}
	return resultOK
}
