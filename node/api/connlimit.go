package api

import (
	"net"
	"net/netip"
	"sync"
)

// DefaultMaxConnsPerIP bounds the connections one remote address may hold
// open to the API: enough for a heavy client's keep-alive pool, too few for
// one host to pin the node with thousands of slow connections.
const DefaultMaxConnsPerIP = 256

// LimitConnsPerIP wraps ln so that one remote address holds at most n
// connections at once; a connection beyond that is closed as soon as it is
// accepted. Deadlines (NewHTTPServer, WithBodyTimeout) bound how long each
// may last; this bounds how many.
func LimitConnsPerIP(ln net.Listener, n int) net.Listener {
	return &ipLimitListener{Listener: ln, max: n, open: map[netip.Addr]int{}}
}

type ipLimitListener struct {
	net.Listener
	max int

	mu   sync.Mutex // guards open
	open map[netip.Addr]int
}

func (l *ipLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		l.mu.Lock()
		ok := l.open[ip] < l.max
		if ok {
			l.open[ip]++
		}
		l.mu.Unlock()
		if !ok {
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *ipLimitListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

func remoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{} // not TCP: all such connections share one count
}

// limitedConn gives its slot back once, on the first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
