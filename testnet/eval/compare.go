package eval

import (
	"math"
	"slices"
)

// Match sets one baseline point against a curve.
type Match struct {
	Baseline Point
	// Accuracy is the curve's best accuracy at no more cloud share than the
	// baseline point's; NaN when no point of the curve is that frugal.
	Accuracy float64
	// CloudShare is the curve's least cloud share at no less accuracy than
	// the baseline point's; NaN when no point of the curve is that accurate.
	CloudShare float64
}

// AccuracyGain is the curve's accuracy minus the baseline's at equal cloud
// share (NaN when not comparable).
func (m Match) AccuracyGain() float64 { return m.Accuracy - m.Baseline.Accuracy }

// CloudSaved is the share of the baseline's cloud calls the curve does
// without at equal accuracy: 1 − curve share / baseline share (NaN when not
// comparable or the baseline made no cloud calls).
func (m Match) CloudSaved() float64 {
	if m.Baseline.CloudShare == 0 {
		return math.NaN()
	}
	return 1 - m.CloudShare/m.Baseline.CloudShare
}

// Dominated reports whether some point of the curve is at least as accurate
// with no more cloud share.
func (m Match) Dominated() bool { return m.AccuracyGain() >= 0 }

// Dominance compares a curve (e.g. the swarm's threshold sweep) with a
// baseline's (e.g. the cascade's). Only points actually measured count:
// no interpolation, since an operator picks one threshold, not a mix.
type Dominance struct {
	Matches []Match // one per baseline point, by cloud share
	// Dominated counts baseline points some curve point is at least as
	// accurate as, with no more cloud share.
	Dominated int
	// InRange counts baseline points that use no more cloud than the
	// curve's most cloud-hungry point (the range the curve offers);
	// DominatedInRange those of them dominated.
	InRange, DominatedInRange int
	// MeanGain and MinGain are the accuracy gains over the baseline points
	// in range (NaN if none): where an operator could pick either.
	MeanGain, MinGain float64
	// MeanSaved and MinSaved are the shares of cloud calls saved over the
	// baseline points the curve can match in accuracy (NaN if none).
	MeanSaved, MinSaved float64
}

// All reports whether the curve dominates every baseline point.
func (d Dominance) All() bool { return len(d.Matches) > 0 && d.Dominated == len(d.Matches) }

// Compare sets every baseline point against the curve.
func Compare(curve, baseline []Point) Dominance {
	d := Dominance{MeanGain: math.NaN(), MinGain: math.NaN(), MeanSaved: math.NaN(), MinSaved: math.NaN()}
	var gains, saved []float64
	maxShare := math.Inf(-1)
	for _, c := range curve {
		maxShare = max(maxShare, c.CloudShare)
	}
	for _, b := range sortedByShare(baseline) {
		m := Match{Baseline: b, Accuracy: math.NaN(), CloudShare: math.NaN()}
		for _, c := range curve {
			if c.CloudShare <= b.CloudShare && !(c.Accuracy <= m.Accuracy) {
				m.Accuracy = c.Accuracy
			}
			if c.Accuracy >= b.Accuracy && !(c.CloudShare >= m.CloudShare) {
				m.CloudShare = c.CloudShare
			}
		}
		if m.Dominated() {
			d.Dominated++
		}
		if b.CloudShare <= maxShare {
			d.InRange++
			if m.Dominated() {
				d.DominatedInRange++
			}
			if g := m.AccuracyGain(); !math.IsNaN(g) {
				gains = append(gains, g)
			}
		}
		if s := m.CloudSaved(); !math.IsNaN(s) {
			saved = append(saved, s)
		}
		d.Matches = append(d.Matches, m)
	}
	if len(gains) > 0 {
		d.MeanGain, d.MinGain = mean(gains), slices.Min(gains)
	}
	if len(saved) > 0 {
		d.MeanSaved, d.MinSaved = mean(saved), slices.Min(saved)
	}
	return d
}

// Frontier is the points no other point beats — more accurate at no more
// cloud share — ordered by cloud share: the curve an operator can pick from.
func Frontier(ps []Point) []Point {
	var out []Point
	for _, p := range sortedByShare(ps) {
		// Sorted by share, then accuracy: drop every earlier point this one
		// matches in share but beats in accuracy, then keep it if it beats
		// everything cheaper.
		for len(out) > 0 && out[len(out)-1].CloudShare == p.CloudShare {
			out = out[:len(out)-1]
		}
		if len(out) == 0 || p.Accuracy > out[len(out)-1].Accuracy {
			out = append(out, p)
		}
	}
	return out
}

func sortedByShare(ps []Point) []Point {
	s := slices.Clone(ps)
	slices.SortStableFunc(s, func(a, b Point) int {
		if a.CloudShare != b.CloudShare {
			return cmpFloat(a.CloudShare, b.CloudShare)
		}
		return cmpFloat(a.Accuracy, b.Accuracy)
	})
	return s
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
