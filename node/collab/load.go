package collab

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// maxLoadReports bounds the peers whose last load report is remembered.
const maxLoadReports = 4096

// loadBook holds the load each peer last reported in an ack or a BUSY
// refusal. It has its own mutex; Ask writes it, discovery and AskAll read it.
type loadBook struct {
	mu sync.Mutex
	by map[peer.ID]loadReport
}

type loadReport struct {
	load router.Load
	at   time.Time
}

func newLoadBook() *loadBook { return &loadBook{by: map[peer.ID]loadReport{}} }

// note records p's report, if its response carries one.
func (b *loadBook) note(p peer.ID, l *protocol.PeerLoad, now time.Time) {
	if l == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.by[p]; !ok && len(b.by) >= maxLoadReports {
		for q, r := range b.by { // drop the stale ones; if none is, any one
			if now.Sub(r.at) > router.LoadFresh {
				delete(b.by, q)
			}
		}
		for q := range b.by {
			if len(b.by) < maxLoadReports {
				break
			}
			delete(b.by, q)
		}
	}
	b.by[p] = loadReport{load: router.Load{InFlight: int(l.GetInFlight()), Slots: int(l.GetSlots()), Queued: int(l.GetQueued())}, at: now}
}

// get is p's last report if it is fresh (router.LoadFresh).
func (b *loadBook) get(p peer.ID, now time.Time) (router.Load, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.by[p]
	if !ok || now.Sub(r.at) > router.LoadFresh {
		return router.Load{}, false
	}
	return r.load, true
}

// PeerLoad is the load p reported in its last ack or BUSY refusal, if that
// was recent (router.LoadFresh): fresher than its capability record's, so
// discovery ranks by it when it has it.
func (c *Collab) PeerLoad(p peer.ID) (router.Load, bool) { return c.loads.get(p, time.Now()) }

// load is this node's own, as it reports it to an asker.
func (c *Collab) load() *protocol.PeerLoad {
	return &protocol.PeerLoad{InFlight: uint32(len(c.slots)), Slots: uint32(cap(c.slots))}
}
