package router

import (
	"encoding/json"
	"math"
	"testing"
)

func TestEstimate(t *testing.T) {
	w := DefaultThresholds().Weights
	peaked := []float64{math.Log(0.97), math.Log(0.02), math.Log(0.01)}
	flat := []float64{math.Log(0.34), math.Log(0.33), math.Log(0.33)}
	cases := []struct {
		name           string
		tokens         []TokenLogprob
		wantTokens     int
		minConf, maxCo float64
		check          func(t *testing.T, u Uncertainty)
	}{
		{name: "no tokens: no evidence", tokens: nil, minConf: 0, maxCo: 0},
		{name: "confident", tokens: []TokenLogprob{
			{"Par", math.Log(0.97), peaked}, {"is", math.Log(0.97), peaked},
		}, wantTokens: 2, minConf: 0.9, maxCo: 1},
		{name: "unsure", tokens: []TokenLogprob{
			{"Syd", math.Log(0.34), flat}, {"ney", math.Log(0.9), peaked}, {"?", math.Log(0.2), flat},
		}, wantTokens: 3, minConf: 0.2, maxCo: 0.5},
		{name: "one bad token drags min", tokens: []TokenLogprob{
			{"a", 0, nil}, {"b", 0, nil}, {"c", math.Log(0.01), nil},
		}, wantTokens: 3, minConf: 0, maxCo: 1, check: func(t *testing.T, u Uncertainty) {
			// No alternatives: the entropy term drops out of numerator and denominator.
			if want := (0.5*math.Cbrt(0.01) + 0.2*0.01) / 0.7; math.Abs(u.Confidence-want) > 1e-12 {
				t.Errorf("confidence = %v, want %v", u.Confidence, want)
			}
			if u.MeanEntropy != 0 {
				t.Errorf("entropy without alternatives = %v, want 0", u.MeanEntropy)
			}
			if math.Abs(u.MinLogprob-math.Log(0.01)) > 1e-12 {
				t.Errorf("min logprob = %v", u.MinLogprob)
			}
		}},
		{name: "entropy is in nats over renormalized top", tokens: []TokenLogprob{
			{"x", math.Log(0.5), []float64{math.Log(0.25), math.Log(0.25)}}, // renormalised: 0.5/0.5
		}, wantTokens: 1, minConf: 0, maxCo: 1, check: func(t *testing.T, u Uncertainty) {
			if math.Abs(u.MeanEntropy-math.Ln2) > 1e-12 {
				t.Errorf("entropy = %v, want ln 2", u.MeanEntropy)
			}
			want := (0.5*0.5 + 0.2*0.5 + 0.3*0) / 1.0 // normalised entropy 1
			if math.Abs(u.Confidence-want) > 1e-12 {
				t.Errorf("confidence = %v, want %v", u.Confidence, want)
			}
		}},
		{name: "nan skipped, -inf floored, positive clamped", tokens: []TokenLogprob{
			{"n", math.NaN(), nil}, {"i", math.Inf(-1), []float64{math.Inf(-1), math.NaN(), 0}}, {"p", 3, nil},
		}, wantTokens: 2, minConf: 0, maxCo: 1, check: func(t *testing.T, u Uncertainty) {
			if u.MinLogprob != logprobFloor || u.MeanLogprob != logprobFloor/2 {
				t.Errorf("min %v mean %v", u.MinLogprob, u.MeanLogprob)
			}
			if _, err := json.Marshal(u); err != nil {
				t.Errorf("uncertainty must encode as JSON: %v", err)
			}
		}},
		{name: "all nan", tokens: []TokenLogprob{{"n", math.NaN(), nil}}, minConf: 0, maxCo: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := Estimate(tc.tokens, w)
			if u.Tokens != tc.wantTokens {
				t.Errorf("tokens = %d, want %d", u.Tokens, tc.wantTokens)
			}
			if u.Confidence < tc.minConf || u.Confidence > tc.maxCo {
				t.Errorf("confidence = %v, want %v…%v", u.Confidence, tc.minConf, tc.maxCo)
			}
			if tc.check != nil {
				tc.check(t, u)
			}
		})
	}
}

func TestEstimateOrdersAnswers(t *testing.T) {
	w := DefaultThresholds().Weights
	conf := func(p float64) float64 {
		top := []float64{math.Log(p), math.Log((1 - p) / 2), math.Log((1 - p) / 2)}
		return Estimate([]TokenLogprob{{"a", math.Log(p), top}, {"b", math.Log(p), top}}, w).Confidence
	}
	prev := -1.0
	for _, p := range []float64{0.3, 0.5, 0.7, 0.9, 0.99} {
		c := conf(p)
		if c <= prev {
			t.Errorf("confidence at p=%v is %v, not above %v", p, c, prev)
		}
		prev = c
	}
}

func TestSelfConsistency(t *testing.T) {
	cases := []struct {
		name    string
		answers []string
		want    string
		share   float64
	}{
		{"none", nil, "", 0},
		{"unanimous after normalizing", []string{"Paris", "paris.", "The answer is Paris"}, "Paris", 1},
		{"majority", []string{"42", "41", "42.0", "forty-two"}, "42", 0.5},
		{"tie goes to the earlier group", []string{"Lima", "Quito", "Quito", "Lima"}, "Lima", 0.5},
		{"empty answers do not count as a group", []string{"", " ", "Rome"}, "Rome", 1.0 / 3},
		{"all empty", []string{"", "?"}, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, share := SelfConsistency(tc.answers, 0.8)
			if got != tc.want || math.Abs(share-tc.share) > 1e-12 {
				t.Errorf("SelfConsistency = %q %v, want %q %v", got, share, tc.want, tc.share)
			}
		})
	}
}
