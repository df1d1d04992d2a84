package workload

import (
	"math"
	"slices"
	"strings"
	"unicode"
)

// FuzzyThreshold is the least share of an item's prompt, weighted by how rare
// each word is across the workload (IDF), that a query must contain for a
// fuzzy match. At 0.8, "What is the capital of Portugal?" (only the rare word
// differs from "…of Egypt?") scores 0.67 and "Which river flows through
// Paris?" 0.76: neither matches, while extra words around a question do not
// lower the score at all.
//
// Long prompts (at least LongPromptTokens distinct tokens) need only
// LongFuzzyThreshold: redacting a patient's name and e-mail address removes
// several rare words (0.75 on the shipped workload) without changing the
// question, and a long prompt cannot drift to another item by one word.
const (
	FuzzyThreshold     = 0.8
	LongFuzzyThreshold = 0.7
	LongPromptTokens   = 12
)

// Normalize lowercases s and reduces it to its word, number and operator
// tokens separated by single spaces: punctuation and spacing differences
// vanish, but "7 + 8" and "7 * 8" stay different.
func Normalize(s string) string { return strings.Join(tokens(s), " ") }

// Lookup finds the item a prompt asks about, in this order:
//  1. exact: the normalized prompt equals an item's;
//  2. containment: an item's normalized prompt occurs in the query as a whole
//     run of tokens (not glued to a number or operator, so "What is 7 + 8 + 3"
//     does not contain "What is 7 + 8"); the longest such item wins. This finds
//     questions wrapped in instructions ("Refine this draft answer to the
//     question: …") or following a system prompt;
//  3. fuzzy: the item whose IDF-weighted token recall is highest, if it is at
//     least FuzzyThreshold (LongFuzzyThreshold for long prompts) and, when the item has numbers, the query has
//     exactly the same numbers (so "What is 12 * 12 * 12" is not "12 * 12").
//
// It reports false when nothing matches.
func (w *Workload) Lookup(prompt string) (Item, bool) {
	q := tokens(prompt)
	if len(q) == 0 {
		return Item{}, false
	}
	if i, ok := w.exact[strings.Join(q, " ")]; ok {
		return w.items[i], true
	}
	if i := w.contained(q); i >= 0 {
		return w.items[i], true
	}
	if i := w.fuzzy(q); i >= 0 {
		return w.items[i], true
	}
	return Item{}, false
}

func (w *Workload) contained(q []string) int {
	best, bestLen := -1, 0
	for i, p := range w.toks {
		if len(p) <= bestLen || len(p) > len(q) {
			continue
		}
		if containsRun(q, p) {
			best, bestLen = i, len(p)
		}
	}
	return best
}

// containsRun reports whether p occurs in q as a contiguous run whose
// neighbours are not numbers or operators (which would extend the question).
func containsRun(q, p []string) bool {
	for s := 0; s+len(p) <= len(q); s++ {
		if q[s] != p[0] {
			continue
		}
		match := true
		for j := 1; j < len(p); j++ {
			if q[s+j] != p[j] {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if s > 0 && isMathToken(q[s-1]) {
			continue
		}
		if e := s + len(p); e < len(q) && isMathToken(q[e]) {
			continue
		}
		return true
	}
	return false
}

func (w *Workload) fuzzy(q []string) int {
	have := bag(q)
	qNumbers := numbers(q)
	best, bestScore := -1, 0.0
	for i, need := range w.bags {
		if w.nums[i] != "" && w.nums[i] != qNumbers {
			continue
		}
		var got, total float64
		for t, n := range need {
			total += w.idf[t] * float64(n)
			got += w.idf[t] * float64(min(n, have[t]))
		}
		threshold := FuzzyThreshold
		if len(need) >= LongPromptTokens {
			threshold = LongFuzzyThreshold
		}
		if s := got / total; s >= threshold && s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

func bag(toks []string) map[string]int {
	m := make(map[string]int, len(toks))
	for _, t := range toks {
		m[t]++
	}
	return m
}

// inverseDocFreq weights each token by how few item prompts contain it.
func inverseDocFreq(docs [][]string) map[string]float64 {
	df := make(map[string]int)
	for _, d := range docs {
		seen := make(map[string]bool, len(d))
		for _, t := range d {
			if !seen[t] {
				seen[t] = true
				df[t]++
			}
		}
	}
	n := float64(len(docs))
	idf := make(map[string]float64, len(df))
	for t, c := range df {
		idf[t] = math.Log((n+1)/(float64(c)+1)) + 1
	}
	return idf
}

const operators = "+-*/^%=<>()"

// tokens splits s into lowercase words and numbers (a decimal point or dotted
// quad between digits stays inside the number) and single operator symbols;
// every other character separates tokens.
func tokens(s string) []string {
	var out []string
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			var b strings.Builder
			for i < len(rs) {
				c := rs[i]
				if unicode.IsLetter(c) || unicode.IsDigit(c) {
					b.WriteRune(unicode.ToLower(c))
					i++
					continue
				}
				if c == '.' && i > 0 && unicode.IsDigit(rs[i-1]) && i+1 < len(rs) && unicode.IsDigit(rs[i+1]) {
					b.WriteRune(c)
					i++
					continue
				}
				break
			}
			out = append(out, b.String())
		case strings.ContainsRune(operators, r):
			out = append(out, string(r))
			i++
		default:
			i++
		}
	}
	return out
}

// numbers is the sorted multiset of number tokens, as one comparable string.
func numbers(toks []string) string {
	var ns []string
	for _, t := range toks {
		if isNumber(t) {
			ns = append(ns, t)
		}
	}
	slices.Sort(ns)
	return strings.Join(ns, " ")
}

func isMathToken(t string) bool {
	return isNumber(t) || (len(t) == 1 && strings.Contains(operators, t))
}

func isNumber(t string) bool {
	if t == "" {
		return false
	}
	for _, r := range t {
		if !unicode.IsDigit(r) && r != '.' {
			return false
		}
	}
	return true
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }
