//go:build linux

package netns

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// DialContext connects to address (a literal ip:port, e.g. the namespace's
// own "127.0.0.1:8700") from inside the namespace. The socket is made on a
// thread switched into the namespace; a socket keeps its namespace for life,
// so the connection is an ordinary net.Conn afterwards.
func (ns *Namespace) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	// A host name would be resolved inside the namespace, maybe on other
	// threads; the namespaces have no resolver anyway.
	if _, err := netip.ParseAddrPort(address); err != nil {
		return nil, fmt.Errorf("dial %s in %s: want a literal ip:port: %w", address, ns.Name, err)
	}
	type result struct {
		c   net.Conn
		err error
	}
	// A goroutine of its own, so the caller's thread never changes namespace.
	ch := make(chan result, 1)
	go func() {
		c, err := ns.dialInside(ctx, network, address)
		ch <- result{c, err}
	}()
	r := <-ch
	if r.err != nil {
		return nil, fmt.Errorf("dial %s in %s: %w", address, ns.Name, r.err)
	}
	return r.c, nil
}

func (ns *Namespace) dialInside(ctx context.Context, network, address string) (net.Conn, error) {
	runtime.LockOSThread()
	restored := false
	defer func() {
		// If the thread could not be switched back it stays locked: the
		// runtime retires it when this goroutine ends, so no other goroutine
		// ever runs in the wrong namespace.
		if restored {
			runtime.UnlockOSThread()
		}
	}()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		restored = true
		return nil, err
	}
	defer orig.Close()
	target, err := os.Open(filepath.Join(runDir, ns.Name))
	if err != nil {
		restored = true
		return nil, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		restored = true
		return nil, fmt.Errorf("setns: %w", err)
	}
	defer func() { restored = unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil }()
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// HTTPClient returns an http.Client whose connections are made inside the
// namespace. Each namespace needs its own: "127.0.0.1:8700" names a
// different server in each, so connections must not be shared. Keep-alives
// are off so no idle connection (and its goroutines) outlives a request.
func (ns *Namespace) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:       ns.DialContext,
		DisableKeepAlives: true,
		Proxy:             nil, // never a proxy from the environment: the target is inside the namespace
	}}
}
