package router

import "strings"

// StreamRestorer is Restore for an answer that arrives in pieces: it puts
// the data back where a placeholder appears and holds back a tail that
// could still become one, so a placeholder split across pieces ("[NA",
// "ME_1]") is restored as a whole. Pure; owned by one caller.
type StreamRestorer struct {
	entities []Entity
	held     string
}

// StreamRestorer returns a restorer for one streamed answer. A nil
// Protected (nothing was protected) restores nothing.
func (p *Protected) StreamRestorer() *StreamRestorer {
	if p == nil {
		return &StreamRestorer{}
	}
	return &StreamRestorer{entities: p.entities}
}

// Write takes the next piece of the answer and returns what can go out:
// restored, and without a tail that may start a placeholder.
func (r *StreamRestorer) Write(chunk string) string {
	text := r.held + chunk
	var out strings.Builder
	i := 0
scan:
	for i < len(text) {
		for _, e := range r.entities { // the first entity that matches, as Restore's replacer picks
			if strings.HasPrefix(text[i:], e.Placeholder) {
				out.WriteString(e.Text)
				i += len(e.Placeholder)
				continue scan
			}
		}
		for _, e := range r.entities {
			if len(text)-i < len(e.Placeholder) && strings.HasPrefix(e.Placeholder, text[i:]) {
				break scan // may still become a placeholder: wait for more
			}
		}
		out.WriteByte(text[i])
		i++
	}
	r.held = text[i:]
	return out.String()
}

// Flush returns what was held back at the end of the answer: a placeholder
// that never completed stays as written, as Restore leaves it.
func (r *StreamRestorer) Flush() string {
	held := r.held
	r.held = ""
	return held
}
