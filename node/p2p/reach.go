package p2p

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/multiformats/go-multiaddr"
)

// Reach across sites: a node behind a NAT learns it is unreachable (AutoNAT,
// asking peers to dial it back), reserves a slot on a static relay (circuit
// relay v2) and advertises the relayed address; a peer at another site
// connects through the relay, and both then try to punch a direct path
// through their NATs (DCUtR). A node with a public address offers the relay.
//
// The relay is a member like any other: with a swarm key it needs the key
// (the PSK wraps the TCP connection to the relay, and again the relayed
// connection inside it), and the allow-peers gater judges relayed connections
// as it judges direct ones, since the circuit's ends authenticate each other
// just the same.
//
// Hole punching needs the node's public address, which libp2p learns from
// peers observing the port it listens on. Over TCP the node dials without
// SO_REUSEPORT (host.go), so only QUIC, which dials from its listening
// socket, can punch: a private swarm's sites stay connected through the relay.

// Relay service limits, sized for one public node serving a few sites of
// edge devices. A site's devices share its NAT's one public address, so the
// per-IP cap is a site's size, not one device.
const (
	relayMaxReservations      = 64 // devices holding a slot at once
	relayMaxReservationsPerIP = 32 // one site behind one NAT
	relayMaxCircuits          = 16 // relayed connections per device
	relayBufferSize           = 4 << 10
	relayReservationTTL       = time.Hour
)

// RelayResources are the relay service's limits. In a private swarm a relayed
// connection is unlimited in time and bytes: only key holders reach the relay
// at all, and libp2p runs the swarm's protocols (DHT, gossip, asks) only over
// unlimited connections, so a limited circuit could carry nothing but the
// hole punch. In an open swarm anyone could relay through it, so circuits keep
// libp2p's default limits (2 minutes, 128 KiB each way): enough to
// introduce two nodes for a hole punch, not to carry their traffic.
func RelayResources(private bool) relayv2.Resources {
	r := relayv2.DefaultResources()
	r.MaxReservations = relayMaxReservations
	r.MaxReservationsPerIP = relayMaxReservationsPerIP
	r.MaxCircuits = relayMaxCircuits
	r.BufferSize = relayBufferSize
	r.ReservationTTL = relayReservationTTL
	if private {
		r.Limit = nil
	}
	return r
}

// reachOptions are the NAT-traversal options for hc: nothing for a node
// that names no relay and offers none (a LAN swarm needs none of it).
func reachOptions(hc HostConfig) ([]libp2p.Option, error) {
	relays, err := relayInfos(hc.Relays)
	if err != nil {
		return nil, err
	}
	var opts []libp2p.Option
	if hc.RelayService {
		opts = append(opts,
			libp2p.EnableRelayService(relayv2.WithResources(RelayResources(hc.SwarmKey != nil))),
			// libp2p starts the relay only once the host is known to be
			// public; --relay-service is the operator saying it is, and
			// the site nodes behind NATs cannot confirm it for a first relay.
			libp2p.ForceReachabilityPublic(),
			// Site nodes learn from the relay that they are behind a NAT.
			libp2p.EnableNATService(),
		)
	}
	if len(relays) > 0 {
		opts = append(opts,
			// Static relays are few and named by the operator: reserve
			// at once instead of waiting to collect candidates.
			libp2p.EnableAutoRelayWithStaticRelays(relays, autorelay.WithBootDelay(0)),
			libp2p.EnableHolePunching(),
		)
	}
	if hc.RelayService || len(hc.Relays) > 0 {
		opts = append(opts, libp2p.EnableAutoNATv2())
	}
	return opts, nil
}

// relayInfos turns --relay multiaddrs (each with /p2p/<id>) into one peer
// info per relay, its addresses merged.
func relayInfos(addrs []string) ([]peer.AddrInfo, error) {
	mas := make([]multiaddr.Multiaddr, 0, len(addrs))
	for _, s := range addrs {
		ma, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("relay %q: %w", s, err)
		}
		mas = append(mas, ma)
	}
	infos, err := peer.AddrInfosFromP2pAddrs(mas...)
	if err != nil {
		return nil, fmt.Errorf("relays %q: %w", addrs, err)
	}
	return infos, nil
}
