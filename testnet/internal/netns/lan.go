//go:build linux

package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrUnavailable means this machine cannot create network namespaces here:
// not root, no `ip`, or the kernel/container refuses `ip netns add`.
var ErrUnavailable = errors.New("network namespaces unavailable")

// DefaultSubnet is the private /24 a LAN uses unless WithSubnet says
// otherwise. It exists only inside the LAN's namespaces.
var DefaultSubnet = netip.MustParsePrefix("10.250.0.0/24")

// Link is the name of every node namespace's interface into the hub.
const Link = "eth0"

// bridge is the hub namespace's bridge.
const bridge = "br0"

// runDir is where `ip netns add` bind-mounts named namespaces.
const runDir = "/run/netns"

// ipTimeout bounds one `ip` command; they take milliseconds.
const ipTimeout = 10 * time.Second

// seq makes names unique among LANs of one process (e.g. go test -count=3).
var seq atomic.Uint64

// Namespace is one node namespace of a LAN.
type Namespace struct {
	Name string       // as `ip netns list` shows it
	Addr netip.Prefix // its address on the LAN (on Link)
}

// LAN is a bridge in a hub namespace and node namespaces attached to it.
type LAN struct {
	Hub   string // the hub namespace's name
	Nodes []*Namespace

	created   []string // namespaces that exist, in creation order
	closeOnce sync.Once
	closeErr  error
}

// Option configures New.
type Option func(*options)

type options struct {
	subnet netip.Prefix
	prefix string
}

// WithSubnet sets the LAN's IPv4 subnet (a /24 or larger, private); node i
// gets host address i+1.
func WithSubnet(p netip.Prefix) Option { return func(o *options) { o.subnet = p } }

// WithPrefix sets the first part of the namespaces' names (default "swl").
func WithPrefix(s string) Option { return func(o *options) { o.prefix = s } }

func (o *options) validate(n int) error {
	if n < 1 {
		return fmt.Errorf("need at least one node namespace, got %d", n)
	}
	if !o.subnet.IsValid() || !o.subnet.Addr().Is4() || !o.subnet.Addr().IsPrivate() || o.subnet.Bits() > 24 {
		return fmt.Errorf("subnet %v: want a private IPv4 /24 or larger", o.subnet)
	}
	if n > 250 {
		return fmt.Errorf("%d node namespaces: at most 250", n)
	}
	if o.prefix == "" || strings.ContainsAny(o.prefix, "/ \t\n") {
		return fmt.Errorf("name prefix %q: want a non-empty word", o.prefix)
	}
	return nil
}

// New creates a LAN of n node namespaces. On any error it removes what it
// created; an error wrapping ErrUnavailable means namespaces cannot be made
// here at all. Close it when done.
func New(ctx context.Context, n int, opts ...Option) (_ *LAN, err error) {
	o := options{subnet: DefaultSubnet, prefix: "swl"}
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(n); err != nil {
		return nil, fmt.Errorf("new netns LAN: %w", err)
	}
	if err := preflight(); err != nil {
		return nil, fmt.Errorf("new netns LAN: %w", err)
	}

	base := fmt.Sprintf("%s-%d-%d", o.prefix, os.Getpid(), seq.Add(1))
	l := &LAN{Hub: base + "-hub"}
	defer func() {
		if err != nil {
			err = errors.Join(err, l.Close())
		}
	}()

	// The first namespace doubles as the probe: an unprivileged container
	// refuses it, and that is not a failure of the code under test.
	if err := ip(ctx, "netns", "add", l.Hub); err != nil {
		return nil, fmt.Errorf("new netns LAN: %w: %w", ErrUnavailable, err)
	}
	l.created = append(l.created, l.Hub)
	hub := []string{"-n", l.Hub}
	steps := [][]string{
		append(hub, "link", "set", "lo", "up"),
		// Snooping off: with no IGMP querier on this LAN, flood all multicast.
		append(hub, "link", "add", bridge, "type", "bridge", "mcast_snooping", "0"),
		append(hub, "link", "set", bridge, "up"),
	}
	if err := ipSteps(ctx, steps); err != nil {
		return nil, fmt.Errorf("new netns LAN: hub: %w", err)
	}

	host := o.subnet.Masked().Addr().As4()
	for i := range n {
		host[3] = byte(i + 1)
		ns := &Namespace{
			Name: fmt.Sprintf("%s-n%d", base, i),
			Addr: netip.PrefixFrom(netip.AddrFrom4(host), o.subnet.Bits()),
		}
		if err := ip(ctx, "netns", "add", ns.Name); err != nil {
			return nil, fmt.Errorf("new netns LAN: %w", err)
		}
		l.created = append(l.created, ns.Name)
		l.Nodes = append(l.Nodes, ns)
		port := fmt.Sprintf("v%d", i) // the hub's end; names are per namespace
		in := []string{"-n", ns.Name}
		steps := [][]string{
			// Both ends are born inside namespaces: the host never holds a link.
			append(hub, "link", "add", port, "type", "veth", "peer", "name", Link, "netns", ns.Name),
			append(hub, "link", "set", port, "master", bridge),
			append(hub, "link", "set", port, "up"),
			append(in, "link", "set", "lo", "up"),
			append(in, "addr", "add", ns.Addr.String(), "dev", Link),
			append(in, "link", "set", Link, "up"),
			append(in, "route", "add", "224.0.0.0/4", "dev", Link),
		}
		if err := ipSteps(ctx, steps); err != nil {
			return nil, fmt.Errorf("new netns LAN: node %s: %w", ns.Name, err)
		}
	}
	return l, nil
}

// Names lists every namespace of the LAN, hub first.
func (l *LAN) Names() []string {
	names := []string{l.Hub}
	for _, ns := range l.Nodes {
		names = append(names, ns.Name)
	}
	return names
}

// Close kills whatever still runs inside the LAN's namespaces (only its
// creator could have started it there) and deletes them, which removes their
// links. Safe to call more than once.
func (l *LAN) Close() error {
	l.closeOnce.Do(func() { l.closeErr = deleteNamespaces("close netns LAN", l.created) })
	return l.closeErr
}

// deleteNamespaces kills what still runs in each namespace and deletes it,
// going on past failures so that one stuck namespace does not leak the rest.
func deleteNamespaces(action string, names []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	for _, name := range names {
		if err := killInside(ctx, name); err != nil {
			errs = append(errs, err)
		}
		if err := ip(ctx, "netns", "del", name); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", action, errors.Join(errs...))
	}
	return nil
}

// killInside sends SIGKILL to every process left in namespace name; a
// namespace with live processes outlives `ip netns del`.
func killInside(ctx context.Context, name string) error {
	out, err := ipOutput(ctx, "netns", "pids", name)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range strings.Fields(out) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("ip netns pids %s: bad pid %q", name, f)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill pid %d left in %s: %w", pid, name, err))
		}
	}
	return errors.Join(errs...)
}

// preflight explains the common reasons namespaces cannot be made.
func preflight() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: needs root (running as uid %d)", ErrUnavailable, os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w: no `ip` command (apt-get install -y iproute2): %w", ErrUnavailable, err)
	}
	return nil
}

func ipSteps(ctx context.Context, steps [][]string) error {
	for _, args := range steps {
		if err := ip(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

func ip(ctx context.Context, args ...string) error {
	_, err := ipOutput(ctx, args...)
	return err
}

func ipOutput(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, ipTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
