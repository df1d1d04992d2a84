package cms

import "errors"

// Validation failures. Every error from Open, Validator and the gossip
// validator wraps exactly one of these.
var (
	// ErrTooLarge: the envelope exceeds MaxRecordBytes.
	ErrTooLarge = errors.New("capability record too large")
	// ErrMalformed: not a signed envelope of a capability record, or a bad
	// signature (tampered bytes land here too).
	ErrMalformed = errors.New("malformed capability record")
	// ErrWrongOwner: the signer is not the peer the record, DHT key or
	// gossip author names (a record forged with another key).
	ErrWrongOwner = errors.New("capability record not signed by its owner")
	// ErrSchemaVersion: a schema version this build does not read.
	ErrSchemaVersion = errors.New("unsupported capability record schema version")
	// ErrExpired: the record's expiry has passed.
	ErrExpired = errors.New("capability record expired")
	// ErrInvalidField: a field breaks a cap or an invariant (expiry too far
	// ahead, embedding dim mismatch, too many domains, ...).
	ErrInvalidField = errors.New("invalid capability record field")
	// ErrBadKey: a DHT key that is not /swarmcap/<peer-id>.
	ErrBadKey = errors.New("bad capability record key")
)

// Store and lookup failures.
var (
	// ErrNotFound: no valid record for that peer or domain.
	ErrNotFound = errors.New("capability record not found")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("capability store closed")
	// ErrCacheFull: the cache caps refused a record (too many records in
	// all, or from one source).
	ErrCacheFull = errors.New("capability record cache full")
	// ErrSelfSource: the node could not describe itself (SelfSource failed).
	ErrSelfSource = errors.New("self description unavailable")
)
