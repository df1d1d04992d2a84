package p2p

import (
	"math"
	"net"
	"slices"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/swarmllm/swarmllm/protocol"
)

// Gossip score thresholds (gossipsub v1.1). Below GossipThreshold a peer
// gets no gossip from us; below PublishThreshold we publish nothing to it;
// below GraylistThreshold everything it sends is dropped unread.
const (
	GossipThreshold   = -20
	PublishThreshold  = -40
	GraylistThreshold = -80
)

// Score weights. Three invalid messages (a record or ballot a topic validator
// rejects, or a bad signature) take a peer from 0 to -180, graylisted; the
// penalty decays to nothing over an hour, so a peer that stops recovers in
// minutes. Honest traffic earns at most topicScoreCap.
const (
	invalidMessageWeight = -20
	invalidMessageDecay  = time.Hour
	firstDeliveryWeight  = 1
	firstDeliveryCap     = 20
	firstDeliveryDecay   = 10 * time.Minute
	timeInMeshWeight     = 0.01 // per second in the mesh, up to 3
	timeInMeshCap        = 300
	topicScoreCap        = 50

	// More than colocationThreshold peers from one IP address each lose
	// 20 × surplus²: a single machine posing as five members is graylisted.
	// Loopback is exempt (in-process swarms and tests share 127.0.0.1);
	// private LAN ranges are not, because a LAN is exactly where one box
	// can pose as many members.
	colocationWeight    = -20
	colocationThreshold = 2

	behaviourWeight    = -10 // broken promises (IWANT not honoured, GRAFT spam)
	behaviourThreshold = 6
	behaviourDecay     = 10 * time.Minute

	// AppScoreMin and AppScoreMax bound what the node's own judgement of a
	// peer (its track record) adds to the gossip score: at the floor, a peer
	// is graylisted on that judgement alone.
	AppScoreMin = 2 * GraylistThreshold
	AppScoreMax = 10
)

// loopback is exempt from the IP colocation penalty.
var loopback = []*net.IPNet{
	{IP: net.IPv4(127, 0, 0, 0), Mask: net.CIDRMask(8, 32)},
	{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
}

// colocationExempt is where the IP colocation penalty does not look: loopback,
// and the static relays' addresses. Gossipsub takes a peer's IP address from
// its connection, and a connection through a relay shows the relay's, so
// every peer at another site would count as one more identity on the relay's
// machine and a few would be graylisted. (A relay this node was not given, met
// through the DHT, is not exempt.)
func colocationExempt(relays []string) []*net.IPNet {
	out := slices.Clone(loopback)
	for _, r := range relays {
		ma, err := multiaddr.NewMultiaddr(r)
		if err != nil {
			continue // HostOptions refuses it
		}
		ip, err := manet.ToIP(ma)
		if err != nil {
			continue // a DNS name: resolved only when dialed
		}
		bits := 8 * len(ip)
		if ip4 := ip.To4(); ip4 != nil {
			ip, bits = ip4, 32
		}
		out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
	}
	return out
}

// AppScores is the application-specific part of every peer's gossip score,
// fed by the node from what it knows of a peer beyond gossip (its track
// record). Zero for a peer never set. Safe for concurrent use.
type AppScores struct {
	mu sync.RWMutex
	m  map[peer.ID]float64
}

// NewAppScores returns an empty set of scores.
func NewAppScores() *AppScores { return &AppScores{m: make(map[peer.ID]float64)} }

// Set gives p the score s, clamped to [AppScoreMin, AppScoreMax]; 0 forgets p.
func (a *AppScores) Set(p peer.ID, s float64) {
	if math.IsNaN(s) {
		s = 0
	}
	s = min(max(s, AppScoreMin), AppScoreMax)
	a.mu.Lock()
	defer a.mu.Unlock()
	if s == 0 {
		delete(a.m, p)
		return
	}
	a.m[p] = s
}

// Score is p's application score (gossipsub's AppSpecificScore).
func (a *AppScores) Score(p peer.ID) float64 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.m[p]
}

// topicScore scores one of the swarm's topics. Mesh delivery-rate penalties
// stay off: capability announcements and rounds are sparse, so an honest
// peer would often look like one that withholds messages.
func topicScore() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		SkipAtomicValidation: true, // the disabled (zero) parameters need no decays

		TopicWeight: 1,

		TimeInMeshWeight:  timeInMeshWeight,
		TimeInMeshQuantum: time.Second,
		TimeInMeshCap:     timeInMeshCap,

		FirstMessageDeliveriesWeight: firstDeliveryWeight,
		FirstMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(firstDeliveryDecay),
		FirstMessageDeliveriesCap:    firstDeliveryCap,

		InvalidMessageDeliveriesWeight: invalidMessageWeight,
		InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(invalidMessageDecay),
	}
}

// GossipOptions are gossipsub's peer-scoring options for the swarm's topics,
// with app feeding the application-specific score. relays are the static
// relays' multiaddrs (--relay): see colocationExempt.
func GossipOptions(app *AppScores, relays ...string) []pubsub.Option {
	topics := map[string]*pubsub.TopicScoreParams{protocol.TopicCMS: topicScore()}
	for _, t := range protocol.RoundTopics() {
		topics[t] = topicScore() // each round topic is scored as the one swarm-wide topic was
	}
	params := &pubsub.PeerScoreParams{
		Topics:            topics,
		TopicScoreCap:     topicScoreCap,
		AppSpecificScore:  app.Score,
		AppSpecificWeight: 1,

		IPColocationFactorWeight:    colocationWeight,
		IPColocationFactorThreshold: colocationThreshold,
		IPColocationFactorWhitelist: colocationExempt(relays),

		BehaviourPenaltyWeight:    behaviourWeight,
		BehaviourPenaltyThreshold: behaviourThreshold,
		BehaviourPenaltyDecay:     pubsub.ScoreParameterDecay(behaviourDecay),

		DecayInterval: time.Second,
		DecayToZero:   0.01,
		RetainScore:   10 * time.Minute, // a graylisted peer cannot reconnect to a clean slate
	}
	thresholds := &pubsub.PeerScoreThresholds{
		GossipThreshold:   GossipThreshold,
		PublishThreshold:  PublishThreshold,
		GraylistThreshold: GraylistThreshold,
		// Peer exchange is off (no PX in a LAN swarm), so AcceptPX is moot.
		AcceptPXThreshold:           10,
		OpportunisticGraftThreshold: 2,
	}
	return []pubsub.Option{pubsub.WithPeerScore(params, thresholds)}
}
