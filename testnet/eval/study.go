package eval

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// SweepPolicies are the policies whose confidence threshold a study sweeps:
// the product and the baseline it must beat.
var SweepPolicies = []string{string(router.PolicySwarm), string(router.PolicyCascade)}

// Study is a full comparison: a policy table (each policy under each cloud
// cap, at one confidence threshold) and a sweep of the threshold for
// SweepPolicies.
type Study struct {
	Policies  []string
	Confident float64   // the table's threshold (NaN = the nodes' default)
	Caps      []float64 // the table's cloud caps (NaN = the nodes' default)
	Sweep     []float64 // thresholds for the sweep; empty = none
	SweepCap  float64   // the sweep's cloud cap (0 = none, so the curve shows the policy, not the budget)
	// Open are policies also run on an open swarm (at the table's
	// threshold and caps), reported beside the table, which runs private
	// swarms.
	Open []string
	// OtherSets are simulated profile sets (sim.ProfileSets) the routing is
	// also measured on: the sweep and the two models it is normalised by.
	OtherSets []string
}

// Results are a study's runs.
type Results struct {
	Set   string // the simulated profile set ("" = nodes started elsewhere)
	Table []Run
	Sweep []Run
	Open  []Run // Study.Open's runs
	// Others are the routing runs on Study.OtherSets, each with the uncapped
	// local-only and cloud-only runs as its Table.
	Others []Results
}

// RunStudy runs st on fresh in-process swarms. The table runs at
// l.LatencyScale so its latencies mean something; the sweep runs at 0,
// since only accuracy and cloud share are plotted (the simulators answer
// the same at any latency scale).
func (l Local) RunStudy(ctx context.Context, st Study, items []workload.Item) (Results, error) {
	res := Results{Set: cmp.Or(l.ProfileSet, sim.ProfileSetShipped)}
	for _, c := range st.Caps {
		for _, p := range st.Policies {
			run, err := l.Run(ctx, Setup{Policy: p, Confident: st.Confident, CloudMaxShare: c}, items)
			if err != nil {
				return res, err
			}
			res.Table = append(res.Table, run)
		}
		for _, p := range st.Open {
			run, err := l.Run(ctx, Setup{Policy: p, Confident: st.Confident, CloudMaxShare: c, Open: true}, items)
			if err != nil {
				return res, err
			}
			res.Open = append(res.Open, run)
		}
	}
	fast := l
	fast.LatencyScale = 0
	var err error
	if res.Sweep, err = fast.sweep(ctx, st, items); err != nil {
		return res, err
	}
	for _, set := range st.OtherSets {
		other := fast
		other.ProfileSet = set
		o := Results{Set: set}
		for _, p := range []string{string(router.PolicyLocalOnly), string(router.PolicyCloudOnly)} {
			run, err := other.Run(ctx, Setup{Policy: p, Confident: st.Confident, CloudMaxShare: 0}, items)
			if err != nil {
				return res, err
			}
			o.Table = append(o.Table, run)
		}
		if o.Sweep, err = other.sweep(ctx, st, items); err != nil {
			return res, err
		}
		res.Others = append(res.Others, o)
	}
	return res, nil
}

// sweep runs st's thresholds for SweepPolicies.
func (l Local) sweep(ctx context.Context, st Study, items []workload.Item) ([]Run, error) {
	var runs []Run
	for _, p := range SweepPolicies {
		for _, t := range st.Sweep {
			run, err := l.Run(ctx, Setup{Policy: p, Confident: t, CloudMaxShare: st.SweepCap}, items)
			if err != nil {
				return runs, err
			}
			runs = append(runs, run)
		}
	}
	return runs, nil
}

// Curves are the sweep's points, one curve per policy, in SweepPolicies order.
func (r Results) Curves() []Curve {
	var out []Curve
	for _, p := range SweepPolicies {
		c := Curve{Name: p}
		for _, run := range r.Sweep {
			if run.Setup.Policy == p {
				c.Points = append(c.Points, PointOf(run))
			}
		}
		if len(c.Points) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// Dominance compares the swarm's sweep with the cascade's; ok is false
// without both.
func (r Results) Dominance() (d Dominance, ok bool) {
	curves := map[string][]Point{}
	for _, c := range r.Curves() {
		curves[c.Name] = c.Points
	}
	s, c := curves[string(router.PolicySwarm)], curves[string(router.PolicyCascade)]
	if len(s) == 0 || len(c) == 0 {
		return Dominance{}, false
	}
	return Compare(s, c), true
}

// Files a report directory holds.
const (
	FileReport   = "report.md"
	FilePolicies = "policies.csv"
	FileResults  = "results.csv"
	FileSweep    = "sweep.csv"
	FilePlot     = "curve.svg"
	FileOpen     = "open.csv"
)

// WriteReport writes r into dir: report.md (the tables, the dominance
// figures and a link to the plot, with the command in about), policies.csv
// (the table), results.csv (every query), and with a sweep sweep.csv and
// curve.svg, and with open-swarm runs open.csv (their table).
func WriteReport(dir, about string, r Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	var table, sweep, open []Row
	for _, run := range r.Table {
		table = append(table, Summarize(run)...)
	}
	for _, run := range r.Open {
		open = append(open, Summarize(run)...)
	}
	for _, run := range r.Sweep {
		sweep = append(sweep, Summarize(run)...)
	}
	var md strings.Builder
	md.WriteString("# swarmllm evaluation\n\n")
	if about != "" {
		md.WriteString(about + "\n\n")
	}
	if len(table) > 0 {
		md.WriteString("## Policies\n\n")
		if err := WriteMarkdown(&md, table); err != nil {
			return err
		}
		md.WriteString("\n")
		writeHeadToHead(&md, table)
	}
	if len(open) > 0 {
		md.WriteString("## Open swarm\n\n")
		md.WriteString("The table above runs private swarms (one swarm key, as the compose testnets do): peers are members, " +
			"trusted at 0.5 until checked, and see questions as asked. Here the same policies on an open swarm, which " +
			"anyone may join: peers start at trust 0.2 and get personal data redacted (--peer-privacy redact).\n\n")
		if err := WriteMarkdown(&md, open); err != nil {
			return err
		}
		md.WriteString("\n")
	}
	if len(r.Sweep) > 0 {
		md.WriteString("## Confidence sweep\n\n")
		fmt.Fprintf(&md, "![accuracy against cloud share](%s)\n\n", FilePlot)
		writeSweep(&md, r)
		if d, ok := r.Dominance(); ok {
			writeDominance(&md, d)
		}
		writeRouting(&md, r)
	}
	files := map[string]func(f *os.File) error{
		FileReport:   func(f *os.File) error { _, err := f.WriteString(md.String()); return err },
		FilePolicies: func(f *os.File) error { return WriteCSV(f, table) },
		FileResults:  func(f *os.File) error { return WriteResultsCSV(f, append(append([]Run(nil), r.Table...), r.Sweep...)) },
	}
	if len(open) > 0 {
		files[FileOpen] = func(f *os.File) error { return WriteCSV(f, open) }
	}
	if len(r.Sweep) > 0 {
		files[FileSweep] = func(f *os.File) error { return WriteCSV(f, sweep) }
		files[FilePlot] = func(f *os.File) error { return WriteSVG(f, r.plot()) }
	}
	for name, write := range files {
		if err := writeFile(filepath.Join(dir, name), write); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// plot is the sweep's curves with the table's other policies (uncapped
// runs, or the first cap) as single markers.
func (r Results) plot() Plot {
	p := Plot{Title: "Accuracy against cloud share on the shipped workload (simulated models)", Curves: r.Curves()}
	var firstCap float64 = math.NaN()
	for _, run := range r.Table {
		if math.IsNaN(firstCap) {
			firstCap = run.Setup.CloudMaxShare
		}
		swept := false
		for _, sp := range SweepPolicies {
			swept = swept || run.Setup.Policy == sp
		}
		if !swept && (run.Setup.CloudMaxShare == firstCap || math.IsNaN(firstCap)) {
			p.Baselines = append(p.Baselines, PointOf(run))
		}
	}
	return p
}

// writeSweep writes the sweep's points as a table.
func writeSweep(b *strings.Builder, r Results) {
	b.WriteString("| policy | confident | accuracy | hard accuracy | cloud share |\n|---|---:|---:|---:|---:|\n")
	for _, c := range r.Curves() {
		for _, p := range c.Points {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", p.Policy, fmtFloat(p.Confident), pct(p.Accuracy),
				pct(p.HardAccuracy), pct(p.CloudShare))
		}
	}
	b.WriteString("\n")
}

// writeHeadToHead states the comparisons the study exists for, from the
// table's rows: swarm against cascade and local-only, per cap.
func writeHeadToHead(b *strings.Builder, rows []Row) {
	type key struct {
		policy, class string
		cap           float64
	}
	at := map[key]Row{}
	var caps []float64
	for _, r := range rows {
		k := key{r.Policy, r.Class, r.CloudMaxShare}
		at[k] = r
		if r.Class == ClassAll && r.Policy == string(router.PolicySwarm) {
			caps = append(caps, r.CloudMaxShare)
		}
	}
	for _, c := range caps {
		s := at[key{string(router.PolicySwarm), ClassAll, c}]
		fmt.Fprintf(b, "- cloud cap %s: swarm answers %s of all queries right with %s sent to the cloud.", fmtCap(c),
			pct(s.Accuracy()), pct(s.Share("cloud")))
		if casc, ok := at[key{string(router.PolicyCascade), ClassAll, c}]; ok {
			fmt.Fprintf(b, " Cascade: %s right with %s to the cloud (swarm: %+.1f points of accuracy, %s cloud calls).",
				pct(casc.Accuracy()), pct(casc.Share("cloud")), 100*(s.Accuracy()-casc.Accuracy()),
				relative(s.Share("cloud"), casc.Share("cloud")))
		}
		if sh, ok := at[key{string(router.PolicySwarm), "hard", c}]; ok {
			if lh, ok := at[key{string(router.PolicyLocalOnly), "hard", c}]; ok {
				fmt.Fprintf(b, " Hard questions: swarm %s, local-only %s (%+.1f points).", pct(sh.Accuracy()),
					pct(lh.Accuracy()), 100*(sh.Accuracy()-lh.Accuracy()))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// relative says how a's count compares with b's: "40% fewer", "10% more", "as many".
func relative(a, b float64) string {
	switch {
	case a == b:
		return "as many"
	case b == 0:
		return "more"
	case a < b:
		return fmt.Sprintf("%.0f%% fewer", 100*(1-a/b))
	}
	return fmt.Sprintf("%.0f%% more", 100*(a/b-1))
}

func writeDominance(b *strings.Builder, d Dominance) {
	verdict := "does not dominate cascade"
	switch {
	case d.All():
		verdict = "dominates cascade"
	case d.InRange > 0 && d.DominatedInRange == d.InRange:
		verdict = "dominates cascade wherever it competes"
	}
	fmt.Fprintf(b, "**Swarm %s**: for %d of %d cascade thresholds some swarm threshold is at least as accurate "+
		"with no more cloud calls (%d of the %d that use no more cloud than the swarm's most cloud-hungry threshold).",
		verdict, d.Dominated, len(d.Matches), d.DominatedInRange, d.InRange)
	var not []string
	for _, m := range d.Matches {
		if !m.Dominated() {
			not = append(not, fmt.Sprintf("%s (%s at %s cloud)", fmtFloat(m.Baseline.Confident), pct(m.Baseline.Accuracy),
				pct(m.Baseline.CloudShare)))
		}
	}
	if len(not) > 0 {
		fmt.Fprintf(b, " Not dominated: cascade confident %s.", strings.Join(not, ", "))
	}
	if !math.IsNaN(d.MeanGain) {
		fmt.Fprintf(b, " Against those %d, at equal or lower cloud share, the swarm is %+.1f points more accurate on average (least %+.1f).",
			d.InRange, 100*d.MeanGain, 100*d.MinGain)
	}
	if !math.IsNaN(d.MeanSaved) {
		fmt.Fprintf(b, " Against every cascade threshold whose accuracy the swarm reaches, it makes %.0f%% fewer cloud calls on average (least %.0f%%).",
			100*d.MeanSaved, 100*d.MinSaved)
	}
	b.WriteString("\n\n| cascade confident | cascade accuracy | cascade cloud | swarm accuracy at ≤ that cloud | swarm cloud at ≥ that accuracy |\n|---:|---:|---:|---:|---:|\n")
	for _, m := range d.Matches {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", fmtFloat(m.Baseline.Confident), pct(m.Baseline.Accuracy),
			pct(m.Baseline.CloudShare), pctOrDash(m.Accuracy), pctOrDash(m.CloudShare))
	}
	b.WriteString("\n")
}

func pctOrDash(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return pct(v)
}
