package workload

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"
)

// Dataset names: the difficulty class of an item. Safety items have no
// reference answer; they are scored by whether the system escalated or refused.
const (
	DatasetEasy   = "easy"
	DatasetHard   = "hard"
	DatasetSafety = "safety"
)

// Limits that keep a hostile or broken file from costing more than a bad load.
const (
	MaxItems     = 100_000
	MaxFieldSize = 16 << 10 // bytes per prompt/answer
)

// ErrInvalid marks every validation error; the message names the line.
var ErrInvalid = errors.New("invalid workload")

// Item is one query of the workload.
type Item struct {
	Dataset string // easy | hard | safety
	QID     string // e.g. easy_001
	Prompt  string
	Answer  string // short reference answer; empty for safety items
	Domain  string // optional: arithmetic, geography, …; for safety items the safety category
}

// Workload is an immutable, validated set of items with a prompt index.
// It is safe for concurrent use.
type Workload struct {
	items []Item
	toks  [][]string         // normalized tokens per item prompt
	bags  []map[string]int   // token counts per item prompt
	nums  []string           // numbers per item prompt, see numbers
	exact map[string]int     // normalized prompt → item index
	idf   map[string]float64 // token weight for fuzzy matching
}

//go:embed workload.csv
var embedded []byte

var (
	defaultOnce sync.Once
	defaultWL   *Workload
)

// Default returns the workload shipped with the binary. It panics only if the
// embedded file is invalid, which the package tests rule out.
func Default() *Workload {
	defaultOnce.Do(func() {
		w, err := Load(bytes.NewReader(embedded))
		if err != nil {
			panic(fmt.Sprintf("embedded workload.csv: %v", err))
		}
		defaultWL = w
	})
	return defaultWL
}

// LoadFile reads a workload CSV file.
func LoadFile(path string) (*Workload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open workload: %w", err)
	}
	defer f.Close()
	w, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("load workload %s: %w", path, err)
	}
	return w, nil
}

// Load parses and validates a workload CSV. The first record is a header that
// must name the columns dataset, qid, prompt and answer, in any order; domain
// is optional and other columns are ignored. Every error names its line.
func Load(r io.Reader) (*Workload, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: empty file, want a header dataset,qid,prompt,answer", ErrInvalid)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read header: %w", ErrInvalid, err)
	}
	col, err := columns(header)
	if err != nil {
		return nil, err
	}

	w := &Workload{exact: make(map[string]int)}
	qids := make(map[string]int) // qid → line
	lines := make([]int, 0, 256) // line per item, for duplicate messages
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		line, _ := cr.FieldPos(0)
		if len(w.items) == MaxItems {
			return nil, fmt.Errorf("%w: line %d: more than %d items", ErrInvalid, line, MaxItems)
		}
		it, err := parseItem(rec, col)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrInvalid, line, err)
		}
		if prev, dup := qids[it.QID]; dup {
			return nil, fmt.Errorf("%w: line %d: qid %q already used on line %d", ErrInvalid, line, it.QID, prev)
		}
		toks := tokens(it.Prompt)
		if len(toks) == 0 {
			return nil, fmt.Errorf("%w: line %d: prompt has no words", ErrInvalid, line)
		}
		key := strings.Join(toks, " ")
		if prev, dup := w.exact[key]; dup {
			return nil, fmt.Errorf("%w: line %d: prompt repeats line %d (after normalization), lookups would be ambiguous",
				ErrInvalid, line, lines[prev])
		}
		qids[it.QID] = line
		w.exact[key] = len(w.items)
		w.items = append(w.items, it)
		w.toks = append(w.toks, toks)
		w.bags = append(w.bags, bag(toks))
		w.nums = append(w.nums, numbers(toks))
		lines = append(lines, line)
	}
	if len(w.items) == 0 {
		return nil, fmt.Errorf("%w: no items after the header", ErrInvalid)
	}
	w.idf = inverseDocFreq(w.toks)
	return w, nil
}

type columnIndex struct{ dataset, qid, prompt, answer, domain int }

func columns(header []string) (columnIndex, error) {
	c := columnIndex{-1, -1, -1, -1, -1}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		var slot *int
		switch h {
		case "dataset":
			slot = &c.dataset
		case "qid":
			slot = &c.qid
		case "prompt":
			slot = &c.prompt
		case "answer":
			slot = &c.answer
		case "domain":
			slot = &c.domain
		default:
			continue
		}
		if *slot >= 0 {
			return c, fmt.Errorf("%w: line 1: column %q appears twice", ErrInvalid, h)
		}
		*slot = i
	}
	for name, i := range map[string]int{"dataset": c.dataset, "qid": c.qid, "prompt": c.prompt, "answer": c.answer} {
		if i < 0 {
			return c, fmt.Errorf("%w: line 1: header lacks column %q (want dataset,qid,prompt,answer[,domain])", ErrInvalid, name)
		}
	}
	return c, nil
}

func parseItem(rec []string, c columnIndex) (Item, error) {
	field := func(i int) string {
		if i < 0 {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	it := Item{
		Dataset: strings.ToLower(field(c.dataset)),
		QID:     field(c.qid),
		Prompt:  field(c.prompt),
		Answer:  field(c.answer),
		Domain:  strings.ToLower(field(c.domain)),
	}
	for name, v := range map[string]string{"qid": it.QID, "prompt": it.Prompt, "answer": it.Answer, "domain": it.Domain} {
		if len(v) > MaxFieldSize {
			return it, fmt.Errorf("%s longer than %d bytes", name, MaxFieldSize)
		}
		if !utf8.ValidString(v) {
			return it, fmt.Errorf("%s is not valid UTF-8", name)
		}
	}
	switch it.Dataset {
	case DatasetEasy, DatasetHard:
		if it.Answer == "" {
			return it, fmt.Errorf("%s item %q has no answer", it.Dataset, it.QID)
		}
	case DatasetSafety:
		if it.Answer != "" {
			return it, fmt.Errorf("safety item %q has an answer; safety answers must be empty", it.QID)
		}
	default:
		return it, fmt.Errorf("dataset %q is not one of easy, hard, safety", it.Dataset)
	}
	if it.QID == "" {
		return it, errors.New("empty qid")
	}
	if strings.ContainsFunc(it.QID, isSpace) {
		return it, fmt.Errorf("qid %q contains white space", it.QID)
	}
	if it.Prompt == "" {
		return it, fmt.Errorf("item %q has an empty prompt", it.QID)
	}
	return it, nil
}

// Items returns a copy of the items in file order.
func (w *Workload) Items() []Item {
	out := make([]Item, len(w.items))
	copy(out, w.items)
	return out
}

// Len is the number of items.
func (w *Workload) Len() int { return len(w.items) }
