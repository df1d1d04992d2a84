package protocol

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"

	p2pprotocol "github.com/libp2p/go-libp2p/core/protocol"
)

// Names on the wire. The version is part of each name: a change a peer on the
// old version cannot decode gets a new name, and both can be served side by
// side while a swarm upgrades.
const (
	// AskProtocol is the stream protocol for asking a peer's SLM to answer:
	// one AskRequest in, one AskResponse out (framed by WriteMsg/ReadMsg).
	AskProtocol = p2pprotocol.ID("/swarmllm/ask/1.0.0")
	// CMSSyncProtocol is the stream protocol for pulling capability records
	// from a peer: one CMSSyncRequest in, CMSSyncRecord frames out.
	CMSSyncProtocol = p2pprotocol.ID("/swarmllm/cms-sync/1.0.0")

	// TopicCMS is the gossipsub topic of capability announcements.
	TopicCMS = "/swarmllm/v1/cms"
	// RoundTopicPrefix begins the gossipsub topics of round opens and ballots
	// (RoundMessage): RoundTopic(count, home) names each.
	RoundTopicPrefix = "/swarmllm/v1/rounds/"
	// MaxRoundTopics caps how many round topics a swarm spreads over (a power
	// of two): router.RoundTopics chooses the count and a peer's home.
	MaxRoundTopics = 128
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

// RoundTopic names the home-th of count round topics: rounds published at
// count topics meet only nodes listening at that count.
func RoundTopic(count, home int) string {
	return RoundTopicPrefix + strconv.Itoa(count) + "/" + strconv.Itoa(home)
}

// RoundTopics lists every round topic there can be: each count a power of
// two up to MaxRoundTopics, each home under it (for per-topic settings such
// as peer scoring).
func RoundTopics() []string {
	var out []string
	for count := 1; count <= MaxRoundTopics; count *= 2 {
		for home := range count {
			out = append(out, RoundTopic(count, home))
		}
	}
	return out
}
