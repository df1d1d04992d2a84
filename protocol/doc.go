// Package protocol owns what swarmllm peers say to each other: protocol IDs and
// gossipsub topic names, the protobuf wire messages (swarm.proto, generated into
// swarm.pb.go), length-prefixed stream framing, the named size cap of every
// message and the structural validation every decoder applies.
//
// Everything a peer sends is untrusted: decoders refuse oversize input before
// allocating it and return errors wrapping ErrTooLarge or ErrMalformed, never
// panicking. Checks that need context the message does not carry (the local
// clock, which round a ballot belongs to, who authored a pubsub message) are
// separate functions the node calls: CheckDeadline, Ballot.CheckAgainst,
// RoundOpen.HasParticipant.
//
// It must not build libp2p hosts, open streams, publish, or call models: the
// node wires these messages to the network, the router decides what to do
// with them.
package protocol
