package router

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Agreement scores, documented in doc.go.
const (
	containedScore = 0.85 // a short answer found verbatim in a longer one
	containedMax   = 4    // words in the shorter answer for containment to count
	numericRelTol  = 1e-4 // numbers agree within this relative …
	numericAbsTol  = 1e-9 // … or absolute difference
)

var answerPrefixes = [][]string{
	{"final", "answer", "is"}, {"final", "answer"}, {"correct", "answer", "is"}, {"answer", "is"}, {"answer"},
}

var negations = map[string]bool{
	"not": true, "no": true, "never": true, "none": true, "neither": true, "nor": true, "cannot": true,
	"isn't": true, "aren't": true, "wasn't": true, "weren't": true, "doesn't": true, "don't": true,
	"didn't": true, "can't": true, "won't": true, "false": true, "incorrect": true,
}

// Normalize puts an answer in a canonical form for comparison: lower case;
// articles and answer prefixes ("The answer is", "Answer:") dropped;
// punctuation removed except where it is part of a number (3.14, -2, 1/2,
// 50%); thousands separators removed (1,000 → 1000); whitespace collapsed;
// a lone number word written in digits ("Four." → "4"). It is idempotent.
func Normalize(answer string) string {
	toks := strings.Fields(cleanAnswer(apostrophes.Replace(strings.ToLower(answer))))
	toks = slices.DeleteFunc(toks, func(t string) bool { return t == "a" || t == "an" || t == "the" })
	for stripped := true; stripped; {
		stripped = false
		for _, p := range answerPrefixes {
			if len(toks) > len(p) && slices.Equal(toks[:len(p)], p) {
				toks, stripped = toks[len(p):], true
				break
			}
		}
	}
	if len(toks) == 1 {
		if d, ok := numberWords[toks[0]]; ok {
			toks[0] = d
		}
	}
	return strings.Join(toks, " ")
}

func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

// cleanAnswer keeps letters, digits and the punctuation that belongs to
// words or numbers, turning everything else into single spaces.
func cleanAnswer(s string) string {
	rs := []rune(s)
	out := make([]rune, 0, len(rs))
	last := func() rune {
		if len(out) == 0 {
			return ' '
		}
		return out[len(out)-1]
	}
	next := func(i, ahead int) rune {
		if i+ahead < len(rs) {
			return rs[i+ahead]
		}
		return ' '
	}
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			out = append(out, r)
		case unicode.IsMark(r) && (unicode.IsLetter(last()) || unicode.IsMark(last())):
			out = append(out, r)
		case r == '\'' && unicode.IsLetter(last()) && unicode.IsLetter(next(i, 1)):
			out = append(out, r)
		case (r == '.' || r == '/') && isASCIIDigit(last()) && isASCIIDigit(next(i, 1)):
			out = append(out, r)
		case r == '-' && last() == ' ' && isASCIIDigit(next(i, 1)):
			out = append(out, r)
		case r == '%' && isASCIIDigit(last()):
			out = append(out, r)
		case r == ',' && isASCIIDigit(last()) && isASCIIDigit(next(i, 1)) && isASCIIDigit(next(i, 2)) &&
			isASCIIDigit(next(i, 3)) && !isASCIIDigit(next(i, 4)):
			// a thousands separator: drop it so 1,000 reads as 1000
		case last() != ' ':
			out = append(out, ' ')
		}
	}
	return string(out)
}

// answerKey is an answer prepared once for many comparisons.
type answerKey struct {
	tokens  []string
	nums    []float64
	negated bool
}

func keyOf(answer string) answerKey {
	k := answerKey{tokens: strings.Fields(Normalize(answer))}
	for _, t := range k.tokens {
		if v, ok := parseNumber(t); ok {
			k.nums = append(k.nums, v)
		}
		k.negated = k.negated || negations[t]
	}
	return k
}

// parseNumber reads 42, -4.5, 1e3, 50% (as 50) and 1/2 (as 0.5).
func parseNumber(tok string) (float64, bool) {
	t := strings.TrimSuffix(tok, "%")
	body := strings.TrimPrefix(t, "-")
	if body == "" || !isASCIIDigit(rune(body[0])) {
		return 0, false
	}
	if num, den, ok := strings.Cut(t, "/"); ok {
		a, okA := parsePlain(num)
		b, okB := parsePlain(den)
		if !okA || !okB || b == 0 {
			return 0, false
		}
		return a / b, true
	}
	return parsePlain(t)
}

func parsePlain(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// Agree scores how far two answers say the same thing, 0…1 (symmetric):
// one number each → 1 when equal within tolerance, else 0; the same
// normalized text → 1; otherwise the larger of token F1 and containment (a
// short answer of up to 4 words found verbatim in the other, with no
// negation on one side only, scores 0.85).
func Agree(a, b string) float64 { return agreeKeys(keyOf(a), keyOf(b)) }

func agreeKeys(a, b answerKey) float64 {
	if len(a.tokens) == 0 || len(b.tokens) == 0 {
		return 0
	}
	if len(a.nums) == 1 && len(b.nums) == 1 {
		if a.negated == b.negated && numbersEqual(a.nums[0], b.nums[0]) {
			return 1
		}
		return 0
	}
	if slices.Equal(a.tokens, b.tokens) {
		return 1
	}
	return max(tokenF1(a.tokens, b.tokens), containment(a, b))
}

func numbersEqual(x, y float64) bool {
	return math.Abs(x-y) <= max(numericAbsTol, numericRelTol*max(math.Abs(x), math.Abs(y)))
}

// tokenF1 is the harmonic mean of precision and recall over shared words
// (counted with multiplicity): 2·common / (|a|+|b|).
func tokenF1(a, b []string) float64 {
	counts := make(map[string]int, len(a))
	for _, t := range a {
		counts[t]++
	}
	common := 0
	for _, t := range b {
		if counts[t] > 0 {
			counts[t]--
			common++
		}
	}
	return 2 * float64(common) / float64(len(a)+len(b))
}

func containment(a, b answerKey) float64 {
	short, long := a, b
	if len(short.tokens) > len(long.tokens) {
		short, long = long, short
	}
	if len(short.tokens) > containedMax || len(short.tokens) == len(long.tokens) || short.negated != long.negated {
		return 0
	}
	for i := 0; i+len(short.tokens) <= len(long.tokens); i++ {
		if slices.Equal(long.tokens[i:i+len(short.tokens)], short.tokens) {
			return containedScore
		}
	}
	return 0
}

// Cosine is the cosine similarity of two embedding vectors mapped to 0…1
// (negative similarity counts as none); vectors of different length, empty
// or zero vectors score 0. Use it in an AgreeFunc when peers share an
// embedding model.
func Cosine(a, b []float32) float64 {
	if len(a) == 0 || len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return clamp01(dot / math.Sqrt(na*nb))
}

// clusters groups items whose pairwise agreement reaches threshold; groups
// chain (if a~b and b~c, all three are one group). It returns a label per
// item, the lowest index in its group, or -1 for unusable items.
func clusters(n int, usable func(i int) bool, agree func(i, j int) float64, threshold float64) []int {
	parent := make([]int, n)
	for i := range parent {
		parent[i] = -1
		if usable(i) {
			parent[i] = i
		}
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i := range n {
		if parent[i] < 0 {
			continue
		}
		for j := i + 1; j < n; j++ {
			if parent[j] < 0 {
				continue
			}
			if ri, rj := find(i), find(j); ri != rj && agree(i, j) >= threshold {
				parent[max(ri, rj)] = min(ri, rj) // the root is always the lowest index
			}
		}
	}
	label := make([]int, n)
	for i := range n {
		label[i] = -1
		if parent[i] >= 0 {
			label[i] = find(i)
		}
	}
	return label
}
