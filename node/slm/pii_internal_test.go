package slm

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseSpans: any model answer decodes into spans that were offered and
// occur in the text, at most maxSpans, or into ErrBadSpans; never a panic.
func FuzzParseSpans(f *testing.F) {
	f.Add(`{"spans":[{"kind":"email","text":"a@b.cc"},{"kind":"aura","text":"x"}]}`, "write to a@b.cc")
	f.Add(`{"spans":[{"kind":"person-name","text":"  Ana  "}]}`, "Ana")
	f.Add(`Sure! {"spans":[]}`, "")
	f.Add(`{"spans":null}`, "x")
	f.Fuzz(func(t *testing.T, content, text string) {
		kinds := []string{"email", "person-name"}
		spans, err := parseSpans(content, text, kinds)
		if err != nil {
			if !errors.Is(err, ErrBadSpans) {
				t.Fatalf("error %v is not ErrBadSpans", err)
			}
			return
		}
		if len(spans) > maxSpans {
			t.Fatalf("%d spans", len(spans))
		}
		for _, s := range spans {
			if s.Text == "" || !strings.Contains(text, s.Text) || (s.Kind != "email" && s.Kind != "person-name") {
				t.Fatalf("span %+v kept from %q", s, text)
			}
		}
	})
}
