package p2p

import (
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Heard remembers when each peer last sent this node a gossip message (new or
// a duplicate; pubsub's tracer does not say who sent an RPC): proof the
// peer is alive that costs nothing extra, so Liveness does not cut off a peer
// whose pings are slow while its gossip flows (a peer busy verifying a burst
// of records answers pings late, and cutting it off only adds a redial and a
// handshake to its load). A frozen or partitioned peer sends nothing.
//
// Its mutex owns last; Liveness forgets the peers no longer connected.
type Heard struct {
	mu   sync.Mutex
	last map[peer.ID]time.Time
}

// NewHeard returns an empty Heard; pass Tracer to gossipsub
// (pubsub.WithRawTracer) and Last to LivenessConfig.Heard.
func NewHeard() *Heard { return &Heard{last: make(map[peer.ID]time.Time)} }

// Last is when p last sent a gossip message (zero: never, or forgotten).
func (h *Heard) Last(p peer.ID) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last[p]
}

// forget drops the peers keep does not want.
func (h *Heard) forget(keep func(peer.ID) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := range h.last {
		if !keep(p) {
			delete(h.last, p)
		}
	}
}

// Tracer is the gossipsub tracer that feeds h.
func (h *Heard) Tracer() pubsub.RawTracer { return heardTracer{h} }

type heardTracer struct{ h *Heard }

var _ pubsub.RawTracer = heardTracer{}

func (t heardTracer) saw(p peer.ID) {
	now := time.Now()
	t.h.mu.Lock()
	t.h.last[p] = now
	t.h.mu.Unlock()
}

func (t heardTracer) ValidateMessage(m *pubsub.Message)  { t.saw(m.ReceivedFrom) }
func (t heardTracer) DuplicateMessage(m *pubsub.Message) { t.saw(m.ReceivedFrom) }

// The other events say nothing about a peer being alive.
func (heardTracer) OnNewOutboundStream(peer.ID, protocol.ID) {}
func (heardTracer) OnClosedOutboundStream(peer.ID)           {}
func (heardTracer) Join(string)                              {}
func (heardTracer) Leave(string)                             {}
func (heardTracer) Graft(peer.ID, string)                    {}
func (heardTracer) Prune(peer.ID, string)                    {}
func (heardTracer) DeliverMessage(*pubsub.Message)           {}
func (heardTracer) RejectMessage(*pubsub.Message, string)    {}
func (heardTracer) ThrottlePeer(peer.ID)                     {}
func (heardTracer) RecvRPC(*pubsub.RPC)                      {}
func (heardTracer) SendRPC(*pubsub.RPC, peer.ID)             {}
func (heardTracer) DropRPC(*pubsub.RPC, peer.ID)             {}
func (heardTracer) UndeliverableMessage(*pubsub.Message)     {}
