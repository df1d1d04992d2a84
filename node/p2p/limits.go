package p2p

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	libp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/swarmllm/swarmllm/protocol"
)

// Resource limits sized for an edge device (a board with 1–4 GB of memory
// serving one small model): a LAN swarm has tens of members, each needing one
// connection and a handful of streams (identify, DHT, gossipsub, asks). The
// limits bound what peers — members or not — can make this host hold; what a
// limit refuses, the peer sees as a failed dial or stream. libp2p's own
// defaults fill the scopes not named here (per-service limits for identify,
// ping and autonat, connection and stream scopes), scaled for the same budget.
const (
	limitMemory = 128 << 20 // system-wide buffer memory (muxer windows, etc.)
	limitFD     = 256       // file descriptors for connections

	limitConns        = 192 // connections, in total
	limitConnsIn      = 128
	limitConnsOut     = 128
	limitStreams      = 2048 // streams, in total
	limitStreamsInOut = 1024

	limitPeerConns     = 8 // per peer: one is normal; more come from redials
	limitPeerConnsIO   = 4 // inbound and outbound each
	limitPeerStreams   = 256
	limitPeerStreamsIO = 128
	limitPeerMemory    = 16 << 20

	// Asks are answered by the model one at a time in practice; collab's
	// own per-peer rate limit and concurrency cap refuse with BUSY long
	// before this stream cap refuses at the transport.
	limitAskStreamsPerPeer = 16

	// A peer pulls capability records from this node once per meeting and
	// at most every few seconds after (cms), and node/cmssync serves one
	// pull per peer at a time; two each way leave room for a stream still
	// closing when the next pull starts.
	limitSyncStreamsPerPeer = 2

	// Liveness keeps a ping stream open to every peer it pings (and each
	// peer one to it): libp2p's ping limit (about 70 streams on this memory
	// budget) would refuse them past 35 peers, and a refused ping is a
	// missed one.
	limitPingStreams   = 2 * limitConns
	limitPingStreamsIO = limitConns

	limitTransientConns   = 32 // connections and streams not yet tied to a peer or protocol
	limitTransientStreams = 128
	limitTransientMemory  = 16 << 20

	// The connection manager closes the connections no protocol values
	// (gossipsub protects its mesh peers, the DHT tags its routing table)
	// once there are more than connHigh, down to connLow, sparing those
	// younger than connGrace. Below the limits above, so that in a swarm of
	// hundreds a node trims idle connections before the limits refuse the
	// dials and asks it still needs; libp2p's default (160–192, 1 min) sat
	// at the limit itself and would trim only once dials were refused.
	// The binding limit is memory: every yamux stream reserves its window
	// (yamuxStreamWindow) from the resource manager, and a connected peer
	// holds streamsPerPeer open for good, so connHigh peers take 96 MiB of
	// limitMemory and leave the rest for asks and DHT queries. At 80–120 a
	// 100-node swarm's nodes held 109 peers and refused their own asks
	// ("system: resource limit exceeded").
	connLow   = 48
	connHigh  = 64
	connGrace = 20 * time.Second

	// yamuxStreamWindow is what go-yamux reserves for each stream it opens
	// or accepts (its initial window, 256 KiB).
	yamuxStreamWindow = 256 << 10
	// streamsPerPeer are the streams a connected peer keeps open: gossipsub,
	// liveness pings and the DHT's message sender, one each way.
	streamsPerPeer = 6
)

// Gossipsub's queues. A forming swarm sends bursts: every newcomer's record
// to every node at once, and a node starved for CPU writes and validates
// late. At gossipsub's defaults (32 RPCs queued per peer, 32 messages
// awaiting validation) a 100-node start dropped 3,144 outbound RPCs carrying
// records and 354 records at validation, and a record dropped at its first
// relay reached nobody until the pulls found it, tens of seconds later. The
// larger queues bound memory by the message cap, which no topic needs at
// gossipsub's 1 MiB (a round message is at most 256 KiB): 128 messages of
// 512 KiB awaiting validation is twice what the defaults allowed.
const (
	gossipPeerQueue     = 128
	gossipValidateQueue = 128
	gossipMaxMessage    = 512 << 10
)

// GossipQueues are gossipsub's queue and message-size options (above).
func GossipQueues() []pubsub.Option {
	return []pubsub.Option{
		pubsub.WithPeerOutboundQueueSize(gossipPeerQueue),
		pubsub.WithValidateQueueSize(gossipValidateQueue),
		pubsub.WithMaxMessageSize(gossipMaxMessage),
	}
}

// Limits returns the resource manager's limits (see the constants above).
func Limits() rcmgr.ConcreteLimitConfig {
	base := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&base)
	defaults := base.Scale(limitMemory, limitFD)
	pingLimits := rcmgr.ResourceLimits{
		Streams: limitPingStreams, StreamsInbound: limitPingStreamsIO, StreamsOutbound: limitPingStreamsIO,
	}
	partial := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Conns: limitConns, ConnsInbound: limitConnsIn, ConnsOutbound: limitConnsOut,
			Streams: limitStreams, StreamsInbound: limitStreamsInOut, StreamsOutbound: limitStreamsInOut,
			FD: limitFD, Memory: limitMemory,
		},
		Transient: rcmgr.ResourceLimits{
			Conns: limitTransientConns, ConnsInbound: limitTransientConns / 2, ConnsOutbound: limitTransientConns,
			Streams: limitTransientStreams, StreamsInbound: limitTransientStreams / 2, StreamsOutbound: limitTransientStreams / 2,
			FD: limitTransientConns, Memory: limitTransientMemory,
		},
		PeerDefault: rcmgr.ResourceLimits{
			Conns: limitPeerConns, ConnsInbound: limitPeerConnsIO, ConnsOutbound: limitPeerConnsIO,
			Streams: limitPeerStreams, StreamsInbound: limitPeerStreamsIO, StreamsOutbound: limitPeerStreamsIO,
			FD: limitPeerConns, Memory: limitPeerMemory,
		},
		Service:  map[string]rcmgr.ResourceLimits{ping.ServiceName: pingLimits},
		Protocol: map[libp2pprotocol.ID]rcmgr.ResourceLimits{ping.ID: pingLimits},
		ProtocolPeer: map[libp2pprotocol.ID]rcmgr.ResourceLimits{
			protocol.AskProtocol: {
				Streams: limitAskStreamsPerPeer, StreamsInbound: limitAskStreamsPerPeer, StreamsOutbound: limitAskStreamsPerPeer,
			},
			protocol.CMSSyncProtocol: {
				Streams: 2 * limitSyncStreamsPerPeer, StreamsInbound: limitSyncStreamsPerPeer, StreamsOutbound: limitSyncStreamsPerPeer,
			},
		},
	}
	return partial.Build(defaults)
}

// newResourceManager builds the resource manager with Limits, reporting to
// libp2p's rcmgr metrics (blocked resources show on /metrics).
func newResourceManager() (network.ResourceManager, error) {
	str, err := rcmgr.NewStatsTraceReporter()
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(Limits()), rcmgr.WithTraceReporter(str))
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	return rm, nil
}

// newConnManager builds the connection manager (connLow, connHigh, connGrace).
func newConnManager() (*connmgr.BasicConnMgr, error) {
	cm, err := connmgr.NewConnManager(connLow, connHigh, connmgr.WithGracePeriod(connGrace))
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	return cm, nil
}
