package router

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Phone numbers: the phone pattern only proposes candidates; libphonenumber's
// metadata (github.com/nyaruka/phonenumbers, a Go port) decides. A number
// written with "+" or "00" is checked as written; a national one against
// the regions our users write from. Where a phone cue stands before it
// ("call", "tél.", "Handy", "móvil"…), a possible number is enough.

// phoneRegions are tried, in order, for numbers without a country code.
var phoneRegions = []string{"US", "GB", "FR", "DE", "ES", "IT", "NL", "BE", "CH", "AT", "PT", "IE", "CA", "AU"}

var phoneCues = []string{"call", "phone", "tel", "mobile", "cell", "fax", "whatsapp", "text me", "ring",
	"appel", "téléphone", "portable", "joindre", "numéro", "handy", "telefon", "ruf", "anruf", "nummer",
	"llama", "teléfono", "móvil", "movil", "número", "contacto"}

// validPhone accepts 7–15 digits that libphonenumber takes for a valid
// number in some region; dotted quads (addresses, netmasks) never.
func validPhone(s string) bool {
	return phoneNumber(s, false)
}

func phoneNumber(s string, cued bool) bool {
	n := len(digitsOf(s))
	if n < 7 || n > 15 || looksLikeIP(s) || isDate(s) {
		return false
	}
	regions := phoneRegions
	if strings.HasPrefix(s, "+") {
		regions = []string{"ZZ"} // the country code says where
	}
	for _, r := range regions {
		num, err := phonenumbers.Parse(s, r)
		if err != nil {
			continue
		}
		if phonenumbers.IsValidNumber(num) || (cued && phonenumbers.IsPossibleNumber(num)) {
			return true
		}
	}
	return false
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// phoneCandidateRe proposes phone numbers: an optional "+CC" or "00CC", an
// optional "(area)" and two to seven groups of digits.
var phoneCandidateRe = regexp.MustCompile(`(?:\+\d{1,3}[ .-]?|\b00\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\b\d{1,5}(?:[ ./-]?\d{1,5}){1,6}\b`)

// notPhoneCues before a number say it is some other kind of number.
var notPhoneCues = []string{"order", "invoice", "sku", "part", "model", "serial", "tracking", "ref", "isbn", "ean",
	"commande", "facture", "référence", "bestell", "rechnung", "artikel", "pedido", "factura", "referencia", "article"}

// scanPhones tries each candidate as written, then without its last one or
// two groups (a number followed by other digits), and keeps what the
// library accepts.
func scanPhones(text, lower string) [][]int {
	var out [][]int
	checked := map[string]bool{} // candidate (and whether cued) → accepted
	for _, m := range phoneCandidateRe.FindAllStringIndex(text, -1) {
		window := lower[max(0, m[0]-40):m[0]]
		if containsAny(window[max(0, len(window)-20):], notPhoneCues) || validEAN13(text[m[0]:m[1]]) {
			continue
		}
		cued := containsAny(window, phoneCues)
		start, end := m[0], m[1]
		for try := 0; try < 3 && end > start; try++ {
			if phoneChecked(text[start:end], cued, checked) {
				out = append(out, []int{start, end})
				break
			}
			end = strings.LastIndexAny(text[start:end], " .-/")
			if end < 0 {
				break
			}
			end += start
		}
	}
	return out
}

// looksLikeIP: a dotted quad or a colon-separated address is never a phone number.
func looksLikeIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil || strings.Count(s, ".") == 3 && len(digitsOf(s)) <= 12 && !strings.ContainsAny(s, " -+")
}

// isDate: "14.07.1989" and "2024-05-03" are dates, whatever a phone plan allows.
func isDate(s string) bool {
	m := dateRe.FindStringSubmatchIndex(s)
	return m != nil && m[0] == 0 && m[1] == len(s) && plausibleDate(s, m)
}

// validEAN13: thirteen solid digits with a valid EAN check digit are a product code.
func validEAN13(s string) bool {
	if len(s) != 13 || len(digitsOf(s)) != 13 {
		return false
	}
	sum := 0
	for i := range 12 {
		n := int(s[i] - '0')
		if i%2 == 1 {
			n *= 3
		}
		sum += n
	}
	return (10-sum%10)%10 == int(s[12]-'0')
}

// maxPhoneChecks bounds the library calls one text may cost (a few
// microseconds each, per region). Past it, a candidate of 9–15 digits, or
// 7–15 after "+", is taken for a phone number unchecked: a text made of
// thousands of numbers is redacted too much rather than slowly or too little.
const maxPhoneChecks = 256

func phoneChecked(s string, cued bool, checked map[string]bool) bool {
	key := s
	if cued {
		key = "\x00" + s
	}
	if ok, seen := checked[key]; seen {
		return ok
	}
	var ok bool
	if len(checked) < maxPhoneChecks {
		ok = phoneNumber(s, cued)
	} else {
		n := len(digitsOf(s))
		ok = !looksLikeIP(s) && !isDate(s) && n <= 15 && (n >= 9 || strings.HasPrefix(s, "+") && n >= 7)
	}
	checked[key] = ok
	return ok
}
