package protocol

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
)

func validBudgetClaim() *BudgetClaim {
	return &BudgetClaim{Version: BudgetVersion, Seq: 1764460800000000001, Members: 3, SentUnixMs: 1764460800000,
		Hour: &BudgetWindow{Calls: 4, Tokens: 2000, ClaimCalls: 10, ClaimTokens: 30000},
		Day:  &BudgetWindow{Calls: 4, Tokens: 2000, ClaimCalls: 100, ClaimTokens: 300000, DepartedCalls: 7}}
}

func TestBudgetClaimRoundTrip(t *testing.T) {
	want := validBudgetClaim()
	b, err := EncodeBudget(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBudget(b)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Errorf("round trip: %v, want %v", got, want)
	}
}

func TestBudgetClaimValidate(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*BudgetClaim)
		target error // nil: valid
	}{
		{"valid", func(*BudgetClaim) {}, nil},
		{"no windows: all zero", func(c *BudgetClaim) { c.Hour, c.Day = nil, nil }, nil},
		{"goodbye", func(c *BudgetClaim) { c.Leaving, c.Hour.ClaimCalls, c.Hour.ClaimTokens = true, 4, 2000 }, nil},
		{"no version", func(c *BudgetClaim) { c.Version = 0 }, ErrMalformed},
		{"newer version", func(c *BudgetClaim) { c.Version = BudgetVersion + 1 }, ErrUnsupportedVersion},
		{"no seq", func(c *BudgetClaim) { c.Seq = 0 }, ErrMalformed},
		{"no members", func(c *BudgetClaim) { c.Members = 0 }, ErrMalformed},
		{"negative calls", func(c *BudgetClaim) { c.Hour.Calls = -1 }, ErrMalformed},
		{"negative departed", func(c *BudgetClaim) { c.Day.DepartedTokens = -5 }, ErrMalformed},
		{"claim below use", func(c *BudgetClaim) { c.Day.ClaimCalls = 3 }, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validBudgetClaim()
			tc.edit(c)
			_, err := EncodeBudget(c)
			if tc.target == nil && err != nil || tc.target != nil && !errors.Is(err, tc.target) {
				t.Errorf("encode: %v, want %v", err, tc.target)
			}
		})
	}
}

func TestDecodeBudgetRefuses(t *testing.T) {
	cases := []struct {
		name   string
		data   []byte
		target error
	}{
		{"empty", nil, ErrMalformed},
		{"garbage", []byte{0xff, 0xff, 0xff}, ErrMalformed},
		{"oversized", make([]byte, MaxBudgetClaimBytes+1), ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := DecodeBudget(tc.data); !errors.Is(err, tc.target) || c != nil {
				t.Errorf("DecodeBudget = %v, %v; want %v", c, err, tc.target)
			}
		})
	}
}

func FuzzDecodeBudget(f *testing.F) {
	b, err := EncodeBudget(validBudgetClaim())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeBudget(data)
		if err != nil {
			if c != nil {
				t.Fatal("claim returned with an error")
			}
			return
		}
		b, err := EncodeBudget(c)
		if err != nil {
			t.Fatalf("re-encode accepted claim: %v", err)
		}
		again, err := DecodeBudget(b)
		if err != nil {
			t.Fatalf("re-decode accepted claim: %v", err)
		}
		if !proto.Equal(c, again) {
			t.Fatalf("accepted claim changed on a second trip:\n%v\n%v", c, again)
		}
	})
}
