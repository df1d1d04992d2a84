package router

import (
	"strings"
	"testing"
)

func TestStreamRestorer(t *testing.T) {
	pr := defaultClassifier.Protect([]Turn{{Content: "Email maria.rossi@example.com about the invoice, my name is Maria Rossi."}}, nil)
	turns, _, err := pr.For(PrivacyRedact)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(turns[0].Content, "[EMAIL_1]") || !strings.Contains(turns[0].Content, "[NAME_1]") {
		t.Fatalf("redacted prompt %q lacks the placeholders this test splits", turns[0].Content)
	}
	tests := []struct {
		name   string
		pr     *Protected
		chunks []string
		// each Write's output, then Flush's
		want []string
	}{
		{"no placeholder", pr, []string{"Hello ", "there."}, []string{"Hello ", "there.", ""}},
		{"whole placeholder in one chunk", pr, []string{"Dear [NAME_1], hi"}, []string{"Dear Maria Rossi, hi", ""}},
		{"placeholder split across chunks", pr, []string{"Dear [NA", "ME", "_1], write to [EMAIL_1]"},
			[]string{"Dear ", "", "Maria Rossi, write to maria.rossi@example.com", ""}},
		{"bracket that is no placeholder", pr, []string{"see [1", "] and [N", "ote]"}, []string{"see [1", "] and ", "[Note]", ""}},
		{"incomplete at the end", pr, []string{"Dear [NAME_"}, []string{"Dear ", "[NAME_"}},
		{"nothing protected", nil, []string{"Dear [NAME_1]"}, []string{"Dear [NAME_1]", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.pr.StreamRestorer()
			var got []string
			var all strings.Builder
			for _, c := range tc.chunks {
				got = append(got, r.Write(c))
				all.WriteString(c)
			}
			got = append(got, r.Flush())
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("pieces = %q, want %q", got, tc.want)
			}
			whole := all.String()
			if tc.pr != nil {
				whole = tc.pr.Restore(whole)
			}
			if strings.Join(got, "") != whole {
				t.Fatalf("streamed %q, Restore gives %q", strings.Join(got, ""), whole)
			}
		})
	}
}
