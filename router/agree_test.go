package router

import (
	"math"
	"testing"
)

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Paris.", "paris"},
		{"  The   Pacific   Ocean ", "pacific ocean"},
		{"The answer is: 42", "42"},
		{"Final answer: B-cells", "b cells"},
		{"1,000,000", "1000000"},
		{"1,2,3", "1 2 3"},
		{"-3.5", "-3.5"},
		{"x-1", "x 1"},
		{"1/2", "1/2"},
		{"50%", "50%"},
		{"Four.", "4"},
		{"four legs", "four legs"},
		{"It isn’t", "it isn't"},
		{"\"O(log n)\"", "o log n"},
		{"Answer", "answer"},
		{"", ""},
		{"?!", ""},
		{"Café", "café"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := Normalize(tc.in); got != tc.want {
				t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestAgree(t *testing.T) {
	cases := []struct {
		name string
		a, b string
		want float64
	}{
		{"same after normalizing", "Paris", "paris.", 1},
		{"numbers equal", "42", "42.0", 1},
		{"numbers with thousands", "1,000", "1000", 1},
		{"number word", "four", "4", 1},
		{"numbers with units", "96 km/h", "96", 1},
		{"fraction", "1/2", "0.5", 1},
		{"numbers differ", "42", "43", 0},
		{"numbers within tolerance", "3.14159", "3.141592", 1},
		{"negated number", "not 42", "42", 0},
		{"containment", "Paris", "It is Paris", containedScore},
		{"containment blocked by negation", "Paris", "not Paris", 2.0 / 3},
		{"token f1", "vitamin D", "vitamin C", 0.5},
		{"disjoint", "Tokyo", "Kyoto", 0},
		{"empty", "", "Paris", 0},
		{"both empty", "", "", 0},
		{"five words are too long to contain", "quick brown fox jumps over", "quick brown fox jumps over the lazy dog and cat today", 10.0 / 15},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, back := Agree(tc.a, tc.b), Agree(tc.b, tc.a)
			if math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Agree(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got != back {
				t.Errorf("Agree is not symmetric: %v vs %v", got, back)
			}
		})
	}
}

func TestCosine(t *testing.T) {
	cases := []struct {
		name string
		a, b []float32
		want float64
	}{
		{"same direction", []float32{1, 2}, []float32{2, 4}, 1},
		{"orthogonal", []float32{1, 0}, []float32{0, 1}, 0},
		{"opposite counts as none", []float32{1, 0}, []float32{-1, 0}, 0},
		{"different length", []float32{1}, []float32{1, 0}, 0},
		{"empty", nil, nil, 0},
		{"zero vector", []float32{0, 0}, []float32{1, 1}, 0},
		{"nan", []float32{float32(math.NaN()), 1}, []float32{1, 1}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Cosine(tc.a, tc.b); math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("Cosine = %v, want %v", got, tc.want)
			}
		})
	}
}
