package router

import (
	"regexp/syntax"
	"slices"
	"testing"
)

func TestRequiredLiterals(t *testing.T) {
	cases := []struct {
		pattern string
		want    []string // nil: no gate
	}{
		{`kill myself`, []string{"kill myself"}},
		{`\bhow (many|much) pills\b`, []string{"how many pills", "how much pills"}},
		{`\b\d+ ?(mg|mcg)\b`, []string{"mg", "mcg"}}, // as long as " mg", " mcg" and fewer
		{`(bomb|gun)s?`, []string{"bomb", "gun"}},
		{`\bfirst\b[^?!]{1,200}\bthen\b`, []string{"first"}},
		{`a|\d+`, nil},        // one branch needs no literal
		{`(?i:patient)`, nil}, // case folded: the gate would be wrong
		{`\d+\s+\d+`, nil},    // classes only
		{`x*`, nil},           // may match nothing
		{`[ab]c[de]`, []string{"acd", "ace", "bcd", "bce"}},
	}
	for _, tc := range cases {
		t.Run(tc.pattern, func(t *testing.T) {
			re, err := syntax.Parse(tc.pattern, syntax.Perl)
			if err != nil {
				t.Fatal(err)
			}
			got := requiredLiterals(re.Simplify())
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("requiredLiterals(%q) = %q, want %q", tc.pattern, got, want)
			}
		})
	}
}

func TestGatedRegexp(t *testing.T) {
	g, err := compileGated(`\bhow (many|much) (mg|pills)\b`)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		text      string
		may, want bool
	}{
		{"how many mg is safe", true, true},
		{"how much pills", true, true},
		{"how many apples", false, false},
		{"somehow many mg", true, false}, // the gate lets it through, the regexp decides
	}
	for _, tc := range cases {
		t.Run(tc.text, func(t *testing.T) {
			x := newTextIndex(tc.text)
			if may, got := g.mayMatch(x), g.match(x); may != tc.may || got != tc.want {
				t.Errorf("mayMatch %v MatchString %v, want %v %v", may, got, tc.may, tc.want)
			}
		})
	}
	if !newTextIndex("ab").contains("b") || newTextIndex("ab").contains("ba") || !newTextIndex("").contains("") {
		t.Error("textIndex.contains disagrees with strings.Contains")
	}
	if _, err := compileGated("("); err == nil {
		t.Error("bad pattern compiled")
	}
}
