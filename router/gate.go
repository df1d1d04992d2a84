package router

import (
	"regexp"
	"regexp/syntax"
	"strings"
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

func (g gatedRegexp) mayMatch(text string) bool {
	if g.gate == nil {
		return true
	}
	for _, lit := range g.gate {
		if strings.Contains(text, lit) {
			return true
		}
	}
	return false
}

func (g gatedRegexp) MatchString(text string) bool { return g.mayMatch(text) && g.re.MatchString(text) }

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
		var best []string
		for _, sub := range re.Sub {
			if lits := requiredLiterals(sub); lits != nil && (best == nil || shortest(lits) > shortest(best)) {
				best = lits
			}
		}
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

func shortest(lits []string) int {
	n := len(lits[0])
	for _, l := range lits[1:] {
		n = min(n, len(l))
	}
	return n
}
