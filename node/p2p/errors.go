package p2p

import "errors"

var (
	// ErrBadSwarmKey: the swarm key file is not a private-network v1 key.
	ErrBadSwarmKey = errors.New("not a swarm key (want /key/swarm/psk/1.0.0/ format)")
	// ErrExists: a file that must not be overwritten already exists.
	ErrExists = errors.New("file exists")
	// ErrBadAllowList: a line of the allow-peers file is not a peer id.
	ErrBadAllowList = errors.New("bad allow-peers file")
	// ErrNoListenAddrs: nothing is left to listen on (e.g. QUIC only with a swarm key).
	ErrNoListenAddrs = errors.New("no usable listen address")
)
