package knowledge

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/swarmllm/swarmllm/cms"
)

// termScores weighs the words of a document as descriptions of it: each
// word counts once per passage it appears in, three times when it is
// written capitalized inside a sentence (a name: a product, a place, a
// protocol), which is what tells one collection from another.
func termScores(passages []string) map[string]float64 {
	out := map[string]float64{}
	for _, p := range passages {
		seen := map[string]bool{}
		startOfSentence := true
		for _, raw := range strings.Fields(p) {
			word := strings.TrimFunc(raw, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
			named := !startOfSentence && startsUpper(word)
			startOfSentence = strings.ContainsAny(raw[len(raw)-1:], ".!?:")
			w := strings.ToLower(word)
			if !descriptive(w) || seen[w] {
				continue
			}
			seen[w] = true
			out[w]++
			if named {
				out[w] += 2
			}
		}
	}
	return out
}

// descriptive: at least four letters, not a number, not a stop word.
func descriptive(w string) bool {
	if utf8.RuneCountInString(w) < 4 || strings.IndexFunc(w, unicode.IsLetter) < 0 {
		return false
	}
	return len(cms.Terms(w)) == 1
}

func startsUpper(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.IsUpper(r)
}

// topTerms are the n best-scored words, ties in alphabetical order.
func topTerms(scores map[string]float64, n int) []string {
	terms := make([]string, 0, len(scores))
	for t := range scores {
		terms = append(terms, t)
	}
	slices.SortFunc(terms, func(a, b string) int {
		if c := cmp.Compare(scores[b], scores[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return terms[:min(n, len(terms))]
}
