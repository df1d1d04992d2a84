package router

import (
	"regexp"
	"strconv"
)

// Dates are personal when their context says so: a birth cue or a personal
// event anywhere in the sentence ("born", "né le", "Termin", "me operan"),
// or a possessive shortly before ("my", "ma", "mein", "mi"). A date of a historical event has
// neither, and a year before 1900 is history, not anyone's birthday.

const monthNames = `jan(?:uary|vier|uar|\.)?|feb(?:ruary|ruar|rero|\.)?|f[ée]vr(?:ier|\.)?|mar(?:ch|s|zo|\.)?|m[äa]rz|` +
	`apr(?:il|\.)?|avr(?:il|\.)?|abr(?:il)?|may|mai|mayo|jun(?:e|i|io|\.)?|juin|jul(?:y|i|io|\.)?|juil(?:let|\.)?|` +
	`aug(?:ust|\.)?|ao[ûu]t|ago(?:sto)?|sep(?:t(?:ember|iembre|embre)?)?\.?|oct(?:ober|obre|\.)?|okt(?:ober)?|` +
	`nov(?:ember|iembre|embre|\.)?|dec(?:ember|\.)?|dez(?:ember)?|d[ée]c(?:embre|\.)?|dic(?:iembre)?|ene(?:ro)?`

var dateRe = regexp.MustCompile(`(?i)\b(?:` +
	`(\d{4})-(\d{1,2})-(\d{1,2})|` +
	`(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})|` +
	`(\d{1,2})(?:st|nd|rd|th|er|º|\.)?(?:\s+de)?\s+(?:` + monthNames + `)(?:\s+(?:de\s+)?(\d{4}))?|` +
	`(?:` + monthNames + `)\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?` +
	`)\b`)

// birthCues make any date in their sentence a birth date.
var birthCues = wordSet(`born birth birthday birthdate dob d.o.b né née naissance anniversaire geboren geburtsdatum
geburtstag geb nacido nacida nacimiento cumpleaños nací`)

// possessives make a date shortly after them personal.
var possessives = wordSet(`
my our his her their mon ma mes notre nos son sa ses leur mein meine meinen meinem meiner unser unsere unseren
sein seine ihr ihre mi mis nuestro nuestra nuestros su sus`)

// eventCues are personal events: a date in their sentence is personal.
var eventCues = wordSet(`
appointment surgery operation admitted discharged diagnosed married wedding divorced hired fired died funeral
moved arrived flight flying visit interview exam vaccinated treated consultation booked reservation check-up checkup
patient client paciente patiente patientin
rendez-vous rdv opéré opérée opération hospitalisé hospitalisée marié mariée mariage décédé décédée embauché
embauchée vol déménagé déménagée entretien examen vacciné vaccinée
termin operiert eingeliefert entlassen verheiratet hochzeit gestorben verstorben eingestellt umgezogen flug
untersuchung impfung geimpft arzttermin
cita operado operada operación ingresado ingresada casado casada boda fallecido fallecida contratado contratada
mudé vuelo consulta entrevista vacunado vacunada operan opera operarán ingresan
`)

// personalWindow is how many words before a date a personal cue may stand.
const personalWindow = 8

// scanDates finds dates with a personal context: a birth or personal-event
// cue anywhere in the sentence, or a possessive shortly before.
func scanDates(text, lower string) [][]int {
	var out [][]int
	for _, m := range dateRe.FindAllStringSubmatchIndex(text, -1) {
		if !plausibleDate(text, m) {
			continue
		}
		from, to := sentenceAround(text, m[0], m[1])
		before := nameWords(lower[from:m[0]])
		personal := false
		for k, w := range before {
			if birthCues[w.lower] || eventCues[w.lower] || (len(before)-k <= personalWindow && possessives[w.lower]) {
				personal = true
				break
			}
		}
		if !personal {
			for _, w := range nameWords(lower[m[1]:to]) {
				if birthCues[w.lower] || eventCues[w.lower] {
					personal = true
					break
				}
			}
		}
		if personal {
			out = append(out, m[:2])
		}
	}
	return out
}

// plausibleDate checks the numbers of a date match: a real day and month
// (either order for numeric dates) and a year, if any, from 1900 to 2100.
func plausibleDate(text string, m []int) bool {
	num := func(g int) int {
		if m[2*g] < 0 {
			return -1
		}
		n, err := strconv.Atoi(text[m[2*g]:m[2*g+1]])
		if err != nil {
			return -1
		}
		return n
	}
	yearOK := func(y int, g int) bool {
		if y < 0 {
			return true
		}
		if m[2*g+1]-m[2*g] == 2 {
			return true
		}
		return y >= 1900 && y <= 2100
	}
	dayOK := func(d int) bool { return d >= 1 && d <= 31 }
	monthOK := func(mo int) bool { return mo >= 1 && mo <= 12 }
	switch {
	case m[2] >= 0: // ISO
		return yearOK(num(1), 1) && monthOK(num(2)) && dayOK(num(3))
	case m[8] >= 0: // numeric, day and month in either order
		a, b := num(4), num(5)
		return yearOK(num(6), 6) && ((dayOK(a) && monthOK(b)) || (monthOK(a) && dayOK(b)))
	case m[14] >= 0: // day month [year]
		return dayOK(num(7)) && yearOK(num(8), 8)
	case m[18] >= 0: // month day [year]
		return dayOK(num(9)) && yearOK(num(10), 10)
	}
	return false
}

// sentenceAround bounds the sentence holding text[start:end]: back to the
// last sentence end or newline, forward to the next. A full stop after a
// short capitalised word ("Dr. Weber", "Mme. Roux") ends no sentence.
func sentenceAround(text string, start, end int) (from, to int) {
	// Within a bound, so a text of many dates and no full stop costs linear time.
	from, to = max(0, start-sentenceReach), min(len(text), end+sentenceReach)
	for i := start - 1; i > from; i-- {
		if sentenceEnd(text, i) {
			from = i + 1
			break
		}
	}
	for i := end; i < to-1; i++ {
		if sentenceEnd(text, i) {
			to = i
			break
		}
	}
	return from, to
}

// sentenceReach bounds how far a sentence reaches from a date, in bytes.
const sentenceReach = 300

// sentenceEnd says whether text[i] ends a sentence.
func sentenceEnd(text string, i int) bool {
	switch text[i] {
	case '\n':
		return true
	case '?', '!':
		return i+1 == len(text) || text[i+1] == ' '
	case '.':
		if i+1 < len(text) && text[i+1] != ' ' {
			return false
		}
		w := i
		for w > 0 && isWordByte(text[w-1]) {
			w--
		}
		return !(i-w <= 3 && i > w && text[w] >= 'A' && text[w] <= 'Z')
	}
	return false
}
