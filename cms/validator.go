package cms

import (
	"bytes"
	"fmt"
	"time"

	record "github.com/libp2p/go-libp2p-record"
)

// Validator is the DHT record validator of the capability namespace. Install
// it with dht.NamespacedValidator(protocol.CapabilityNamespace, cms.Validator{}).
// The zero value uses the wall clock.
type Validator struct {
	// Now is the clock expiry is judged by; nil means time.Now.
	Now func() time.Time
}

var _ record.Validator = Validator{}

func (v Validator) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

// Validate accepts value for key only if Open accepts it and its signer is the
// peer the key names.
func (v Validator) Validate(key string, value []byte) error {
	if _, err := v.open(key, value); err != nil {
		return fmt.Errorf("validate %s: %w", key, err)
	}
	return nil
}

func (v Validator) open(key string, value []byte) (*Record, error) {
	owner, err := ParseKey(key)
	if err != nil {
		return nil, err
	}
	r, err := Open(value, v.now())
	if err != nil {
		return nil, err
	}
	if r.Peer != owner {
		return nil, fmt.Errorf("record of %s under key of %s: %w", r.Peer, owner, ErrWrongOwner)
	}
	return r, nil
}

// Select picks the best of values: the highest sequence number, then the
// later expiry, then the greater bytes; on identical values the first. Values
// that do not validate lose to any that do; if none validates it returns an
// error.
func (v Validator) Select(key string, values [][]byte) (int, error) {
	best := -1
	var bestRec *Record
	for i, val := range values {
		r, err := v.open(key, val)
		if err != nil {
			continue
		}
		if bestRec == nil || better(r, bestRec) {
			best, bestRec = i, r
		}
	}
	if best < 0 {
		return 0, fmt.Errorf("select %s among %d values: %w", key, len(values), ErrNotFound)
	}
	return best, nil
}

// better reports whether a strictly supersedes b (same owner assumed).
func better(a, b *Record) bool {
	if a.Seq() != b.Seq() {
		return a.Seq() > b.Seq()
	}
	if !a.Expires.Equal(b.Expires) {
		return a.Expires.After(b.Expires)
	}
	return bytes.Compare(a.Raw, b.Raw) > 0
}
