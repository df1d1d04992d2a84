package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmllm/swarmllm/node/internal/metrics"
)

func counter(name string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: name})
}

func names(t *testing.T, reg *prometheus.Registry) map[string]bool {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, mf := range mfs {
		out[mf.GetName()] = true
	}
	return out
}

func TestRegisterAllOrNone(t *testing.T) {
	reg := prometheus.NewRegistry()
	unregister, err := metrics.Register(reg, counter("swarmllm_test_a_total"), counter("swarmllm_test_b_total"))
	if err != nil {
		t.Fatal(err)
	}
	// A second component with one name already taken registers nothing.
	if _, err := metrics.Register(reg, counter("swarmllm_test_c_total"), counter("swarmllm_test_a_total")); err == nil {
		t.Fatal("a taken name registered without an error")
	}
	if got := names(t, reg); len(got) != 2 || got["swarmllm_test_c_total"] {
		t.Fatalf("after a failed registration the registry holds %v, want only a and b", got)
	}
	// Unregistering frees the names for a rebuilt component.
	unregister()
	unregister() // idempotent
	if _, err := metrics.Register(reg, counter("swarmllm_test_a_total"), counter("swarmllm_test_c_total")); err != nil {
		t.Fatalf("register after unregister: %v", err)
	}
	if got := names(t, reg); len(got) != 2 || !got["swarmllm_test_a_total"] || !got["swarmllm_test_c_total"] {
		t.Fatalf("registry holds %v, want a and c", got)
	}
}

func TestRuntimeOncePerRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.Register(reg, metrics.Runtime()...); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.Register(reg, metrics.Runtime()...); err == nil {
		t.Error("Go and process collectors registered twice on one registry")
	}
	if got := names(t, reg); !got["go_goroutines"] {
		t.Errorf("runtime metrics missing: %v", got)
	}
}
