package protocol

import "time"

// Frame caps: the largest encoded message a peer accepts. A reader refuses a
// larger length prefix before allocating anything, so a hostile peer can make
// us hold at most this much per stream or gossip message.
const (
	// MaxAskRequestBytes bounds one AskRequest. SLM contexts are 2k–16k tokens
	// (≈8–64 KiB of text), and MaxPromptBytes plus the per-message overhead of
	// MaxMessages turns stays under it, so every valid request fits.
	MaxAskRequestBytes = 64 << 10
	// MaxAskResponseBytes bounds one AskResponse: twice a MaxAnswerBytes
	// answer, so a valid response always fits and fields can be appended
	// later without a new protocol version.
	MaxAskResponseBytes = 256 << 10
	// MaxRoundMessageBytes bounds one gossip payload on a round topic. Every
	// round message is relayed to every mesh peer, so it stays well under
	// gossipsub's 1 MiB default; seven proposals at MaxProposalAnswerBytes fit in it.
	MaxRoundMessageBytes = 256 << 10
	// MaxBudgetClaimBytes bounds one gossip payload on TopicBudget: a claim
	// is a few dozen varints, so this leaves room for appended fields.
	MaxBudgetClaimBytes = 1 << 10
	// MaxCMSSyncRequestBytes bounds one CMSSyncRequest: MaxSyncRecords held
	// entries of an RSA-sized peer id (the largest libp2p peer ids are
	// 38-byte identity multihashes) and a time-based seq take under 56 KiB.
	MaxCMSSyncRequestBytes = 64 << 10
	// MaxCMSSyncRecordBytes bounds one CMSSyncRecord: a capability record
	// envelope (cms.MaxRecordBytes, 32 KiB) and its field tag, with room.
	MaxCMSSyncRecordBytes = 33 << 10
)

// Field caps that validation enforces inside those frames.
const (
	// MaxIDBytes bounds query and round ids (NewID makes 32).
	MaxIDBytes = 64
	// MaxMessages bounds the chat turns of one request.
	MaxMessages = 256
	// MaxPromptBytes bounds the total content bytes of a request's messages;
	// with MaxMessages turns of overhead the request still fits MaxAskRequestBytes.
	MaxPromptBytes = 56 << 10
	// MaxModelNameBytes bounds model names (Ollama names are far shorter).
	MaxModelNameBytes = 256
	// MaxCompletionTokens bounds AskRequest.max_tokens: no SLM we target
	// generates more in one answer, and an ask must finish within a deadline.
	MaxCompletionTokens = 32768
	// MaxTemperature is the top of the sampling temperature range (as OpenAI's).
	MaxTemperature = 2.0
	// MaxAnswerBytes bounds an AskResponse answer (≈32k tokens of text).
	MaxAnswerBytes = 128 << 10
	// MaxErrorMessageBytes bounds an AskResponse error message.
	MaxErrorMessageBytes = 1 << 10
	// MaxParticipants bounds the voters of one round; rounds ask the top-k
	// peers with k of a few, so this is headroom, not a target.
	MaxParticipants = 32
	// MaxProposalAnswerBytes bounds each answer carried in a RoundOpen. A round
	// with many long answers can still exceed MaxRoundMessageBytes; EncodeRound
	// then refuses it with ErrTooLarge and the origin must shorten the answers.
	MaxProposalAnswerBytes = 32 << 10
	// MaxSources bounds the documents a KNOWLEDGE answer cites, and
	// MaxSourceBytes each name (a path under the peer's knowledge directory).
	MaxSources     = 16
	MaxSourceBytes = 256
	// MaxSyncRecords bounds both the held records a CMSSyncRequest lists
	// and the records one sync answer carries: cms caches at most
	// cms.DefaultMaxRecords (1024) other peers' records.
	MaxSyncRecords = 1024
	// DigestBytes is the length of RoundOpen.query_digest (SHA-256).
	DigestBytes = 32
)

// Time bounds for deadlines carried in messages (see CheckDeadline).
const (
	// MaxDeadlineAhead is the furthest in the future a deadline may be: no
	// ask or round legitimately lasts longer, and a far deadline would pin
	// round state on every voter.
	MaxDeadlineAhead = 10 * time.Minute
	// MaxClockSkew is how far peers' clocks may disagree. Edge devices on a
	// LAN are not always NTP-synced, so this is generous.
	MaxClockSkew = 10 * time.Second
)
