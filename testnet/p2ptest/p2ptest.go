// Package p2ptest is the libp2p harness the cms and collab tests share:
// loopback hosts, a connect that needs no retry, gossipsub set up as the node
// sets it up, and one polling helper. Only tests import it.
//
// Why one Connect is enough. The harnesses used to retry "crossing TCP
// dials". Two things made first dials fail, and hosts here remove both:
//   - go-libp2p caps a dial to a local address at 5 s, handshake included; on
//     a loaded machine under -race a handshake can take longer (seen: 8 s on
//     2 cores at load 20). A retry then met the swarm's dial backoff, so it did
//     not help either. Hosts here allow ConnectTimeout for a dial.
//   - With reuseport (go-libp2p's default) dials leave from the listening
//     port, so two hosts dialling each other at once can meet in one TCP
//     simultaneous open where both sides act as initiator and the handshake
//     fails. Hosts here dial from ephemeral ports: crossing dials are two
//     ordinary connections.
package p2ptest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// ConnectTimeout bounds one Connect. Generous: it only keeps a broken
// test from hanging, and a loaded machine (-race, parallel packages) can
// take seconds to finish a handshake and identify.
const ConnectTimeout = 30 * time.Second

// NewHost starts a host on 127.0.0.1 (TCP only, no relay, dials from
// ephemeral ports) with extra options appended; it closes at cleanup.
func NewHost(t testing.TB, opts ...libp2p.Option) host.Host {
	t.Helper()
	h, err := libp2p.New(append([]libp2p.Option{
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.DisableRelay(),
		libp2p.WithDialTimeout(ConnectTimeout),
		libp2p.SwarmOpts(swarm.WithDialTimeoutLocal(ConnectTimeout)),
	}, opts...)...)
	if err != nil {
		t.Fatalf("new host: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// Connect dials b from a, once.
func Connect(t testing.TB, a, b host.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ConnectTimeout)
	defer cancel()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatalf("connect %s → %s: %v", a.ID(), b.ID(), err)
	}
}

// GossipSub starts gossipsub on h as the node does (StrictSign, the default,
// and flood publish, so a message sent before the mesh forms still arrives)
// with extra options appended; it runs until ctx ends (t.Context() for the
// whole test).
func GossipSub(ctx context.Context, t testing.TB, h host.Host, opts ...pubsub.Option) *pubsub.PubSub {
	t.Helper()
	ps, err := pubsub.NewGossipSub(ctx, h, append([]pubsub.Option{pubsub.WithFloodPublish(true)}, opts...)...)
	if err != nil {
		t.Fatalf("new gossipsub: %v", err)
	}
	return ps
}

// WaitTopicPeers waits until ps knows every one of peers subscribes to
// topic, so that a flood publish reaches them from the first message.
func WaitTopicPeers(t testing.TB, ps *pubsub.PubSub, topic string, peers ...peer.ID) {
	t.Helper()
	Eventually(t, func() bool {
		have := ps.ListPeers(topic)
		for _, p := range peers {
			if !slices.Contains(have, p) {
				return false
			}
		}
		return true
	}, Patience)
}

// Patience is how long a test waits for something the code must do by
// itself (converge, count a message). It only bounds a broken test: speed
// is measured in benchmarks, and a loaded machine under -race is slow.
const Patience = 30 * time.Second

// pollEvery is how often Eventually checks: fine enough for the latencies
// the tests log, coarse enough that many waiting tests do not eat a core.
const pollEvery = 5 * time.Millisecond

// Eventually checks cond until it holds and returns how long that took, or
// fails the test once timeout has passed. A wait is for something the code
// under test does by itself; never use it to pace a test.
func Eventually(t testing.TB, cond func() bool, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("condition not met within %s", timeout)
		}
		time.Sleep(pollEvery)
	}
	return time.Since(start)
}
