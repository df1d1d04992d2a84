package router

import (
	"regexp"
	"strings"
)

// Street addresses in English, French, German and Spanish forms, and
// postcodes: UK shapes as written, US ZIP codes after a state, European
// four- and five-digit codes before a town (after a comma, a new line, a
// country prefix such as "D-" or an address), and any code after a cue.

// streetRes are tried in order at each number: the French forms first, so
// "5 bis avenue Victor Hugo" is not read as an English "5 bis Avenue".
var streetRes = []*regexp.Regexp{
	// 12 rue des Lilas, 5 bis avenue Victor Hugo, 3 allée de la Gare
	regexp.MustCompile(`^\d{1,4}(?:\s?(?i:bis|ter))?,?\s+(?i:rue|avenue|av\.|boulevard|bd|chemin|all[ée]e|place|impasse|quai|` +
		`route|cours|square)\s+(?:(?i:de|du|des|la|le|les)\s+|(?i:l|d)['’])*[\p{L}-]+(?:\s+\p{Lu}[\p{L}-]*){0,2}`),
	// 221 Baker Street, 1600 Pennsylvania Ave., 4 Privet Drive, Apt 2
	regexp.MustCompile(`^\d{1,5}[A-Za-z]?,?\s+((?:[\p{L}'’.-]+\s+){1,3}?)(?i:street|st\.?|road|rd\.?|avenue|ave\.?|lane|ln\.?|drive|` +
		`boulevard|blvd\.?|court|ct\.?|way|place|terrace|close|crescent|square|parkway|pkwy|highway|hwy|circle|` +
		`gardens|grove|row|mews)\b(?:,?\s*(?i:apt\.?|apartment|suite|unit|flat)\s*#?[A-Za-z0-9]+)?`),
}

// Hauptstraße 5, Berliner Str. 12a, Karl-Marx-Allee 90
var germanStreetRe = regexp.MustCompile(`(?:\p{Lu}[\p{L}-]*\s+)?[\p{L}-]*(?i:straße|strasse|str\.|weg|platz|allee|gasse|` +
	`ring|damm|ufer|chaussee)\s+\d{1,4}\s?[a-zA-Z]?\b`)

// Calle Mayor 12, C/ de Alcalá, 45, Avenida de la Constitución nº 3
var spanishStreetRe = regexp.MustCompile(`(?i:\bcalle|\bc/|\bavenida|\bavda\.?|\bplaza|\bpza\.?|\bpaseo|\bcamino|\bcarrera|` +
	`\bronda|\btraves[íi]a|\bglorieta|\bcarretera)\s+(?:(?i:de|del|la|las|los|el)\s+)*[\p{L}'’-]+(?:\s+[\p{L}'’-]+){0,2}?,?\s*` +
	`(?:(?i:n[º°o])\.?\s*)?\d{1,4}\b`)

// germanStreetSuffixes are the words that make a German street, used to
// tell "Hauptstraße 5" (a compound) from "Platz 2" (second place).
var germanStreetSuffixes = []string{"straße", "strasse", "str.", "weg", "platz", "allee", "gasse", "ring", "damm", "ufer", "chaussee"}

// streetStopWords may not stand in the name of an English street: "3 apples
// in the way" is not an address.
var streetStopWords = wordSet(`the a an in on of to by for from with and or at my your his her our their this that it is are was`)

// Cheap gates: a street pattern runs only where its street words occur
// (the patterns have no literal prefix, so RE2 would try them at every byte).
var (
	streetGates = [][]string{
		{"rue", "av", "bd", "boulevard", "chemin", "all", "place", "impasse", "quai", "route", "cours", "square"},
		{"st", "rd", "road", "av", "lane", "ln", "drive", "boulevard", "blvd", "court", "ct", "way", "place", "terrace",
			"close", "crescent", "square", "parkway", "pkwy", "highway", "hwy", "circle", "gardens", "grove", "row", "mews"},
	}
	germanGate  = []string{"stra", "str.", "weg", "platz", "allee", "gasse", "ring", "damm", "ufer", "chaussee"}
	spanishGate = []string{"calle", "c/", "av", "plaza", "pza", "paseo", "camino", "carrera", "ronda", "traves", "glorieta", "carretera"}
)

func scanStreets(text, lower string) [][]int {
	var out [][]int
	open := make([]bool, len(streetRes))
	for k := range streetRes {
		open[k] = containsAny(lower, streetGates[k])
	}
	for _, at := range digitStarts(text, lower) {
		for k, re := range streetRes {
			if !open[k] {
				continue
			}
			m := re.FindStringSubmatchIndex(text[at:])
			if m == nil {
				continue
			}
			if k == 1 && strings.ContainsFunc(text[at+m[2]:at+m[3]], func(r rune) bool { return r == '\n' }) {
				continue
			}
			if k == 1 && !namesAStreet(text[at+m[2]:at+m[3]]) {
				continue
			}
			out = append(out, []int{at, at + m[1]})
			break
		}
	}
	if containsAny(lower, germanGate) {
		for _, m := range germanStreetRe.FindAllStringIndex(text, -1) {
			if germanCompound(text[m[0]:m[1]]) {
				out = append(out, m)
			}
		}
	}
	if containsAny(lower, spanishGate) {
		out = append(out, spanishStreetRe.FindAllStringIndex(text, -1)...)
	}
	return out
}

// namesAStreet: the words between the number and "Street" are a name, not a phrase.
func namesAStreet(words string) bool {
	for _, w := range strings.Fields(words) {
		if streetStopWords[strings.ToLower(w)] {
			return false
		}
	}
	return true
}

// germanCompound accepts "Hauptstraße 5" and "Berliner Straße 5" but not "Platz 2" alone.
func germanCompound(s string) bool {
	fields := strings.Fields(s)
	if len(fields) >= 3 {
		return true // an adjective or a name before the street word
	}
	street := strings.ToLower(fields[0])
	for _, suf := range germanStreetSuffixes {
		if strings.HasSuffix(street, suf) && len(street) > len(suf) {
			return true
		}
	}
	return false
}

var usStates = `AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|` +
	`OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY`

var (
	ukPostcodeRe = regexp.MustCompile(`\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[A-Z]{2}\b`)
	usZipRe      = regexp.MustCompile(`\b(?:` + usStates + `),?\s+(\d{5}(?:-\d{4})?)\b`)
	// A European code before a town, after a line break, a comma, a country prefix or the start of the text.
	euPostcodeRe = regexp.MustCompile(`(?:^|[,\n]|\b(?:[A-Z]{1,2}-))\s*(\d{4,5})\s+\p{Lu}\p{Ll}+`)
	// Any code after a cue.
	cuePostcodeRe = regexp.MustCompile(`(?i:post ?code|zip(?: ?code)?|code postal|plz|postleitzahl|c[óo]digo postal|c\.p\.)` +
		`\s*(?:is|est|ist|es|:)?\s*([A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}|\d{4,5}(?:-\d{4})?)\b`)
	// A five-digit code right after a street address without a comma.
	afterStreetRe = regexp.MustCompile(`^\s+(\d{5})\s+\p{Lu}\p{Ll}+`)
)

func scanPostcodes(text, lower string) [][]int {
	out := ukPostcodeRe.FindAllStringIndex(text, -1)
	for _, re := range []*regexp.Regexp{usZipRe, euPostcodeRe, cuePostcodeRe} {
		for _, m := range re.FindAllStringSubmatchIndex(text, -1) {
			out = append(out, m[2:4])
		}
	}
	if !hasDigitRun(text, 5) {
		return out
	}
	for _, s := range scanStreets(text, lower) {
		if m := afterStreetRe.FindStringSubmatchIndex(text[s[1]:]); m != nil {
			out = append(out, []int{s[1] + m[2], s[1] + m[3]})
		}
	}
	return out
}

// hasDigitRun says whether text holds n ASCII digits in a row.
func hasDigitRun(text string, n int) bool {
	run := 0
	for i := range len(text) {
		if isDigit(text[i]) {
			if run++; run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}
