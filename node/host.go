package node

import (
	"fmt"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/swarmllm/swarmllm/node/p2p"
)

// hostOptions builds the libp2p host's options from the config: transports,
// resource limits, the swarm key and the allow-peers gater (kept on n so
// Reload and Close reach it).
func (n *Node) hostOptions(key crypto.PrivKey) ([]libp2p.Option, error) {
	hc := p2p.HostConfig{Identity: key, Listen: n.cfg.Listen, Registerer: n.reg, Log: n.log,
		Relays: n.cfg.Relays, RelayService: n.cfg.RelayService}
	if n.cfg.SwarmKey != "" {
		psk, err := p2p.LoadSwarmKey(n.cfg.SwarmKey)
		if err != nil {
			return nil, err
		}
		hc.SwarmKey = psk
	}
	if n.cfg.AllowPeers != "" {
		allow, err := p2p.NewAllowlist(n.cfg.AllowPeers, p2p.WithAllowLogger(n.log))
		if err != nil {
			return nil, err
		}
		n.allow = allow
		hc.Gater = allow
	}
	opts, err := p2p.HostOptions(hc)
	if err != nil {
		return nil, fmt.Errorf("libp2p host: %w", err)
	}
	return opts, nil
}

// gossipOptions adds gossipsub's queue sizes and message cap and its peer
// scoring (invalid-message penalties, IP colocation, graylisting, and
// n.scores as the application score) to base.
func (n *Node) gossipOptions(base ...pubsub.Option) []pubsub.Option {
	n.scores = p2p.NewAppScores()
	return append(append(base, p2p.GossipQueues()...), p2p.GossipOptions(n.scores, n.cfg.Relays...)...)
}

// Reload re-reads the files the operator may change while the node runs
// (SIGHUP): the allow-peers list.
func (n *Node) Reload() error {
	if n.allow == nil {
		return nil
	}
	return n.allow.Reload()
}
