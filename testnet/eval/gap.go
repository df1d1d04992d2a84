package eval

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/swarmllm/swarmllm/router"
)

// The routing-paper measures (RouteLLM, Ong et al. 2024): a router between a
// weak model (here local-only) and a strong one (cloud-only) traces accuracy
// against the share of queries sent to the strong one as its threshold
// moves. APGR is the area under that curve normalised so the weak model
// scores 0 and the strong one 1; CPT(x) is the strong-model share the
// router needs to recover a fraction x of the gap between them.
//
// The curve is the measured points in order of cloud share, joined by
// straight lines (RouteLLM integrates them with the trapezoid rule). RouteLLM's
// thresholds run to both ends by construction; a sweep here may not (safety
// queries always go up, so the swarm never sends fewer than their share), so
// the curve is closed with the two models themselves: (0, weak) unless a
// point was measured at no cloud share and (1, strong) unless one was
// measured at all of it. For the swarm the left end is conservative, since
// its peers could answer better than the local model alone with no cloud.

// Gap is the weak and strong accuracies a router's curve is normalised by.
type Gap struct {
	Weak, Strong float64 // accuracy of local-only and of cloud-only
}

// Recovered is the share of the gap that accuracy acc recovers.
func (g Gap) Recovered(acc float64) float64 { return (acc - g.Weak) / (g.Strong - g.Weak) }

// Target is the accuracy that recovers fraction f of the gap.
func (g Gap) Target(f float64) float64 { return g.Weak + f*(g.Strong-g.Weak) }

// closed is the curve APGR and CPT read: points by cloud share, points of
// equal share merged into their mean accuracy, closed at both ends.
func (g Gap) closed(ps []Point) []Point {
	s := sortedByShare(ps)
	var out []Point
	for i := 0; i < len(s); {
		j, sum := i, 0.0
		for ; j < len(s) && s[j].CloudShare == s[i].CloudShare; j++ {
			sum += s[j].Accuracy
		}
		out = append(out, Point{CloudShare: s[i].CloudShare, Accuracy: sum / float64(j-i)})
		i = j
	}
	if len(out) == 0 || out[0].CloudShare > 0 {
		out = slices.Insert(out, 0, Point{CloudShare: 0, Accuracy: g.Weak})
	}
	if out[len(out)-1].CloudShare < 1 {
		out = append(out, Point{CloudShare: 1, Accuracy: g.Strong})
	}
	return out
}

// APGR is the average performance gap recovered by a router whose sweep
// measured ps: the area under the closed curve less the weak model's, over
// the strong model's less the weak model's. NaN when the two models are
// equally accurate (there is no gap to recover).
func (g Gap) APGR(ps []Point) float64 {
	if g.Strong == g.Weak {
		return math.NaN()
	}
	c := g.closed(ps)
	area := 0.0
	for i := 1; i < len(c); i++ {
		area += (c[i].CloudShare - c[i-1].CloudShare) * (c[i].Accuracy + c[i-1].Accuracy) / 2
	}
	return g.Recovered(area)
}

// CPT is the call-performance threshold: the least cloud share at which the
// closed curve reaches the accuracy that recovers fraction f of the gap,
// interpolating along the segment that first reaches it. NaN when the curve
// never does or there is no gap.
func (g Gap) CPT(ps []Point, f float64) float64 {
	if g.Strong == g.Weak {
		return math.NaN()
	}
	target := g.Target(f)
	c := g.closed(ps)
	if c[0].Accuracy >= target {
		return c[0].CloudShare
	}
	for i := 1; i < len(c); i++ {
		a, b := c[i-1], c[i]
		if b.Accuracy >= target {
			return a.CloudShare + (target-a.Accuracy)/(b.Accuracy-a.Accuracy)*(b.CloudShare-a.CloudShare)
		}
	}
	return math.NaN()
}

// RandomRouter is the router that sends each query to the cloud with
// probability p, scored from the measured answers: its expected accuracy at
// p is the mean over the queries of (1−p)·[local answer right] +
// p·[cloud answer right], where local and cloud are the same queries run
// local-only and cloud-only (matched by QID; a query missing from either run
// is left out). One point per share in shares.
func RandomRouter(local, cloud []Result, shares []float64) []Point {
	cloudRight := make(map[string]bool, len(cloud))
	for _, r := range cloud {
		cloudRight[r.Item.QID] = r.Correct
	}
	var l, c, n float64
	for _, r := range local {
		cr, ok := cloudRight[r.Item.QID]
		if !ok {
			continue
		}
		n++
		if r.Correct {
			l++
		}
		if cr {
			c++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]Point, len(shares))
	for i, p := range shares {
		out[i] = Point{CloudShare: p, Accuracy: ((1-p)*l + p*c) / n}
	}
	return out
}

// RouterScore is one router's routing-paper figures.
type RouterScore struct {
	Name  string
	APGR  float64
	CPT50 float64 // cloud share to recover half the gap (NaN: never)
	CPT80 float64 // cloud share to recover 80 % of it
}

// Score measures a router's sweep against g.
func (g Gap) Score(name string, ps []Point) RouterScore {
	return RouterScore{Name: name, APGR: g.APGR(ps), CPT50: g.CPT(ps, 0.5), CPT80: g.CPT(ps, 0.8)}
}

// randomShares are the points the random router is scored at.
var randomShares = []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}

// RandomName names the random router in tables.
const RandomName = "random"

// Routing scores the sweep's routers and a random router against the gap
// between the table's uncapped local-only and cloud-only runs, in
// SweepPolicies order then random; ok is false without both runs.
func (r Results) Routing() (g Gap, scores []RouterScore, ok bool) {
	local, cloud := r.models()
	if local == nil || cloud == nil {
		return Gap{}, nil, false
	}
	g = Gap{Weak: PointOf(*local).Accuracy, Strong: PointOf(*cloud).Accuracy}
	for _, c := range r.Curves() {
		scores = append(scores, g.Score(c.Name, c.Points))
	}
	scores = append(scores, g.Score(RandomName, RandomRouter(local.Results, cloud.Results, randomShares)))
	return g, scores, true
}

// models are the table's uncapped local-only and cloud-only runs (nil when
// missing): the weak and the strong model.
func (r Results) models() (local, cloud *Run) {
	for i, run := range r.Table {
		if !(run.Setup.CloudMaxShare == 0 || math.IsNaN(run.Setup.CloudMaxShare)) {
			continue
		}
		switch run.Setup.Policy {
		case string(router.PolicyLocalOnly):
			local = &r.Table[i]
		case string(router.PolicyCloudOnly):
			cloud = &r.Table[i]
		}
	}
	return local, cloud
}

// writeRouting states the routing-paper figures of r's sweep and of the
// other profile sets', for each that has the two models to normalise by,
// with the other sets' sweeps.
func writeRouting(b *strings.Builder, r Results) {
	var rows strings.Builder
	for _, set := range append([]Results{r}, r.Others...) {
		g, scores, ok := set.Routing()
		if !ok {
			continue
		}
		name := cmp.Or(set.Set, "these nodes")
		for _, s := range scores {
			fmt.Fprintf(&rows, "| %s | %s | %s | %s | %.3f | %s | %s |\n", name, pct(g.Weak), pct(g.Strong), s.Name, s.APGR,
				pctOrDash(s.CPT50), pctOrDash(s.CPT80))
		}
	}
	if rows.Len() == 0 {
		return
	}
	b.WriteString("## Routing measured like routers\n\n")
	b.WriteString("APGR is the area under the accuracy–cloud-share curve, normalised so local-only is 0 and cloud-only is 1; " +
		"CPT(x) is the cloud share needed to recover x of the gap between them (RouteLLM's measures). " +
		"Each curve is the sweep's points closed at (0, local-only) and (100%, cloud-only); the random router sends each query " +
		"to the cloud with probability p, scored from the local-only and cloud-only answers. " +
		"The noisy profile set gives the same SLMs logprobs that separate right from wrong answers far less well.\n\n")
	b.WriteString("| profile | local-only | cloud-only | router | APGR | CPT(50%) | CPT(80%) |\n|---|---:|---:|---|---:|---:|---:|\n")
	b.WriteString(rows.String())
	b.WriteString("\n")
	var cal strings.Builder
	for _, set := range append([]Results{r}, r.Others...) {
		if c, ok := set.Calibration(); ok {
			fmt.Fprintf(&cal, "| %s | %d | %.3f | %.3f |\n", cmp.Or(set.Set, "these nodes"), c.N, c.Raw, c.Calibrated)
		}
	}
	if cal.Len() > 0 {
		b.WriteString("Calibration of the local models' confidence on the local-only run: expected calibration error (10 bins) of the raw " +
			"confidence and of the confidence calibrated per model and domain (router.Calibration), cross-fitted on alternate queries " +
			"and fitted only on what a node can check (does the local answer agree with the cloud FM's?).\n\n")
		b.WriteString("| profile | answers | ECE raw | ECE calibrated |\n|---|---:|---:|---:|\n")
		b.WriteString(cal.String())
		b.WriteString("\n")
	}
	for _, o := range r.Others {
		if len(o.Sweep) == 0 {
			continue
		}
		fmt.Fprintf(b, "Sweep on the %s profile set:\n\n", o.Set)
		writeSweep(b, o)
	}
}
