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
	"crypto/rand"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
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

// Link is a loopback TCP path to one host that a test can cut and heal, as a
// partition does: while cut, bytes in either direction are dropped and new
// connections are accepted but go nowhere, so nothing is closed and each
// side only notices by its own timeouts. Healing drops the connections the
// cut broke (their lost bytes left them useless) and carries new ones again.
type Link struct {
	t      testing.TB
	target string // the host's TCP address, host:port
	ln     net.Listener

	mu    sync.Mutex // guards cut and conns
	cut   bool
	conns []net.Conn // both ends of every carried connection
	wg    sync.WaitGroup
}

// NewLink opens a cuttable path to h's first TCP listen address; it closes
// at cleanup.
func NewLink(t testing.TB, h host.Host) *Link {
	t.Helper()
	var target string
	for _, a := range h.Addrs() {
		if ip, err := a.ValueForProtocol(ma.P_IP4); err == nil {
			if port, err := a.ValueForProtocol(ma.P_TCP); err == nil {
				target = net.JoinHostPort(ip, port)
				break
			}
		}
	}
	if target == "" {
		t.Fatalf("link: host %s has no TCP address", h.ID())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("link: listen: %v", err)
	}
	l := &Link{t: t, target: target, ln: ln}
	l.wg.Add(1)
	go l.accept()
	t.Cleanup(l.close)
	return l
}

// Addr is the address to dial the host through the link.
func (l *Link) Addr() ma.Multiaddr {
	a, err := manet.FromNetAddr(l.ln.Addr())
	if err != nil {
		l.t.Fatalf("link address: %v", err)
	}
	return a
}

// Connect dials the link's host from a through the link, once. a keeps the
// link's address for good, as it would a real peer's, to dial it again.
func (l *Link) Connect(a host.Host, to peer.ID) {
	l.t.Helper()
	a.Peerstore().AddAddr(to, l.Addr(), peerstore.PermanentAddrTTL)
	ctx, cancel := context.WithTimeout(context.Background(), ConnectTimeout)
	defer cancel()
	if err := a.Connect(ctx, peer.AddrInfo{ID: to, Addrs: []ma.Multiaddr{l.Addr()}}); err != nil {
		l.t.Fatalf("connect %s → %s through a link: %v", a.ID(), to, err)
	}
}

// OnlyRoute is a host option for the dialling side: it may dial peer to
// only through the link, so cutting the link cuts to off (no other address
// bypasses the cut).
func (l *Link) OnlyRoute(to peer.ID) libp2p.Option {
	return libp2p.ConnectionGater(onlyThrough{peer: to, addr: l.Addr()})
}

var _ connmgr.ConnectionGater = onlyThrough{}

// onlyThrough lets its host dial one peer at one address only.
type onlyThrough struct {
	peer peer.ID
	addr ma.Multiaddr
}

func (g onlyThrough) InterceptPeerDial(peer.ID) bool { return true }
func (g onlyThrough) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool {
	return p != g.peer || a.Equal(g.addr)
}
func (g onlyThrough) InterceptAccept(network.ConnMultiaddrs) bool { return true }
func (g onlyThrough) InterceptSecured(network.Direction, peer.ID, network.ConnMultiaddrs) bool {
	return true
}
func (g onlyThrough) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return true, 0
}

// Cut stops carrying bytes, without closing anything.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
}

// Heal carries bytes again, on new connections.
func (l *Link) Heal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = false
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
}

func (l *Link) isCut() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cut
}

func (l *Link) accept() {
	defer l.wg.Done()
	for {
		in, err := l.ln.Accept()
		if err != nil {
			return // closed
		}
		out, err := net.Dial("tcp", l.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		l.mu.Lock()
		l.conns = append(l.conns, in, out)
		l.mu.Unlock()
		l.wg.Add(2)
		go l.carry(in, out)
		go l.carry(out, in)
	}
}

// carry copies from → to, dropping what it reads while the link is cut.
func (l *Link) carry(from, to net.Conn) {
	defer l.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 && !l.isCut() {
			if _, werr := to.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			_ = from.Close()
			if !l.isCut() { // a cut carries no close either; Heal closes to
				_ = to.Close()
			}
			return
		}
	}
}

func (l *Link) close() {
	_ = l.ln.Close()
	l.Heal() // closes every carried connection
	l.wg.Wait()
}

// NewIdentity makes a fresh libp2p identity: its key and peer id.
func NewIdentity(t testing.TB) (crypto.PrivKey, peer.ID) {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return key, id
}

// ClosedAddr is a loopback TCP address nothing listens on (it did a moment
// ago): a dial there is refused at once.
func ClosedAddr(t testing.TB) ma.Multiaddr {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := manet.FromNetAddr(l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return a
}
