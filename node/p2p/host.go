package p2p

import (
	"fmt"
	"log/slog"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/pnet"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// HostConfig is what a node's libp2p host is built from.
type HostConfig struct {
	Identity crypto.PrivKey
	Listen   []string                // multiaddrs
	SwarmKey pnet.PSK                // nil: an open swarm
	Gater    connmgr.ConnectionGater // nil: every peer (that holds the key, if any)
	// Relays are static circuit relays (multiaddrs with /p2p/<id>) this node
	// reserves a slot on when AutoNAT finds it unreachable (reach.go).
	Relays []string
	// RelayService offers circuit relay v2 to other members (reach.go).
	RelayService bool
	Registerer   prometheus.Registerer // libp2p's own metrics; nil: none
	Log          *slog.Logger          // nil: slog.Default()
}

// HostOptions turns hc into libp2p options. With a swarm key the host carries
// TCP only, since QUIC cannot carry a pre-shared key: QUIC listen addresses
// are dropped and the drop is logged. Without one it logs that the swarm is
// open.
func HostOptions(hc HostConfig) ([]libp2p.Option, error) {
	log := hc.Log
	if log == nil {
		log = slog.Default()
	}
	if hc.Identity == nil {
		return nil, fmt.Errorf("host options: no identity")
	}
	listen := hc.Listen
	if hc.SwarmKey != nil {
		var dropped []string
		listen, dropped = TCPOnly(hc.Listen)
		if len(listen) == 0 {
			return nil, fmt.Errorf("host options: %w: a swarm key needs a TCP listen address (QUIC cannot carry it), got %q", ErrNoListenAddrs, hc.Listen)
		}
		if len(dropped) > 0 {
			log.Info("private swarm: QUIC cannot carry the swarm key, listening on TCP only", "dropped", dropped)
		} else {
			log.Info("private swarm: only holders of the swarm key can connect")
		}
	} else {
		log.Warn("open swarm: no --swarm-key, so any peer that finds this node can join it")
	}
	opts := []libp2p.Option{
		libp2p.Identity(hc.Identity),
		libp2p.ListenAddrStrings(listen...),
		// No SO_REUSEPORT: with it a second node could bind the same port and
		// the two would take each other's connections ("peer id mismatch").
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
	}
	// The relay transport stays on (libp2p's default) even without --relay:
	// a peer at another site may be reachable only through a relayed
	// address this node learns from the DHT.
	reach, err := reachOptions(hc)
	if err != nil {
		return nil, fmt.Errorf("host options: %w", err)
	}
	opts = append(opts, reach...)
	if hc.SwarmKey != nil {
		opts = append(opts, libp2p.PrivateNetwork(hc.SwarmKey))
	} else {
		opts = append(opts, libp2p.Transport(libp2pquic.NewTransport))
	}
	if hc.Gater != nil {
		opts = append(opts, libp2p.ConnectionGater(hc.Gater))
	}
	if hc.Registerer != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(hc.Registerer))
	}
	// Last, so the managers (which run goroutines) exist only once every
	// other option applied: libp2p closes them if the host then fails to start.
	opts = append(opts, func(cfg *libp2p.Config) error {
		rm, err := newResourceManager()
		if err != nil {
			return err
		}
		cm, err := newConnManager()
		if err != nil {
			_ = rm.Close()
			return err
		}
		return cfg.Apply(libp2p.ResourceManager(rm), libp2p.ConnectionManager(cm))
	})
	return opts, nil
}

// TCPOnly splits addrs into those a private network can listen on (TCP) and
// the rest (QUIC, WebTransport, anything over UDP). Unparseable addresses are
// kept for libp2p to refuse with its own error.
func TCPOnly(addrs []string) (tcpAddrs, dropped []string) {
	for _, s := range addrs {
		ma, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			tcpAddrs = append(tcpAddrs, s)
			continue
		}
		if _, err := ma.ValueForProtocol(multiaddr.P_TCP); err == nil {
			tcpAddrs = append(tcpAddrs, s)
		} else {
			dropped = append(dropped, s)
		}
	}
	return tcpAddrs, dropped
}
