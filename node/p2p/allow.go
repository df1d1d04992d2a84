package p2p

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// maxAllowFile bounds an allow-peers file (~20,000 peer ids).
const maxAllowFile = 1 << 20

// DefaultAllowPoll is how often the allow-peers file is re-read.
const DefaultAllowPoll = 3 * time.Second

// ParseAllowList reads an allow-peers file: one peer id per line; blank lines
// and everything after a '#' are ignored. A line that is not a peer id fails
// the whole file, so a typo never silently drops a member.
func ParseAllowList(r io.Reader) (map[peer.ID]struct{}, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxAllowFile+1))
	if err != nil {
		return nil, fmt.Errorf("parse allow-peers: %w", err)
	}
	if len(raw) > maxAllowFile {
		return nil, fmt.Errorf("parse allow-peers: %w: larger than %d bytes", ErrBadAllowList, maxAllowFile)
	}
	peers := make(map[peer.ID]struct{})
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 4096), maxAllowFile)
	for line := 1; sc.Scan(); line++ {
		s, _, _ := strings.Cut(sc.Text(), "#")
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		id, err := peer.Decode(s)
		if err != nil {
			return nil, fmt.Errorf("parse allow-peers: %w: line %d: %q is not a peer id", ErrBadAllowList, line, truncate(s, 80))
		}
		peers[id] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse allow-peers: %w: %w", ErrBadAllowList, err)
	}
	return peers, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Allowlist is a connection gater that admits only the peers listed in a file,
// so one member can be removed from a private swarm without re-keying
// everyone. The file is re-read every poll interval (a change applies once
// two polls agree on it) and on Reload (SIGHUP, at once); a peer dropped from
// it is disconnected and refused from then on. A file that becomes unreadable
// or malformed keeps the last good list.
type Allowlist struct {
	path     string
	log      *slog.Logger
	interval time.Duration

	mu      sync.RWMutex
	peers   map[peer.ID]struct{}
	netw    network.Network // set by Start; nil before
	lastErr string          // last reload error logged, so a broken file is reported once

	startOnce sync.Once
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

var _ connmgr.ConnectionGater = (*Allowlist)(nil)

// AllowOption configures an Allowlist.
type AllowOption func(*Allowlist)

// WithAllowLogger sets the logger (default slog.Default()).
func WithAllowLogger(l *slog.Logger) AllowOption { return func(a *Allowlist) { a.log = l } }

// WithAllowPoll sets how often the file is re-read (default DefaultAllowPoll).
func WithAllowPoll(d time.Duration) AllowOption { return func(a *Allowlist) { a.interval = d } }

// NewAllowlist loads the allow-peers file at path. A missing or malformed file
// is an error: starting with an empty list would refuse every member.
func NewAllowlist(path string, opts ...AllowOption) (*Allowlist, error) {
	a := &Allowlist{path: path, log: slog.Default(), interval: DefaultAllowPoll,
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(a)
	}
	if a.interval <= 0 {
		return nil, fmt.Errorf("new allowlist: poll interval %v must be positive", a.interval)
	}
	peers, err := a.read()
	if err != nil {
		return nil, fmt.Errorf("new allowlist: %w", err)
	}
	if len(peers) == 0 {
		a.log.Warn("allow-peers file lists no peer: every peer is refused", "path", path)
	}
	a.peers = peers
	return a, nil
}

func (a *Allowlist) read() (map[peer.ID]struct{}, error) {
	f, err := os.Open(a.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	peers, err := ParseAllowList(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.path, err)
	}
	return peers, nil
}

// Allowed reports whether p is on the list.
func (a *Allowlist) Allowed(p peer.ID) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	_, ok := a.peers[p]
	return ok
}

// Start begins polling the file and disconnecting peers that are not (or no
// longer) on it from netw. Call it once, after the host exists.
func (a *Allowlist) Start(netw network.Network) {
	a.startOnce.Do(func() {
		a.mu.Lock()
		a.netw = netw
		a.mu.Unlock()
		a.disconnectOutsiders()
		go a.poll()
	})
}

func (a *Allowlist) poll() {
	defer close(a.done)
	t := time.NewTicker(a.interval)
	defer t.Stop()
	var pending map[peer.ID]struct{}
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			pending = a.pollOnce(pending)
		}
	}
}

// pollOnce applies a changed list only once two polls in a row read the same
// one: an editor that truncates and rewrites in place would otherwise show
// the poller an empty file, and every member would be cut off.
func (a *Allowlist) pollOnce(pending map[peer.ID]struct{}) map[peer.ID]struct{} {
	peers, err := a.read()
	if err != nil {
		a.failed(err)
		return nil
	}
	a.mu.RLock()
	same := maps.Equal(peers, a.peers)
	a.mu.RUnlock()
	switch {
	case same:
		return nil
	case pending != nil && maps.Equal(peers, pending):
		a.apply(peers)
		return nil
	default:
		return peers
	}
}

// Reload re-reads the file now (SIGHUP). On success the new list applies at
// once and peers no longer on it are disconnected; on failure the old list
// stays and the error is returned (and logged once until the file changes).
func (a *Allowlist) Reload() error {
	peers, err := a.read()
	if err != nil {
		a.failed(err)
		return fmt.Errorf("reload allow-peers: %w", err)
	}
	a.apply(peers)
	return nil
}

func (a *Allowlist) failed(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if msg := err.Error(); msg != a.lastErr {
		a.lastErr = msg
		a.log.Error("allow-peers reload failed; keeping the previous list", "path", a.path, "err", err)
	}
}

func (a *Allowlist) apply(peers map[peer.ID]struct{}) {
	a.mu.Lock()
	a.lastErr = ""
	if maps.Equal(peers, a.peers) {
		a.mu.Unlock()
		return
	}
	added, removed := 0, 0
	for p := range peers {
		if _, ok := a.peers[p]; !ok {
			added++
		}
	}
	for p := range a.peers {
		if _, ok := peers[p]; !ok {
			removed++
		}
	}
	a.peers = peers
	a.mu.Unlock()
	a.log.Info("allow-peers reloaded", "path", a.path, "peers", len(peers), "added", added, "removed", removed)
	a.disconnectOutsiders()
}

func (a *Allowlist) disconnectOutsiders() {
	a.mu.RLock()
	netw := a.netw
	a.mu.RUnlock()
	if netw == nil {
		return
	}
	for _, p := range netw.Peers() {
		if !a.Allowed(p) {
			a.log.Info("disconnect peer not on allow-peers", "peer", p)
			if err := netw.ClosePeer(p); err != nil {
				a.log.Warn("disconnect peer", "peer", p, "err", err)
			}
		}
	}
}

// Close stops polling and waits for it. Safe to call more than once and
// without Start.
func (a *Allowlist) Close() error {
	a.closeOnce.Do(func() {
		close(a.stop)
		started := true
		a.startOnce.Do(func() { started = false })
		if started {
			<-a.done
		}
	})
	return nil
}

// InterceptPeerDial refuses to dial a peer that is not on the list.
func (a *Allowlist) InterceptPeerDial(p peer.ID) bool { return a.Allowed(p) }

// InterceptAddrDial allows every address of an allowed peer.
func (a *Allowlist) InterceptAddrDial(peer.ID, multiaddr.Multiaddr) bool { return true }

// InterceptAccept admits the handshake: the peer's id is known only after it.
func (a *Allowlist) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured refuses an authenticated connection from or to a peer not on the list.
func (a *Allowlist) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return a.Allowed(p)
}

// InterceptUpgraded allows what InterceptSecured allowed.
func (a *Allowlist) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
