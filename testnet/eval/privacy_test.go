package eval

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/swarmllm/swarmllm/router"
)

// TestPrivacyBenchmark holds the detectors to the targets on the
// shipped benchmark: nothing leaks under redact or block, and at least 90%
// of placeholders stand for personal data.
func TestPrivacyBenchmark(t *testing.T) {
	t.Run("shipped", func(t *testing.T) { checkPrivacy(t, PrivacyCases()) })
	t.Run("second set", func(t *testing.T) {
		// Written after the detectors, to see how they do on prompts they
		// were not built on (docs in BENCHMARKS.md: 7 of 42 leaked at first).
		f, err := os.Open("testdata/privacy-heldout.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cases, err := ReadPrivacyCases(f)
		if err != nil {
			t.Fatal(err)
		}
		checkPrivacy(t, cases)
	})
}

func checkPrivacy(t *testing.T, cases []PrivacyCase) {
	clf, err := router.NewClassifier()
	if err != nil {
		t.Fatal(err)
	}
	var results []PrivacyResult
	for _, policy := range []router.PrivacyPolicy{router.PrivacyRedact, router.PrivacyBlock} {
		res, err := RunPrivacy(context.Background(), cases, policy, clf, nil)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
		if res.Leaked != 0 {
			t.Errorf("%s: %d of %d pieces leaked", policy, res.Leaked, res.Labelled)
		}
	}
	if p := results[0].Precision(); p < 0.9 {
		t.Errorf("redact: precision %.3f < 0.9", p)
	}
	if testing.Verbose() || t.Failed() {
		var b strings.Builder
		_ = WritePrivacyMarkdown(&b, cases, results, []string{"redact", "block"})
		t.Log("\n" + b.String())
	}
	if os.Getenv("PRIVACY_DEBUG") != "" {
		for _, c := range cases {
			p := clf.Protect(c.Messages, nil)
			out, _, _ := p.For(router.PrivacyRedact)
			sent, residual := joinTurns(out), residualText(c)
			for _, l := range c.PII {
				if leaks(l.Text, residual, sent) {
					t.Logf("LEAK %s %s %q in %q", c.ID, l.Kind, l.Text, sent)
				}
			}
			for _, e := range p.Entities() {
				if !strings.Contains(strings.ToLower(strings.Join(labelTexts(c), "|")), strings.ToLower(e.Text)) {
					t.Logf("NOT PII %s %s %q in %q", c.ID, e.Kind, e.Text, sent)
				}
			}
		}
	}
}

func labelTexts(c PrivacyCase) []string {
	var out []string
	for _, l := range c.PII {
		out = append(out, l.Text)
	}
	return out
}

func TestPrivacyCorpusShape(t *testing.T) {
	cases := PrivacyCases()
	kinds, langs, multi, neg := map[router.PIIKind]bool{}, map[string]bool{}, 0, 0
	for _, c := range cases {
		langs[c.Lang] = true
		if len(c.Messages) > 1 {
			multi++
		}
		if len(c.PII) == 0 {
			neg++
		}
		for _, p := range c.PII {
			kinds[p.Kind] = true
		}
	}
	if len(cases) < 150 || len(kinds) < 10 || len(langs) < 4 || multi < 8 || neg < 20 {
		t.Errorf("benchmark has %d prompts, %d kinds, %d languages, %d multi-turn, %d negatives", len(cases), len(kinds), len(langs), multi, neg)
	}
}

func TestReadPrivacyCases(t *testing.T) {
	cases := []struct {
		name, in string
		want     int
		wantErr  error
	}{
		{"one case", `{"id":"x","lang":"en","messages":[{"role":"user","content":"I am Ana"}],"pii":[{"kind":"person-name","text":"Ana"}]}`, 1, nil},
		{"blank lines", "\n\n", 0, nil},
		{"not json", "{", 0, ErrBadPrivacyCase},
		{"no messages", `{"id":"x"}`, 0, ErrBadPrivacyCase},
		{"label not in text", `{"id":"x","messages":[{"role":"user","content":"hi"}],"pii":[{"kind":"email","text":"a@b.cc"}]}`, 0, ErrBadPrivacyCase},
		{"empty label", `{"id":"x","messages":[{"role":"user","content":"hi"}],"pii":[{"kind":"email","text":" "}]}`, 0, ErrBadPrivacyCase},
		{"unknown kind", `{"id":"x","messages":[{"role":"user","content":"hi"}],"pii":[{"kind":"aura","text":"hi"}]}`, 0, ErrBadPrivacyCase},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadPrivacyCases(strings.NewReader(tc.in))
			if !errors.Is(err, tc.wantErr) || len(got) != tc.want {
				t.Errorf("ReadPrivacyCases = %d cases, %v; want %d, %v", len(got), err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestLeaks(t *testing.T) {
	cases := []struct {
		name, label, residual, sent string
		want                        bool
	}{
		{"verbatim", "Hannah Whitfield", "ask  now", "ask Hannah Whitfield now", true},
		{"redacted", "Hannah Whitfield", "ask  now", "ask [NAME_1] now", false},
		{"half redacted", "Hannah Whitfield", "ask  now", "ask [NAME_1] Whitfield now", true},
		{"digits regrouped", "06 12 34 56 78", "call  ", "call 0612 [PHONE_1] 78", true},
		{"token also outside the data", "12 rue des Lilas", "rue 12 ", "[ADDRESS_1] rue", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := leaks(tc.label, tc.residual, tc.sent); got != tc.want {
				t.Errorf("leaks = %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzReadPrivacyCases: any input reads into cases whose labels are in their
// text and of known kinds, or into ErrBadPrivacyCase; never a panic.
func FuzzReadPrivacyCases(f *testing.F) {
	f.Add(`{"id":"x","lang":"en","messages":[{"role":"user","content":"I am Ana"}],"pii":[{"kind":"person-name","text":"Ana"}]}`)
	f.Add("{\n\n{}")
	f.Add(`{"id":"x","messages":[{"role":"user","content":"hi"}],"pii":[{"kind":"email","text":"a@b.cc"}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		cases, err := ReadPrivacyCases(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, c := range cases {
			for _, p := range c.PII {
				if !strings.Contains(joinTurns(c.Messages), p.Text) {
					t.Fatalf("label %q not in case %+v", p.Text, c)
				}
			}
		}
	})
}
