package eval

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"runtime"
	"strings"
	"time"
)

// ScaleSeries is a scale run per swarm size, smallest first. A size that
// failed ends the series: Failed names it and Err says why, and the
// smaller sizes' reports stand.
type ScaleSeries struct {
	Reports []ScaleReport
	Failed  int
	Err     error
}

// RunScales runs RunScale at each size in turn (spec's Nodes is ignored),
// one swarm at a time, and stops at the first size that fails.
func RunScales(ctx context.Context, sizes []int, spec ScaleSpec) (ScaleSeries, error) {
	var s ScaleSeries
	if len(sizes) == 0 {
		return s, errors.New("scale series: no sizes")
	}
	for _, n := range sizes {
		spec.Nodes = n
		rep, err := RunScale(ctx, spec)
		if err != nil {
			if ctx.Err() != nil {
				return s, fmt.Errorf("scale series at %d nodes: %w", n, err)
			}
			s.Failed, s.Err = n, err
			break
		}
		s.Reports = append(s.Reports, rep)
		rep.phase("%d nodes done", n)
		runtime.GC() // the next swarm starts from the memory this one held
	}
	return s, nil
}

// WriteMarkdown writes one row per size, then each size's full report.
func (s ScaleSeries) WriteMarkdown(w io.Writer) error {
	if len(s.Reports) == 0 && s.Err == nil {
		return errors.New("write scale series: empty")
	}
	var b strings.Builder
	b.WriteString("| nodes | converge | new record at every node | providers found / declared | DHT by id p50 | round wall p50 / p95 ms | open → tally p50 ms | round messages validated | asks | CPU per round | heap per node |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range s.Reports {
		fmt.Fprintf(&b, "| %d | %v | %v | %d / %d (%.1f%%) | %s ms | %s / %s | %s | %d | %d | %s ms | %.2f MiB |\n",
			r.Spec.Nodes, r.Converge.Round(100*time.Millisecond), r.JoinToAll.Round(time.Millisecond),
			r.ProvidersFound, r.ProvidersDeclared, 100*float64(r.ProvidersFound)/float64(max(1, r.ProvidersDeclared)),
			fmtMS(r.LookupPeer.P50), fmtMS(r.RoundQuery.P50), fmtMS(r.RoundQuery.P95), fmtMS(r.RoundVote.P50),
			r.Messages, r.Asks, fmtMS(r.RoundCPU), mib(r.HeapPerNode()))
	}
	if s.Err != nil {
		fmt.Fprintf(&b, "\n%d nodes: not measured: %v\n", s.Failed, s.Err)
	}
	for _, r := range s.Reports {
		b.WriteString("\n")
		if err := r.WriteMarkdown(&b); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// scaleLines are the per-round costs the plot draws, each as a multiple of
// its value at the smallest size: flat lines are what issue 15 asks for.
var scaleLines = []struct {
	name string
	of   func(ScaleReport) float64
}{
	{"round messages", func(r ScaleReport) float64 { return float64(r.Messages) }},
	{"round wall p50", func(r ScaleReport) float64 { return float64(r.RoundQuery.P50) }},
	{"CPU per round", func(r ScaleReport) float64 { return float64(r.RoundCPU) }},
	{"record to all", func(r ScaleReport) float64 { return float64(r.JoinToAll) }},
	{"heap per node", func(r ScaleReport) float64 { return float64(r.HeapPerNode()) }},
}

// WriteSVG plots each per-round cost against the swarm size, relative to
// the smallest size, with the 1.5× bar of issue 15.
func (s ScaleSeries) WriteSVG(w io.Writer) error {
	if len(s.Reports) < 2 {
		return errors.New("scale plot: needs two sizes")
	}
	base := s.Reports[0]
	nMax, yMax := float64(s.Reports[len(s.Reports)-1].Spec.Nodes), 2.0
	ratio := func(i int, r ScaleReport) float64 {
		if b := scaleLines[i].of(base); b > 0 {
			return scaleLines[i].of(r) / b
		}
		return 0
	}
	for i := range scaleLines {
		for _, r := range s.Reports {
			yMax = max(yMax, ratio(i, r))
		}
	}
	plotW, plotH := float64(svgW-marginL-marginR), float64(svgH-marginT-marginB)
	x := func(n float64) float64 { return marginL + n/nMax*plotW }
	y := func(v float64) float64 { return marginT + (1-v/yMax)*plotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="15" font-weight="bold">Cost against swarm size, × the %d-node value</text>`+"\n",
		marginL, base.Spec.Nodes)
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="4 3"/><text x="%.1f" y="%.1f" fill="#666">1.5×</text>`+"\n",
		marginL, y(1.5), x(nMax), y(1.5), x(nMax)+4, y(1.5)+4)
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/><line x1="%d" y1="%d" x2="%d" y2="%.1f" stroke="black"/>`+"\n",
		marginL, y(0), x(nMax), y(0), marginL, marginT, marginL, y(0))
	for _, r := range s.Reports {
		n := float64(r.Spec.Nodes)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", x(n), y(0)+18, r.Spec.Nodes)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">nodes</text>`+"\n", x(nMax/2), svgH-15)
	for v := 0.0; v <= yMax; v += max(1, float64(int(yMax/8))) {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%g×</text>`+"\n", marginL-6, y(v)+4, v)
	}
	for i, l := range scaleLines {
		col := palette[i%len(palette)]
		var pts []string
		for _, r := range s.Reports {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(r.Spec.Nodes)), y(ratio(i, r))))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), col)
		ly := marginT + 20*i
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d">%s</text>`+"\n",
			svgW-marginR+10, ly, svgW-marginR+30, ly, col, svgW-marginR+35, ly+4, html.EscapeString(l.name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
