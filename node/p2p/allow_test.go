package p2p

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/pnet"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"

	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newKey(t testing.TB) pnet.PSK {
	t.Helper()
	psk := make(pnet.PSK, 32)
	if _, err := rand.Read(psk); err != nil {
		t.Fatal(err)
	}
	return psk
}

// newHost starts a loopback host the way a node builds its own.
func newHost(t testing.TB, psk pnet.PSK, gater connmgr.ConnectionGater) host.Host {
	t.Helper()
	return newHostWith(t, HostConfig{SwarmKey: psk, Gater: gater})
}

// newHostWith starts a loopback host from hc, with a fresh identity.
func newHostWith(t testing.TB, hc HostConfig) host.Host {
	t.Helper()
	id, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hc.Identity, hc.Log = id, quiet
	hc.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	opts, err := HostOptions(hc)
	if err != nil {
		t.Fatal(err)
	}
	// Tests allow a loaded machine longer than libp2p's 5 s local dial cap.
	opts = append(opts, libp2p.WithDialTimeout(p2ptest.ConnectTimeout),
		libp2p.SwarmOpts(swarm.WithDialTimeoutLocal(p2ptest.ConnectTimeout)))
	h, err := libp2p.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// connect dials a peer that must accept, with p2ptest's patience for a
// loaded machine.
func connect(from, to host.Host) error { return dial(from, to, p2ptest.ConnectTimeout) }

// refused dials a peer expected to refuse: a PSK mismatch never fails fast
// (each side waits for bytes the other's cipher garbled), so this gives up
// after 2 s; a dial that would have succeeded fails too, and the test's
// check on the far side's connections catches that.
func refused(from, to host.Host) error { return dial(from, to, 2*time.Second) }

func dial(from, to host.Host, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return from.Connect(ctx, peer.AddrInfo{ID: to.ID(), Addrs: to.Addrs()})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(p2ptest.Patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPrivateSwarmKeepsOutsidersOut(t *testing.T) {
	key := newKey(t)
	member := newHost(t, key, nil)
	for _, a := range member.Addrs() {
		if strings.Contains(a.String(), "/udp/") {
			t.Errorf("keyed host listens on %s: a PSK host must be TCP only", a)
		}
	}
	tests := []struct {
		name    string
		psk     pnet.PSK
		wantErr bool
	}{
		{"outsider without a key", nil, true},
		{"outsider with another key", newKey(t), true},
		{"member with the key", key, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, tt.psk, nil)
			if tt.wantErr {
				err := refused(h, member)
				if err == nil {
					t.Fatal("connected")
				}
				if c := member.Network().Connectedness(h.ID()); c == network.Connected {
					t.Fatalf("member sees the outsider as %v", c)
				}
				return
			}
			if err := connect(h, member); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "member to see the peer", func() bool {
				return member.Network().Connectedness(h.ID()) == network.Connected
			})
		})
	}
}

func writeAllow(t *testing.T, path string, ids ...peer.ID) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# test swarm members\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "%s  # a member\n", id)
	}
	writeAtomic(t, path, b.String())
}

// writeAtomic writes then renames, so a Reload never reads half a file.
func writeAtomic(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestAllowlistRemovesAMemberWithoutRekeying(t *testing.T) {
	key := newKey(t)
	alice, bob, carol := newHost(t, key, nil), newHost(t, key, nil), newHost(t, key, nil)
	path := filepath.Join(t.TempDir(), "allow-peers")
	writeAllow(t, path, alice.ID(), bob.ID(), carol.ID())
	allow, err := NewAllowlist(path, WithAllowLogger(quiet), WithAllowPoll(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = allow.Close() })
	gated := newHost(t, key, allow)
	allow.Start(gated.Network())

	for _, h := range []host.Host{bob, carol} {
		if err := connect(h, gated); err != nil {
			t.Fatalf("member %s: %v", h.ID().ShortString(), err)
		}
	}
	if err := connect(gated, alice); err != nil {
		t.Fatalf("dial member: %v", err)
	}

	// Remove bob; SIGHUP's path (Reload) applies it at once.
	writeAllow(t, path, alice.ID(), carol.ID())
	if err := allow.Reload(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob to be disconnected", func() bool {
		return gated.Network().Connectedness(bob.ID()) != network.Connected
	})
	if err := refused(bob, gated); err == nil {
		// The handshake may finish on bob's side before the gater's refusal
		// reaches it: what matters is that the gated host never keeps him.
		waitFor(t, "bob's reconnection to be cut", func() bool {
			return gated.Network().Connectedness(bob.ID()) != network.Connected
		})
	}
	gated.Peerstore().AddAddrs(bob.ID(), bob.Addrs(), time.Minute)
	if err := refused(gated, bob); err == nil {
		t.Fatal("dialled a removed member")
	}
	if c := gated.Network().Connectedness(carol.ID()); c != network.Connected {
		t.Errorf("carol, still a member, is %v", c)
	}
}

func TestAllowlistPollsTheFile(t *testing.T) {
	key := newKey(t)
	bob := newHost(t, key, nil)
	path := filepath.Join(t.TempDir(), "allow-peers")
	writeAllow(t, path) // nobody yet
	allow, err := NewAllowlist(path, WithAllowLogger(quiet), WithAllowPoll(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = allow.Close() })
	gated := newHost(t, key, allow)
	allow.Start(gated.Network())
	if err := refused(gated, bob); err == nil {
		t.Fatal("dialled a peer before it was on the list")
	}

	writeAllow(t, path, bob.ID())
	waitFor(t, "the poll to admit bob", func() bool { return allow.Allowed(bob.ID()) })
	if err := connect(bob, gated); err != nil {
		t.Fatal(err)
	}

	// A broken file keeps the last good list.
	writeAtomic(t, path, "not-a-peer-id\n")
	if err := allow.Reload(); !errors.Is(err, ErrBadAllowList) {
		t.Fatalf("Reload of a broken file: %v, want ErrBadAllowList", err)
	}
	if !allow.Allowed(bob.ID()) {
		t.Fatal("a broken file dropped a member")
	}

	writeAllow(t, path)
	waitFor(t, "the poll to drop bob", func() bool {
		return gated.Network().Connectedness(bob.ID()) != network.Connected
	})
}

func TestAllowlistPollIgnoresATransientFile(t *testing.T) {
	bob, _ := peer.Decode("12D3KooWE2Nf3wDzabfSNRtLDyUGBKYZSJi9UjMjCceuWrbYhhx3")
	path := filepath.Join(t.TempDir(), "allow-peers")
	writeAllow(t, path, bob)
	a, err := NewAllowlist(path, WithAllowLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	// Each step: what the file holds when a poll reads it, and whether bob
	// is still a member after that poll.
	steps := []struct {
		name    string
		members []peer.ID
		want    bool
	}{
		{"editor truncated the file", nil, true},
		{"editor wrote it back", []peer.ID{bob}, true},
		{"bob removed: first read", nil, true},
		{"bob removed: second read agrees", nil, false},
		{"bob back: first read", []peer.ID{bob}, false},
		{"bob back: second read agrees", []peer.ID{bob}, true},
	}
	var pending map[peer.ID]struct{}
	for _, st := range steps {
		writeAllow(t, path, st.members...)
		pending = a.pollOnce(pending)
		if got := a.Allowed(bob); got != st.want {
			t.Fatalf("%s: bob allowed = %v, want %v", st.name, got, st.want)
		}
	}
}

func TestAllowlistCloseWithoutStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allow-peers")
	writeAllow(t, path)
	a, err := NewAllowlist(path, WithAllowLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewAllowlistRefuses(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("12D3KooW-not-really\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want error
	}{
		{"missing file", filepath.Join(dir, "missing"), os.ErrNotExist},
		{"malformed file", bad, ErrBadAllowList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewAllowlist(tt.path, WithAllowLogger(quiet)); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseAllowList(t *testing.T) {
	const a, b = "12D3KooWE2Nf3wDzabfSNRtLDyUGBKYZSJi9UjMjCceuWrbYhhx3", "12D3KooWM91D5UuKsibuGHuSoYaJ9Pov3UW86oxiBkpMxRyVKHFp"
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{"empty", "", nil, false},
		{"comments and blanks", "# members\n\n   \n" + a + "\n", []string{a}, false},
		{"trailing comment and spaces", "  " + a + "   # node1\n" + b + "\r\n", []string{a, b}, false},
		{"duplicates", a + "\n" + a + "\n", []string{a}, false},
		{"no final newline", a, []string{a}, false},
		{"bad id", a + "\nnode2\n", nil, true},
		{"two ids on a line", a + " " + b + "\n", nil, true},
		{"oversize", strings.Repeat("#", maxAllowFile+1), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAllowList(strings.NewReader(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrBadAllowList) {
					t.Fatalf("err %v, want ErrBadAllowList", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d peers, want %d", len(got), len(tt.want))
			}
			for _, s := range tt.want {
				id, _ := peer.Decode(s)
				if _, ok := got[id]; !ok {
					t.Errorf("missing %s", s)
				}
			}
		})
	}
}

func FuzzParseAllowList(f *testing.F) {
	f.Add([]byte("# c\n12D3KooWE2Nf3wDzabfSNRtLDyUGBKYZSJi9UjMjCceuWrbYhhx3 # x\n"))
	f.Add([]byte("\n\n\r\n#"))
	f.Add([]byte("Qm\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		peers, err := ParseAllowList(strings.NewReader(string(in)))
		if err != nil {
			if !errors.Is(err, ErrBadAllowList) {
				t.Fatalf("error without ErrBadAllowList: %v", err)
			}
			return
		}
		for id := range peers {
			if err := id.Validate(); err != nil {
				t.Fatalf("accepted invalid id %q: %v", id, err)
			}
		}
	})
}

func TestTCPOnly(t *testing.T) {
	tests := []struct {
		name              string
		in, keep, dropped []string
	}{
		{"default listen", []string{"/ip4/0.0.0.0/tcp/4700", "/ip4/0.0.0.0/udp/4700/quic-v1"},
			[]string{"/ip4/0.0.0.0/tcp/4700"}, []string{"/ip4/0.0.0.0/udp/4700/quic-v1"}},
		{"tcp only", []string{"/ip6/::/tcp/1"}, []string{"/ip6/::/tcp/1"}, nil},
		{"quic only", []string{"/ip4/127.0.0.1/udp/1/quic-v1"}, nil, []string{"/ip4/127.0.0.1/udp/1/quic-v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep, dropped := TCPOnly(tt.in)
			if strings.Join(keep, ",") != strings.Join(tt.keep, ",") || strings.Join(dropped, ",") != strings.Join(tt.dropped, ",") {
				t.Errorf("TCPOnly(%q) = %q, %q; want %q, %q", tt.in, keep, dropped, tt.keep, tt.dropped)
			}
		})
	}
	id, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	_, err := HostOptions(HostConfig{Identity: id, SwarmKey: newKey(t), Log: quiet, Listen: []string{"/ip4/127.0.0.1/udp/1/quic-v1"}})
	if !errors.Is(err, ErrNoListenAddrs) {
		t.Errorf("QUIC-only listen with a swarm key: %v, want ErrNoListenAddrs", err)
	}
}
