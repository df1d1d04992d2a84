package sim

import (
	"math"
	"regexp"
	"strings"
	"unicode"

	"github.com/swarmllm/swarmllm/node/knowledge"
)

// Reading from context: a prompt whose system message carries retrieved
// passages (node/knowledge.Prompt: a header line, then "[source] text" per
// passage) is answered from them, as a model doing retrieval-augmented
// generation would: the sentence that shares the most telling words with
// the question, with its source in brackets. The simulator knows nothing
// the passages do not say: when no sentence shares enough, it says it does
// not know. Extraction is deterministic; the logprobs say it is sure.

// passageLine is one passage in the prompt.
var passageLine = regexp.MustCompile(`^\[([^\]]+)\] (.+)$`)

// contextSentenceEnd splits a passage into sentences.
var contextSentenceEnd = regexp.MustCompile(`[.!?]["')\]]?\s+`)

// noContextAnswer is the abstention of a model whose passages lack the answer.
const noContextAnswer = "I don't know: the passages do not say."

// questionStopWords carry no information about which sentence answers.
var questionStopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the and for are was were what which who whom whose when where why how many much does did
		from that this with into onto than then there their they them has have had its may can could should would will
		per kind type long often tall old year years name called`) {
		questionStopWords[w] = true
	}
}

type contextSentence struct {
	source, text string
	words        []string
}

// fromPassages answers from the passages in turns; ok is false when the
// prompt carries none.
func (e *engine) fromPassages(p *Profile, serverSeed uint64, turns []Turn, s Sampling, topK int) (Reply, bool) {
	var sentences []contextSentence
	question := ""
	for _, t := range turns {
		switch t.Role {
		case "user":
			question = t.Text
		case "system":
			_, after, ok := strings.Cut(t.Text, knowledge.PassagesHeader)
			if !ok {
				continue
			}
			for _, line := range strings.Split(after, "\n") {
				m := passageLine.FindStringSubmatch(strings.TrimSpace(line))
				if m == nil {
					continue
				}
				last := 0
				for _, loc := range append(contextSentenceEnd.FindAllStringIndex(m[2], -1), []int{len(m[2]), len(m[2])}) {
					if text := strings.TrimSpace(m[2][last:loc[1]]); text != "" {
						sentences = append(sentences, contextSentence{source: m[1], text: text, words: contentWords(text)})
					}
					last = loc[1]
				}
			}
		}
	}
	if len(sentences) == 0 || question == "" {
		return Reply{}, false
	}
	best, bestScore, qwords := -1, 0.0, contentWords(question)
	// A word found in few sentences tells more than one found in all
	// (the collection's name is in many of them).
	// A word in most passages is the collection's topic ("Kestrel Bay"),
	// not the question's focus: it only breaks ties.
	passages := map[string][]string{}
	for _, c := range sentences {
		passages[c.source] = append(passages[c.source], c.words...)
	}
	idf := func(q string) float64 {
		df, pf := 0, 0
		for _, c := range sentences {
			if hasWord(c.words, q) {
				df++
			}
		}
		for _, words := range passages {
			if hasWord(words, q) {
				pf++
			}
		}
		w := math.Log(1 + float64(len(sentences))/float64(max(df, 1)))
		if len(passages) >= 2 && 2*pf > len(passages) {
			w /= 10
		}
		return w
	}
	matched := 0
	for i, c := range sentences {
		if heading(c.text) {
			continue // a title says what follows; it answers nothing
		}
		score, hits := 0.0, 0
		for _, q := range qwords {
			if hasWord(c.words, q) {
				score += idf(q)
				hits++
			}
		}
		if score > bestScore {
			best, bestScore, matched = i, score, hits
		}
	}
	r := Reply{Outcome: OutcomeContext}
	d := 2 * math.Erfinv(2*p.Calibration-1)
	mu := d / 2
	if best < 0 || matched < 2 && len(qwords) > 1 {
		r.Outcome, r.Text, mu = OutcomeUnknown, noContextAnswer, -d/2+unknownShift
	} else {
		r.Text = sentences[best].text + " [" + sentences[best].source + "]"
	}
	rng := rngFor(p.Seed^serverSeed, p.Name, "context", question)
	texts := splitTokens(r.Text)
	if s.NumPredict > 0 && len(texts) > s.NumPredict {
		texts, r.Truncated = texts[:s.NumPredict], true
		r.Text = strings.Join(texts, "")
	}
	z := mu + rng.NormFloat64()
	r.Tokens = make([]Token, len(texts))
	for i, t := range texts {
		logit := tokenBase + tokenSlope*z + tokenNoise*rng.NormFloat64()
		r.Tokens[i] = makeToken(t, logit, 0.3+0.5*phi(rng.NormFloat64()), topK, alternativeTexts(t, i, nil))
	}
	return r, true
}

// contentWords are a text's lower-case words of three letters or more,
// stop words left out.
func contentWords(text string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len([]rune(w)) >= 3 && !questionStopWords[w] {
			out = append(out, w)
		}
	}
	return out
}

// hasWord: words holds q, or a word sharing its first five letters
// ("delivers" and "delivered").
func hasWord(words []string, q string) bool {
	for _, w := range words {
		if w == q || len(w) >= 5 && len(q) >= 5 && w[:5] == q[:5] {
			return true
		}
	}
	return false
}

// heading: most of the sentence's words are capitalized, as in a title.
func heading(text string) bool {
	words := strings.Fields(text)
	upper := 0
	for _, w := range words {
		if r := []rune(w); unicode.IsUpper(r[0]) {
			upper++
		}
	}
	return len(words) > 0 && float64(upper) >= 0.6*float64(len(words))
}
