package collab

import "errors"

var (
	// ErrClosed is returned by calls made after (or cut short by) Close.
	ErrClosed = errors.New("collab closed")
	// ErrRefused wraps an ask the peer answered with an error code (BUSY,
	// BACKEND_DOWN…); Ask returns the response too, so its code can be read.
	ErrRefused = errors.New("peer refused ask")
	// ErrNoAck is returned by Ask when the peer neither acknowledged nor
	// answered within the ack timeout.
	ErrNoAck = errors.New("peer neither acknowledged nor answered the ask")
	// ErrPeerExcluded is returned by Ask, without asking, for a peer whose
	// breaker excludes it after failed asks (see Collab.Excluded).
	ErrPeerExcluded = errors.New("peer excluded after failed asks")
	// ErrQueryMismatch is returned when a response names another query id.
	ErrQueryMismatch = errors.New("response for another query")
	// ErrInvalidSpec is returned by RunRound for a spec it cannot open a round from.
	ErrInvalidSpec = errors.New("invalid round spec")
	// ErrNoProposals is returned by RunRound when no answer is usable: there
	// is nothing to vote on, and the caller escalates without a round.
	ErrNoProposals = errors.New("no proposals to vote on")
	// ErrInvalidConfig is returned by New for out-of-range options.
	ErrInvalidConfig = errors.New("invalid collab configuration")
)
