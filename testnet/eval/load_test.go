package eval

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The load run: 1,000 queries, 64 in flight, against one node on the fast
// simulated profile. It reports figures and asserts only what must hold:
// nothing failed or lost, and goroutines come back to their level before
// the load.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 queries against an in-process swarm")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := RunLoad(ctx, LoadSpec{Queries: 1000, InFlight: 64})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	if failed, lost := rep.Failures(); failed > 0 || lost > 0 {
		t.Errorf("%d queries failed and %d were lost, want none", failed, lost)
	}
	if rep.Leaked() {
		t.Errorf("goroutines did not come back to %d after the load: %+v", rep.Goroutines, rep.Rounds)
	}
}

// BenchmarkLoad reports the load run's figures as metrics; run it with
// -benchtime 1x (each iteration is a whole run on a fresh swarm).
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		rep, err := RunLoad(context.Background(), LoadSpec{Queries: 1000, InFlight: 64})
		if err != nil {
			b.Fatal(err)
		}
		rd := rep.Rounds[0]
		b.ReportMetric(rd.Throughput, "queries/s")
		b.ReportMetric(ms(rd.P50), "ms-p50")
		b.ReportMetric(ms(rd.P99), "ms-p99")
		b.ReportMetric(float64(rd.Failed+rd.Lost), "failed+lost")
		b.ReportMetric(float64(rd.Goroutines-rep.Goroutines), "goroutines-growth")
		b.ReportMetric(mib(rd.Heap)-mib(rep.Heap), "MiB-heap-growth")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
