package knowledge

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestChunk(t *testing.T) {
	long := strings.Repeat("word ", PassageBytes) // one sentence far over a passage
	cases := []struct {
		name  string
		text  string
		check func([]string) bool
	}{
		{"empty", "  \n\n ", func(c []string) bool { return len(c) == 0 }},
		{"short paragraphs join", "One fact.\n\nAnother fact.", func(c []string) bool {
			return slices.Equal(c, []string{"One fact. Another fact."})
		}},
		{"headings and titles end a sentence", "Supply contracts\nFuel comes by barge\nonce a month\n\nHeading\n\n- a bullet", func(c []string) bool {
			return slices.Equal(c, []string{"Supply contracts. Fuel comes by barge once a month. Heading. - a bullet."})
		}},
		{"sentences stay whole", strings.Repeat("This sentence has exactly fifty bytes in it, yes. ", 30), func(c []string) bool {
			for _, p := range c {
				if len(p) > PassageBytes || !strings.HasSuffix(p, "yes.") {
					return false
				}
			}
			return len(c) > 1
		}},
		{"an overlong sentence is cut", long, func(c []string) bool {
			for _, p := range c {
				if len(p) > PassageBytes || p == "" {
					return false
				}
			}
			return len(c) == 5 // 3000 bytes in passages of at most 600
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := chunk(tc.text); !tc.check(got) {
				t.Fatalf("chunk = %q", got)
			}
		})
	}
}

func TestReadDocument(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, file string
		body       []byte
		want       string // a run the text must contain
		err        error
	}{
		{"markdown loses its syntax", "a.md", []byte("## Title\n\nSee [the **manual**](http://x/y) and `code`."), "See the manual and code.", nil},
		{"text as is", "b.txt", []byte("plain words"), "plain words", nil},
		{"pdf text", "c.pdf", minimalPDF("Hello (PDF) world"), "Hello (PDF) world", nil},
		{"broken pdf", "d.pdf", []byte("%PDF-1.4 nothing else"), "", ErrMalformed},
		{"unsupported", "e.docx", []byte("x"), "", ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, tc.body, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := readDocument(path)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("readDocument = %q, %v; want %v", got, err, tc.err)
				}
				return
			}
			if err != nil || !strings.Contains(got, tc.want) {
				t.Fatalf("readDocument = %q, %v; want it to contain %q", got, err, tc.want)
			}
		})
	}
}

func TestCited(t *testing.T) {
	ps := []Passage{{Source: "a.md"}, {Source: "b.pdf"}, {Source: "a.md"}}
	cases := []struct {
		name, answer string
		want         []string
	}{
		{"names one", "It is 12 [b.pdf].", []string{"b.pdf"}},
		{"names both", "12 [a.md], 13 [b.pdf]", []string{"a.md", "b.pdf"}},
		{"names none: the best passage", "It is 12.", []string{"a.md"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Cited(tc.answer, ps); !slices.Equal(got, tc.want) {
				t.Fatalf("Cited = %v, want %v", got, tc.want)
			}
		})
	}
	if got := Cited("x", nil); got != nil {
		t.Fatalf("Cited with no passages = %v", got)
	}
}

func FuzzPDFText(f *testing.F) {
	f.Add(minimalPDF("seed line"))
	f.Add([]byte("%PDF-1.4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = pdfText(b) // must return, never panic
	})
}
