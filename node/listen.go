package node

import "strings"

// listenHint says what to do when the libp2p host cannot listen. libp2p
// reports bind failures as text only (swarm: "failed to listen on any
// addresses: [...]"), so the text is what there is to read.
func listenHint(err error) string {
	if strings.Contains(err.Error(), "address already in use") {
		return " (another program, maybe another node, holds the port: choose a free one with --listen)"
	}
	return ""
}
