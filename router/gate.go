package router

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
)

// gatedRegexp skips a regular expression on text that cannot match it: the
// gate lists literals of which every match contains at least one, so a
// prompt holding none of them is refused with a few substring searches
// instead of a run of the regexp engine. Most prompts touch few rules.
type gatedRegexp struct {
	re   *regexp.Regexp
	gate []string // nil: no gate is known, always run re
}

func compileGated(pattern string) (gatedRegexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return gatedRegexp{}, err
	}
	g := gatedRegexp{re: re}
	if tree, err := syntax.Parse(pattern, syntax.Perl); err == nil {
		g.gate = requiredLiterals(tree.Simplify())
	}
	return g, nil
}

func (g gatedRegexp) mayMatch(x *textIndex) bool {
	return g.gate == nil || slices.ContainsFunc(g.gate, x.contains)
}

func (g gatedRegexp) match(x *textIndex) bool { return g.mayMatch(x) && g.re.MatchString(x.text) }

// textIndex is a text with the set of its byte pairs, so most gate literals
// are refused by two bit tests instead of a substring search: the rules hold
// a few thousand literals, and a prompt contains few of them.
type textIndex struct {
	text  string
	pairs [1 << 16 / 64]uint64
}

func newTextIndex(text string) *textIndex {
	x := &textIndex{text: text}
	for i := 0; i+1 < len(text); i++ {
		k := uint16(text[i])<<8 | uint16(text[i+1])
		x.pairs[k/64] |= 1 << (k % 64)
	}
	return x
}

func (x *textIndex) hasPair(s string, i int) bool {
	k := uint16(s[i])<<8 | uint16(s[i+1])
	return x.pairs[k/64]&(1<<(k%64)) != 0
}

func (x *textIndex) contains(lit string) bool {
	if len(lit) >= 2 && (!x.hasPair(lit, 0) || !x.hasPair(lit, len(lit)-2)) {
		return false
	}
	return strings.Contains(x.text, lit)
}

// requiredLiterals returns literals of which every match of re contains at
// least one, or nil when it cannot tell (which only costs speed).
func requiredLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		return []string{string(re.Rune)}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		// Any child's literals will do, and so will the products of runs of
		// children that match a small, known set of strings ("how (many|much)"
		// → "how many", "how much"); keep the set whose shortest literal is longest.
		var best, run []string
		consider := func(lits []string) {
			if lits == nil || shortest(lits) == 0 {
				return
			}
			if best == nil || shortest(lits) > shortest(best) || (shortest(lits) == shortest(best) && len(lits) < len(best)) {
				best = lits
			}
		}
		for _, sub := range re.Sub {
			consider(requiredLiterals(sub))
			if set, ok := exactSet(sub); ok {
				if run = product(run, set); run != nil {
					continue
				}
			}
			consider(run)
			run = nil
		}
		consider(run)
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			lits := requiredLiterals(sub)
			if lits == nil {
				return nil
			}
			all = append(all, lits...)
		}
		return all
	}
	return nil
}

// maxExact bounds the literal sets built from products.
const maxExact = 64

// exactSet lists every string re can match, if that is a small set; zero-
// width assertions match "" (they never add characters to a substring).
func exactSet(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary,
		syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return []string{""}, true
	case syntax.OpCharClass:
		// Small classes only, and never spacing: "\s" would multiply a set
		// into literals such as ". " that nearly every prompt holds.
		var set []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if set = append(set, string(r)); len(set) > 8 || unicode.IsSpace(r) {
					return nil, false
				}
			}
		}
		return set, true
	case syntax.OpCapture:
		return exactSet(re.Sub[0])
	case syntax.OpQuest:
		set, ok := exactSet(re.Sub[0])
		return append(set, ""), ok
	case syntax.OpConcat:
		set := []string{""}
		for _, sub := range re.Sub {
			s, ok := exactSet(sub)
			if !ok {
				return nil, false
			}
			if set = product(set, s); set == nil {
				return nil, false
			}
		}
		return set, true
	case syntax.OpAlternate:
		var set []string
		for _, sub := range re.Sub {
			s, ok := exactSet(sub)
			if !ok || len(set)+len(s) > maxExact {
				return nil, false
			}
			set = append(set, s...)
		}
		return set, true
	}
	return nil, false
}

// product concatenates every string of a (nil: the start of a run, {""})
// with every string of b; nil when the result would exceed maxExact.
func product(a, b []string) []string {
	if a == nil {
		a = []string{""}
	}
	if len(a)*len(b) > maxExact {
		return nil
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

func shortest(lits []string) int {
	n := len(lits[0])
	for _, l := range lits[1:] {
		n = min(n, len(l))
	}
	return n
}
