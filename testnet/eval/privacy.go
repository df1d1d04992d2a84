package eval

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"

	"github.com/swarmllm/swarmllm/router"
)

// The privacy benchmark: prompts and conversations in English, French,
// German and Spanish, each labelled with the personal data it holds (kind
// and text as written), and negatives that hold none but look as if they
// might (dates of historical events, product and order numbers, places,
// public figures, private IP addresses). RunPrivacy sends each conversation
// through the privacy layer the node uses for the cloud (router.Protect,
// with or without the on-device model's hints) and measures what would
// have left the device.

//go:embed testdata/privacy.jsonl
var privacyJSONL []byte

// PrivacyCase is one conversation of the benchmark.
type PrivacyCase struct {
	ID       string           `json:"id"`
	Lang     string           `json:"lang"`
	Messages []router.Turn    `json:"messages"`
	PII      []router.PIIHint `json:"pii"` // the personal data in it: kind and text as written
}

// ErrBadPrivacyCase means a benchmark line is malformed or its labels are not in its text.
var ErrBadPrivacyCase = errors.New("bad privacy case")

// PrivacyCases returns the shipped benchmark (testdata/privacy.jsonl).
func PrivacyCases() []PrivacyCase {
	cases, err := ReadPrivacyCases(bytes.NewReader(privacyJSONL))
	if err != nil {
		panic("eval: shipped privacy benchmark: " + err.Error()) // caught by every test run
	}
	return cases
}

// ReadPrivacyCases reads a benchmark in JSON Lines: one PrivacyCase per line.
func ReadPrivacyCases(r io.Reader) ([]PrivacyCase, error) {
	var cases []PrivacyCase
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var c PrivacyCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("read privacy case, line %d: %w: %w", line, ErrBadPrivacyCase, err)
		}
		if len(c.Messages) == 0 {
			return nil, fmt.Errorf("read privacy case %s, line %d: %w: no messages", c.ID, line, ErrBadPrivacyCase)
		}
		for _, p := range c.PII {
			if strings.TrimSpace(p.Text) == "" || !slices.Contains(router.PIIKinds, p.Kind) || !slices.ContainsFunc(c.Messages, func(m router.Turn) bool {
				return strings.Contains(m.Content, p.Text)
			}) {
				return nil, fmt.Errorf("read privacy case %s, line %d: %w: label %s %q", c.ID, line, ErrBadPrivacyCase, p.Kind, p.Text)
			}
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read privacy cases: %w", err)
	}
	return cases, nil
}

// PIIHinter lists personal data the way the node's own model does (nil: the detectors alone).
type PIIHinter func(ctx context.Context, turns []router.Turn) ([]router.PIIHint, error)

// PrivacyResult is the benchmark's outcome under one privacy policy.
type PrivacyResult struct {
	Policy    router.PrivacyPolicy
	Prompts   int
	Kinds     []KindRecall // per kind of personal data, in router.PIIKinds order
	Leaked    int          // labelled pieces of personal data that left the device
	Labelled  int
	Blocked   int // conversations kept from the cloud (block)
	Entities  int // placeholders (distinct entities) put in (redact)
	NotPII    int // of them, ones that stood for something not personal
	NegTouch  int // negatives that got a placeholder or were blocked
	Negatives int
	WordsKept float64 // share of the words that are not personal data that still went out
	HintErrs  int     // on-device model calls that failed (the detectors alone answered)
}

// KindRecall counts one kind's pieces and how many leaked.
type KindRecall struct {
	Kind   router.PIIKind
	Total  int
	Leaked int
}

// Precision is the share of placeholders that stood for personal data (1 when there are none).
func (r PrivacyResult) Precision() float64 {
	if r.Entities == 0 {
		return 1
	}
	return float64(r.Entities-r.NotPII) / float64(r.Entities)
}

// Recall is the share of labelled pieces that did not leak.
func (r PrivacyResult) Recall() float64 {
	if r.Labelled == 0 {
		return 1
	}
	return 1 - float64(r.Leaked)/float64(r.Labelled)
}

// RunPrivacy measures one privacy policy over the cases: what would leave
// the device for the cloud, piece by piece. hints, when set, adds the
// on-device model's spans as the node does; a failed call falls back to the
// detectors alone and is counted.
func RunPrivacy(ctx context.Context, cases []PrivacyCase, policy router.PrivacyPolicy, clf *router.Classifier, hints PIIHinter) (PrivacyResult, error) {
	res := PrivacyResult{Policy: policy, Prompts: len(cases)}
	byKind := map[router.PIIKind]*KindRecall{}
	for _, k := range router.PIIKinds {
		res.Kinds = append(res.Kinds, KindRecall{Kind: k})
	}
	for i := range res.Kinds {
		byKind[res.Kinds[i].Kind] = &res.Kinds[i]
	}
	var kept, words int
	for _, c := range cases {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("privacy benchmark: %w", err)
		}
		var hs []router.PIIHint
		if hints != nil {
			var err error
			if hs, err = hints(ctx, c.Messages); err != nil {
				res.HintErrs++
				hs = nil
			}
		}
		p := clf.Protect(c.Messages, hs)
		out, _, err := p.For(policy)
		switch {
		case errors.Is(err, router.ErrPrivacyBlocked):
			res.Blocked++
		case err != nil:
			return res, fmt.Errorf("privacy benchmark, case %s: %w", c.ID, err)
		}
		sent := joinTurns(out)
		if len(c.PII) == 0 {
			res.Negatives++
			if err != nil || len(p.Entities()) > 0 && policy == router.PrivacyRedact {
				res.NegTouch++
			}
		}
		residual := residualText(c)
		for _, l := range c.PII {
			k := byKind[l.Kind]
			k.Total++
			res.Labelled++
			if leaks(l.Text, residual, sent) {
				k.Leaked++
				res.Leaked++
			}
		}
		if policy == router.PrivacyRedact {
			for _, e := range p.Entities() {
				res.Entities++
				if !slices.ContainsFunc(c.PII, func(l router.PIIHint) bool { return overlaps(e.Text, l.Text) }) {
					res.NotPII++
				}
			}
		}
		k, n := keptWords(residual, sent)
		kept, words = kept+k, words+n
	}
	if words > 0 {
		res.WordsKept = float64(kept) / float64(words)
	}
	return res, nil
}

func joinTurns(turns []router.Turn) string {
	parts := make([]string, len(turns))
	for i, t := range turns {
		parts[i] = t.Content
	}
	return strings.Join(parts, "\n")
}

// residualText is the conversation with every labelled piece cut out: the
// words that are not personal data.
func residualText(c PrivacyCase) string {
	all := joinTurns(c.Messages)
	labels := make([]string, len(c.PII))
	for i, l := range c.PII {
		labels[i] = l.Text
	}
	slices.SortFunc(labels, func(a, b string) int { return len(b) - len(a) })
	for _, l := range labels {
		all = strings.ReplaceAll(all, l, " ")
	}
	return all
}

func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// genericTokens identify no one: street words and particles, which a
// placeholder-free answer may carry for other reasons.
var genericTokens = map[string]bool{"rue": true, "avenue": true, "street": true, "road": true, "calle": true, "de": true,
	"la": true, "des": true, "du": true, "del": true, "bis": true, "no": true, "nr": true}

// leaks says whether a labelled piece (or any identifying part of it) is in
// the text that went out. A part identifies when it has two or more
// characters, is not generic and does not occur in the conversation outside
// the personal data: "Hannah" in "[NAME_1] Whitfield"-style partial redactions
// counts as a leak.
func leaks(label, residual, sent string) bool {
	if strings.Contains(sent, label) {
		return true
	}
	outside := map[string]bool{}
	for _, t := range tokens(residual) {
		outside[t] = true
	}
	have := map[string]bool{}
	for _, t := range tokens(sent) {
		have[t] = true
	}
	for _, t := range tokens(label) {
		if len([]rune(t)) >= 2 && !genericTokens[t] && !outside[t] && have[t] {
			return true
		}
	}
	return false
}

// overlaps: one text holds the other (a placeholder for "Maria" stands for the labelled "Maria Lopez").
func overlaps(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	return strings.Contains(a, b) || strings.Contains(b, a)
}

// keptWords counts the words of residual that still went out.
func keptWords(residual, sent string) (kept, total int) {
	have := map[string]int{}
	for _, t := range tokens(sent) {
		have[t]++
	}
	for _, t := range tokens(residual) {
		total++
		if have[t] > 0 {
			have[t]--
			kept++
		}
	}
	return kept, total
}

// WritePrivacyMarkdown writes the results as a Markdown table per kind and a summary per policy.
func WritePrivacyMarkdown(w io.Writer, cases []PrivacyCase, results []PrivacyResult, labels []string) error {
	langs := map[string]int{}
	multi, neg := 0, 0
	for _, c := range cases {
		langs[c.Lang]++
		if len(c.Messages) > 1 {
			multi++
		}
		if len(c.PII) == 0 {
			neg++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d prompts (%s), %d multi-turn, %d negatives.\n\n", len(cases), langList(langs), multi, neg)
	b.WriteString("| kind |")
	for _, l := range labels {
		fmt.Fprintf(&b, " %s leaked |", l)
	}
	b.WriteString("\n|---|")
	for range labels {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	if len(results) > 0 {
		for i, k := range results[0].Kinds {
			fmt.Fprintf(&b, "| %s |", k.Kind)
			for _, r := range results {
				fmt.Fprintf(&b, " %d/%d |", r.Kinds[i].Leaked, r.Kinds[i].Total)
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("| **all (recall)** |")
	for _, r := range results {
		fmt.Fprintf(&b, " %d/%d (%.3f) |", r.Leaked, r.Labelled, r.Recall())
	}
	b.WriteString("\n\n| run | placeholders | not personal | precision | not personal per prompt | negatives touched | blocked | words kept | model failures |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, r := range results {
		fmt.Fprintf(&b, "| %s | %d | %d | %.3f | %.3f | %d/%d | %d | %.3f | %d |\n", labels[i], r.Entities, r.NotPII, r.Precision(),
			float64(r.NotPII)/float64(max(r.Prompts, 1)), r.NegTouch, r.Negatives, r.Blocked, r.WordsKept, r.HintErrs)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func langList(langs map[string]int) string {
	keys := make([]string, 0, len(langs))
	for k := range langs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, langs[k])
	}
	return strings.Join(parts, ", ")
}
