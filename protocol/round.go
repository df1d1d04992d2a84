package protocol

import (
	"fmt"

	"google.golang.org/protobuf/proto"
)

// Gossip payloads are not length-prefixed: pubsub delivers whole messages.

// EncodeRound validates m and encodes it as a round topic payload, refusing
// one over MaxRoundMessageBytes with ErrTooLarge.
func EncodeRound(m *RoundMessage) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("encode round message: %w", err)
	}
	if size := proto.Size(m); size > MaxRoundMessageBytes {
		return nil, fmt.Errorf("encode round message of %d bytes (cap %d): %w", size, MaxRoundMessageBytes, ErrTooLarge)
	}
	b, err := proto.MarshalOptions{UseCachedSize: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode round message: %w", err)
	}
	return b, nil
}

// DecodeRound decodes and validates a round topic payload. It is what the
// topic validator runs on every message before anything else looks at it.
func DecodeRound(b []byte) (*RoundMessage, error) {
	if len(b) > MaxRoundMessageBytes {
		return nil, fmt.Errorf("decode round message of %d bytes (cap %d): %w", len(b), MaxRoundMessageBytes, ErrTooLarge)
	}
	m := new(RoundMessage)
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("decode round message: %w: %w", ErrMalformed, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("decode round message: %w", err)
	}
	return m, nil
}
