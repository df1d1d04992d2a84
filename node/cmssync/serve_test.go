package cmssync

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// requestFrame is one frame carrying req, valid or not.
func requestFrame(t testing.TB, req *protocol.CMSSyncRequest) []byte {
	t.Helper()
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return append(prefix(len(b)), b...)
}

// readAll reads record frames until the stream ends; err is nil on a clean end.
func readAll(str network.Stream) ([][]byte, error) {
	var envs [][]byte
	for {
		env, err := protocol.ReadCMSSyncRecord(str)
		if errors.Is(err, io.EOF) {
			return envs, nil
		}
		if err != nil {
			return envs, err
		}
		envs = append(envs, env)
	}
}

// ask opens a stream from h to p, writes a request and reads to the end. A
// refusal may show at any step: the reset can overtake the negotiation.
func ask(t testing.TB, h host.Host, p peer.ID) error {
	ctx, cancel := context.WithTimeout(t.Context(), p2ptest.ConnectTimeout)
	defer cancel()
	str, err := h.NewStream(ctx, p, protocol.CMSSyncProtocol)
	if err != nil {
		return err
	}
	defer func() { _ = str.Reset() }()
	if _, err := str.Write(requestFrame(t, &protocol.CMSSyncRequest{MaxRecords: 1})); err != nil {
		return err
	}
	_ = str.CloseWrite()
	_, err = readAll(str)
	return err
}

// A hostile or broken asker gets nothing and holds nothing: its stream is
// reset, the serve is counted by what went wrong, and its slot is free again.
func TestServeHostileAskers(t *testing.T) {
	server := p2ptest.NewHost(t)
	asker := p2ptest.NewHost(t)
	p2ptest.Connect(t, asker, server)
	src := fixedSource{[]byte("one"), []byte("two")}
	tests := []struct {
		name   string
		opts   []Option
		send   func(t *testing.T, str network.Stream)
		result string
		want   int // records the asker reads before a clean end; -1: a reset
	}{
		{name: "well-formed", result: resultOK, want: 2, send: func(t *testing.T, str network.Stream) {
			_, _ = str.Write(requestFrame(t, &protocol.CMSSyncRequest{MaxRecords: 5}))
			_ = str.CloseWrite()
		}},
		{name: "oversize request", result: resultBadRequest, want: -1, send: func(_ *testing.T, str network.Stream) {
			_, _ = str.Write(append(prefix(protocol.MaxCMSSyncRequestBytes+1), 1, 2, 3))
		}},
		{name: "garbage bytes", result: resultBadRequest, want: -1, send: func(_ *testing.T, str network.Stream) {
			_, _ = str.Write([]byte{0x04, 0xde, 0xad, 0xbe, 0xef})
		}},
		{name: "no max records", result: resultBadRequest, want: -1, send: func(t *testing.T, str network.Stream) {
			_, _ = str.Write(requestFrame(t, &protocol.CMSSyncRequest{}))
		}},
		{name: "held peer not a peer id", result: resultBadRequest, want: -1, send: func(t *testing.T, str network.Stream) {
			_, _ = str.Write(requestFrame(t, &protocol.CMSSyncRequest{
				Held: []*protocol.CMSHeld{{Peer: []byte("nope"), Seq: 1}}, MaxRecords: 1,
			}))
		}},
		{name: "a request cut short", result: resultBadRequest, want: -1, send: func(_ *testing.T, str network.Stream) {
			_, _ = str.Write(append(prefix(10), 1, 2))
			_ = str.CloseWrite()
		}},
		{name: "closes before a request", result: resultError, want: -1, send: func(_ *testing.T, str network.Stream) {
			_ = str.CloseWrite()
		}},
		{
			name: "a request that never arrives ends at the serve's deadline", result: resultError, want: -1,
			opts: []Option{WithServeTimeout(200 * time.Millisecond)},
			send: func(*testing.T, network.Stream) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(t, server, tt.opts...)
			svc.Serve(src)
			str := openStream(t, asker, server.ID())
			tt.send(t, str)
			envs, err := readAll(str)
			switch {
			case tt.want < 0 && err == nil:
				t.Errorf("asker read %d records and a clean end, want a reset", len(envs))
			case tt.want >= 0 && (err != nil || len(envs) != tt.want):
				t.Errorf("asker read %d records, %v; want %d and a clean end", len(envs), err, tt.want)
			}
			p2ptest.Eventually(t, func() bool { return served(t, svc, tt.result) == 1 }, p2ptest.Patience)
			p2ptest.Eventually(t, func() bool { _, n := svc.serves(asker.ID()); return n == 0 }, p2ptest.Patience)
			_ = svc.Close()
		})
	}
}

// Past one serve per peer, or past the global cap, a stream is reset at once
// and counted as refused; the serve already under way still gets its answer.
func TestServeRefusesPastItsLimits(t *testing.T) {
	server := p2ptest.NewHost(t)
	first, second := p2ptest.NewHost(t), p2ptest.NewHost(t)
	p2ptest.Connect(t, first, server)
	p2ptest.Connect(t, second, server)
	tests := []struct {
		name string
		opts []Option
		then host.Host // whose second stream is refused
	}{
		{"a second stream from the same peer", nil, first},
		{"a stream past the global cap", []Option{WithMaxServes(1)}, second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(t, server, tt.opts...)
			svc.Serve(fixedSource{[]byte("one")})
			held := openStream(t, first, server.ID())
			p2ptest.Eventually(t, func() bool { ok, _ := svc.serves(first.ID()); return ok }, p2ptest.Patience)

			if err := ask(t, tt.then, server.ID()); err == nil {
				t.Error("refused asker read a clean end, want a reset")
			}
			p2ptest.Eventually(t, func() bool { return served(t, svc, resultRefused) == 1 }, p2ptest.Patience)

			if _, err := held.Write(requestFrame(t, &protocol.CMSSyncRequest{MaxRecords: 1})); err != nil {
				t.Fatal(err)
			}
			_ = held.CloseWrite()
			if envs, err := readAll(held); err != nil || len(envs) != 1 {
				t.Errorf("the serve under way answered %d records, %v; want 1 and a clean end", len(envs), err)
			}
			_ = svc.Close()
		})
	}
}
