package router

import "math"

// CalibrationBins is the number of equal-width confidence bins a
// Calibration and ECE use.
const CalibrationBins = 10

// calibrationPrior is how many outcomes a bin's estimate is worth before it
// has any: with fewer outcomes than this, a bin stays closer to the coarser
// estimate than to its own share, so a handful of checks cannot swing it.
const calibrationPrior = 4

// CalibrationCell counts, per confidence bin, the checked answers and the
// right ones among them.
type CalibrationCell struct {
	N     [CalibrationBins]float64 `json:"n"`
	Right [CalibrationBins]float64 `json:"right"`
}

// Calibration maps a model's raw confidence to the share of its answers
// that checks found right, per model and per (model, domain): histogram
// binning, each bin shrunk towards the coarser estimate (the model's bin,
// and that towards the raw confidence) by calibrationPrior outcomes. With
// no outcomes it returns the raw confidence. The outcomes are the checks the
// node already makes (Judge: a cloud answer, agreeing independent peers).
// The zero value is ready; it holds no lock (its owner serialises access)
// and encodes as JSON for --data-dir.
type Calibration struct {
	Cells map[string]*CalibrationCell `json:"cells,omitempty"`
}

func calibrationKey(model, domain string) string { return model + "\x00" + domain }

// bin is the confidence's bin; NaN and out-of-range values are clamped.
func bin(confidence float64) int {
	return min(int(clamp01(confidence)*CalibrationBins), CalibrationBins-1)
}

// Observe records one checked answer of model in domain ("" for none) at
// raw confidence: right or not.
func (c *Calibration) Observe(model, domain string, confidence float64, right bool) {
	if c.Cells == nil {
		c.Cells = map[string]*CalibrationCell{}
	}
	b := bin(confidence)
	keys := []string{calibrationKey(model, "")}
	if domain != "" {
		keys = append(keys, calibrationKey(model, domain))
	}
	for _, k := range keys {
		cell := c.Cells[k]
		if cell == nil {
			cell = &CalibrationCell{}
			c.Cells[k] = cell
		}
		cell.N[b]++
		if right {
			cell.Right[b]++
		}
	}
}

// Calibrate is the chance that model's answer in domain at raw confidence
// is right, as its checked outcomes say.
func (c *Calibration) Calibrate(model, domain string, confidence float64) float64 {
	p := clamp01(confidence)
	if c == nil {
		return p
	}
	b := bin(confidence)
	shrink := func(key string, prior float64) float64 {
		cell := c.Cells[key]
		if cell == nil {
			return prior
		}
		return (cell.Right[b] + calibrationPrior*prior) / (cell.N[b] + calibrationPrior)
	}
	p = shrink(calibrationKey(model, ""), p)
	if domain != "" {
		p = shrink(calibrationKey(model, domain), p)
	}
	return p
}

// ECE is the expected calibration error of confidences against outcomes:
// over CalibrationBins equal-width bins, the gap between a bin's mean
// confidence and its share right, weighted by the bin's share of the
// answers. NaN without answers or when the slices differ in length.
func ECE(confidence []float64, right []bool) float64 {
	if len(confidence) == 0 || len(confidence) != len(right) {
		return math.NaN()
	}
	var n, conf, ok [CalibrationBins]float64
	for i, c := range confidence {
		b := bin(c)
		n[b]++
		conf[b] += clamp01(c)
		if right[i] {
			ok[b]++
		}
	}
	e := 0.0
	for b := range n {
		if n[b] > 0 {
			e += math.Abs(conf[b]-ok[b]) / float64(len(confidence))
		}
	}
	return e
}

// JudgeLocal is the outcome of this node's own answer c.Local on the
// evidence Judge weighs the peers' answers by — the cloud FM's answer, else
// what at least two independent peers agree on — never on itself (c.Sure
// plays no part); ok is false without such evidence. Its outcomes are what
// a node's Calibration learns from.
func JudgeLocal(c Checked) (o Outcome, ok bool) {
	self := c.Local.Peer
	if self == "" {
		self = c.Self
	}
	local := c.Local
	local.Peer = self
	proposals := []Proposal{local}
	for _, p := range c.Proposals {
		if p.Peer != self {
			proposals = append(proposals, p)
		}
	}
	// Judged as a peer would be: no answer is this node's own evidence.
	c.Self, c.Local, c.Proposals = "", Proposal{}, proposals
	for _, o := range Judge(c) {
		if o.Peer == self {
			return o, true
		}
	}
	return Outcome{}, false
}
