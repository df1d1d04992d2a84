package eval

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Curve is a named line of points on the cost–quality plane (a threshold sweep).
type Curve struct {
	Name   string
	Points []Point
}

// Plot is a cost–quality chart: accuracy against cloud share, a line per
// curve (each point labelled with its confidence threshold) and a marker
// per single baseline run.
type Plot struct {
	Title     string
	Curves    []Curve
	Baselines []Point // labelled by policy
}

// SVG geometry: the canvas and the plotting area inside the margins.
const (
	svgW, svgH                         = 760, 500
	marginL, marginR, marginT, marginB = 70, 170, 50, 60
)

// palette colours curves and baselines in order; 8 is enough for any plot
// this package draws.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"}

// WriteSVG draws p as a standalone SVG document (no external resources).
// The x axis runs over the cloud share 0…100 %; the y axis from just under
// the least accuracy shown to 100 %.
func WriteSVG(w io.Writer, p Plot) error {
	lo := 1.0
	for _, pt := range p.allPoints() {
		lo = min(lo, pt.Accuracy)
	}
	yMin := math.Max(0, math.Floor(lo*10-0.5)/10) // a tenth below, at least 0
	if yMin >= 1 {
		yMin = 0.9
	}
	plotW, plotH := float64(svgW-marginL-marginR), float64(svgH-marginT-marginB)
	x := func(share float64) float64 { return marginL + share*plotW }
	y := func(acc float64) float64 { return marginT + (1-(acc-yMin)/(1-yMin))*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="15" font-weight="bold">%s</text>`+"\n", marginL, html.EscapeString(p.Title))

	// grid and ticks every 10 % on x, every 5 or 10 % on y
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>`+"\n", x(v), marginT, x(v), svgH-marginB)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d%%</text>`+"\n", x(v), svgH-marginB+18, i*10)
	}
	step := 0.1
	if 1-yMin <= 0.5 {
		step = 0.05
	}
	for v := yMin; v <= 1+1e-9; v += step {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`+"\n", marginL, y(v), svgW-marginR, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.0f%%</text>`+"\n", marginL-8, y(v)+4, 100*v)
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", marginL, marginT, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">share of queries sent to the cloud FM</text>`+"\n",
		marginL+plotW/2, svgH-15)
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">accuracy (all classes)</text>`+"\n",
		marginT+plotH/2)

	legendY := marginT + 10
	legend := func(color, name string, marker func(cx, cy float64) string) {
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`, svgW-marginR+12, legendY,
			svgW-marginR+36, legendY, color)
		b.WriteString(marker(float64(svgW-marginR+24), float64(legendY)))
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", svgW-marginR+42, legendY+4, html.EscapeString(name))
		legendY += 20
	}

	for i, c := range p.Curves {
		color := palette[i%len(palette)]
		pts := sortedByShare(c.Points)
		var path []string
		for _, pt := range pts {
			path = append(path, fmt.Sprintf("%.1f,%.1f", x(pt.CloudShare), y(pt.Accuracy)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(path, " "))
		for j, pt := range pts {
			b.WriteString(circle(x(pt.CloudShare), y(pt.Accuracy), color))
			// Label every other threshold, alternating sides, so neighbours do not overlap.
			if j%2 == 0 || j == len(pts)-1 {
				dy := -8.0
				if i%2 == 1 {
					dy = 16
				}
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" fill="%s" text-anchor="middle">%s</text>`+"\n",
					x(pt.CloudShare), y(pt.Accuracy)+dy, color, fmtFloat(pt.Confident))
			}
		}
		legend(color, c.Name+" (label: --confident)", func(cx, cy float64) string { return circle(cx, cy, color) })
	}
	for i, pt := range p.Baselines {
		color := palette[(len(p.Curves)+i)%len(palette)]
		b.WriteString(square(x(pt.CloudShare), y(pt.Accuracy), color))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="%s">%s</text>`+"\n",
			x(pt.CloudShare)+8, y(pt.Accuracy)-6, color, html.EscapeString(pt.Policy))
		legend(color, pt.Label(), func(cx, cy float64) string { return square(cx, cy, color) })
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (p Plot) allPoints() []Point {
	pts := append([]Point(nil), p.Baselines...)
	for _, c := range p.Curves {
		pts = append(pts, c.Points...)
	}
	return pts
}

func circle(cx, cy float64, color string) string {
	return fmt.Sprintf(`<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`+"\n", cx, cy, color)
}

func square(cx, cy float64, color string) string {
	return fmt.Sprintf(`<rect x="%.1f" y="%.1f" width="9" height="9" fill="%s"/>`+"\n", cx-4.5, cy-4.5, color)
}
