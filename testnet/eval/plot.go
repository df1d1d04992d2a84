package eval

import (
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
)

// Curve is a named line of points on the cost–quality plane (a threshold sweep).
type Curve struct {
	Name   string
	Points []Point
}

// Plot is a cost–quality chart: accuracy against cloud share, per curve its
// points and a line along its frontier (labelled with the confidence
// thresholds), and a marker per single baseline run.
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
		front := Frontier(c.Points)
		var path []string
		for _, pt := range front {
			path = append(path, fmt.Sprintf("%.1f,%.1f", x(pt.CloudShare), y(pt.Accuracy)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(path, " "))
		for _, pt := range c.Points {
			if !slices.Contains(front, pt) {
				b.WriteString(ring(x(pt.CloudShare), y(pt.Accuracy), color))
			}
		}
		lastX, lastY := math.Inf(-1), math.Inf(-1)
		for _, pt := range front {
			cx, cy := x(pt.CloudShare), y(pt.Accuracy)
			b.WriteString(circle(cx, cy, color))
			// Label the thresholds: the first curve's to the left of its
			// points, the others' below, skipping any that would crowd the
			// last label.
			if math.Hypot(cx-lastX, cy-lastY) < 16 {
				continue
			}
			lastX, lastY = cx, cy
			tx, ty, anchor := cx-7, cy+4, "end"
			if i%2 == 1 {
				tx, ty, anchor = cx, cy+16, "middle"
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" fill="%s" text-anchor="%s">%s</text>`+"\n",
				tx, ty, color, anchor, fmtFloat(pt.Confident))
		}
		legend(color, c.Name, func(cx, cy float64) string { return circle(cx, cy, color) })
	}
	for i, pt := range p.Baselines {
		color := palette[(len(p.Curves)+i)%len(palette)]
		b.WriteString(square(x(pt.CloudShare), y(pt.Accuracy), color))
		anchor, dx := "start", 8.0
		if pt.CloudShare > 0.8 { // near the right edge: label to the left
			anchor, dx = "end", -8
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="%s" text-anchor="%s">%s</text>`+"\n",
			x(pt.CloudShare)+dx, y(pt.Accuracy)+14, color, anchor, html.EscapeString(pt.Policy))
		legend(color, pt.Policy, func(cx, cy float64) string { return square(cx, cy, color) })
	}
	if len(p.Curves) > 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" fill="#555">labels: --confident</text>`+"\n", svgW-marginR+12, legendY+4)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" fill="#555">rings: off the frontier</text>`+"\n", svgW-marginR+12, legendY+18)
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

// ring marks a swept point that some other point of its curve beats.
func ring(cx, cy float64, color string) string {
	return fmt.Sprintf(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="white" stroke="%s" stroke-width="1.5"/>`+"\n", cx, cy, color)
}

func square(cx, cy float64, color string) string {
	return fmt.Sprintf(`<rect x="%.1f" y="%.1f" width="9" height="9" fill="%s"/>`+"\n", cx-4.5, cy-4.5, color)
}
