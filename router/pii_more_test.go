package router

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestDetectors: each new detector in each of its forms, and the look-alikes it must leave alone.
func TestDetectors(t *testing.T) {
	cases := []struct {
		name, prompt, want string
	}{
		// dates
		{"birth date numeric", "My daughter was born on 14/03/2012, is that too young?", "My daughter was born on [DATE_1], is that too young?"},
		{"birth date french", "Je suis née le 3 mars 1985 à Lyon.", "Je suis née le [DATE_1] à Lyon."},
		{"birth date german", "Geburtsdatum: 12.03.1985", "Geburtsdatum: [DATE_1]"},
		{"birth date spanish", "Mi fecha de nacimiento es el 5 de mayo de 1990.", "Mi fecha de nacimiento es el [DATE_1]."},
		{"personal appointment", "I have an appointment with Dr. Weber on 2024-05-03.", "I have an appointment with Dr. [NAME_1] on [DATE_1]."},
		{"historical date stays", "The Berlin Wall fell on 9 November 1989.", "The Berlin Wall fell on 9 November 1989."},
		{"history before 1900 stays", "My essay is on 14 July 1789.", "My essay is on 14 July 1789."},
		{"date is not a phone", "What happened on 14.07.1989 in Paris?", "What happened on 14.07.1989 in Paris?"},
		// IBAN
		{"iban grouped", "Send it to FR76 3000 6000 0112 3456 7890 189 please.", "Send it to [IBAN_1] please."},
		{"iban solid", "My IBAN is DE89370400440532013000.", "My IBAN is [IBAN_1]."},
		{"iban bad checksum stays", "Reference DE89370400440532013001 only.", "Reference DE89370400440532013001 only."},
		// addresses and postcodes
		{"uk address", "I live at 221 Baker Street, London NW1 6XE.", "I live at [ADDRESS_1], London [POSTCODE_1]."},
		{"french address", "J'habite au 12 rue des Lilas, 75011 Paris.", "J'habite au [ADDRESS_1], [POSTCODE_1] Paris."},
		{"german address", "Ich wohne in der Hauptstraße 5, 10115 Berlin.", "Ich wohne in der [ADDRESS_1], [POSTCODE_1] Berlin."},
		{"spanish address", "Vivo en Calle Mayor 12, 28013 Madrid.", "Vivo en [ADDRESS_1], [POSTCODE_1] Madrid."},
		{"us zip", "Write to 1600 Pennsylvania Avenue NW, Washington, DC 20500.", "Write to [ADDRESS_1] NW, Washington, DC [POSTCODE_1]."},
		{"phrase is no street", "There were 3 apples on the way.", "There were 3 apples on the way."},
		{"second place is no street", "Er belegte Platz 2 im Rennen.", "Er belegte Platz 2 im Rennen."},
		// phones, through libphonenumber
		{"french mobile", "Call me on 06 12 34 56 78 tomorrow.", "Call me on [PHONE_1] tomorrow."},
		{"german international", "My number is +49 30 123456789.", "My number is [PHONE_1]."},
		{"spanish mobile", "Llámame al 612 345 678.", "Llámame al [PHONE_1]."},
		{"order number is no phone", "Order 912345678 has not arrived.", "Order 912345678 has not arrived."},
		{"product code is no phone", "The product SKU 4006381333931 is out of stock.", "The product SKU 4006381333931 is out of stock."},
		// ids and passports
		{"passport", "My passport number is 12AB34567.", "My passport number is [PASSPORT_1]."},
		{"passport spanish", "Mi pasaporte es PAA123456.", "Mi pasaporte es [PASSPORT_1]."},
		{"dni checksum", "Mi DNI es 12345678Z.", "Mi DNI es [ID_1]."},
		{"dni without cue", "Titular 12345678Z.", "Titular [ID_1]."},
		{"french nir", "Numéro 1 85 05 78 006 084 91 svp", "Numéro [ID_1] svp"},
		{"german tax id", "Meine Steuer-ID lautet 12 345 678 901.", "Meine Steuer-ID lautet [ID_1]."},
		// names
		{"name without cue", "Ask Anna if the report is ready.", "Ask [NAME_1] if the report is ready."},
		{"lower-case name and surname", "please forward this to jean dupont before friday", "please forward this to [NAME_1] before friday"},
		{"french name after cue", "Mon collègue Thierry Martin a besoin du rapport.", "Mon collègue [NAME_1] a besoin du rapport."},
		{"german name", "Mein Kollege Jürgen Becker ist krank.", "Mein Kollege [NAME_1] ist krank."},
		{"spanish lower-case after cue", "Mi amiga lucía necesita ayuda.", "Mi amiga [NAME_1] necesita ayuda."},
		{"a word after a cue", "My landlord will not return my deposit.", "My landlord will not return my deposit."},
		{"lower-case surname after a first name", "remind tom brennan that the invoice is due", "remind [NAME_1] that the invoice is due"},
		{"passport, words between", "Mon passeport porte le numéro 17CV45821.", "Mon passeport porte le numéro [PASSPORT_1]."},
		{"place named like a person", "What is the capital of Victoria, Australia?", "What is the capital of Victoria, Australia?"},
		{"saint's town", "How far is San José from Santa Clara?", "How far is San José from Santa Clara?"},
		{"famous person", "Marie Curie discovered polonium in 1898.", "Marie Curie discovered polonium in 1898."},
		{"institution", "Is Victoria Station far from Elizabeth Line stops?", "Is Victoria Station far from Elizabeth Line stops?"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := Redact(tc.prompt, PrivacyRedact)
			if err != nil || got != tc.want {
				t.Errorf("Redact(%q) = %q, %v\n                        want %q", tc.prompt, got, err, tc.want)
			}
		})
	}
}

func TestValidators(t *testing.T) {
	cases := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"iban fr", validIBAN, "FR7630006000011234567890189", true},
		{"iban gb", validIBAN, "GB82WEST12345698765432", true},
		{"iban lower case", validIBAN, "gb82west12345698765432", true},
		{"iban bad digit", validIBAN, "GB82WEST12345698765433", false},
		{"iban junk", validIBAN, "GB82-WEST", false},
		{"nir", validNIR, "185057800608491", true},
		{"nir bad key", validNIR, "185057800608492", false},
		{"dni", validDNI, "12345678Z", true},
		{"dni bad letter", validDNI, "12345678A", false},
		{"nie", validDNI, "X1234567L", true},
		{"phone fr", validPhone, "06 12 34 56 78", true},
		{"phone intl", validPhone, "+44 20 7946 0958", true},
		{"phone too short", validPhone, "12 34 56", false},
		{"phone ip", validPhone, "192.168.100.200", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.fn(tc.in); got != tc.want {
				t.Errorf("%s(%q) = %v, want %v", tc.name, tc.in, got, tc.want)
			}
		})
	}
}

// TestProtect: one numbering for a whole conversation, hints merged, policies applied, answers restored.
func TestProtect(t *testing.T) {
	turns := []Turn{
		{Role: "system", Content: "You help Maria Lopez (maria@example.org) with her paperwork."},
		{Role: "user", Content: "I was born on 02/05/1980."},
		{Role: "assistant", Content: "Noted."},
		{Role: "user", Content: "Write a birthday note from Maria to her colleague Kowalczyk."},
	}
	p := Protect(turns, []PIIHint{{Kind: PIIPerson, Text: "Kowalczyk"}, {Kind: "shoe-size", Text: "Maria"}, {Kind: PIIPerson, Text: "a"}})
	red, redactions, err := p.For(PrivacyRedact)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"You help [NAME_1] ([EMAIL_1]) with her paperwork.",
		"I was born on [DATE_1].",
		"Noted.",
		"Write a birthday note from [NAME_1] to her colleague [NAME_2].",
	}
	for i, w := range want {
		if red[i].Content != w || red[i].Role != turns[i].Role {
			t.Errorf("turn %d = %+v, want %q", i, red[i], w)
		}
	}
	if !slices.Equal(p.Kinds, []PIIKind{PIIPerson, PIIEmail, PIIDate}) || len(redactions) != 5 {
		t.Errorf("kinds %v, redactions %v", p.Kinds, redactions)
	}
	for _, r := range redactions {
		if strings.Contains(r, "Maria") || strings.Contains(r, "@") {
			t.Errorf("redactions carry data: %v", redactions)
		}
	}
	if got := p.Restore("Dear [NAME_2], from [NAME_1]"); got != "Dear Kowalczyk, from Maria Lopez" {
		t.Errorf("Restore = %q", got)
	}
	if _, _, err := p.For(PrivacyBlock); !errors.Is(err, ErrPrivacyBlocked) {
		t.Errorf("block: %v", err)
	}
	if all, _, _ := p.For(PrivacyAllow); !slices.Equal(all, turns) {
		t.Errorf("allow changed the turns: %v", all)
	}
	if _, _, err := p.For("shred"); !errors.Is(err, ErrUnknownPrivacyPolicy) {
		t.Errorf("unknown policy: %v", err)
	}
	clean := Protect([]Turn{{Role: "user", Content: "What is the capital of Peru?"}}, nil)
	if got, _, err := clean.For(PrivacyBlock); err != nil || got[0].Content != "What is the capital of Peru?" {
		t.Errorf("block without personal data: %v %v", got, err)
	}
}
