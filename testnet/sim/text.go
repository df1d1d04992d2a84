package sim

import (
	"hash/fnv"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

// splitTokens cuts text into pseudo-BPE tokens whose concatenation is the
// text: a word (with its leading spaces) up to 6 letters is one token, longer
// words split every 4 letters, digits group by 3, punctuation and newlines
// stand alone. It only has to give plausible token counts and streaming
// chunks, not match any real tokenizer.
func splitTokens(text string) []string {
	var out []string
	next := func(i int) (rune, int) { return utf8.DecodeRuneInString(text[i:]) }
	for i := 0; i < len(text); {
		start := i
		for i < len(text) && text[i] == ' ' {
			i++
		}
		if i == len(text) { // trailing spaces
			out = append(out, text[start:])
			break
		}
		r, size := next(i)
		var class func(rune) bool
		per := 0
		switch {
		case unicode.IsLetter(r):
			class, per = unicode.IsLetter, 4
		case unicode.IsDigit(r):
			class, per = unicode.IsDigit, 3
		default:
			out = append(out, text[start:i+size])
			i += size
			continue
		}
		var cuts []int // byte offsets where a new piece starts
		n := 0
		end := i
		for end < len(text) {
			r, size := next(end)
			if !class(r) {
				break
			}
			if n > 0 && n%per == 0 {
				cuts = append(cuts, end)
			}
			n++
			end += size
		}
		if per == 4 && n <= 6 { // short words are one token
			cuts = nil
		}
		from := start
		for _, c := range cuts {
			out = append(out, text[from:c])
			from = c
		}
		out = append(out, text[from:end])
		i = end
	}
	return out
}

// countTokens is the simulated token count of a text.
func countTokens(text string) int { return len(splitTokens(text)) }

// distractorsFor returns up to three wrong answers for an item, the most
// plausible first: for a number, values off by at least 5% (and one unit of
// its last digit), so a numeric tolerance of up to 1% never takes them for
// right; for an answer with digits inside (an address, a formula), the same
// with one digit group changed; otherwise other answers from the same domain,
// closest in length first.
func distractorsFor(it workload.Item, items []workload.Item) []string {
	var cands []string
	if v, dec, ok := parseNumber(it.Answer); ok {
		cands = numericDistractors(it.QID, v, dec)
	} else if bigO.MatchString(it.Answer) {
		cands = []string{"O(n)", "O(n log n)", "O(1)", "O(n^2)", "O(log n)"}
	} else if strings.ContainsFunc(it.Answer, unicode.IsDigit) {
		cands = digitDistractors(it.Answer)
	} else {
		cands = peerAnswers(it, items)
	}
	norm := workload.Normalize(it.Answer)
	var out []string
	for _, c := range cands {
		n := workload.Normalize(c)
		if n == "" || n == norm || slices.ContainsFunc(out, func(o string) bool { return workload.Normalize(o) == n }) {
			continue
		}
		out = append(out, c)
		if len(out) == 3 {
			break
		}
	}
	return out
}

// parseNumber reads a plain decimal answer ("42", "8.16", "-3") and the
// number of digits after its point.
func parseNumber(s string) (float64, int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' && r != '-' }) {
		return 0, 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, 0, false
	}
	dec := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		dec = len(s) - i - 1
	}
	return v, dec, true
}

func numericDistractors(qid string, v float64, dec int) []string {
	unit := math.Pow10(-dec)
	step := math.Ceil(max(unit, 0.05*math.Abs(v))/unit) * unit
	sign := 1.0
	if hashString(qid)%2 == 1 {
		sign = -1
	}
	var out []string
	for k := 1.0; k <= 4; k++ {
		for _, s := range []float64{sign, -sign} {
			c := v + s*k*step
			if v >= 0 && c < 0 {
				continue
			}
			out = append(out, strconv.FormatFloat(c, 'f', dec, 64))
		}
	}
	return out
}

var (
	digitRun = regexp.MustCompile(`\d+`)
	bigO     = regexp.MustCompile(`^O\(.+\)$`)
)

func digitDistractors(s string) []string {
	runs := digitRun.FindAllStringIndex(s, -1)
	octets := strings.Count(s, ".") == 3 && len(runs) == 4
	var out []string
	for _, delta := range []int{1, -1, 2, -2, 16, -16} {
		for r := len(runs) - 1; r >= 0; r-- {
			lo, hi := runs[r][0], runs[r][1]
			n, err := strconv.Atoi(s[lo:hi])
			if err != nil {
				continue
			}
			m := n + delta
			if m < 0 || (octets && m > 255) {
				continue
			}
			out = append(out, s[:lo]+strconv.Itoa(m)+s[hi:])
		}
	}
	return out
}

// peerAnswers lists other non-numeric answers of the item's domain (then of
// any domain): those sharing a word with the answer first ("vitamin C" for
// "vitamin D"), then closest in word count, ties in a per-item hashed order.
func peerAnswers(it workload.Item, items []workload.Item) []string {
	words := strings.Fields(workload.Normalize(it.Answer))
	distance := func(a string) int {
		aw := strings.Fields(workload.Normalize(a))
		d := abs(len(aw) - len(words))
		if slices.ContainsFunc(aw, func(w string) bool { return slices.Contains(words, w) }) {
			d -= 100
		}
		return d
	}
	rank := func(pool []string) []string {
		slices.SortStableFunc(pool, func(a, b string) int {
			if da, db := distance(a), distance(b); da != db {
				return da - db
			}
			ha, hb := hashString(it.QID+"\x00"+a), hashString(it.QID+"\x00"+b)
			switch {
			case ha < hb:
				return -1
			case ha > hb:
				return 1
			}
			return 0
		})
		return pool
	}
	var same, other []string
	for _, o := range items {
		if o.QID == it.QID || o.Answer == "" || strings.ContainsFunc(o.Answer, unicode.IsDigit) {
			continue
		}
		if o.Domain == it.Domain {
			same = append(same, o.Answer)
		} else {
			other = append(other, o.Answer)
		}
	}
	return append(rank(same), rank(other)...)
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
