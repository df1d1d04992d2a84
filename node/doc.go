// Package node wires one swarmllm node together: the libp2p host (TCP and
// QUIC, a persistent Ed25519 identity), peer discovery (mDNS and bootstrap),
// the kad-dht in server mode under the /swarmllm prefix, gossipsub, the
// /swarmllm/ask/1.0.0 stream handler, the model backends and the HTTP API,
// with one lifecycle: New, Run, Close.
//
// It carries out what router/ decides and never makes a routing decision of
// its own; it owns every goroutine and stream it starts and stops them in Close.
package node
