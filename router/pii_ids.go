package router

import (
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// ibanLengths is the length of an IBAN per country (ISO 13616 registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
	"CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
	"FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
	"IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
	"LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
	"PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
	"SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

// ibanStarts are two letters and two digits at a word start.
func ibanStarts(text, _ string) []int {
	var at []int
	for i := 0; i+3 < len(text); i++ {
		if isASCIILetter(text[i]) && isASCIILetter(text[i+1]) && isDigit(text[i+2]) && isDigit(text[i+3]) &&
			(i == 0 || !asciiWord(text[i-1])) {
			at = append(at, i)
		}
	}
	return at
}

func isASCIILetter(b byte) bool { return b|0x20 >= 'a' && b|0x20 <= 'z' }
func isDigit(b byte) bool       { return b >= '0' && b <= '9' }

// scanIBANs reads an IBAN at each start, in groups separated by single
// spaces or written solid, as long as its country's IBAN, and keeps those
// whose mod-97 check holds.
func scanIBANs(text, lower string) [][]int {
	var out [][]int
	next := 0
	for _, at := range ibanStarts(text, lower) {
		if at < next {
			continue
		}
		want, ok := ibanLengths[strings.ToUpper(text[at:at+2])]
		if !ok {
			continue
		}
		var b strings.Builder
		i := at
		for i < len(text) && b.Len() < want {
			c := text[i]
			switch {
			case asciiWord(c) && c != '_':
				b.WriteByte(c)
			case (c == ' ' || c == '-') && i+1 < len(text) && asciiWord(text[i+1]) && i > at:
			default:
				i = len(text) + 1 // stop
				continue
			}
			i++
		}
		if b.Len() != want || i > len(text) || (i < len(text) && asciiWord(text[i])) || !validIBAN(b.String()) {
			continue
		}
		out = append(out, []int{at, i})
		next = i
	}
	return out
}

// validIBAN checks the ISO 7064 mod-97 check digits of a solid IBAN.
func validIBAN(s string) bool {
	s = strings.ToUpper(s)
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	var digits strings.Builder
	for _, c := range s[4:] + s[:4] {
		switch {
		case c >= '0' && c <= '9':
			digits.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			digits.WriteString(strconv.Itoa(int(c-'A') + 10))
		default:
			return false
		}
	}
	rem := 0
	for _, c := range digits.String() {
		rem = (rem*10 + int(c-'0')) % 97
	}
	return rem == 1
}

// French social security number (NIR): sex, year, month, department, commune,
// order and the two-digit key 97 − (number mod 97); Corsica's 2A/2B count as 19/18.
var nirRe = regexp.MustCompile(`^[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3} ?\d{2}\b`)

func validNIR(s string) bool {
	d := strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	if len(d) != 15 {
		return false
	}
	body := d[:13]
	adjust := int64(0)
	switch {
	case strings.Contains(body, "2A"):
		body, adjust = strings.Replace(body, "2A", "19", 1), 1000000
	case strings.Contains(body, "2B"):
		body, adjust = strings.Replace(body, "2B", "18", 1), 2000000
	}
	n, ok := new(big.Int).SetString(body, 10)
	key, ok2 := new(big.Int).SetString(d[13:], 10)
	if !ok || !ok2 {
		return false
	}
	n.Sub(n, big.NewInt(adjust))
	return 97-new(big.Int).Mod(n, big.NewInt(97)).Int64() == key.Int64()
}

// Spanish DNI (8 digits and a check letter) and NIE (X, Y or Z, 7 digits, a letter).
var dniRe = regexp.MustCompile(`^(?:\d{8}|[XYZxyz]-?\d{7})-?[A-Za-z]\b`)

func validDNI(s string) bool {
	d := strings.ToUpper(strings.ReplaceAll(s, "-", ""))
	if len(d) != 9 {
		return false
	}
	d = strings.NewReplacer("X", "0", "Y", "1", "Z", "2").Replace(d[:1]) + d[1:]
	n := 0
	for _, c := range d[:8] {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return "TRWAGMYFPDXBNJZSQVHLCKE"[n%23] == d[8]
}

// nieStarts adds the NIE's X, Y, Z to digitStarts.
func nieStarts(text, lower string) []int {
	var at []int
	for i := range len(text) {
		if c := text[i] | 0x20; (isDigit(text[i]) || c == 'x' || c == 'y' || c == 'z') && (i == 0 || !asciiWord(text[i-1])) {
			at = append(at, i)
		}
	}
	return at
}

// idCue is the cue-led identity number detector's pattern: a cue in one of
// our four languages, an optional "number"/"numéro"/"Nr."/"número", an
// optional verb, then the number (with at least two digits, checked after).
func idCue(cues string) *regexp.Regexp {
	return regexp.MustCompile(`^(?i:` + cues + `)(?i:\s*(?:number|no\.?|nr\.?|n°|nº|numéro|numero|nummer|número|#))?` +
		`(?i:\s*(?:(?:is|est|ist|es|was|lautet|de|du)\b|:))*[\s:#]*([A-Za-z0-9](?:[A-Za-z0-9-]|\s\d){4,24})\b`)
}

const passportCues = `passport|passeport|reisepass|passnummer|pass-nr\.?|pasaporte`

const nationalIDCues = `ssn|social security(?: number| no\.?)?|national id(?:entity)?(?: number| no\.?)?|id (?:number|no\.?)|` +
	`identity (?:card|number)|nhs (?:number|no\.?)|medical record (?:number|no\.?)|mrn|patient id|tax id|` +
	`driver'?s licen[cs]e(?: number| no\.?)?|` +
	`num[ée]ro de s[ée]curit[ée] sociale|s[ée]curit[ée] sociale|carte d'identit[ée]|carte vitale|num[ée]ro fiscal|` +
	`permis de conduire|` +
	`personalausweis(?:nummer)?|ausweisnummer|ausweis|steuer-?id|steueridentifikationsnummer|steuernummer|` +
	`sozialversicherungsnummer|f[üu]hrerschein(?:nummer)?|` +
	`dni|nie|nif|documento de identidad|n[úu]mero de identidad|seguridad social|carn[ée] de conducir`

// passportRe also lets a few words stand between the cue and the number
// ("mon passeport porte le numéro 17CV45821"); the number then needs letters
// and digits, a passport's shape.
var passportGapRe = regexp.MustCompile(`^(?i:` + passportCues + `)(?:\s+[\p{L}'’]+){1,4}?[\s:#°º.]+([A-Za-z]{1,3}\d{5,9}|\d{2}[A-Za-z]{2}\d{5})\b`)

var (
	passportRe   = idCue(passportCues)
	nationalIDRe = idCue(nationalIDCues)
	// Where the cues may start (lower-cased prefixes), for cueStarts.
	passportCueStarts   = []string{"passp", "passe", "reisep", "passn", "pass-", "pasap"}
	nationalIDCueStarts = []string{"ssn", "social", "national id", "id n", "identity", "nhs", "medical record", "mrn",
		"patient id", "tax id", "driver", "num", "sécu", "secu", "carte", "permis", "personalausweis", "ausweis",
		"steuer", "sozialversicherung", "führerschein", "fuhrerschein", "dni", "nie", "nif", "documento", "núm", "seguridad", "carn"}
)

// German social insurance number: area, date of birth, initial, serial ("65 170839 J 003").
var svnrRe = regexp.MustCompile(`^\d{2} ?[0-3]\d[01]\d\d{2} ?[A-Z] ?\d{3}\b`)
