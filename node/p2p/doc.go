// Package p2p owns who may reach a node over libp2p and how much they may
// take: the private-network swarm key (go-libp2p's v1 PSK file, as IPFS's
// swarm.key), the allow-peers connection gater, the resource manager's limits
// and the connection manager's watermarks under them (limits.go: sized for an
// edge device), gossipsub v1.1 peer scoring for the
// swarm's topics (score.go), reach across sites behind NATs (reach.go:
// AutoNAT, circuit relay v2 and its limits, hole punching), and the libp2p
// host options built from them. It builds no host itself (node does) and
// decides no routes.
//
// With a swarm key, outsiders fail at the transport handshake: the PSK
// encrypts every TCP connection before libp2p's own security protocol runs.
// QUIC cannot carry a PSK, so a keyed host listens on TCP only. The
// allow-peers file narrows membership among key holders, so one member can be
// removed without re-keying the swarm.
//
// Every peer, member or not, is resource-limited (connections, streams,
// memory and descriptors, per peer and in total) and scored on gossip: a
// peer whose messages the topic validators reject, or one of too many
// identities behind one IP address, or one the node's own judgement (AppScores)
// marks down, falls below the graylist threshold and is no longer heard.
package p2p
