package router

import (
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"",
	"What is 17 * 23 + 89?",
	"How do I kill the process on port 8080, then shoot a photo?",
	"Patient Maria Lopez (maria.lopez@example.com) +1 555 0100, card 4111 1111 1111 1111, SSN 123-45-6789",
	"I'm John Carter, passport number X1234567; from 81.2.69.160 or 2a00:1450:4001:82a::200e",
	"First explain, then compute step by step:\n1. a\n2. b",
	"The answer is: -1,000.50%",
	"\xff\xfe invalid utf-8 \xc3",
	"İstanbul ǅ ﬁ café’s",
	"std::vector<int> a; a::b::c 12:30:45 255.255.240.0/20",
	"a@b.cc+d@e.ff x4111111111111111 AB123456C (030) 1234-5678",
	"Je suis née le 3 mars 1985, IBAN FR76 3000 6000 0112 3456 7890 189, 12 rue des Lilas, 75011 Paris",
	"Meine Steuer-ID lautet 12 345 678 901; Hauptstraße 5, D-10115 Berlin; Handy 0151 23456789",
	"Mi DNI es 12345678Z, pasaporte PAA123456, calle Mayor 12, llámame al 612 345 678; mi amiga lucía",
	"NIR 2 69 05 2A 006 084 44, London NW1 6XE, Springfield, IL 62701, jean dupont, Dear [NAME_1]",
}

// FuzzClassify: any text classifies and redacts without panicking, the
// scores stay in range, the literal gates never hide a match, and redacted
// text holds nothing the detectors would redact again.
func FuzzClassify(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prompt string) {
		cls := Classify(prompt)
		if math.IsNaN(cls.Difficulty) || cls.Difficulty < 0 || cls.Difficulty > 1 {
			t.Fatalf("difficulty %v", cls.Difficulty)
		}
		if len(cls.Domains) > 3 {
			t.Fatalf("domains %v", cls.Domains)
		}
		for i, k := range cls.PII {
			if slices.Contains(cls.PII[:i], k) {
				t.Fatalf("repeated kind in %v", cls.PII)
			}
		}
		lower := apostrophes.Replace(strings.ToLower(prompt))
		idx := newTextIndex(lower)
		gated := slices.Clone(defaultClassifier.multiStep)
		for _, m := range defaultClassifier.safety {
			gated = append(gated, m.patterns...)
		}
		for _, p := range gated {
			if p.re.MatchString(lower) && !p.mayMatch(idx) {
				t.Fatalf("gate %q hides a match of %s", p.gate, p.re)
			}
		}
		checkPIIStarts(t, prompt)
		for _, policy := range PrivacyPolicies {
			text, red, err := Redact(prompt, policy)
			switch {
			case policy == PrivacyAllow && (err != nil || text != prompt):
				t.Fatalf("allow changed the prompt: %q %v", text, err)
			case policy == PrivacyBlock && (err == nil) != (len(cls.PII) == 0):
				t.Fatalf("block: err %v with pii %v", err, cls.PII)
			case policy == PrivacyRedact:
				if err != nil || len(red) < len(cls.PII) {
					t.Fatalf("redact: %v, %v for pii %v", red, err, cls.PII)
				}
				if _, again, _ := Redact(text, PrivacyRedact); len(again) > 0 {
					t.Fatalf("redacted text %q still holds %v", text, again)
				}
			}
		}
	})
}

// FuzzNormalize: Normalize never panics and is idempotent.
func FuzzNormalize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Add("--1 ..2 1,000,00 5%% 1/2/3 answer answer is 4")
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if again := Normalize(n); again != n {
			t.Fatalf("Normalize(%q) = %q, but Normalize of that = %q", s, n, again)
		}
	})
}

// FuzzAgree: agreement stays in 0…1, is symmetric, and an answer agrees with itself.
func FuzzAgree(f *testing.F) {
	f.Add("Paris", "paris.")
	f.Add("42", "forty-two")
	f.Add("1/0", "0x1p-2")
	f.Add("not 42", "42, not 41")
	f.Add("1e400", "-")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := Agree(a, b), Agree(b, a)
		if math.IsNaN(ab) || ab < 0 || ab > 1 || ab != ba {
			t.Fatalf("Agree(%q, %q) = %v, reversed %v", a, b, ab, ba)
		}
		if Normalize(a) != "" && Agree(a, a) != 1 {
			t.Fatalf("Agree(%q, itself) = %v", a, Agree(a, a))
		}
	})
}

// FuzzTally: any mix of answers, voters, choices and weights tallies
// without panicking into a result that respects its own rules.
func FuzzTally(f *testing.F) {
	f.Add("Paris|paris.|Lyon|", "a0b1c2x0a2", 0.5, 2)
	f.Add("4|5|", "a9b-1cXc0", math.NaN(), 0)
	f.Fuzz(func(t *testing.T, answers, votes string, weight float64, quorum int) {
		var proposals []Proposal
		for i, a := range strings.Split(answers, "|") {
			p := Proposal{Peer: string(rune('a' + i%26)), Answer: a, Confidence: weight}
			if a == "" {
				p.Err = "failed"
			}
			proposals = append(proposals, p)
		}
		var ballots []Ballot
		for i := 0; i+1 < len(votes); i += 2 {
			choice := int(votes[i+1]) - '0'
			if votes[i+1] == '-' {
				choice = Escalate
			}
			ballots = append(ballots, Ballot{Voter: votes[i : i+1], Choice: choice, Weight: weight})
		}
		params := TallyParams{Participants: []string{"a", "b", "c"}, Quorum: quorum}
		res := Tally(proposals, ballots, params)
		if res.Ballots > 3 || len(res.Counted) != res.Ballots || math.IsNaN(res.Share) || res.Share < 0 || res.Share > 1+1e-9 {
			t.Fatalf("tally %+v", res)
		}
		if res.Winner != Escalate && (res.Winner < 0 || res.Winner >= len(proposals) || !usable(proposals[res.Winner])) {
			t.Fatalf("winner %d of %v", res.Winner, proposals)
		}
		if res.Outcome == OutcomeConsensus && res.Winner == Escalate {
			t.Fatalf("consensus without a winner: %+v", res)
		}
		for _, own := range proposals {
			b := ChooseBallot(own, proposals, BallotParams{})
			if b.Choice != Escalate && (b.Choice < 0 || b.Choice >= len(proposals)) || math.IsNaN(b.Weight) {
				t.Fatalf("ballot %+v", b)
			}
		}
	})
}

// checkPIIStarts: trying an anchored detector only at its candidate starts
// finds exactly what the unanchored pattern finds everywhere.
func checkPIIStarts(t *testing.T, text string) {
	t.Helper()
	pointer := func(f any) uintptr { return reflect.ValueOf(f).Pointer() }
	lower := asciiLower(text)
	for _, d := range defaultClassifier.pii {
		var prefix string
		switch pointer(d.starts) {
		case pointer(digitStarts), pointer(ninoStarts):
			prefix = `\b`
		case pointer(emailStarts):
		default:
			continue // no starts, or cue words, which are stricter than \b by design
		}
		ref := regexp.MustCompile(prefix + strings.TrimPrefix(d.re.String(), "^"))
		got, want := d.matches(text, lower), ref.FindAllStringSubmatchIndex(text, -1)
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%s: starts find %v, the unanchored pattern %v in %q", d.kind, got, want, text)
		}
	}
}

// FuzzProtect: any conversation and hint protect without panicking; the
// redacted turns hold nothing the detectors would redact again, block
// refuses exactly what holds personal data, and placeholders restore to the data.
func FuzzProtect(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "system: "+s, "Maria Lopez")
	}
	f.Fuzz(func(t *testing.T, last, earlier, hint string) {
		turns := []Turn{{Role: "system", Content: earlier}, {Role: "user", Content: last}}
		p := Protect(turns, []PIIHint{{Kind: PIIPerson, Text: hint}})
		red, kinds, err := p.For(PrivacyRedact)
		if err != nil || len(red) != len(turns) || len(kinds) < len(p.Kinds) {
			t.Fatalf("redact: %v %v %v", red, kinds, err)
		}
		for _, r := range red {
			if _, again, _ := Redact(r.Content, PrivacyRedact); len(again) > 0 {
				t.Fatalf("redacted turn %q still holds %v", r.Content, again)
			}
		}
		if _, _, err := p.For(PrivacyBlock); (err == nil) != (len(p.Kinds) == 0) {
			t.Fatalf("block: %v with %v", err, p.Kinds)
		}
		for _, e := range p.Entities() {
			if got := p.Restore(e.Placeholder); got != e.Text {
				t.Fatalf("Restore(%q) = %q, want %q", e.Placeholder, got, e.Text)
			}
		}
	})
}
