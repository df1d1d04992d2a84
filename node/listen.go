package node

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/multiformats/go-multiaddr"
)

// ErrPortInUse means a libp2p listen address is taken.
var ErrPortInUse = errors.New("libp2p port in use")

// checkListen binds each fixed TCP port of the --listen addresses for
// a moment, so a taken one is a clear error before the host starts: libp2p
// reports bind failures as text only, and a host that fails to listen leaves
// some of its goroutines behind. (A port taken between this check and the
// host's own bind still fails the start, with libp2p's error.)
func checkListen(addrs []string) error {
	for _, s := range addrs {
		ma, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			continue // the config validated them; libp2p reports anything else
		}
		ip, err := ma.ValueForProtocol(multiaddr.P_IP4)
		if err != nil {
			if ip, err = ma.ValueForProtocol(multiaddr.P_IP6); err != nil {
				continue
			}
		}
		if port, err := ma.ValueForProtocol(multiaddr.P_TCP); err == nil && port != "0" {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, port))
			if err != nil {
				return listenError(s, err)
			}
			l.Close()
		}
	}
	return nil
}

func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w: %s: another program, maybe another node, holds the port; choose a free one with --listen", ErrPortInUse, addr)
	}
	return fmt.Errorf("listen on %s: %w", addr, err)
}
