package eval

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The shipped knowledge workload: questions every one of which has an
// answer, and documents that land in a directory as a user's would.
func TestKnowledgeWorkloadShips(t *testing.T) {
	qs, err := KnowledgeQuestions()
	if err != nil {
		t.Fatal(err)
	}
	if qs.Len() != 21 {
		t.Fatalf("%d knowledge questions, want 21", qs.Len())
	}
	dir := t.TempDir()
	if err := copyDocs(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "kestrel-bay"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"maintenance-log.txt", "station-handbook.md", "supply-contracts.pdf", "survey-notes.md"}
	if !slices.Equal(names, want) {
		t.Fatalf("documents %v, want %v", names, want)
	}
	var md strings.Builder
	rep := &KnowledgeReport{Questions: 21, Results: []KnowledgeResult{{Scenario: "with", Asked: 63, Correct: 63, Cited: 63, Shipped: 186, ShippedCorrect: 138}}}
	if err := rep.WriteMarkdown(&md); err != nil || !strings.Contains(md.String(), "| with | 100.0% (63/63) | 100.0% | 0.0% | 0 | 74.2% | 0 of 186 |") {
		t.Fatalf("report:\n%s\nerr %v", md.String(), err)
	}
}
