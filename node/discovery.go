package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
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

	mu      sync.Mutex // owns pending and bootFail
	pending map[peer.ID]bool
	// bootFail holds why each bootstrap peer's last dial failed; a peer
	// leaves it when a dial succeeds.
	bootFail map[peer.ID]bootFailure
}

type bootFailure struct {
	addr string // the --bootstrap address as given
	err  string
}

func newConnector(h host.Host, log *slog.Logger) *connector {
	ctx, cancel := context.WithCancel(context.Background())
	return &connector{h: h, log: log, ctx: ctx, cancel: cancel, pending: map[peer.ID]bool{},
		bootFail: map[peer.ID]bootFailure{}}
}

// PeerProblem says why the node has no peers yet, for /healthz: which
// bootstrap peers it cannot reach and why, or that it has nothing to find
// peers with. It is "" once the node has a peer.
func (c *connector) PeerProblem(mdns bool) string {
	if len(c.h.Network().Peers()) > 0 {
		return ""
	}
	c.mu.Lock()
	fails := make([]string, 0, len(c.bootFail))
	for _, f := range c.bootFail {
		fails = append(fails, fmt.Sprintf("bootstrap %s unreachable: %s", f.addr, f.err))
	}
	c.mu.Unlock()
	slices.Sort(fails)
	switch {
	case len(fails) > 0:
		return "no peers yet: " + strings.Join(fails, "; ")
	case mdns:
		return "no peers yet: looking for nodes on the LAN (mDNS)"
	default:
		return "no peers yet: no --bootstrap given and mDNS is off"
	}
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
		_ = c.connect(ai, "mdns")
	}()
}

func (c *connector) connect(ai peer.AddrInfo, via string) error {
	ctx, cancel := context.WithTimeout(c.ctx, dialTimeout)
	defer cancel()
	if err := c.h.Connect(ctx, ai); err != nil {
		c.log.Debug("connect failed", "peer", ai.ID, "via", via, "err", err)
		return err
	}
	c.log.Info("peer connected", "peer", ai.ID, "via", via)
	return nil
}

// dialBootstrap dials one bootstrap peer. A failure is a warning with its
// reason the first time and whenever the reason changes (a retry loop must
// not flood the log), and /healthz reports it until a dial succeeds.
func (c *connector) dialBootstrap(ai peer.AddrInfo, addr string) bool {
	// After failed dials libp2p refuses to dial a peer again for 5 s,
	// growing to 5 min; keepBootstrapped paces its own retries, so a
	// bootstrap peer that was down or overloaded while this node started is
	// dialled again when due, not minutes later ("dial backoff").
	if sw, ok := c.h.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(ai.ID)
	}
	err := c.connect(ai, "bootstrap")
	c.mu.Lock()
	prev, failed := c.bootFail[ai.ID]
	if err == nil {
		delete(c.bootFail, ai.ID)
	} else if c.ctx.Err() == nil {
		c.bootFail[ai.ID] = bootFailure{addr: addr, err: bootstrapReason(err)}
	}
	c.mu.Unlock()
	switch {
	case err == nil:
		if failed {
			c.log.Info("bootstrap peer reached", "peer", ai.ID, "addr", addr)
		}
		return true
	case c.ctx.Err() != nil: // closing
	case !failed || prev.err != bootstrapReason(err):
		c.log.Warn("bootstrap peer unreachable; retrying", "peer", ai.ID, "addr", addr, "err", bootstrapReason(err))
	}
	return false
}

// bootstrapReason shortens a dial error to its cause: libp2p's full error
// lists every address and transport tried.
func bootstrapReason(err error) string {
	var de *swarm.DialError
	if errors.As(err, &de) && len(de.DialErrors) > 0 {
		return de.DialErrors[0].Cause.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %v", dialTimeout)
	}
	return err.Error()
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
			c.log.Warn("bootstrap address is this node itself; skipping it", "peer", ai.ID)
			continue
		}
		given := make([]string, 0, len(ai.Addrs))
		for _, a := range addrs {
			if id, err := peer.IDFromP2PAddr(a); err == nil && id == ai.ID {
				given = append(given, a.String())
			}
		}
		addr := strings.Join(given, ",")
		c.wg.Add(1)
		go func(ai peer.AddrInfo) {
			defer c.wg.Done()
			backoff := 250 * time.Millisecond
			for {
				if c.h.Network().Connectedness(ai.ID) != network.Connected {
					if c.dialBootstrap(ai, addr) {
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
