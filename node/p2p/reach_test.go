package p2p

import (
	"context"
	"crypto/rand"
	"io"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/pnet"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	"github.com/multiformats/go-multiaddr"

	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

const echoProto = "/swarmllm-test/echo/1.0.0"

func TestRelayResources(t *testing.T) {
	tests := []struct {
		name        string
		private     bool
		wantLimited bool
	}{
		{"private swarm: members' circuits carry the swarm's protocols", true, false},
		{"open swarm: circuits only introduce, for a hole punch", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := RelayResources(tt.private)
			if got := r.Limit != nil; got != tt.wantLimited {
				t.Errorf("limited = %v, want %v (%+v)", got, tt.wantLimited, r.Limit)
			}
			if r.MaxReservations != relayMaxReservations || r.MaxReservationsPerIP != relayMaxReservationsPerIP ||
				r.MaxCircuits != relayMaxCircuits || r.BufferSize != relayBufferSize {
				t.Errorf("caps %+v", r)
			}
		})
	}
}

func TestRelaysMustNameTheirPeer(t *testing.T) {
	id, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, err = HostOptions(HostConfig{Identity: id, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Log: quiet, Relays: []string{"/ip4/127.0.0.1/tcp/4700"}})
	if err == nil {
		t.Fatal("a relay without /p2p/<id> was accepted")
	}
}

// A relayed connection obeys the same membership rules as a direct one: it
// needs the swarm key (the relay is a member), the far end's allow-peers
// gater judges it, and in a private swarm it is unlimited, so the swarm's
// protocols run over it.
func TestRelayedConnections(t *testing.T) {
	key := newKey(t)
	tests := []struct {
		name        string
		psk         pnet.PSK
		allowDialer bool // the target's allow-peers file lists the dialer
		useGater    bool
		wantConn    bool
		wantLimited bool
	}{
		{"private swarm, members", key, false, false, true, false},
		{"private swarm, dialer on the target's allow list", key, true, true, true, false},
		{"private swarm, dialer not on the target's allow list", key, false, true, false, false},
		{"open swarm", nil, false, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relay := newHostWith(t, HostConfig{SwarmKey: tt.psk, RelayService: true})
			dialer := newHostWith(t, HostConfig{SwarmKey: tt.psk})
			var gater *Allowlist
			if tt.useGater {
				members := []peer.ID{relay.ID()}
				if tt.allowDialer {
					members = append(members, dialer.ID())
				}
				path := filepath.Join(t.TempDir(), "allow")
				writeAllow(t, path, members...)
				var err error
				if gater, err = NewAllowlist(path, WithAllowLogger(quiet)); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = gater.Close() })
			}
			hc := HostConfig{SwarmKey: tt.psk}
			if gater != nil {
				hc.Gater = gater
			}
			target := newHostWith(t, hc)
			target.SetStreamHandler(echoProto, func(s network.Stream) {
				defer s.Close()
				_, _ = io.Copy(s, s)
			})

			reserve(t, target, relay)
			circuit := circuitAddr(t, relay, target)
			err := dial(dialer, &addrHost{Host: target, addrs: []multiaddr.Multiaddr{circuit}}, p2ptest.ConnectTimeout)
			if !tt.wantConn {
				// The handshake may finish on the dialer's side before the
				// target's refusal reaches it, as with a direct connection:
				// what matters is that neither end keeps it.
				waitFor(t, "the relayed connection to be refused", func() bool {
					return target.Network().Connectedness(dialer.ID()) != network.Connected &&
						dialer.Network().Connectedness(target.ID()) != network.Connected
				})
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			conns := dialer.Network().ConnsToPeer(target.ID())
			if len(conns) != 1 {
				t.Fatalf("%d connections to the target, want the relayed one", len(conns))
			}
			c := conns[0]
			if _, err := c.RemoteMultiaddr().ValueForProtocol(multiaddr.P_CIRCUIT); err != nil {
				t.Fatalf("connection to %v is not relayed", c.RemoteMultiaddr())
			}
			if c.Stat().Limited != tt.wantLimited {
				t.Fatalf("limited = %v, want %v", c.Stat().Limited, tt.wantLimited)
			}
			if !tt.wantLimited {
				echo(t, dialer, target.ID())
			}
		})
	}
}

// addrHost presents a host at other addresses, for dial.
type addrHost struct {
	host.Host
	addrs []multiaddr.Multiaddr
}

func (h *addrHost) Addrs() []multiaddr.Multiaddr { return h.addrs }

func reserve(t *testing.T, h, relay host.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), p2ptest.Patience)
	defer cancel()
	if _, err := client.Reserve(ctx, h, peer.AddrInfo{ID: relay.ID(), Addrs: relay.Addrs()}); err != nil {
		t.Fatalf("reserve a slot on the relay: %v", err)
	}
}

func circuitAddr(t *testing.T, relay, target host.Host) multiaddr.Multiaddr {
	t.Helper()
	for _, a := range relay.Addrs() {
		if _, err := a.ValueForProtocol(multiaddr.P_TCP); err == nil {
			return a.Encapsulate(multiaddr.StringCast("/p2p/" + relay.ID().String() + "/p2p-circuit"))
		}
	}
	t.Fatalf("relay has no TCP address: %v", relay.Addrs())
	return nil
}

// echo checks a stream of an ordinary protocol (not one libp2p allows on
// limited connections) round-trips over the connection.
func echo(t *testing.T, from host.Host, to peer.ID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), p2ptest.Patience)
	defer cancel()
	s, err := from.NewStream(ctx, to, echoProto)
	if err != nil {
		t.Fatalf("open stream over the relayed connection: %v", err)
	}
	defer s.Close()
	if _, err := s.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseWrite()
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "ping" {
		t.Fatalf("echo = %q, %v", got, err)
	}
}
