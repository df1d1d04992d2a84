package eval

import (
	"math"
	"slices"
	"testing"
)

func pt(confident, acc, cloud float64) Point {
	return Point{Setup: Setup{Policy: "p", Confident: confident}, Accuracy: acc, CloudShare: cloud}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name                    string
		curve, baseline         []Point
		dominated, in, domInRng int
		all                     bool
		meanGain, meanSaved     float64 // NaN: not comparable
	}{
		{
			name:      "better everywhere",
			curve:     []Point{pt(0.5, 0.60, 0.10), pt(0.9, 0.80, 0.30)},
			baseline:  []Point{pt(0.5, 0.55, 0.20), pt(0.9, 0.75, 0.40)},
			dominated: 2, in: 1, domInRng: 1, all: true,
			meanGain:  (0.05 + 0.05) / 2, // 0.60 vs 0.55 at ≤ 0.20; 0.80 vs 0.75 at ≤ 0.40
			meanSaved: (0.5 + 0.25) / 2,  // 0.10 vs 0.20; 0.30 vs 0.40
		},
		{
			name:      "baseline reaches beyond the curve",
			curve:     []Point{pt(0.5, 0.60, 0.10), pt(0.9, 0.70, 0.25)},
			baseline:  []Point{pt(0.5, 0.58, 0.20), pt(0.9, 0.90, 0.70)},
			dominated: 1, in: 1, domInRng: 1,
			meanGain:  0.02, // only the point in range: 0.60 at 0.10 against 0.58 at 0.20
			meanSaved: 0.5,  // only 0.58 is matched, by 0.10 against 0.20
		},
		{
			name:      "curve needs more cloud than the baseline ever uses",
			curve:     []Point{pt(0.5, 0.90, 0.50)},
			baseline:  []Point{pt(0.5, 0.60, 0.10)},
			dominated: 0, in: 1, domInRng: 0,
			meanGain:  math.NaN(),
			meanSaved: -4, // 0.50 against 0.10: five times the calls
		},
		{
			name:      "equal points dominate each other",
			curve:     []Point{pt(0.7, 0.70, 0.20)},
			baseline:  []Point{pt(0.7, 0.70, 0.20)},
			dominated: 1, in: 1, domInRng: 1, all: true,
			meanGain: 0, meanSaved: 0,
		},
		{
			name:      "baseline without cloud calls",
			curve:     []Point{pt(0.7, 0.70, 0.00)},
			baseline:  []Point{pt(0.7, 0.50, 0.00)},
			dominated: 1, in: 1, domInRng: 1, all: true,
			meanGain: 0.2, meanSaved: math.NaN(),
		},
		{
			name:     "empty baseline",
			curve:    []Point{pt(0.7, 0.70, 0.20)},
			meanGain: math.NaN(), meanSaved: math.NaN(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compare(tt.curve, tt.baseline)
			if d.Dominated != tt.dominated || d.InRange != tt.in || d.DominatedInRange != tt.domInRng || d.All() != tt.all {
				t.Errorf("dominated %d, in range %d/%d, all %v; want %d, %d/%d, %v", d.Dominated, d.DominatedInRange,
					d.InRange, d.All(), tt.dominated, tt.domInRng, tt.in, tt.all)
			}
			if !near(d.MeanGain, tt.meanGain) || !near(d.MeanSaved, tt.meanSaved) {
				t.Errorf("mean gain %v, saved %v; want %v, %v", d.MeanGain, d.MeanSaved, tt.meanGain, tt.meanSaved)
			}
			if len(d.Matches) != len(tt.baseline) {
				t.Errorf("%d matches for %d baseline points", len(d.Matches), len(tt.baseline))
			}
		})
	}
}

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) < 1e-9
}

func TestFrontier(t *testing.T) {
	tests := []struct {
		name string
		in   []Point
		want []Point
	}{
		{"empty", nil, nil},
		{"already a frontier", []Point{pt(0.5, 0.6, 0.1), pt(0.9, 0.8, 0.3)}, []Point{pt(0.5, 0.6, 0.1), pt(0.9, 0.8, 0.3)}},
		{"a costlier, worse point drops", []Point{pt(0.5, 0.6, 0.1), pt(0.7, 0.55, 0.2), pt(0.9, 0.8, 0.3)},
			[]Point{pt(0.5, 0.6, 0.1), pt(0.9, 0.8, 0.3)}},
		{"same share keeps the better", []Point{pt(0.5, 0.6, 0.1), pt(0.6, 0.65, 0.1)}, []Point{pt(0.6, 0.65, 0.1)}},
		{"equal accuracy keeps the cheaper", []Point{pt(0.9, 0.7, 0.3), pt(0.5, 0.7, 0.2)}, []Point{pt(0.5, 0.7, 0.2)}},
		{"unsorted input", []Point{pt(0.9, 0.8, 0.3), pt(0.3, 0.5, 0.05)}, []Point{pt(0.3, 0.5, 0.05), pt(0.9, 0.8, 0.3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Frontier(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Frontier = %+v, want %+v", got, tt.want)
			}
		})
	}
}
