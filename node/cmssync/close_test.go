package cmssync

import (
	"errors"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// Close ends what is under way, on either side, and waits for it; after it
// the service pulls and serves nothing.
func TestCloseEndsWhatIsUnderWay(t *testing.T) {
	server := p2ptest.NewHost(t)
	asker := p2ptest.NewHost(t)
	p2ptest.Connect(t, asker, server)

	t.Run("a serve whose request never arrives", func(t *testing.T) {
		svc := newService(t, server) // the default serve timeout: only Close ends it
		svc.Serve(fixedSource{[]byte("one")})
		str := openStream(t, asker, server.ID())
		p2ptest.Eventually(t, func() bool { ok, _ := svc.serves(asker.ID()); return ok }, p2ptest.Patience)
		if err := svc.Close(); err != nil {
			t.Fatal(err)
		}
		if _, n := svc.serves(asker.ID()); n != 0 {
			t.Errorf("%d serves under way after Close", n)
		}
		if envs, err := readAll(str); err == nil {
			t.Errorf("asker read %d records and a clean end, want a reset", len(envs))
		}
		if err := svc.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})

	t.Run("a pull the server never answers", func(t *testing.T) {
		started := make(chan struct{})
		handled := make(chan struct{})
		server.SetStreamHandler(protocol.CMSSyncProtocol, func(str network.Stream) {
			close(started)
			defer close(handled)
			_, _ = readAll(str) // until the asker's Close resets the stream
		})
		defer server.RemoveStreamHandler(protocol.CMSSyncProtocol)
		svc := newService(t, asker, WithPullTimeout(p2ptest.Patience)) // only Close ends it
		type result struct {
			envs [][]byte
			err  error
		}
		res := make(chan result, 1)
		go func() {
			envs, err := svc.Pull(t.Context(), server.ID(), nil, 1)
			res <- result{envs, err}
		}()
		select {
		case <-started: // the pull is under way
		case r := <-res:
			t.Fatalf("pull ended before the server saw it: %d records, %v", len(r.envs), r.err)
		}
		if err := svc.Close(); err != nil {
			t.Fatal(err)
		}
		r := <-res // Close waited for it
		if r.err == nil || len(r.envs) != 0 {
			t.Errorf("pull ended by Close = %d records, %v; want none and an error", len(r.envs), r.err)
		}
		<-handled
	})

	t.Run("after Close", func(t *testing.T) {
		svc := newService(t, asker)
		_ = svc.Close()
		if _, err := svc.Pull(t.Context(), server.ID(), nil, 1); !errors.Is(err, ErrClosed) {
			t.Errorf("pull after Close: %v, want ErrClosed", err)
		}
		svc.Serve(fixedSource{[]byte("one")})
		for _, p := range asker.Mux().Protocols() {
			if p == protocol.CMSSyncProtocol {
				t.Error("Serve after Close registered the handler")
			}
		}
	})
}
