package spend

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmllm/swarmllm/router"
)

// Label values of swarmllm_cloud_swarm_messages_total.
const (
	sent          = "sent"
	received      = "received"
	resultOK      = "ok"
	resultError   = "error"
	resultInvalid = "invalid"
	resultIgnored = "ignored"
)

type metrics struct {
	messages *prometheus.CounterVec
	gauges   []prometheus.Collector
}

func newMetrics() *metrics {
	return &metrics{messages: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "swarmllm_cloud_swarm_messages_total",
		Help: "Budget claims on /swarmllm/v1/budget, by direction (sent, received) and result (ok; error: not published; invalid: rejected; ignored: stale, from a far clock, or over the member cap).",
	}, []string{"direction", "result"})}
}

// watch reads b's status at every scrape.
func (m *metrics) watch(b *router.SwarmBudget) {
	gauge := func(name, help string, f func(router.SwarmStatus) float64) {
		m.gauges = append(m.gauges, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return f(b.Status(time.Now())) }))
	}
	gauge("swarmllm_cloud_swarm_reserved_calls", "Cloud calls this node holds against its swarm share, not yet settled.",
		func(s router.SwarmStatus) float64 { return float64(s.HeldCalls) })
	gauge("swarmllm_cloud_swarm_members", "Members sharing the swarm's cloud caps, this node included.",
		func(s router.SwarmStatus) float64 { return float64(s.Members) })
	gauge("swarmllm_cloud_swarm_share_calls", "This node's fair share of the swarm's cloud calls per hour (0: no cap).",
		func(s router.SwarmStatus) float64 { return float64(s.HourCalls.Share) })
	gauge("swarmllm_cloud_swarm_used_calls", "Cloud calls this node made or holds in the last hour.",
		func(s router.SwarmStatus) float64 { return float64(s.HourCalls.Used) })
	gauge("swarmllm_cloud_swarm_others_calls", "The other members' claims on the hour's cloud calls, as this node counts them.",
		func(s router.SwarmStatus) float64 { return float64(s.HourCalls.Others) })
	gauge("swarmllm_cloud_swarm_room_calls", "Cloud calls this node may still make this hour under the swarm cap.",
		func(s router.SwarmStatus) float64 { return float64(s.HourCalls.Room) })
	counter := func(name, help string, f func(router.SwarmStatus) float64) {
		m.gauges = append(m.gauges, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return f(b.Status(time.Now())) }))
	}
	counter("swarmllm_cloud_swarm_reservations_total", "Cloud calls reserved against the swarm share since the node started.",
		func(s router.SwarmStatus) float64 { return float64(s.Reservations) })
	counter("swarmllm_cloud_swarm_refused_total", "Cloud calls the swarm share refused since the node started.",
		func(s router.SwarmStatus) float64 { return float64(s.Refused) })
}

func (m *metrics) collectors() []prometheus.Collector {
	return append([]prometheus.Collector{m.messages}, m.gauges...)
}
