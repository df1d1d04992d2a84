package collab

import (
	"bytes"
	"errors"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// maxOriginsPerRound bounds the opens kept under one round id (see doc.go:
// a participant may front-run the origin with the same id; keeping a few
// lets the real open through without letting one id grow without bound).
const maxOriginsPerRound = 4

// verdict is the validator's judgement of one message: what pubsub should
// do with it and, for metrics and logs, why.
type verdict struct {
	result pubsub.ValidationResult
	reason string
}

// Validator reasons (metric label values).
const (
	reasonOK             = "ok"
	reasonMalformed      = "malformed"
	reasonExpired        = "expired"
	reasonBadDeadline    = "bad-deadline"
	reasonNotOrigin      = "author-not-origin"
	reasonRepeatedOpen   = "repeated-open"
	reasonTooManyOrigins = "too-many-origins"
	reasonUnknownRound   = "unknown-round"
	reasonNotParticipant = "not-participant"
	reasonBadChoice      = "bad-choice"
	reasonDuplicate      = "duplicate"
)

var accepted = verdict{pubsub.ValidationAccept, reasonOK}

// roundBook is the validator's memory of the rounds on the topic: their
// opens and who has voted. It holds its own mutex, because pubsub runs
// validators concurrently and the duplicate check must be check-and-set.
type roundBook struct {
	self     peer.ID
	capacity int

	mu     sync.Mutex // guards rounds and seq
	seq    uint64
	rounds map[string]*bookRound
}

type bookRound struct {
	opens   []*protocol.RoundOpen // distinct origins, at most maxOriginsPerRound
	voters  map[peer.ID]bool
	expires time.Time // the latest open deadline + MaxClockSkew
	seq     uint64    // insertion order, for eviction
	mine    bool      // opened by this node: never evicted, or its own ballots would be lost
}

func newRoundBook(self peer.ID, capacity int) *roundBook {
	return &roundBook{self: self, capacity: capacity, rounds: make(map[string]*bookRound)}
}

// judge decides on one message's bytes from author at now, returning the
// decoded message (nil if malformed) and its kind for metrics.
func (b *roundBook) judge(author peer.ID, data []byte, now time.Time) (*protocol.RoundMessage, string, verdict) {
	m, err := protocol.DecodeRound(data)
	if err != nil {
		return nil, kindMalformed, verdict{pubsub.ValidationReject, reasonMalformed}
	}
	if open := m.GetOpen(); open != nil {
		switch err := protocol.CheckDeadline(open.GetDeadlineUnixMs(), now); {
		case errors.Is(err, protocol.ErrExpired):
			return m, kindOpen, verdict{pubsub.ValidationIgnore, reasonExpired}
		case err != nil:
			return m, kindOpen, verdict{pubsub.ValidationReject, reasonBadDeadline}
		}
		return m, kindOpen, b.addOpen(author, open, now)
	}
	return m, kindBallot, b.addBallot(author, m.GetBallot(), now)
}

// addOpen judges an open whose deadline has been checked.
func (b *roundBook) addOpen(author peer.ID, o *protocol.RoundOpen, now time.Time) verdict {
	if o.GetOrigin() != author.String() {
		return verdict{pubsub.ValidationReject, reasonNotOrigin}
	}
	expires := time.UnixMilli(o.GetDeadlineUnixMs()).Add(protocol.MaxClockSkew)
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.rounds[o.GetRoundId()]
	if r == nil {
		b.makeRoomLocked(now)
		b.seq++
		r = &bookRound{voters: make(map[peer.ID]bool), seq: b.seq}
		b.rounds[o.GetRoundId()] = r
	}
	for _, have := range r.opens {
		if have.GetOrigin() != o.GetOrigin() {
			continue
		}
		if author == b.self && proto.Equal(have, o) {
			// This node sends its open once to each participant's home topic
			// and validates each copy. Another node hears an honest origin's
			// open once (one home topic per count, one count per round).
			return accepted
		}
		// An honest origin opens a round once; a second, different open
		// under the same id would let it change the rules mid-round.
		return verdict{pubsub.ValidationIgnore, reasonRepeatedOpen}
	}
	if len(r.opens) >= maxOriginsPerRound {
		return verdict{pubsub.ValidationIgnore, reasonTooManyOrigins}
	}
	r.opens = append(r.opens, o)
	r.mine = r.mine || author == b.self
	if expires.After(r.expires) {
		r.expires = expires
	}
	return accepted
}

// addBallot judges a ballot and, if it is accepted, records its voter.
func (b *roundBook) addBallot(author peer.ID, bl *protocol.Ballot, now time.Time) verdict {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.rounds[bl.GetRoundId()]
	if r == nil {
		return verdict{pubsub.ValidationIgnore, reasonUnknownRound}
	}
	if now.After(r.expires) {
		return verdict{pubsub.ValidationIgnore, reasonExpired}
	}
	participant := false
	for _, o := range r.opens {
		if !o.HasParticipant(author) {
			continue
		}
		participant = true
		if bl.CheckAgainst(o) == nil {
			if r.voters[author] {
				return verdict{pubsub.ValidationReject, reasonDuplicate}
			}
			r.voters[author] = true
			return accepted
		}
	}
	if participant {
		return verdict{pubsub.ValidationReject, reasonBadChoice}
	}
	return verdict{pubsub.ValidationReject, reasonNotParticipant}
}

// makeRoomLocked drops expired rounds and, if the book is still full, the
// oldest round this node did not open. It scans, which is cheap at the
// default capacity and only happens when a new round arrives at a full book.
func (b *roundBook) makeRoomLocked(now time.Time) {
	if len(b.rounds) < b.capacity {
		return
	}
	oldest := ""
	for id, r := range b.rounds {
		if now.After(r.expires) {
			delete(b.rounds, id)
			continue
		}
		if !r.mine && (oldest == "" || r.seq < b.rounds[oldest].seq) {
			oldest = id
		}
	}
	if len(b.rounds) >= b.capacity && oldest != "" {
		delete(b.rounds, oldest)
	}
}

// answerCache remembers the answers this node gave for rounds, keyed by the
// asker and the round id, so a participant votes only on the open of the
// peer that asked it (another peer reusing the id cannot take its place).
// It holds its own mutex; bounded in entries and time.
type answerCache struct {
	capacity int
	ttl      time.Duration

	mu      sync.Mutex // guards entries and seq
	seq     uint64
	entries map[answerKey]*answerEntry
}

type answerKey struct {
	asker peer.ID
	round string
}

type answerEntry struct {
	digest  []byte
	own     router.Proposal
	voted   bool
	expires time.Time
	seq     uint64
}

func newAnswerCache(capacity int, ttl time.Duration) *answerCache {
	return &answerCache{capacity: capacity, ttl: ttl, entries: make(map[answerKey]*answerEntry)}
}

// put remembers own as the answer given to asker for the round; a repeated
// ask keeps the vote already cast, so a retry cannot earn a second ballot.
func (a *answerCache) put(asker peer.ID, round string, digest []byte, own router.Proposal, now time.Time) {
	k := answerKey{asker, round}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	e := a.entries[k]
	if e == nil {
		a.makeRoomLocked(now)
		e = &answerEntry{}
		a.entries[k] = e
	}
	e.digest, e.own, e.expires, e.seq = digest, own, now.Add(a.ttl), a.seq
}

// Vote-claim results (metric label values); "cast" and "publish-error" are
// set by the voter afterwards.
const (
	voteCast           = "cast"
	voteNoAnswer       = "no-answer"
	voteDigestMismatch = "digest-mismatch"
	voteAlreadyVoted   = "already-voted"
	votePublishError   = "publish-error"
)

// claim returns the answer this node gave origin for round, marking it
// voted, or why it must not vote.
func (a *answerCache) claim(origin peer.ID, round string, digest []byte, now time.Time) (router.Proposal, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.entries[answerKey{origin, round}]
	switch {
	case e == nil || now.After(e.expires):
		return router.Proposal{}, voteNoAnswer
	case !bytes.Equal(e.digest, digest):
		return router.Proposal{}, voteDigestMismatch
	case e.voted:
		return router.Proposal{}, voteAlreadyVoted
	}
	e.voted = true
	return e.own, ""
}

func (a *answerCache) makeRoomLocked(now time.Time) {
	if len(a.entries) < a.capacity {
		return
	}
	var oldest answerKey
	found := false
	for k, e := range a.entries {
		if now.After(e.expires) {
			delete(a.entries, k)
			continue
		}
		if !found || e.seq < a.entries[oldest].seq {
			oldest, found = k, true
		}
	}
	if len(a.entries) >= a.capacity && found {
		delete(a.entries, oldest)
	}
}
