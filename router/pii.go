package router

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
)

// PrivacyPolicy says what happens to personal data in a prompt bound for the cloud FM.
type PrivacyPolicy string

const (
	PrivacyRedact PrivacyPolicy = "redact" // replace it with typed placeholders such as [EMAIL]
	PrivacyBlock  PrivacyPolicy = "block"  // never send such a prompt to the cloud
	PrivacyAllow  PrivacyPolicy = "allow"  // send it as written
)

// PrivacyPolicies lists every privacy policy, the default first.
var PrivacyPolicies = []PrivacyPolicy{PrivacyRedact, PrivacyBlock, PrivacyAllow}

// ParsePrivacyPolicy accepts redact, block or allow (any case). As with
// ParsePolicy, the empty string is an error: callers substitute their default.
func ParsePrivacyPolicy(s string) (PrivacyPolicy, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	for _, p := range PrivacyPolicies {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("parse privacy policy %q: %w (want one of %v)", s, ErrUnknownPrivacyPolicy, PrivacyPolicies)
}

// Redact applies a privacy policy to a prompt with the built-in detectors.
func Redact(prompt string, policy PrivacyPolicy) (string, []string, error) {
	return defaultClassifier.Redact(prompt, policy)
}

// Redact applies a privacy policy to one prompt bound for the cloud FM, as
// Protected.For does for a conversation of one message: with redact, each
// piece of personal data becomes its numbered placeholder ([NAME_1]) and
// redactions lists the kind of each one, in order; with block, a prompt
// holding personal data yields ErrPrivacyBlocked; with allow, it is unchanged.
func (c *Classifier) Redact(prompt string, policy PrivacyPolicy) (text string, redactions []string, err error) {
	if !slices.Contains(PrivacyPolicies, policy) {
		return "", nil, fmt.Errorf("redact prompt: policy %q: %w", policy, ErrUnknownPrivacyPolicy)
	}
	if policy == PrivacyAllow {
		return prompt, nil, nil
	}
	turns, redactions, err := c.Protect([]Turn{{Content: prompt}}, nil).For(policy)
	if err != nil {
		return "", nil, fmt.Errorf("redact prompt: %w", errors.Unwrap(err))
	}
	return turns[0].Content, redactions, nil
}

const maxRedactPasses = 4

type piiDetector struct {
	kind  PIIKind
	re    *regexp.Regexp
	group int               // submatch that holds the data (0: the whole match)
	valid func(string) bool // nil: every match counts
	// shield keeps a match that fails valid from other detectors: a textbook
	// address such as 192.168.10.77 is not personal, and not a phone number either.
	shield bool
	// starts, when set, lists where a match may begin, in ascending order;
	// re is then anchored and tried only there. Go's regexp engine has no
	// fast scan for a pattern that opens with a class or an alternation, so
	// trying it at every byte costs far more than finding the few places a
	// match could start (a digit after a word boundary, an "@", a cue word).
	starts func(text, lower string) []int
	// scan, when set, replaces re: a detector that needs more than a
	// pattern (context, a lexicon, a checksum over groups) returns the
	// [start, end] of each match itself.
	scan func(text, lower string) [][]int
	// A cheap gate before the regexp: at least minDigits ASCII digits, a run
	// of at least minRun of them, one of needAny in the ASCII-lower-cased
	// text unless needAny is empty, and need(text) unless need is nil.
	minDigits, minRun int
	needAny           []string
	need              func(text string) bool
	placeholder       string
}

func (d *piiDetector) mayMatch(text, lower string, digits, run int) bool {
	return digits >= d.minDigits && run >= d.minRun &&
		(len(d.needAny) == 0 || slices.ContainsFunc(d.needAny, func(s string) bool { return strings.Contains(lower, s) })) &&
		(d.need == nil || d.need(text))
}

// atLeast gates on a character that a match holds n times (dots in an IPv4 address).
func atLeast(n int, c string) func(string) bool {
	return func(text string) bool { return strings.Count(text, c) >= n }
}

// matches lists the detector's submatch index slices in text, without
// overlaps, as FindAllStringSubmatchIndex would.
func (d *piiDetector) matches(text, lower string) [][]int {
	if d.scan != nil {
		return d.scan(text, lower)
	}
	if d.starts == nil {
		return d.re.FindAllStringSubmatchIndex(text, -1)
	}
	var out [][]int
	next := 0
	for _, at := range d.starts(text, lower) {
		if at < next {
			continue
		}
		m := d.re.FindStringSubmatchIndex(text[at:])
		if m == nil {
			continue
		}
		for k := range m {
			if m[k] >= 0 {
				m[k] += at
			}
		}
		out = append(out, m)
		next = max(m[1], at+1)
	}
	return out
}

// asciiWord is RE2's \b notion of a word character.
func asciiWord(b byte) bool {
	return b == '_' || (b >= '0' && b <= '9') || (b|0x20 >= 'a' && b|0x20 <= 'z')
}

// digitStarts are the digits that begin a word: where \b\d can match.
func digitStarts(text, _ string) []int {
	var at []int
	for i := range len(text) {
		if text[i] >= '0' && text[i] <= '9' && (i == 0 || !asciiWord(text[i-1])) {
			at = append(at, i)
		}
	}
	return at
}

// ninoStarts are two capitals at a word start followed by a digit.
func ninoStarts(text, _ string) []int {
	var at []int
	for i := 0; i+2 < len(text); i++ {
		if text[i] >= 'A' && text[i] <= 'Z' && text[i+1] >= 'A' && text[i+1] <= 'Z' && text[i+2] >= '0' && text[i+2] <= '9' &&
			(i == 0 || !asciiWord(text[i-1])) {
			at = append(at, i)
		}
	}
	return at
}

// emailStarts are the positions of the local part before each "@": the
// whole run, since a match that ends inside it may leave a later start.
func emailStarts(text, _ string) []int {
	var at []int
	for i := range len(text) {
		if text[i] != '@' {
			continue
		}
		j := i
		for j > 0 && (asciiWord(text[j-1]) || strings.IndexByte(".%+-", text[j-1]) >= 0) {
			j--
		}
		if len(at) > 0 {
			j = max(j, at[len(at)-1]+1)
		}
		for ; j < i; j++ {
			at = append(at, j)
		}
	}
	return at
}

// cueStarts finds cue words (ASCII, lower-case) at the start of a word.
func cueStarts(cues ...string) func(text, lower string) []int {
	return func(text, lower string) []int {
		var at []int
		for _, cue := range cues {
			for from := 0; ; {
				i := strings.Index(lower[from:], cue)
				if i < 0 {
					break
				}
				pos := from + i
				from = pos + len(cue)
				if pos == 0 || !isWordByte(text[pos-1]) {
					at = append(at, pos)
				}
			}
		}
		slices.Sort(at)
		return slices.Compact(at)
	}
}

// isWordByte treats any non-ASCII byte as part of a word, so a cue never
// starts in the middle of one.
func isWordByte(b byte) bool {
	return b >= 0x80 || b == '_' || (b >= '0' && b <= '9') || (b|0x20 >= 'a' && b|0x20 <= 'z')
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay those of s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

type piiSpan struct {
	kind        PIIKind
	start, end  int
	placeholder string
}

var placeholders = map[PIIKind]string{
	PIIEmail: "[EMAIL]", PIIPhone: "[PHONE]", PIIID: "[ID]", PIIPerson: "[NAME]", PIICard: "[CARD]", PIIAddress: "[IP]",
	PIIDate: "[DATE]", PIIIBAN: "[IBAN]", PIIStreet: "[ADDRESS]", PIIPostcode: "[POSTCODE]", PIIPassport: "[PASSPORT]",
}

func placeholderFor(kind PIIKind, given string) string {
	if given != "" {
		return given
	}
	if p, ok := placeholders[kind]; ok {
		return p
	}
	return "[" + strings.ToUpper(string(kind)) + "]"
}

// builtinPII lists the detectors in priority order: where matches overlap,
// the earlier detector keeps the span (a card number is not also a phone).
var builtinPII = []piiDetector{
	{kind: PIICard, re: regexp.MustCompile(`^(?:\d{13,19}|\d{4}(?:[ -]\d{4}){3}(?:[ -]?\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{4,5})\b`),
		starts: digitStarts, valid: validCard, minDigits: 13, minRun: 4},
	{kind: PIIIBAN, scan: scanIBANs, minDigits: 8, minRun: 2},
	{kind: PIIID, re: regexp.MustCompile(`^\d{3}-\d{2}-\d{4}\b`), starts: digitStarts, valid: validSSN, minDigits: 9, minRun: 3,
		needAny: []string{"-"}},
	{kind: PIIID, re: nirRe, starts: digitStarts, valid: validNIR, minDigits: 13, minRun: 1},
	{kind: PIIID, re: dniRe, starts: nieStarts, valid: validDNI, minDigits: 7, minRun: 7},
	{kind: PIIID, re: svnrRe, starts: digitStarts, minDigits: 11, minRun: 2},
	{kind: PIIPassport, re: passportRe, group: 1, valid: hasTwoDigits, minDigits: 2, starts: cueStarts(passportCueStarts...)},
	{kind: PIIPassport, re: passportGapRe, group: 1, minDigits: 5, starts: cueStarts(passportCueStarts...)},
	{kind: PIIID, re: nationalIDRe, group: 1, valid: hasTwoDigits, minDigits: 2, starts: cueStarts(nationalIDCueStarts...)},
	{kind: PIIID, re: regexp.MustCompile(`^[A-CEGHJ-PR-TW-Z]{2}\d{6}[A-D]\b`), starts: ninoStarts, minDigits: 6, minRun: 6}, // UK National Insurance number
	{kind: PIIEmail, re: regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`), starts: emailStarts},
	{kind: PIIAddress, re: regexp.MustCompile(`^(?:\d{1,3}\.){3}\d{1,3}\b`), starts: digitStarts, valid: personalIP, shield: true,
		minDigits: 4, need: atLeast(3, ".")},
	{kind: PIIAddress, re: regexp.MustCompile(`\b[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]*:[0-9A-Fa-f]{0,4}\b`), valid: personalIP, shield: true,
		need: atLeast(2, ":")},
	{kind: PIIDate, scan: scanDates, minDigits: 1},
	{kind: PIIStreet, scan: scanStreets, minDigits: 1},
	{kind: PIIPostcode, scan: scanPostcodes, minDigits: 1},
	{kind: PIIPhone, scan: scanPhones, minDigits: 7},
	{kind: PIIPerson, re: regexp.MustCompile(`^(?:(?i:patient|client|my name is|name is|i am|i'm|i’m|name:|` +
		`my (?:wife|husband|partner|son|daughter|mother|father|mom|dad|brother|sister|friend|colleague|boss|neighbou?r))[\s:]+` +
		`|(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+)(\p{Lu}[\p{L}'’-]*\p{L}(?:[ \t]+\p{Lu}[\p{L}'’-]*\p{L}){0,2})\b`), group: 1,
		valid: notAStopWord, starts: cueStarts("patient", "client", "my ", "name", "i am", "i'm", "i’m", "mr", "ms", "miss", "mx", "dr", "prof")},
	{kind: PIIPerson, scan: scanNames},
}

func piiDetectors(extra []PIIRule) ([]piiDetector, error) {
	ds := make([]piiDetector, 0, len(builtinPII)+len(extra))
	for _, d := range builtinPII {
		d.placeholder = placeholderFor(d.kind, "")
		ds = append(ds, d)
	}
	for _, r := range extra {
		if r.Kind == "" || r.Pattern == "" {
			return nil, fmt.Errorf("classifier: personal-data rule needs a kind and a pattern: %w", ErrInvalidConfig)
		}
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			return nil, fmt.Errorf("classifier: personal-data rule %s: %w: %w", r.Kind, ErrInvalidConfig, err)
		}
		d := piiDetector{kind: r.Kind, re: re, placeholder: placeholderFor(r.Kind, r.Placeholder)}
		if tree, err := syntax.Parse(r.Pattern, syntax.Perl); err == nil {
			// Lower-cased alike, a literal the pattern needs is still in the lower-cased text.
			for _, l := range requiredLiterals(tree.Simplify()) {
				d.needAny = append(d.needAny, asciiLower(l))
			}
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// detectPII finds personal data, sorted by position, without overlaps.
func (c *Classifier) detectPII(text string) []piiSpan {
	lower := asciiLower(text)
	digits, run, longest := 0, 0, 0
	for i := range len(text) {
		if text[i] >= '0' && text[i] <= '9' {
			digits, run = digits+1, run+1
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	var spans []piiSpan // shielded spans have no kind and are dropped at the end
	for i := range c.pii {
		d := &c.pii[i]
		if !d.mayMatch(text, lower, digits, longest) {
			continue
		}
		for _, m := range d.matches(text, lower) {
			start, end := m[2*d.group], m[2*d.group+1]
			if start < 0 || start == end ||
				slices.ContainsFunc(spans, func(s piiSpan) bool { return start < s.end && s.start < end }) {
				continue
			}
			span := piiSpan{kind: d.kind, start: start, end: end, placeholder: d.placeholder}
			if d.valid != nil && !d.valid(text[start:end]) {
				if !d.shield {
					continue
				}
				span.kind = ""
			}
			spans = append(spans, span)
		}
	}
	spans = slices.DeleteFunc(spans, func(s piiSpan) bool { return s.kind == "" })
	slices.SortFunc(spans, func(a, b piiSpan) int { return a.start - b.start })
	return spans
}

// piiKinds lists each kind once, in order of first appearance.
func piiKinds(spans []piiSpan) []PIIKind {
	var kinds []PIIKind
	for _, s := range spans {
		if !slices.Contains(kinds, s.kind) {
			kinds = append(kinds, s.kind)
		}
	}
	return kinds
}

func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// validCard accepts 13–19 digits that pass the Luhn check and are not one digit repeated.
func validCard(s string) bool {
	d := digitsOf(s)
	if len(d) < 13 || len(d) > 19 || strings.Count(d, d[:1]) == len(d) {
		return false
	}
	sum := 0
	for i := range len(d) {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// validSSN rejects the number blocks the US never issues (000, 666, 9xx; 00; 0000).
func validSSN(s string) bool {
	area, group, serial := s[0:3], s[4:6], s[7:11]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

func hasTwoDigits(s string) bool { return len(digitsOf(s)) >= 2 }

// Address blocks that appear in examples and textbooks rather than identify
// anyone: documentation, benchmarking, "this network" and reserved space
// (which also covers netmasks such as 255.255.240.0).
var impersonalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("2001:db8::/32"),
}

var globalV6 = netip.MustParsePrefix("2000::/3")

// personalIP counts an address as personal data only when it could identify
// a subscriber: public unicast space. Private, loopback, link-local,
// multicast and documentation addresses are how networking questions are
// written, and redacting them would break the question.
func personalIP(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return false
	}
	a = a.Unmap()
	if a.Is6() && !globalV6.Contains(a) {
		return false
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	return !slices.ContainsFunc(impersonalPrefixes, func(p netip.Prefix) bool { return p.Contains(a) })
}

// notNames are capitalised words that follow a cue ("I'm Sorry", "Dr. Who")
// without being a name.
var notNames = map[string]bool{
	"the": true, "a": true, "an": true, "i": true, "not": true, "so": true, "it": true, "this": true, "that": true,
	"here": true, "there": true, "and": true, "or": true, "but": true, "in": true, "on": true, "at": true, "of": true,
	"to": true, "from": true, "with": true, "sorry": true, "sure": true, "just": true, "also": true, "very": true,
	"new": true, "going": true, "looking": true, "trying": true, "who": true, "what": true, "how": true, "why": true,
}

func notAStopWord(s string) bool {
	first, _, _ := strings.Cut(s, " ")
	first = strings.TrimFunc(first, func(r rune) bool { return !unicode.IsLetter(r) })
	return !notNames[strings.ToLower(first)]
}
