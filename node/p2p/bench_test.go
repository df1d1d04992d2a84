package p2p

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/pnet"

	"github.com/swarmllm/swarmllm/protocol"
)

// BenchmarkPrivateSwarmCost measures what a swarm key costs on loopback:
// the connection handshake, a new stream's round trip and a reused
// stream's, open swarm against private (PSK over TCP; both TCP here, so
// only the key differs).
func BenchmarkPrivateSwarmCost(b *testing.B) {
	for _, kind := range []string{"open", "private"} {
		var psk pnet.PSK
		if kind == "private" {
			psk = newKey(b)
		}
		echo := func(s network.Stream) {
			defer s.Close()
			_, _ = io.Copy(s, s)
		}
		b.Run(kind+"/connect", func(b *testing.B) {
			srv := newHost(b, psk, nil)
			for b.Loop() {
				b.StopTimer()
				cli := newHost(b, psk, nil)
				b.StartTimer()
				if err := connect(cli, srv); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = cli.Close()
				b.StartTimer()
			}
		})
		roundTrip := func(b *testing.B, reuse bool) {
			srv, cli := newHost(b, psk, nil), newHost(b, psk, nil)
			srv.SetStreamHandler(protocol.AskProtocol, echo)
			if err := connect(cli, srv); err != nil {
				b.Fatal(err)
			}
			msg, buf := make([]byte, 512), make([]byte, 512)
			open := func() network.Stream {
				s, err := cli.NewStream(context.Background(), srv.ID(), protocol.AskProtocol)
				if err != nil {
					b.Fatal(err)
				}
				return s
			}
			var s network.Stream
			if reuse {
				s = open()
				defer s.Close()
			}
			for b.Loop() {
				if !reuse {
					s = open()
				}
				if _, err := s.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(s, buf); err != nil {
					b.Fatal(err)
				}
				if !reuse {
					_ = s.Close()
				}
			}
		}
		for _, reuse := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/round-trip-512B/reused=%v", kind, reuse), func(b *testing.B) { roundTrip(b, reuse) })
		}
	}
}
