package router

import (
	"errors"
	"slices"
	"testing"
)

func TestRedact(t *testing.T) {
	const prompt = "Patient Maria Lopez (maria.lopez@example.com) had a glucose of 8.1 mmol/L. Call +1 415 555 2671."
	cases := []struct {
		name    string
		prompt  string
		policy  PrivacyPolicy
		want    string
		red     []string
		wantErr error
	}{
		{"redact replaces each kind", prompt, PrivacyRedact,
			"Patient [NAME_1] ([EMAIL_1]) had a glucose of 8.1 mmol/L. Call [PHONE_1].", []string{"person-name", "email", "phone"}, nil},
		{"redact card and id", "card 4111-1111-1111-1111, SSN 123-45-6789", PrivacyRedact,
			"card [CARD_1], SSN [ID_1]", []string{"card-number", "id-number"}, nil},
		{"redact public ip only", "from 81.2.69.160 via 10.0.0.1", PrivacyRedact, "from [IP_1] via 10.0.0.1", []string{"ip-address"}, nil},
		{"redact emails that touch", "write to a@b.cc+d@e.ff now", PrivacyRedact, "write to [EMAIL_1][EMAIL_2] now", []string{"email", "email"}, nil},
		{"redact without pii is unchanged", "What is 7 + 8?", PrivacyRedact, "What is 7 + 8?", nil, nil},
		{"block with pii", prompt, PrivacyBlock, "", nil, ErrPrivacyBlocked},
		{"block without pii passes", "What is the capital of Peru?", PrivacyBlock, "What is the capital of Peru?", nil, nil},
		{"allow keeps everything", prompt, PrivacyAllow, prompt, nil, nil},
		{"unknown policy", prompt, "shred", "", nil, ErrUnknownPrivacyPolicy},
		{"empty policy", prompt, "", "", nil, ErrUnknownPrivacyPolicy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, red, err := Redact(tc.prompt, tc.policy)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got != tc.want || !slices.Equal(red, tc.red) {
				t.Errorf("Redact = %q %v, want %q %v", got, red, tc.want, tc.red)
			}
		})
	}
}

func TestParsePrivacyPolicy(t *testing.T) {
	cases := []struct {
		in      string
		want    PrivacyPolicy
		wantErr bool
	}{
		{"redact", PrivacyRedact, false},
		{" BLOCK ", PrivacyBlock, false},
		{"allow", PrivacyAllow, false},
		{"", "", true},
		{"deny", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePrivacyPolicy(tc.in)
			if got != tc.want || (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrUnknownPrivacyPolicy)) {
				t.Errorf("ParsePrivacyPolicy(%q) = %q, %v", tc.in, got, err)
			}
		})
	}
}

func TestValidCard(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"4111111111111111", true},
		{"5500 0000 0000 0004", true},
		{"3782-822463-10005", true},
		{"4111111111111112", false},
		{"0000000000000000", false}, // passes Luhn, but nobody's card
		{"411111111111", false},     // too short
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := validCard(tc.in); got != tc.want {
				t.Errorf("validCard(%q) = %v", tc.in, got)
			}
		})
	}
}

func TestPersonalIP(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"81.2.69.160", true},
		{"8.8.8.8", true},
		{"2a00:1450:4001:82a::200e", true},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.0.1", false},
		{"127.0.0.1", false},
		{"169.254.1.1", false},
		{"224.0.0.1", false},
		{"0.1.2.3", false},
		{"203.0.113.7", false},
		{"255.255.255.0", false},
		{"::1", false},
		{"fe80::1", false},
		{"fd00::1", false},
		{"2001:db8::5", false},
		{"::ffff:10.0.0.1", false},
		{"300.1.1.1", false},
		{"fe80::1%eth0", false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := personalIP(tc.in); got != tc.want {
				t.Errorf("personalIP(%q) = %v", tc.in, got)
			}
		})
	}
}
