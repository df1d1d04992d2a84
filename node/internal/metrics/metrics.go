// Package metrics registers Prometheus collectors the one way swarmllm does.
//
// Components (the capability store, collaboration, the HTTP API, the query
// pipeline) never register anything: each exposes its collectors
// (Collectors()), and whoever composes them (the node, or an API server
// standing alone) registers them here, all or none, and unregisters them on
// Close, so a registry can take a rebuilt component. Metric names follow
// swarmllm_<area>_<what>_<unit>.
package metrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Register registers every collector on reg, or none: if one fails (most
// often a name already taken: two nodes on one registry) the ones already
// registered are unregistered and the errors are returned. The returned
// function unregisters them all; call it on Close.
func Register(reg prometheus.Registerer, cs ...prometheus.Collector) (unregister func(), err error) {
	done := make([]prometheus.Collector, 0, len(cs))
	unregister = func() {
		for _, c := range done {
			reg.Unregister(c)
		}
		done = nil
	}
	var errs []error
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, c)
	}
	if err := errors.Join(errs...); err != nil {
		unregister()
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	return unregister, nil
}

// Runtime are the Go runtime and process collectors every /metrics shows.
func Runtime() []prometheus.Collector {
	return []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
}
