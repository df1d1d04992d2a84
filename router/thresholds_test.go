package router

import (
	"errors"
	"math"
	"testing"
)

func TestThresholdsValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Thresholds)
		ok     bool
	}{
		{"defaults", func(*Thresholds) {}, true},
		{"never local", func(th *Thresholds) { th.Confident = 1 }, true},
		{"confident above one", func(th *Thresholds) { th.Confident = 1.2 }, false},
		{"negative margin", func(th *Thresholds) { th.DifficultyMargin = -0.1 }, false},
		{"agreement zero", func(th *Thresholds) { th.Agreement = 0 }, false},
		{"consensus one", func(th *Thresholds) { th.Consensus = 1 }, false},
		{"quorum nan", func(th *Thresholds) { th.Quorum = math.NaN() }, false},
		{"negative weight", func(th *Thresholds) { th.Weights.Entropy = -1 }, false},
		{"only entropy weight", func(th *Thresholds) { th.Weights = ConfidenceWeights{Entropy: 1} }, false},
		{"off-domain ballots count fully", func(th *Thresholds) { th.OffDomainVote = 1 }, true},
		{"off-domain ballots count nothing", func(th *Thresholds) { th.OffDomainVote = 0 }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th := DefaultThresholds()
			tc.mutate(&th)
			err := th.Validate()
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
				t.Errorf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestThresholdsDerived(t *testing.T) {
	th := DefaultThresholds()
	bars := []struct{ difficulty, want float64 }{{0, 0.80}, {0.5, 0.85}, {1, 0.90}, {7, 0.90}, {math.NaN(), 0.80}}
	for _, b := range bars {
		if got := th.Bar(b.difficulty, false); math.Abs(got-b.want) > 1e-12 {
			t.Errorf("Bar(%v) = %v, want %v", b.difficulty, got, b.want)
		}
		if got := th.Bar(b.difficulty, true); math.Abs(got-min(b.want+th.OffDomainMargin, 1)) > 1e-12 {
			t.Errorf("Bar(%v, off-domain) = %v, want %v", b.difficulty, got, b.want+th.OffDomainMargin)
		}
	}
	quorums := []struct{ n, want int }{{-1, 1}, {0, 1}, {1, 1}, {2, 2}, {3, 2}, {4, 3}, {5, 3}, {10, 6}}
	for _, q := range quorums {
		if got := th.QuorumOf(q.n); got != q.want {
			t.Errorf("QuorumOf(%d) = %d, want %d", q.n, got, q.want)
		}
	}
	all := Thresholds{Quorum: 1}
	if got := all.QuorumOf(4); got != 4 {
		t.Errorf("quorum share 1: QuorumOf(4) = %d, want all 4", got)
	}
	tp := th.TallyParams([]string{"a", "b", "c"})
	if tp.Quorum != 2 || tp.Consensus != th.Consensus || tp.Agreement != th.Agreement || len(tp.Participants) != 3 {
		t.Errorf("TallyParams = %+v", tp)
	}
	if bp := th.BallotParams(0.4); bp.Agreement != th.Agreement || bp.TrackRecord != 0.4 {
		t.Errorf("BallotParams = %+v", bp)
	}
}

func TestRulesValidate(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(*Rules)
		wantErr error
	}{
		{"defaults", func(*Rules) {}, nil},
		{"every policy", func(r *Rules) { r.Policy = PolicyCascade }, nil},
		{"unknown policy", func(r *Rules) { r.Policy = "turbo" }, ErrUnknownPolicy},
		{"unknown privacy", func(r *Rules) { r.Privacy = "" }, ErrUnknownPrivacyPolicy},
		{"empty category", func(r *Rules) { r.SendUp = append(r.SendUp, SafetyNone) }, ErrInvalidConfig},
		{"bad threshold", func(r *Rules) { r.Thresholds.Agreement = 2 }, ErrInvalidConfig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := DefaultRules()
			tc.mutate(&r)
			err := r.Validate()
			if (tc.wantErr == nil) != (err == nil) || (err != nil && !errors.Is(err, tc.wantErr)) {
				t.Errorf("Validate = %v, want %v", err, tc.wantErr)
			}
		})
	}
}
