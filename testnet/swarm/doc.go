// Package swarm is the in-process N-node harness: simulated backends (a test
// instrument, see testnet/sim) plus N real nodes on 127.0.0.1, joined by
// --bootstrap with mDNS off (loopback carries no multicast). Tests, the demo,
// the eval and the benchmarks start swarms through it.
//
// Production packages never import it.
package swarm
