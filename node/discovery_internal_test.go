package node

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// A bootstrap peer that refused the first dials is dialled again at each of
// the connector's retries: libp2p's own dial backoff (5 s growing to 5 min)
// must not turn them into "dial backoff" failures that never reach the peer.
func TestBootstrapRetriesAreNotBackedOff(t *testing.T) {
	addr := p2ptest.ClosedAddr(t) // each dial is refused
	_, id := p2ptest.NewIdentity(t)

	c := newConnector(p2ptest.NewHost(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer c.Close()
	for attempt := 1; attempt <= 3; attempt++ {
		if c.dialBootstrap(peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{addr}}, addr.String()) {
			t.Fatalf("attempt %d: dial to a closed port succeeded", attempt)
		}
		c.mu.Lock()
		reason := c.bootFail[id].err
		c.mu.Unlock()
		if !strings.Contains(reason, "refused") {
			t.Errorf("attempt %d failed with %q, want the peer's refusal", attempt, reason)
		}
	}
}
