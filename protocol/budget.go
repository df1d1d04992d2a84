package protocol

import (
	"fmt"

	"google.golang.org/protobuf/proto"
)

// EncodeBudget validates c and encodes it as a TopicBudget payload.
func EncodeBudget(c *BudgetClaim) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("encode budget claim: %w", err)
	}
	if size := proto.Size(c); size > MaxBudgetClaimBytes {
		return nil, fmt.Errorf("encode budget claim of %d bytes (cap %d): %w", size, MaxBudgetClaimBytes, ErrTooLarge)
	}
	b, err := proto.MarshalOptions{UseCachedSize: true}.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode budget claim: %w", err)
	}
	return b, nil
}

// DecodeBudget decodes and validates a TopicBudget payload. It is what the
// topic validator runs on every message before anything else looks at it.
func DecodeBudget(b []byte) (*BudgetClaim, error) {
	if len(b) > MaxBudgetClaimBytes {
		return nil, fmt.Errorf("decode budget claim of %d bytes (cap %d): %w", len(b), MaxBudgetClaimBytes, ErrTooLarge)
	}
	c := new(BudgetClaim)
	if err := proto.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("decode budget claim: %w: %w", ErrMalformed, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("decode budget claim: %w", err)
	}
	return c, nil
}

// Validate checks a BudgetClaim's structure: a known version, a sequence
// number, at least one member, and no negative or self-contradicting
// amounts (a claim below its own use). It does not look at the clock.
func (c *BudgetClaim) Validate() error {
	switch {
	case c == nil:
		return malformed("budget claim is absent")
	case c.Version == 0:
		return malformed("budget claim without a version")
	case c.Version > BudgetVersion:
		return fmt.Errorf("budget claim version %d (this build speaks %d): %w", c.Version, BudgetVersion, ErrUnsupportedVersion)
	case c.Seq == 0:
		return malformed("budget claim without a sequence number")
	case c.Members == 0:
		return malformed("budget claim counts no members")
	}
	for name, w := range map[string]*BudgetWindow{"hour": c.Hour, "day": c.Day} {
		if err := w.validate(); err != nil {
			return fmt.Errorf("budget claim's %s: %w", name, err)
		}
	}
	return nil
}

func (w *BudgetWindow) validate() error {
	if w == nil {
		return nil // all zero
	}
	for name, v := range map[string]int64{"calls": w.Calls, "tokens": w.Tokens, "claim_calls": w.ClaimCalls,
		"claim_tokens": w.ClaimTokens, "departed_calls": w.DepartedCalls, "departed_tokens": w.DepartedTokens} {
		if v < 0 {
			return malformed("%s %d is negative", name, v)
		}
	}
	if w.ClaimCalls < w.Calls || w.ClaimTokens < w.Tokens {
		return malformed("claim (%d calls, %d tokens) below use (%d, %d)", w.ClaimCalls, w.ClaimTokens, w.Calls, w.Tokens)
	}
	return nil
}
