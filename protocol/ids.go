package protocol

import (
	"crypto/rand"
	"encoding/hex"

	p2pprotocol "github.com/libp2p/go-libp2p/core/protocol"
)

// Names on the wire. The version is part of each name: a change a peer on the
// old version cannot decode gets a new name, and both can be served side by
// side while a swarm upgrades.
const (
	// AskProtocol is the stream protocol for asking a peer's SLM to answer:
	// one AskRequest in, one AskResponse out (framed by WriteMsg/ReadMsg).
	AskProtocol = p2pprotocol.ID("/swarmllm/ask/1.0.0")

	// TopicCMS is the gossipsub topic of capability announcements.
	TopicCMS = "/swarmllm/v1/cms"
	// TopicRounds is the gossipsub topic of round opens and ballots (RoundMessage).
	TopicRounds = "/swarmllm/v1/rounds"
	// TopicBudget is the gossipsub topic of swarm-wide cloud budget claims (BudgetClaim).
	TopicBudget = "/swarmllm/v1/budget"

	// DHTProtocolPrefix is kad-dht's ProtocolPrefix. The default /ipfs prefix
	// refuses custom validators, and a separate prefix keeps our DHT apart from
	// any public one.
	DHTProtocolPrefix = "/swarmllm"
	// CapabilityNamespace is the DHT validator namespace of capability
	// records; keys are /swarmcap/<peer-id>.
	CapabilityNamespace = "swarmcap"

	// RoundVersion is the version of the round protocol this build speaks,
	// carried in RoundOpen.version. A round from a newer version is refused
	// (ErrUnsupportedVersion) rather than voted on under rules we do not know.
	RoundVersion uint32 = 1
	// BudgetVersion is the version of the budget claims this build sends. A
	// claim from a newer version is refused: its numbers may mean something else.
	BudgetVersion uint32 = 1
)

// NewID returns a fresh random query or round id (32 hex digits, 128 bits),
// which always passes the id check of Validate.
func NewID() string {
	var b [16]byte
	// crypto/rand.Read never returns an error (it crashes the program instead).
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
