package eval

import (
	"github.com/swarmllm/swarmllm/router"
)

// Calibration is how well the local models' confidence says the chance
// their answer is right, on a local-only run: the expected calibration
// error (router.ECE) of the raw confidence and of the confidence calibrated
// per model and domain (router.Calibration).
//
// The calibration is cross-fitted so that no answer is scored by a fit that
// saw it: fitted on the odd queries and scored on the even ones, then the
// other way round. It learns only what a node could check, not the
// workload's reference: whether the local answer agrees (router.Agree at
// least agreement) with the cloud FM's answer to the same query, taken from
// the cloud-only run.
type Calibration struct {
	N               int // answers scored: answered locally, with a cloud answer to check against
	Raw, Calibrated float64
}

// CalibrationOf measures local's calibration with cloud as the check; ok is
// false without an answer to score.
func CalibrationOf(local, cloud []Result, agreement float64) (c Calibration, ok bool) {
	cloudAnswer := map[string]string{}
	for _, r := range cloud {
		if r.Outcome == Answered && r.Route == "cloud" {
			cloudAnswer[r.Item.QID] = r.Answer
		}
	}
	var scored []Result
	for _, r := range local {
		if _, checked := cloudAnswer[r.Item.QID]; checked && r.Outcome == Answered && r.Model != "" {
			scored = append(scored, r)
		}
	}
	if len(scored) == 0 {
		return Calibration{}, false
	}
	var folds [2]router.Calibration
	for i, r := range scored {
		checked := router.Agree(r.Answer, cloudAnswer[r.Item.QID]) >= agreement
		folds[i%2].Observe(r.Model, r.Domain, r.Confidence, checked)
	}
	raw, cal := make([]float64, len(scored)), make([]float64, len(scored))
	right := make([]bool, len(scored))
	for i, r := range scored {
		raw[i], right[i] = r.Confidence, r.Correct
		cal[i] = folds[1-i%2].Calibrate(r.Model, r.Domain, r.Confidence)
	}
	return Calibration{N: len(scored), Raw: router.ECE(raw, right), Calibrated: router.ECE(cal, right)}, true
}

// Calibration measures the local-only run's calibration against the
// cloud-only run (both uncapped); ok is false without both.
func (r Results) Calibration() (Calibration, bool) {
	local, cloud := r.models()
	if local == nil || cloud == nil {
		return Calibration{}, false
	}
	return CalibrationOf(local.Results, cloud.Results, router.DefaultThresholds().Agreement)
}
