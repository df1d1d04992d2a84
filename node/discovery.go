package node

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// mdnsService is the libp2p mDNS service name: nodes of other programs on the
// LAN never answer to it.
const mdnsService = "swarmllm"

// dialTimeout bounds one connection attempt; LAN peers answer in milliseconds.
const dialTimeout = 10 * time.Second

// connector connects to peers found by mDNS and keeps the bootstrap peers
// connected. Two hosts dialling each other over TCP at the same moment can both
// fail the handshake, so for a peer found by mDNS only the side with the smaller
// peer id dials at once; the other waits a jittered moment and dials only if it
// is still not connected (mDNS can be one-sided).
type connector struct {
	h   host.Host
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex // owns pending
	pending map[peer.ID]bool
}

func newConnector(h host.Host, log *slog.Logger) *connector {
	ctx, cancel := context.WithCancel(context.Background())
	return &connector{h: h, log: log, ctx: ctx, cancel: cancel, pending: map[peer.ID]bool{}}
}

// HandlePeerFound is the mDNS notifee callback.
func (c *connector) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == c.h.ID() || c.h.Network().Connectedness(ai.ID) == network.Connected {
		return
	}
	c.mu.Lock()
	if c.pending[ai.ID] || c.ctx.Err() != nil {
		c.mu.Unlock()
		return
	}
	c.pending[ai.ID] = true
	c.wg.Add(1)
	c.mu.Unlock()

	go func() {
		defer c.wg.Done()
		defer func() { c.mu.Lock(); delete(c.pending, ai.ID); c.mu.Unlock() }()
		if c.h.ID() > ai.ID {
			wait := 300*time.Millisecond + rand.N(700*time.Millisecond)
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(wait):
			}
			if c.h.Network().Connectedness(ai.ID) == network.Connected {
				return
			}
		}
		c.connect(ai, "mdns")
	}()
}

func (c *connector) connect(ai peer.AddrInfo, via string) bool {
	ctx, cancel := context.WithTimeout(c.ctx, dialTimeout)
	defer cancel()
	if err := c.h.Connect(ctx, ai); err != nil {
		c.log.Debug("connect failed", "peer", ai.ID, "via", via, "err", err)
		return false
	}
	c.log.Info("peer connected", "peer", ai.ID, "via", via)
	return true
}

// keepBootstrapped dials every bootstrap peer now and re-dials any that drops,
// with a jittered backoff, until Close. A node that starts before its bootstrap
// peers, or is cut off for a while, rejoins by itself.
func (c *connector) keepBootstrapped(addrs []multiaddr.Multiaddr) {
	infos, err := peer.AddrInfosFromP2pAddrs(addrs...)
	if err != nil {
		c.log.Warn("bad bootstrap addresses", "err", err)
		return
	}
	for _, ai := range infos {
		if ai.ID == c.h.ID() {
			continue
		}
		c.wg.Add(1)
		go func(ai peer.AddrInfo) {
			defer c.wg.Done()
			backoff := 250 * time.Millisecond
			for {
				if c.h.Network().Connectedness(ai.ID) != network.Connected {
					if c.connect(ai, "bootstrap") {
						backoff = 250 * time.Millisecond
					} else if backoff < 10*time.Second {
						backoff *= 2
					}
				}
				wait := backoff/2 + rand.N(backoff)
				select {
				case <-c.ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}(ai)
	}
}

func (c *connector) Close() {
	c.mu.Lock()
	c.cancel()
	c.mu.Unlock()
	c.wg.Wait()
}
