package router

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
)

// DomainRule names a domain and the keywords that suggest it. A keyword of
// one word matches that word (or its plural); a keyword of several words
// matches them as a phrase. Case and punctuation do not matter.
type DomainRule struct {
	Name     string
	Keywords []string
}

// SafetyRule maps patterns to a safety category: any one matching names it.
// Patterns and Unless are RE2 expressions matched against the lower-cased
// prompt; matches of Unless (benign idioms) are blanked out first.
type SafetyRule struct {
	Category SafetyCategory
	Patterns []string
	Unless   string
}

// PIIRule detects one kind of personal data. Pattern is an RE2 expression
// matched against the prompt as written; Placeholder replaces each match when
// redacting ("" means "[" + upper-cased kind + "]").
type PIIRule struct {
	Kind        PIIKind
	Pattern     string
	Placeholder string
}

// ClassifierOption extends the built-in rules of a Classifier.
type ClassifierOption func(*classifierConfig)

type classifierConfig struct {
	domains    []DomainRule
	safety     []SafetyRule
	pii        []PIIRule
	multiStep  []string
	maxDomains int
}

// WithDomain adds keywords to a domain, creating the domain if it is new.
func WithDomain(name string, keywords ...string) ClassifierOption {
	return func(c *classifierConfig) { c.domains = append(c.domains, DomainRule{Name: name, Keywords: keywords}) }
}

// WithSafetyRule adds a rule tried after the built-in ones (which are ordered by severity).
func WithSafetyRule(r SafetyRule) ClassifierOption {
	return func(c *classifierConfig) { c.safety = append(c.safety, r) }
}

// WithPIIRule adds a personal-data detector; it yields to the built-in ones where matches overlap.
func WithPIIRule(r PIIRule) ClassifierOption {
	return func(c *classifierConfig) { c.pii = append(c.pii, r) }
}

// WithMultiStepCue adds an RE2 pattern (against the lower-cased prompt) that marks a prompt multi-step.
func WithMultiStepCue(pattern string) ClassifierOption {
	return func(c *classifierConfig) { c.multiStep = append(c.multiStep, pattern) }
}

// WithMaxDomains caps how many domains a classification lists (default 3).
func WithMaxDomains(n int) ClassifierOption {
	return func(c *classifierConfig) { c.maxDomains = n }
}

// Classifier is the Classifier Engine: cheap rule-based signals about a
// prompt. It is immutable once built, so one value serves concurrent callers.
type Classifier struct {
	domains    []string
	terms      map[string]term // a keyword or phrase ("words joined by spaces") → what it signals
	termWords  int             // most words in a term
	arithmetic int             // index of the arithmetic domain, which also counts expressions
	safety     []safetyMatcher
	pii        []piiDetector
	multiStep  []gatedRegexp
	maxDomains int
}

// term is what one keyword or phrase signals.
type term struct {
	domains   []int
	phrase    bool // several words: more specific, so it weighs double for domains
	reasoning bool // a reasoning cue, for difficulty
}

type safetyMatcher struct {
	category SafetyCategory
	patterns []gatedRegexp
	unless   *gatedRegexp
}

// NewClassifier builds a classifier from the built-in rules plus options.
func NewClassifier(opts ...ClassifierOption) (*Classifier, error) {
	cfg := classifierConfig{
		domains:    slices.Clone(builtinDomains),
		safety:     slices.Clone(builtinSafety),
		multiStep:  slices.Clone(builtinMultiStep),
		maxDomains: 3,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxDomains < 1 {
		return nil, fmt.Errorf("classifier: max domains %d: %w", cfg.maxDomains, ErrInvalidConfig)
	}
	c := &Classifier{terms: map[string]term{}, maxDomains: cfg.maxDomains}
	if err := c.addDomains(cfg.domains); err != nil {
		return nil, err
	}
	c.arithmetic = slices.Index(c.domains, "arithmetic")
	for _, r := range cfg.safety {
		m, err := compileSafety(r)
		if err != nil {
			return nil, err
		}
		c.safety = append(c.safety, m)
	}
	var err error
	if c.pii, err = piiDetectors(cfg.pii); err != nil {
		return nil, err
	}
	for _, p := range cfg.multiStep {
		re, err := compileGated(p)
		if err != nil {
			return nil, fmt.Errorf("classifier: multi-step cue %q: %w: %w", p, ErrInvalidConfig, err)
		}
		c.multiStep = append(c.multiStep, re)
	}
	for _, cue := range reasoningCues {
		key, n := termKey(cue)
		t := c.terms[key]
		t.reasoning, t.phrase = true, n > 1
		c.terms[key] = t
		c.termWords = max(c.termWords, n)
	}
	return c, nil
}

func (c *Classifier) addDomains(rules []DomainRule) error {
	for _, r := range rules {
		name := strings.TrimSpace(r.Name)
		if name == "" || len(r.Keywords) == 0 {
			return fmt.Errorf("classifier: domain %q needs a name and keywords: %w", r.Name, ErrInvalidConfig)
		}
		d := slices.Index(c.domains, name)
		if d < 0 {
			d = len(c.domains)
			c.domains = append(c.domains, name)
		}
		for _, k := range r.Keywords {
			key, n := termKey(k)
			if n == 0 {
				return fmt.Errorf("classifier: domain %q: keyword %q has no words: %w", name, k, ErrInvalidConfig)
			}
			t := c.terms[key]
			if !slices.Contains(t.domains, d) {
				t.domains = append(t.domains, d)
			}
			t.phrase = n > 1
			c.terms[key] = t
			c.termWords = max(c.termWords, n)
		}
	}
	return nil
}

// termKey normalises a keyword the way prompts are split: lower-case words joined by single spaces.
func termKey(k string) (key string, words int) {
	ws := wordsOf(strings.ToLower(k))
	return strings.Join(ws, " "), len(ws)
}

func compileSafety(r SafetyRule) (safetyMatcher, error) {
	m := safetyMatcher{category: r.Category}
	if r.Category == SafetyNone || len(r.Patterns) == 0 {
		return m, fmt.Errorf("classifier: safety rule needs a category and patterns: %w", ErrInvalidConfig)
	}
	for _, p := range r.Patterns {
		if p == "" {
			return m, fmt.Errorf("classifier: safety rule %s: empty pattern: %w", r.Category, ErrInvalidConfig)
		}
		re, err := compileGated(p)
		if err != nil {
			return m, fmt.Errorf("classifier: safety rule %s: pattern %q: %w: %w", r.Category, p, ErrInvalidConfig, err)
		}
		m.patterns = append(m.patterns, re)
	}
	if r.Unless != "" {
		re, err := compileGated(r.Unless)
		if err != nil {
			return m, fmt.Errorf("classifier: safety rule %s: unless: %w: %w", r.Category, ErrInvalidConfig, err)
		}
		m.unless = &re
	}
	return m, nil
}

// defaultClassifier holds only the built-in rules, which are constants: a
// failure here is a programming error caught by every test run.
var defaultClassifier = func() *Classifier {
	c, err := NewClassifier()
	if err != nil {
		panic("router: built-in classifier rules: " + err.Error())
	}
	return c
}()

// Classify runs the built-in rules; use NewClassifier to extend them.
func Classify(prompt string) Classification { return defaultClassifier.Classify(prompt) }

var apostrophes = strings.NewReplacer("\u2019", "'", "\u2018", "'", "\u02bc", "'")

// Classify reports the prompt's domains, difficulty, safety category,
// personal data and whether it asks for several steps.
func (c *Classifier) Classify(prompt string) Classification {
	lower := apostrophes.Replace(strings.ToLower(prompt))
	idx := newTextIndex(lower)
	words := wordsOf(lower)
	padded, starts := joinWords(words)
	score, reasoning := c.scanTerms(words, padded, starts)
	num := scanNumeric(prompt)
	cls := Classification{
		Domains:   c.domainsOf(score, num, padded),
		Safety:    c.safetyOf(idx),
		PII:       piiKinds(c.detectPII(prompt)),
		MultiStep: c.multiStepOf(idx),
	}
	cls.Difficulty = difficulty(prompt, len(words), num, reasoning, cls.MultiStep)
	return cls
}

// joinWords returns " w1 w2 … " (so whole words can be found with padded
// spaces) and where each word starts in it.
func joinWords(words []string) (padded string, starts []int) {
	var b strings.Builder
	starts = make([]int, len(words))
	b.WriteByte(' ')
	for i, w := range words {
		starts[i] = b.Len()
		b.WriteString(w)
		b.WriteByte(' ')
	}
	return b.String(), starts
}

// scanTerms looks every run of up to termWords words up in the term index:
// a domain score per domain and the number of reasoning cues.
func (c *Classifier) scanTerms(words []string, padded string, starts []int) (score []int, reasoning int) {
	score = make([]int, len(c.domains))
	for i, w := range words {
		for n := 1; n <= c.termWords && i+n <= len(words); n++ {
			key := padded[starts[i] : starts[i+n-1]+len(words[i+n-1])]
			t, ok := c.terms[key]
			if !ok && n == 1 && len(w) > 3 { // a plural of a one-word keyword
				if t, ok = c.terms[strings.TrimSuffix(w, "es")]; !ok {
					t, ok = c.terms[strings.TrimSuffix(w, "s")]
				}
			}
			if !ok {
				continue
			}
			weight := 1
			if t.phrase {
				weight = 2
			}
			for _, d := range t.domains {
				score[d] += weight
			}
			if t.reasoning {
				reasoning++
			}
		}
	}
	return score, reasoning
}

// AddDomains returns the classification with extra domains (for example from
// the CMS ranking) appended after its own, without repeats.
func (cls Classification) AddDomains(domains ...string) Classification {
	out := slices.Clone(cls.Domains)
	for _, d := range domains {
		if d = strings.TrimSpace(d); d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	cls.Domains = out
	return cls
}

func (c *Classifier) domainsOf(score []int, num numeric, padded string) []string {
	if c.arithmetic >= 0 {
		score[c.arithmetic] += num.expressions
		// A quantity question over several numbers is a word problem.
		if num.numbers >= 2 && (strings.Contains(padded, " how much ") || strings.Contains(padded, " how many ")) {
			score[c.arithmetic]++
		}
	}
	var ids []int
	for d, s := range score {
		if s > 0 {
			ids = append(ids, d)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	// Highest score first; ties keep the table's order, which is stable.
	slices.SortStableFunc(ids, func(a, b int) int { return score[b] - score[a] })
	ids = ids[:min(len(ids), c.maxDomains)]
	out := make([]string, len(ids))
	for i, d := range ids {
		out[i] = c.domains[d]
	}
	return out
}

func (c *Classifier) safetyOf(lower *textIndex) SafetyCategory {
	for _, m := range c.safety {
		blanked := false
		text := lower.text
		for _, p := range m.patterns {
			// The gate is checked on the full text: blanking only removes.
			if !p.mayMatch(lower) {
				continue
			}
			if !blanked && m.unless != nil && m.unless.mayMatch(lower) {
				text, blanked = m.unless.re.ReplaceAllLiteralString(lower.text, " "), true
			}
			if p.re.MatchString(text) {
				return m.category
			}
		}
	}
	return SafetyNone
}

func (c *Classifier) multiStepOf(lower *textIndex) bool {
	return slices.ContainsFunc(c.multiStep, func(re gatedRegexp) bool { return re.match(lower) })
}

// Difficulty weights (they sum to 1) and the counts at which each signal saturates.
const (
	diffWeightLength    = 0.25
	diffWeightNumeric   = 0.25
	diffWeightReasoning = 0.25
	diffWeightMultiStep = 0.15
	diffWeightStructure = 0.10

	diffSaturateWords     = 60
	diffSaturateNumeric   = 10
	diffSaturateReasoning = 3
)

// difficulty scores 0 (easy) … 1 (hard) from cheap text signals; doc.go
// gives the formula.
func difficulty(prompt string, words int, num numeric, reasoning int, multiStep bool) float64 {
	questions := strings.Count(prompt, "?")
	clauses := strings.Count(prompt, ",") + strings.Count(prompt, ";")
	structure := float64(max(questions-1, 0))/2 + float64(clauses)/6
	d := diffWeightLength*min(float64(words)/diffSaturateWords, 1) +
		diffWeightNumeric*min(float64(num.numbers+num.operators)/diffSaturateNumeric, 1) +
		diffWeightReasoning*min(float64(reasoning)/diffSaturateReasoning, 1) +
		diffWeightStructure*min(structure, 1)
	if multiStep {
		d += diffWeightMultiStep
	}
	return math.Round(min(d, 1)*1000) / 1000
}

// numeric counts what makes a prompt look like a calculation.
type numeric struct {
	numbers     int // standalone numbers: 42, 3.14, 1,000 (not the 4 of IPv4)
	operators   int // + - * / × ÷ ^ = % next to a digit
	expressions int // an operator between two digits (7 + 8), or a percentage (15%)
}

func scanNumeric(s string) numeric {
	var n numeric
	rs := []rune(s)
	isWord := func(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	// neighbour is the nearest rune in direction dir that is not a space.
	neighbour := func(i, dir int) rune {
		for i += dir; i >= 0 && i < len(rs); i += dir {
			if !unicode.IsSpace(rs[i]) {
				return rs[i]
			}
		}
		return ' '
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case isASCIIDigit(r):
			start := i
			for i+1 < len(rs) && (isASCIIDigit(rs[i+1]) ||
				((rs[i+1] == '.' || rs[i+1] == ',') && i+2 < len(rs) && isASCIIDigit(rs[i+2]))) {
				i++
			}
			if (start == 0 || !isWord(rs[start-1])) && (i+1 == len(rs) || !isWord(rs[i+1])) {
				n.numbers++
			}
		case strings.ContainsRune("+-*/×÷^=%", r):
			left, right := isASCIIDigit(neighbour(i, -1)), isASCIIDigit(neighbour(i, +1))
			if left || (right && r != '%') {
				n.operators++
			}
			if (left && right && r != '=' && r != '%') || (left && r == '%') {
				n.expressions++
			}
		}
	}
	return n
}

// wordsOf splits text into runs of letters and digits.
func wordsOf(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}
