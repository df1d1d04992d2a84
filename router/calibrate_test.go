package router

import (
	"encoding/json"
	"math"
	"testing"
)

func TestECE(t *testing.T) {
	tests := []struct {
		name  string
		conf  []float64
		right []bool
		want  float64
	}{
		{name: "sure and right, unsure and wrong", conf: []float64{1, 1, 0, 0}, right: []bool{true, true, false, false}, want: 0},
		// one bin: mean confidence .9, share right .25
		{name: "overconfident", conf: []float64{0.9, 0.9, 0.9, 0.9}, right: []bool{true, false, false, false}, want: 0.65},
		// bins 2 and 7, half the answers each: |.25−0|·½ + |.75−.5|·½
		{name: "two bins", conf: []float64{0.25, 0.25, 0.75, 0.75}, right: []bool{false, false, true, false}, want: 0.25},
		{name: "no answers", want: math.NaN()},
		{name: "lengths differ", conf: []float64{0.5}, right: []bool{true, false}, want: math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ECE(tt.conf, tt.right)
			if !(math.Abs(got-tt.want) < 1e-9 || math.IsNaN(got) && math.IsNaN(tt.want)) {
				t.Errorf("ECE = %v, want %v", got, tt.want)
			}
		})
	}
}

type outcome struct {
	model, domain string
	conf          float64
	right         bool
}

func TestCalibration(t *testing.T) {
	fourWrongInGeo := []outcome{{"m", "geo", 0.85, false}, {"m", "geo", 0.85, false}, {"m", "geo", 0.81, false}, {"m", "geo", 0.89, false}}
	halfRight := []outcome{{"m", "", 0.85, true}, {"m", "", 0.85, true}, {"m", "", 0.85, true}, {"m", "", 0.85, true},
		{"m", "", 0.85, false}, {"m", "", 0.85, false}, {"m", "", 0.85, false}, {"m", "", 0.85, false}}
	tests := []struct {
		name          string
		seen          []outcome
		model, domain string
		conf, want    float64
	}{
		{name: "no outcomes: the raw confidence", model: "m", domain: "geo", conf: 0.7, want: 0.7},
		{name: "raw confidence clamped", model: "m", conf: 1.5, want: 1},
		// bin 8 holds 4 of 8 right: (4 + 4·.85) / (8 + 4)
		{name: "the model's bin", seen: halfRight, model: "m", conf: 0.85, want: 7.4 / 12},
		// model bin: (0 + 4·.85)/(4+4) = .425; domain bin: (0 + 4·.425)/(4+4)
		{name: "the domain's bin, shrunk to the model's", seen: fourWrongInGeo, model: "m", domain: "geo", conf: 0.85, want: 0.2125},
		{name: "another domain gets the model's bin", seen: fourWrongInGeo, model: "m", domain: "code", conf: 0.85, want: 0.425},
		{name: "another bin is untouched", seen: fourWrongInGeo, model: "m", domain: "geo", conf: 0.35, want: 0.35},
		{name: "another model is untouched", seen: fourWrongInGeo, model: "n", domain: "geo", conf: 0.85, want: 0.85},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Calibration
			for _, o := range tt.seen {
				c.Observe(o.model, o.domain, o.conf, o.right)
			}
			if got := c.Calibrate(tt.model, tt.domain, tt.conf); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Calibrate = %v, want %v", got, tt.want)
			}
			// what --data-dir keeps calibrates the same
			data, err := json.Marshal(&c)
			if err != nil {
				t.Fatal(err)
			}
			var back Calibration
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if got := back.Calibrate(tt.model, tt.domain, tt.conf); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("after a JSON round trip Calibrate = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("nil calibration", func(t *testing.T) {
		var c *Calibration
		if got := c.Calibrate("m", "geo", 0.6); got != 0.6 {
			t.Errorf("Calibrate = %v, want 0.6", got)
		}
	})
}

func TestJudgeLocal(t *testing.T) {
	own := Proposal{Peer: "self", Answer: "Paris", Confidence: 0.9}
	tests := []struct {
		name      string
		c         Checked
		ok, right bool
		evidence  Evidence
	}{
		{name: "the cloud agrees", c: Checked{Self: "self", Local: own, Cloud: "Paris"}, ok: true, right: true, evidence: EvidenceCloud},
		{name: "the cloud disagrees", c: Checked{Self: "self", Local: own, Cloud: "Lyon"}, ok: true, right: false, evidence: EvidenceCloud},
		{
			name: "two peers agree on another answer",
			c:    Checked{Self: "self", Local: own, Proposals: []Proposal{own, {Peer: "a", Answer: "Lyon"}, {Peer: "b", Answer: "Lyon"}}},
			ok:   true, right: false, evidence: EvidencePeers,
		},
		{
			name: "two peers agree with it",
			c:    Checked{Self: "self", Local: own, Proposals: []Proposal{{Peer: "a", Answer: "Paris"}, {Peer: "b", Answer: "Paris"}}},
			ok:   true, right: true, evidence: EvidencePeers,
		},
		{
			name: "one peer is no evidence, and its own confidence is none",
			c:    Checked{Self: "self", Local: own, Sure: 0.5, Proposals: []Proposal{{Peer: "a", Answer: "Lyon"}}},
		},
		{name: "no answer of its own", c: Checked{Self: "self", Cloud: "Paris"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, ok := JudgeLocal(tt.c)
			if ok != tt.ok || o.Right != tt.right || (ok && (o.Evidence != tt.evidence || o.Peer != "self")) {
				t.Errorf("JudgeLocal = %+v, %v; want ok %v, right %v by %v", o, ok, tt.ok, tt.right, tt.evidence)
			}
		})
	}
}
