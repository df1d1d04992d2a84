package eval

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// PrivacySpec says how to run the privacy benchmark.
type PrivacySpec struct {
	Cases []PrivacyCase // nil: the shipped benchmark
	// OllamaURL and Model name the on-device model that adds its spans, as a
	// node does; empty: a simulated model served in-process (a test
	// instrument with a simple method, see testnet/sim).
	OllamaURL, Model string
	Timeout          time.Duration // per model call (0: 30 s)
	Command          string        // how the run was started, for the report
}

// PrivacyReport is the benchmark under redact and block, with the detectors
// alone and with the on-device model's spans merged in.
type PrivacyReport struct {
	Spec    PrivacySpec
	Cases   []PrivacyCase
	Labels  []string
	Results []PrivacyResult
}

// RunPrivacyStudy runs the benchmark four ways: redact and block, detectors
// alone and with the on-device model.
func RunPrivacyStudy(ctx context.Context, spec PrivacySpec) (*PrivacyReport, error) {
	if spec.Cases == nil {
		spec.Cases = PrivacyCases()
	}
	if spec.Timeout <= 0 {
		spec.Timeout = 30 * time.Second
	}
	clf, err := router.NewClassifier()
	if err != nil {
		return nil, err
	}
	modelURL, model, modelName := spec.OllamaURL, spec.Model, spec.Model
	if modelURL == "" {
		s, err := sim.NewSLM(workload.Default(), sim.BuiltinProfiles(), sim.WithLatencyScale(0))
		if err != nil {
			return nil, err
		}
		srv, err := s.Start(ctx, "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer srv.Close()
		modelURL, model, modelName = srv.URL(), sim.ProfileLlama, "simulated model"
	}
	backend, err := slm.NewOllama(modelURL, model)
	if err != nil {
		return nil, err
	}
	hinter := OllamaHinter(backend, spec.Timeout)
	rep := &PrivacyReport{Spec: spec, Cases: spec.Cases}
	for _, run := range []struct {
		label  string
		policy router.PrivacyPolicy
		hints  PIIHinter
	}{
		{"redact, detectors", router.PrivacyRedact, nil},
		{"block, detectors", router.PrivacyBlock, nil},
		{"redact, detectors + " + modelName, router.PrivacyRedact, hinter},
		{"block, detectors + " + modelName, router.PrivacyBlock, hinter},
	} {
		res, err := RunPrivacy(ctx, spec.Cases, run.policy, clf, run.hints)
		if err != nil {
			return nil, err
		}
		rep.Labels, rep.Results = append(rep.Labels, run.label), append(rep.Results, res)
	}
	return rep, nil
}

// OllamaHinter asks a model for the personal spans of a conversation, as the
// node does before anything leaves the device.
func OllamaHinter(backend *slm.Ollama, timeout time.Duration) PIIHinter {
	kinds := make([]string, len(router.PIIKinds))
	for i, k := range router.PIIKinds {
		kinds[i] = string(k)
	}
	return func(ctx context.Context, turns []router.Turn) ([]router.PIIHint, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		spans, err := backend.FindPersonalData(ctx, joinTurns(turns), kinds)
		if err != nil {
			return nil, err
		}
		hints := make([]router.PIIHint, len(spans))
		for i, s := range spans {
			hints[i] = router.PIIHint{Kind: router.PIIKind(s.Kind), Text: s.Text}
		}
		return hints, nil
	}
}

// WriteMarkdown writes the report: what was run, then the tables.
func (r *PrivacyReport) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Privacy benchmark\n\n")
	if r.Spec.Command != "" {
		fmt.Fprintf(&b, "Command: `%s`. ", r.Spec.Command)
	}
	b.WriteString("A piece leaks when it, or any part of it that occurs nowhere else in the conversation, is in what would " +
		"go to the cloud; a placeholder is not personal when it stands for nothing labelled; words kept is the share of " +
		"the words that are not personal data that still go out.\n\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return WritePrivacyMarkdown(w, r.Cases, r.Results, r.Labels)
}
