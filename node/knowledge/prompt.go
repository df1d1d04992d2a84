package knowledge

import (
	"slices"
	"strings"
)

// PassagesHeader opens the passages in the prompt; the simulated model
// (testnet/sim) reads the passages after it, a real one reads the whole
// instruction.
const PassagesHeader = "Passages:"

// Prompt is the system message that puts the retrieved passages before a
// question: each passage on its own line after its source's name in
// brackets, so the model can cite it.
func Prompt(passages []Passage) string {
	var b strings.Builder
	b.WriteString("Answer the user's question using only the passages below, taken from this device's documents. " +
		"Answer briefly and name the document you used in brackets, like [notes.md]. " +
		"If the passages do not contain the answer, say \"I don't know\".\n\n")
	b.WriteString(PassagesHeader)
	b.WriteByte('\n')
	for _, p := range passages {
		b.WriteString("[")
		b.WriteString(p.Source)
		b.WriteString("] ")
		b.WriteString(strings.Join(strings.Fields(p.Text), " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// Sources are the distinct document names of passages, in order.
func Sources(passages []Passage) []string {
	var out []string
	for _, p := range passages {
		if !slices.Contains(out, p.Source) {
			out = append(out, p.Source)
		}
	}
	return out
}

// Cited are the documents an answer cites: those of the passages whose
// "[name]" the answer carries, or, when it names none, the best passage's.
func Cited(answer string, passages []Passage) []string {
	var out []string
	for _, s := range Sources(passages) {
		if strings.Contains(answer, "["+s+"]") {
			out = append(out, s)
		}
	}
	if len(out) == 0 && len(passages) > 0 {
		out = []string{passages[0].Source}
	}
	return out
}
