package protocol

import (
	"errors"
	"fmt"
)

var (
	// ErrTooLarge is returned when a message exceeds its size cap, on either
	// the encoding or the decoding side.
	ErrTooLarge = errors.New("message too large")
	// ErrMalformed is returned for input that is not a valid message: bad
	// framing, truncated or undecodable bytes, or a field that fails validation.
	ErrMalformed = errors.New("malformed message")
	// ErrUnsupportedVersion is returned for a round or budget claim from a
	// newer RoundVersion or BudgetVersion.
	ErrUnsupportedVersion = errors.New("unsupported round version")
	// ErrExpired is returned by CheckDeadline for a deadline already past.
	ErrExpired = errors.New("deadline expired")
)

// malformed builds a validation error naming the offending field.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
