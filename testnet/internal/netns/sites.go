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
	"strings"
	"sync"
)

// DefaultWAN is the "internet" of a Sites: a /24 that libp2p counts as
// public. AutoNAT dials back only public addresses, and a relay hands out
// only public ones in its reservations, so a private or documentation range
// would not exercise them at all. It exists only inside the namespaces: no
// link leads from them to the host or anywhere else, so no packet addressed
// to it can leave.
var DefaultWAN = netip.MustParsePrefix("11.0.0.0/24")

// wanLink is the name of a router's interface on the WAN.
const wanLink = "wan0"

// Sites is a small internet made of namespaces: a WAN (a bridge in a hub
// namespace) holding public hosts, and sites, each a LAN behind a router that
// masquerades (source NAT) the LAN's traffic to the WAN and forwards nothing
// from the WAN into the LAN but replies. Site i's LAN is 192.168.(i+1).0/24
// with the router at .254; its nodes have a default route through it and the
// multicast route on their LAN only, so mDNS stays per site.
type Sites struct {
	WAN    string       // the hub namespace holding the WAN bridge
	Public []*Namespace // hosts on the WAN, at its addresses .1, .2, …
	Sites  []*Site

	created   []string
	closeOnce sync.Once
	closeErr  error
}

// Site is one LAN behind its NAT router.
type Site struct {
	Router *Namespace // Addr is its address on the WAN; it holds the LAN's bridge
	Nodes  []*Namespace
}

// NewSites builds a WAN with public hosts and len(nodesPerSite) sites, site i
// with nodesPerSite[i] nodes. Needs root, `ip` and `nft`; an error wrapping
// ErrUnavailable means they are missing here. On any error it removes what
// it created. Close it when done.
func NewSites(ctx context.Context, public int, nodesPerSite ...int) (_ *Sites, err error) {
	if err := preflight(); err != nil {
		return nil, fmt.Errorf("new sites: %w", err)
	}
	if _, err := exec.LookPath("nft"); err != nil {
		return nil, fmt.Errorf("new sites: %w: no `nft` for the NAT routers (apt-get install -y nftables): %w", ErrUnavailable, err)
	}
	if public < 1 || public > 9 || len(nodesPerSite) < 1 || len(nodesPerSite) > 9 {
		return nil, fmt.Errorf("new sites: %d public hosts and %d sites: want 1..9 of each", public, len(nodesPerSite))
	}
	base := fmt.Sprintf("swx-%d-%d", os.Getpid(), seq.Add(1))
	s := &Sites{WAN: base + "-wan"}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()
	if err := ip(ctx, "netns", "add", s.WAN); err != nil {
		return nil, fmt.Errorf("new sites: %w: %w", ErrUnavailable, err)
	}
	s.created = append(s.created, s.WAN)
	wan := []string{"-n", s.WAN}
	if err := ipSteps(ctx, [][]string{
		append(wan, "link", "set", "lo", "up"),
		append(wan, "link", "add", bridge, "type", "bridge"),
		append(wan, "link", "set", bridge, "up"),
	}); err != nil {
		return nil, fmt.Errorf("new sites: WAN: %w", err)
	}
	wanAddr := func(host int) netip.Prefix {
		a := DefaultWAN.Masked().Addr().As4()
		a[3] = byte(host)
		return netip.PrefixFrom(netip.AddrFrom4(a), DefaultWAN.Bits())
	}

	for i := range public {
		ns, err := s.add(ctx, fmt.Sprintf("%s-p%d", base, i), wanAddr(i+1))
		if err != nil {
			return nil, fmt.Errorf("new sites: public host %d: %w", i, err)
		}
		if err := s.plug(ctx, ns.Name, fmt.Sprintf("p%d", i), Link, ns.Addr); err != nil {
			return nil, fmt.Errorf("new sites: public host %d: %w", i, err)
		}
		s.Public = append(s.Public, ns)
	}

	for i, n := range nodesPerSite {
		if n < 1 || n > 250 {
			return nil, fmt.Errorf("new sites: site %d: %d nodes, want 1..250", i, n)
		}
		site, err := s.addSite(ctx, fmt.Sprintf("%s-s%d", base, i), i, n, wanAddr(100+i))
		if err != nil {
			return nil, fmt.Errorf("new sites: site %d: %w", i, err)
		}
		s.Sites = append(s.Sites, site)
	}
	return s, nil
}

// add creates an empty namespace with lo up.
func (s *Sites) add(ctx context.Context, name string, addr netip.Prefix) (*Namespace, error) {
	if err := ip(ctx, "netns", "add", name); err != nil {
		return nil, err
	}
	s.created = append(s.created, name)
	if err := ip(ctx, "-n", name, "link", "set", "lo", "up"); err != nil {
		return nil, err
	}
	return &Namespace{Name: name, Addr: addr}, nil
}

// plug links namespace ns to the WAN bridge (as link, with address addr);
// port names the bridge's end.
func (s *Sites) plug(ctx context.Context, ns, port, link string, addr netip.Prefix) error {
	wan := []string{"-n", s.WAN}
	in := []string{"-n", ns}
	return ipSteps(ctx, [][]string{
		// Both ends are born inside namespaces: the host never holds a link.
		append(wan, "link", "add", port, "type", "veth", "peer", "name", link, "netns", ns),
		append(wan, "link", "set", port, "master", bridge),
		append(wan, "link", "set", port, "up"),
		append(in, "addr", "add", addr.String(), "dev", link),
		append(in, "link", "set", link, "up"),
	})
}

// natRules masquerade the LAN's traffic out of the WAN link and let in from
// the WAN only replies, to the LAN or to the router itself: an ordinary home
// router, silent to anything unsolicited. (Answering a stray packet, say
// with ICMP port unreachable, would also commit a connection-tracking entry
// that takes the port a LAN node's outgoing flow would be mapped to.)
const natRules = `
table ip swarmtest {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "` + wanLink + `" ct state established,related accept
		iifname "` + wanLink + `" drop
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "` + wanLink + `" masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		iifname "` + bridge + `" oifname "` + wanLink + `" accept
		iifname "` + wanLink + `" oifname "` + bridge + `" ct state established,related accept
	}
}
`

func (s *Sites) addSite(ctx context.Context, name string, index, n int, wanAddr netip.Prefix) (*Site, error) {
	router, err := s.add(ctx, name+"r", wanAddr)
	if err != nil {
		return nil, err
	}
	if err := s.plug(ctx, router.Name, fmt.Sprintf("s%d", index), wanLink, wanAddr); err != nil {
		return nil, err
	}
	lan := netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(index + 1), 0}), 24)
	gw := netip.AddrFrom4([4]byte{192, 168, byte(index + 1), 254})
	r := []string{"-n", router.Name}
	if err := ipSteps(ctx, [][]string{
		append(r, "link", "add", bridge, "type", "bridge", "mcast_snooping", "0"),
		append(r, "addr", "add", netip.PrefixFrom(gw, 24).String(), "dev", bridge),
		append(r, "link", "set", bridge, "up"),
	}); err != nil {
		return nil, err
	}
	if err := inside(ctx, router.Name, "", "sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
		return nil, err
	}
	if err := inside(ctx, router.Name, natRules, "nft", "-f", "-"); err != nil {
		return nil, err
	}
	site := &Site{Router: router}
	for j := range n {
		a := lan.Addr().As4()
		a[3] = byte(j + 1)
		ns, err := s.add(ctx, fmt.Sprintf("%s-n%d", name, j), netip.PrefixFrom(netip.AddrFrom4(a), 24))
		if err != nil {
			return nil, err
		}
		port := fmt.Sprintf("v%d", j)
		in := []string{"-n", ns.Name}
		if err := ipSteps(ctx, [][]string{
			append(r, "link", "add", port, "type", "veth", "peer", "name", Link, "netns", ns.Name),
			append(r, "link", "set", port, "master", bridge),
			append(r, "link", "set", port, "up"),
			append(in, "addr", "add", ns.Addr.String(), "dev", Link),
			append(in, "link", "set", Link, "up"),
			append(in, "route", "add", "224.0.0.0/4", "dev", Link),
			append(in, "route", "add", "default", "via", gw.String()),
		}); err != nil {
			return nil, err
		}
		site.Nodes = append(site.Nodes, ns)
	}
	return site, nil
}

// Names lists every namespace, in creation order.
func (s *Sites) Names() []string { return append([]string(nil), s.created...) }

// Close kills whatever still runs inside the namespaces and deletes them,
// which removes their links and NAT rules. Safe to call more than once.
func (s *Sites) Close() error {
	s.closeOnce.Do(func() { s.closeErr = deleteNamespaces("close sites", s.created) })
	return s.closeErr
}

// inside runs argv in namespace ns with stdin, for the few setup steps `ip
// -n` cannot do (sysctl, nft).
func inside(ctx context.Context, ns, stdin string, argv ...string) error {
	ctx, cancel := context.WithTimeout(ctx, ipTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s in %s: %w: %s", strings.Join(argv, " "), ns, err, strings.TrimSpace(out.String()))
	}
	return nil
}
