package cms

import "time"

// SchemaVersion is the version of cmspb.CapabilityRecord this build writes
// and the only one its validators accept. Additive fields do not bump it
// (protobuf keeps unknown fields); a change an older reader would misread does.
const SchemaVersion uint32 = 1

// Size caps. A record travels in every DHT get and to every gossip peer, so
// it stays small; MaxRecordBytes bounds the whole signed envelope and is
// checked before anything is decoded.
const (
	// MaxRecordBytes bounds one signed envelope (payload, public key and
	// signature). It fits a MaxEmbeddingDim float32 vector (16 KiB) with room
	// for every text field at its cap.
	MaxRecordBytes = 32 << 10
	// MaxEmbeddingDim bounds the description embedding's dimension.
	MaxEmbeddingDim = 4096
	// MaxDescriptionBytes bounds the free-text description.
	MaxDescriptionBytes = 2048
	// MaxListLen bounds each repeated field (addresses, capabilities,
	// domains, knowledge and data sources).
	MaxListLen = 32
	// MaxNameBytes bounds each short string: a domain, capability, model
	// fact, source name or kind, embedding model name, software version.
	MaxNameBytes = 128
	// MaxKnowledgeDim bounds a knowledge collection's summary vector, and
	// MaxKnowledgeVectors the collections that carry one: with a
	// MaxEmbeddingDim description embedding they still fit MaxRecordBytes.
	// A node with a larger embedding model advertises its terms alone.
	MaxKnowledgeDim     = 1024
	MaxKnowledgeVectors = 2
	// MaxAddrBytes bounds one binary multiaddr.
	MaxAddrBytes = 256
)

// Lifetimes.
const (
	// DefaultTTL is how long a published record stays valid. The store
	// republishes every TTL/3, so two lost refreshes still leave it alive.
	DefaultTTL = 5 * time.Minute
	// MinTTL is the shortest TTL a store accepts (tests use it for expiry).
	MinTTL = time.Second
	// MaxTTL is the longest validity a record may claim; validators refuse
	// an expiry further ahead (plus MaxClockSkew), so a leaked, buggy or
	// flooded record is gone within minutes. Builds before it allowed 24 h
	// but published DefaultTTL (10 min then), which it still accepts.
	MaxTTL = 15 * time.Minute
	// MaxClockSkew is how far ahead of our clock a peer's clock may run.
	MaxClockSkew = time.Minute
	// DefaultStrangerGrace is how long the cache keeps the records of a
	// peer that has never been connected to this node: long enough for a
	// new peer to be dialled, short enough that made-up identities go soon.
	DefaultStrangerGrace = time.Minute
)

// Cache caps (see WithRecordLimits). A swarm is tens of nodes; these leave
// room for hundreds while bounding what one flooding peer costs.
const (
	// DefaultMaxRecords bounds the records of other peers a store caches.
	DefaultMaxRecords = 1024
	// DefaultMaxRecordsPerSource bounds the records counted against one
	// source: one relay's strangers, or this node's own DHT lookups. In a
	// swarm of a few hundred a node hears most records through the few
	// gossip peers it has when it joins, before it has met their owners: at
	// 64, a 100-node swarm refused thousands of honest records and never
	// converged.
	DefaultMaxRecordsPerSource = 256
)

// Names on the wire of the signed envelope: the signature domain keeps a
// capability signature from being replayed as any other libp2p record, the
// payload type identifies the schema family.
const (
	envelopeDomain = "swarmllm-cms-capability-record"
	payloadType    = "/swarmllm/cms/record"
	// domainCIDPrefix derives a domain's provider-record key.
	domainCIDPrefix = "swarmllm-domain:"
)
