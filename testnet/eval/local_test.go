package eval

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// firstOfEach is the first n items of each class.
func firstOfEach(n int) []workload.Item {
	seen := map[string]int{}
	var out []workload.Item
	for _, it := range workload.Default().Items() {
		if seen[it.Dataset] < n {
			seen[it.Dataset]++
			out = append(out, it)
		}
	}
	return out
}

// A small study on real in-process swarms: every query is answered, the
// baselines route as their names say, and the sweep yields its curves.
func TestLocalStudy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several in-process swarms")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	items := firstOfEach(4)
	l := Local{Concurrency: 4}
	st := Study{
		Policies:  []string{string(router.PolicyLocalOnly), string(router.PolicyCloudOnly), string(router.PolicySwarm)},
		Confident: 0.7, Caps: []float64{0}, Sweep: []float64{0.5, 0.9}, OtherSets: []string{sim.ProfileSetNoisy},
	}
	res, err := l.RunStudy(ctx, st, items)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Table) != 3 || len(res.Sweep) != 4 {
		t.Fatalf("%d table runs and %d sweep runs, want 3 and 4", len(res.Table), len(res.Sweep))
	}
	if len(res.Others) != 1 || res.Others[0].Set != sim.ProfileSetNoisy || len(res.Others[0].Table) != 2 || len(res.Others[0].Sweep) != 4 {
		t.Fatalf("other sets %+v, want noisy with local-only, cloud-only and 4 sweep runs", res.Others)
	}
	if _, _, ok := res.Others[0].Routing(); !ok {
		t.Error("no routing figures on the noisy set")
	}
	share := map[string]func(Row) float64{
		string(router.PolicyLocalOnly): func(r Row) float64 { return r.Share("local") },
		string(router.PolicyCloudOnly): func(r Row) float64 { return r.Share("cloud") },
	}
	for _, run := range slices.Concat(res.Table, res.Sweep, res.Others[0].Table, res.Others[0].Sweep) {
		for _, r := range run.Results {
			if r.Outcome != Answered {
				t.Errorf("%s %s: %v (%s)", run.Setup.Label(), r.Item.QID, r.Outcome, r.Err)
			}
		}
		for _, row := range Summarize(run) {
			if f := share[run.Setup.Policy]; f != nil && row.Class == ClassAll && f(row) != 1 {
				t.Errorf("%s: share of its own route %v, want 1", run.Setup.Label(), f(row))
			}
		}
	}
	curves := res.Curves()
	if len(curves) != 2 || len(curves[0].Points) != 2 || len(curves[1].Points) != 2 {
		t.Fatalf("curves %+v, want swarm and cascade with two points each", curves)
	}
	if _, ok := res.Dominance(); !ok {
		t.Error("no dominance figures from a sweep of both policies")
	}
	for _, c := range curves {
		for _, p := range c.Points {
			if p.CloudMaxShare != 0 || math.IsNaN(p.Confident) {
				t.Errorf("sweep point %+v: want cap 0 and a threshold", p.Setup)
			}
		}
	}
}
