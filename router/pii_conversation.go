package router

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Turn is one message of a conversation as the privacy layer sees it.
type Turn struct {
	Role    string
	Content string
}

// PIIHint is personal data found outside the detectors — by the node's own
// model — given by its kind and its text as written in the conversation.
type PIIHint struct {
	Kind PIIKind `json:"kind"`
	Text string  `json:"text"`
}

// Entity is one distinct piece of personal data and the placeholder that
// stands for it everywhere in a conversation. Text is the data itself: it
// stays on the device, never in a trace, a log or a message.
type Entity struct {
	Placeholder string
	Kind        PIIKind
	Text        string
}

// PIIKinds lists every built-in kind of personal data.
var PIIKinds = []PIIKind{PIIPerson, PIIEmail, PIIPhone, PIIDate, PIIStreet, PIIPostcode, PIIIBAN, PIICard, PIIID,
	PIIPassport, PIIAddress}

// Protected is a conversation whose personal data has been found once, in
// every message, ready to leave the device under any privacy policy. Its
// placeholders are typed and numbered per entity across the whole
// conversation: [NAME_1] is the same person in the system message, in an
// earlier turn and in the question.
type Protected struct {
	// Kinds lists each kind found, once, in order of first appearance: what a trace may show.
	Kinds      []PIIKind
	original   []Turn
	redacted   []Turn
	redactions []string
	entities   []Entity
}

// Protect finds the personal data of a conversation with the built-in detectors and hints.
func Protect(turns []Turn, hints []PIIHint) *Protected {
	return defaultClassifier.Protect(turns, hints)
}

// placeholderRe finds placeholders already in a text, so that a later pass
// never redacts inside one.
var placeholderRe = regexp.MustCompile(`\[[A-Z][A-Z0-9-]*(?:_\d+)?\]`)

// Protect finds the personal data of every message of a conversation (the
// detectors plus hints, such as the spans the node's own model listed) and
// prepares its redaction. Hints of unknown kinds, or too short to be
// personal (under three letters, or a stop word), are ignored.
func (c *Classifier) Protect(turns []Turn, hints []PIIHint) *Protected {
	p := &Protected{original: slices.Clone(turns), redacted: make([]Turn, len(turns))}
	byKey := map[string]int{}
	perKind := map[PIIKind]int{}
	hints = usableHints(hints)
	for i, t := range turns {
		text := t.Content
		// Removing one piece can expose another that overlapped it (a name
		// glued to an email), so redact until nothing is left, within a bound.
		for pass := 0; pass < maxRedactPasses; pass++ {
			spans := c.spansOf(text, hints)
			if len(spans) == 0 {
				break
			}
			var b strings.Builder
			b.Grow(len(text))
			last := 0
			for _, s := range spans {
				e := p.entityFor(s, text[s.start:s.end], byKey, perKind)
				b.WriteString(text[last:s.start])
				b.WriteString(p.entities[e].Placeholder)
				last = s.end
				p.redactions = append(p.redactions, string(s.kind))
				if !slices.Contains(p.Kinds, s.kind) {
					p.Kinds = append(p.Kinds, s.kind)
				}
			}
			b.WriteString(text[last:])
			text = b.String()
		}
		p.redacted[i] = Turn{Role: t.Role, Content: text}
	}
	return p
}

// spansOf merges the detectors' spans with the hints' occurrences and drops
// anything inside a placeholder left by an earlier pass.
func (c *Classifier) spansOf(text string, hints []PIIHint) []piiSpan {
	spans := c.detectPII(text)
	lower := asciiLower(text)
	for _, h := range hints {
		needle := asciiLower(h.Text)
		for from := 0; from < len(lower); {
			k := strings.Index(lower[from:], needle)
			if k < 0 {
				break
			}
			start, end := from+k, from+k+len(needle)
			from = end
			if !wordBounded(text, start, end) ||
				slices.ContainsFunc(spans, func(s piiSpan) bool { return start < s.end && s.start < end }) {
				continue
			}
			spans = append(spans, piiSpan{kind: h.Kind, start: start, end: end})
		}
	}
	held := placeholderRe.FindAllStringIndex(text, -1)
	spans = slices.DeleteFunc(spans, func(s piiSpan) bool {
		return slices.ContainsFunc(held, func(h []int) bool { return s.start < h[1] && h[0] < s.end })
	})
	slices.SortFunc(spans, func(a, b piiSpan) int { return a.start - b.start })
	return spans
}

// wordBounded says whether text[start:end] is not part of a longer word.
func wordBounded(text string, start, end int) bool {
	return (start == 0 || !isWordByte(text[start-1])) && (end == len(text) || !isWordByte(text[end]))
}

func usableHints(hints []PIIHint) []PIIHint {
	var out []PIIHint
	for _, h := range hints {
		h.Text = strings.TrimSpace(h.Text)
		letters := strings.IndexFunc(h.Text, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
		if !slices.Contains(PIIKinds, h.Kind) || len([]rune(h.Text)) < 3 || !letters || len(h.Text) > 200 ||
			notNames[strings.ToLower(h.Text)] || notSurnames[strings.ToLower(h.Text)] || placeholderRe.MatchString(h.Text) {
			continue
		}
		out = append(out, h)
	}
	// Longest first, so "Maria Lopez" wins over "Maria" where both match.
	slices.SortStableFunc(out, func(a, b PIIHint) int { return len(b.Text) - len(a.Text) })
	return out
}

// entityFor returns the index of the entity a span's text belongs to,
// adding one if it is new. A lone word of a name already seen ("Maria"
// after "Maria Lopez") is that person.
func (p *Protected) entityFor(s piiSpan, text string, byKey map[string]int, perKind map[PIIKind]int) int {
	key := string(s.kind) + "\x00" + entityKey(s.kind, text)
	if e, ok := byKey[key]; ok {
		return e
	}
	if s.kind == PIIPerson && !strings.ContainsAny(strings.TrimSpace(text), " \t") {
		w := strings.ToLower(text)
		for e, ent := range p.entities {
			if ent.Kind == PIIPerson && slices.Contains(strings.Fields(strings.ToLower(ent.Text)), w) {
				byKey[key] = e
				return e
			}
		}
	}
	perKind[s.kind]++
	base := s.placeholder
	if base == "" {
		base = placeholderFor(s.kind, "")
	}
	p.entities = append(p.entities, Entity{Placeholder: numbered(base, perKind[s.kind]), Kind: s.kind, Text: text})
	byKey[key] = len(p.entities) - 1
	return len(p.entities) - 1
}

// entityKey normalises the text of one piece of data so that two spellings
// of it are one entity: digits and letters only for numbers, case and
// spacing folded for the rest.
func entityKey(kind PIIKind, text string) string {
	switch kind {
	case PIIPhone, PIICard, PIIIBAN, PIIID, PIIPassport, PIIPostcode:
		return strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return unicode.ToUpper(r)
			}
			return -1
		}, text)
	}
	return strings.Join(strings.Fields(strings.ToLower(text)), " ")
}

// numbered turns "[NAME]" into "[NAME_2]".
func numbered(base string, n int) string {
	if strings.HasSuffix(base, "]") {
		return base[:len(base)-1] + "_" + strconv.Itoa(n) + "]"
	}
	return base + "_" + strconv.Itoa(n)
}

// For applies a privacy policy to the conversation. With redact, it
// returns the redacted messages and the kind of each replaced piece, in
// order (never the data itself, so it can go into a trace). With block, a
// conversation holding personal data yields ErrPrivacyBlocked and no
// messages. With allow, the messages are returned as written.
func (p *Protected) For(policy PrivacyPolicy) (turns []Turn, redactions []string, err error) {
	switch policy {
	case PrivacyAllow:
		return slices.Clone(p.original), nil, nil
	case PrivacyRedact:
		return slices.Clone(p.redacted), slices.Clone(p.redactions), nil
	case PrivacyBlock:
		if len(p.Kinds) == 0 {
			return slices.Clone(p.original), nil, nil
		}
		names := make([]string, len(p.Kinds))
		for i, k := range p.Kinds {
			names[i] = string(k)
		}
		return nil, nil, fmt.Errorf("redact conversation: it holds %s: %w", strings.Join(names, ", "), ErrPrivacyBlocked)
	}
	return nil, nil, fmt.Errorf("redact conversation: policy %q: %w", policy, ErrUnknownPrivacyPolicy)
}

// Entities lists the distinct pieces of personal data and their
// placeholders, in order of first appearance. They hold the data: keep
// them on the device.
func (p *Protected) Entities() []Entity { return slices.Clone(p.entities) }

// Restore puts the data back where an answer repeats a placeholder, so
// the caller reads "Dear Maria" where the cloud wrote "Dear [NAME_1]".
func (p *Protected) Restore(answer string) string {
	if len(p.entities) == 0 {
		return answer
	}
	pairs := make([]string, 0, 2*len(p.entities))
	for _, e := range p.entities {
		pairs = append(pairs, e.Placeholder, e.Text)
	}
	return strings.NewReplacer(pairs...).Replace(answer)
}

// FlagPeersRedacted says personal data was redacted from what went to peers.
const FlagPeersRedacted = "peers-redacted"

// PeerPrivacy is the privacy policy for what goes to peers: members of a
// private swarm (a swarm key keeps outsiders off the transport) are trusted
// with the conversation as written; peers of an open swarm get it under the
// operator's peer policy (redact by default, or allow).
func PeerPrivacy(privateSwarm bool, policy PrivacyPolicy) PrivacyPolicy {
	if privateSwarm {
		return PrivacyAllow
	}
	return policy
}
