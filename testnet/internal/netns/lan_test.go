//go:build linux

package netns_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/testnet/internal/netns"
)

// newLAN creates a LAN of n node namespaces, removed when the test ends, or
// skips the test where namespaces cannot be made.
func newLAN(t *testing.T, n int) *netns.LAN {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lan, err := netns.New(ctx, n)
	if errors.Is(err, netns.ErrUnavailable) {
		t.Skipf("skipped: this test runs inside Linux network namespaces it creates, and cannot create them here "+
			"(run as root with iproute2, outside an unprivileged container): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lan.Close(); err != nil {
			t.Errorf("tear down LAN: %v", err)
		}
		if left := slices.DeleteFunc(listNamespaces(t), func(s string) bool { return !slices.Contains(lan.Names(), s) }); len(left) > 0 {
			t.Errorf("namespaces left after Close: %v", left)
		}
	})
	return lan
}

func listNamespaces(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0]) // "name (id: 3)"
		}
	}
	return names
}

// hostNetwork lists the host namespace's links, addresses and routes, one per line.
func hostNetwork(t *testing.T) []string {
	t.Helper()
	var lines []string
	for _, args := range [][]string{{"-o", "link", "show"}, {"-o", "addr", "show"}, {"route", "show", "table", "all"}} {
		out, err := exec.Command("ip", args...).Output()
		if err != nil {
			t.Fatalf("ip %v: %v", args, err)
		}
		lines = append(lines, strings.Split(string(out), "\n")...)
	}
	return lines
}

// leaked returns the host lines in after but not before that belong to lan.
// Only those count: other engineers' containers may add host links meanwhile.
func leaked(lan *netns.LAN, before, after []string) []string {
	marks := append(lan.Names(), ": br0:", strings.TrimSuffix(netns.DefaultSubnet.Masked().Addr().String(), "0"))
	for i := range lan.Nodes {
		marks = append(marks, fmt.Sprintf(": v%d@", i))
	}
	var out []string
	for _, line := range after {
		if slices.Contains(before, line) {
			continue
		}
		for _, m := range marks {
			if strings.Contains(line, m) {
				out = append(out, line)
				break
			}
		}
	}
	return out
}

func TestNewRejectsBadOptions(t *testing.T) {
	cases := []struct {
		name string
		n    int
		opts []netns.Option
	}{
		{"no nodes", 0, nil},
		{"too many nodes", 251, nil},
		{"public subnet", 2, []netns.Option{netns.WithSubnet(netip.MustParsePrefix("8.8.8.0/24"))}},
		{"subnet smaller than /24", 2, []netns.Option{netns.WithSubnet(netip.MustParsePrefix("10.9.9.0/25"))}},
		{"ipv6 subnet", 2, []netns.Option{netns.WithSubnet(netip.MustParsePrefix("fd00::/64"))}},
		{"empty name prefix", 2, []netns.Option{netns.WithPrefix("")}},
		{"name prefix with a slash", 2, []netns.Option{netns.WithPrefix("a/b")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lan, err := netns.New(context.Background(), tc.n, tc.opts...)
			if err == nil {
				_ = lan.Close()
				t.Fatal("New accepted it")
			}
			if errors.Is(err, netns.ErrUnavailable) {
				t.Fatalf("bad options reported as %v", err)
			}
		})
	}
}

// The LAN lives wholly in its namespaces: nodes reach each other over the
// bridge, and the host's links, addresses and routes do not change.
func TestLANIsPrivate(t *testing.T) {
	before := hostNetwork(t)
	lan := newLAN(t, 2)
	if l := leaked(lan, before, hostNetwork(t)); len(l) > 0 {
		t.Errorf("the LAN shows in the host's namespace:\n%s", strings.Join(l, "\n"))
	}
	names := listNamespaces(t)
	for _, name := range lan.Names() {
		if !slices.Contains(names, name) {
			t.Errorf("namespace %s missing from %v", name, names)
		}
	}
	for _, ns := range lan.Nodes {
		out, err := exec.Command("ip", "-n", ns.Name, "-4", "-o", "addr", "show", netns.Link).Output()
		if err != nil || !strings.Contains(string(out), ns.Addr.String()) {
			t.Errorf("%s: %s has %q (%v), want %v", ns.Name, netns.Link, out, err, ns.Addr)
		}
		out, err = exec.Command("ip", "-n", ns.Name, "route", "show", "224.0.0.0/4").Output()
		if err != nil || !strings.Contains(string(out), "dev "+netns.Link) {
			t.Errorf("%s: multicast route %q (%v)", ns.Name, out, err)
		}
	}

	// A refused connection proves the SYN arrived: port 9 has no listener.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cases := []struct {
		name string
		from *netns.Namespace
		to   netip.Addr
	}{
		{"own loopback", lan.Nodes[0], netip.MustParseAddr("127.0.0.1")},
		{"other node over the bridge", lan.Nodes[0], lan.Nodes[1].Addr.Addr()},
		{"back over the bridge", lan.Nodes[1], lan.Nodes[0].Addr.Addr()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.from.DialContext(ctx, "tcp", netip.AddrPortFrom(tc.to, 9).String())
			if err == nil {
				c.Close()
				t.Fatalf("something listens on %v:9 in the test's namespace", tc.to)
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("dial from %s to %v: %v, want connection refused", tc.from.Name, tc.to, err)
			}
		})
	}

	t.Run("dial wants a literal address", func(t *testing.T) {
		_, err := lan.Nodes[0].DialContext(ctx, "tcp", "localhost:9")
		if err == nil || !strings.Contains(err.Error(), "literal") {
			t.Fatalf("err %v", err)
		}
	})

	if err := lan.Close(); err != nil {
		t.Fatal(err)
	}
	if err := lan.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	names = listNamespaces(t)
	for _, name := range lan.Names() {
		if slices.Contains(names, name) {
			t.Errorf("namespace %s still listed after Close", name)
		}
	}
}
