// Package netns builds a private Ethernet LAN out of Linux network namespaces
// for tests that need real multicast (mDNS) without touching the host's
// network: a "hub" namespace holding a bridge, and N node namespaces, each
// with a veth (eth0) into that bridge, an address from a private /24, the
// multicast route 224.0.0.0/4 on eth0 and lo up.
//
// Every link is created directly inside the namespaces (`ip -n HUB link add …
// peer … netns NODE`), so nothing — no interface, address or route — ever
// exists in the host's namespace, and multicast sent on the LAN cannot leave
// it. Namespace names carry the creating process's pid and a sequence number,
// so parallel runs do not collide.
//
// It also runs programs inside a namespace (`ip netns exec`, each in its own
// process group) and dials into one from the calling process (a socket made
// after setns on a locked thread), so a test can reach a server listening on
// a namespace's own 127.0.0.1.
//
// Needs Linux, root and `ip` from iproute2 (`apt-get install -y iproute2`);
// New reports ErrUnavailable otherwise, so tests can skip with a clear message.
// Test code only: production packages never import it.
package netns
