// Package p2p owns who may reach a node over libp2p: the private-network
// swarm key (go-libp2p's v1 PSK file, as IPFS's swarm.key), the allow-peers
// connection gater, and the libp2p host options built from them. It builds no
// host itself (node does) and decides no routes.
//
// With a swarm key, outsiders fail at the transport handshake: the PSK
// encrypts every TCP connection before libp2p's own security protocol runs.
// QUIC cannot carry a PSK, so a keyed host listens on TCP only. The
// allow-peers file narrows membership among key holders, so one member can be
// removed without re-keying the swarm.
package p2p
