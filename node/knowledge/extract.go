package knowledge

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
)

// Kinds of files the index reads, by extension (lower case).
var readers = map[string]func(path string) (string, error){
	".txt":      readText,
	".text":     readText,
	".md":       readMarkdown,
	".markdown": readMarkdown,
	".pdf":      readPDF,
}

// Indexable reports whether the index reads a file of this name.
func Indexable(name string) bool {
	_, ok := readers[strings.ToLower(filepath.Ext(name))]
	return ok
}

// readDocument returns a file's text.
func readDocument(path string) (string, error) {
	read, ok := readers[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return "", fmt.Errorf("read %s: %w", path, ErrUnsupported)
	}
	text, err := read(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return text, nil
}

func readText(path string) (string, error) {
	b, err := readCapped(path)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	return string(b), nil
}

// Markdown syntax that carries no words: heading marks, emphasis, code
// fences, link targets, list bullets.
var (
	mdLink    = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	mdHeading = regexp.MustCompile(`(?m)^\s{0,3}#{1,6}\s+`)
	mdBullet  = regexp.MustCompile(`(?m)^\s*(?:[-*+]|\d+\.)\s+`)
	mdMarks   = strings.NewReplacer("```", "", "**", "", "__", "", "`", "")
)

func readMarkdown(path string) (string, error) {
	text, err := readText(path)
	if err != nil {
		return "", err
	}
	text = mdLink.ReplaceAllString(text, "$1")
	text = mdHeading.ReplaceAllString(text, "")
	text = mdBullet.ReplaceAllString(text, "")
	return mdMarks.Replace(text), nil
}

func readPDF(path string) (string, error) {
	b, err := readCapped(path)
	if err != nil {
		return "", err
	}
	return pdfText(b)
}

// pdfText extracts the plain text of a PDF. The parser panics on some
// malformed files; a bad document must not take the node down.
func pdfText(b []byte) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("%w: pdf: %v", ErrMalformed, r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return "", fmt.Errorf("%w: pdf: %w", ErrMalformed, err)
	}
	rd, err := r.GetPlainText()
	if err != nil {
		return "", fmt.Errorf("%w: pdf text: %w", ErrMalformed, err)
	}
	out, err := io.ReadAll(io.LimitReader(rd, MaxDocumentBytes))
	if err != nil {
		return "", fmt.Errorf("%w: pdf text: %w", ErrMalformed, err)
	}
	return strings.ToValidUTF8(string(out), "\uFFFD"), nil
}

// readCapped reads a file of at most MaxDocumentBytes.
func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxDocumentBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxDocumentBytes {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, MaxDocumentBytes)
	}
	return b, nil
}

// chunk splits a document into passages of about PassageBytes, at
// paragraph and then sentence boundaries, so a passage holds whole
// sentences that belong together.
func chunk(text string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for _, para := range paragraphs(text) {
		for _, s := range sentences(para) {
			if cur.Len() > 0 && cur.Len()+len(s)+1 > PassageBytes {
				flush()
			}
			if cur.Len() > 0 {
				cur.WriteByte(' ')
			}
			cur.WriteString(s)
		}
		// A paragraph boundary is a good place to end a passage that is
		// already half full.
		if cur.Len() >= PassageBytes/2 {
			flush()
		}
	}
	flush()
	return out
}

var blankLine = regexp.MustCompile(`\n\s*\n`)

// paragraphs splits text at blank lines and joins each paragraph's lines.
// A line that ends without punctuation before a capitalized line, or at the
// paragraph's end, is a heading or a title: it gets a full stop, so it ends
// a sentence instead of running into the next.
func paragraphs(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var out []string
	for _, p := range blankLine.Split(text, -1) {
		var lines []string
		for _, l := range strings.Split(p, "\n") {
			if l = strings.Join(strings.Fields(l), " "); l != "" {
				lines = append(lines, l)
			}
		}
		for i, l := range lines {
			if strings.ContainsAny(l[len(l)-1:], ".!?:;,") {
				continue
			}
			if i == len(lines)-1 || startsUpper(lines[i+1]) {
				lines[i] = l + "."
			}
		}
		if len(lines) > 0 {
			out = append(out, strings.Join(lines, " "))
		}
	}
	return out
}

// sentenceEnd is the end of a sentence: terminal punctuation then a space.
var sentenceEnd = regexp.MustCompile(`[.!?]["')\]]?\s+`)

// sentences splits a paragraph into sentences; a sentence longer than
// PassageBytes is cut at word boundaries so no passage overflows.
func sentences(para string) []string {
	var out []string
	last := 0
	for _, m := range sentenceEnd.FindAllStringIndex(para, -1) {
		out = append(out, strings.TrimSpace(para[last:m[1]]))
		last = m[1]
	}
	if rest := strings.TrimSpace(para[last:]); rest != "" {
		out = append(out, rest)
	}
	var capped []string
	for _, s := range out {
		for len(s) > PassageBytes {
			cut := strings.LastIndexByte(s[:PassageBytes], ' ')
			if cut <= 0 {
				cut = PassageBytes
				for cut > 0 && !utf8.RuneStart(s[cut]) {
					cut--
				}
			}
			capped = append(capped, strings.TrimSpace(s[:cut]))
			s = strings.TrimSpace(s[cut:])
		}
		if s != "" {
			capped = append(capped, s)
		}
	}
	return capped
}
