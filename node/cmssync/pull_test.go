package cmssync

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// A peer pulls from a real store exactly the records it lacks: those it
// does not hold and those it holds with a lower seq, the server's own
// first, at most as many as it asked for.
func TestPullGetsWhatItLacks(t *testing.T) {
	a, b, c := newStoreNode(t), newStoreNode(t), newStoreNode(t)
	p2ptest.Connect(t, b.h, a.h)
	p2ptest.Connect(t, c.h, a.h)
	A, B, C := a.h.ID(), b.h.ID(), c.h.ID()
	// A learns B's and C's records, by gossip or by pulling them.
	p2ptest.Eventually(t, func() bool { return a.store.Self() != nil && len(a.store.Records()) == 2 }, p2ptest.Patience)
	seq := map[peer.ID]uint64{A: a.store.Self().Seq()}
	for _, r := range a.store.Records() {
		seq[r.Peer] = r.Seq()
	}
	if seq[B] == 0 || seq[C] == 0 {
		t.Fatalf("A holds %v, want B's and C's records", seq)
	}

	asker := p2ptest.NewHost(t)
	p2ptest.Connect(t, asker, a.h)
	svc := newService(t, asker)
	tests := []struct {
		name string
		held []cms.Held
		most int
		want []peer.ID
	}{
		{"holds nothing", nil, protocol.MaxSyncRecords, []peer.ID{A, B, C}},
		{"holds one at its seq", []cms.Held{{Peer: B, Seq: seq[B]}}, protocol.MaxSyncRecords, []peer.ID{A, C}},
		{"holds one at a lower seq", []cms.Held{{Peer: B, Seq: seq[B] - 1}}, protocol.MaxSyncRecords, []peer.ID{A, B, C}},
		{"holds one at a higher seq", []cms.Held{{Peer: B, Seq: seq[B] + 1}}, protocol.MaxSyncRecords, []peer.ID{A, C}},
		{"holds the server's own", []cms.Held{{Peer: A, Seq: seq[A]}}, protocol.MaxSyncRecords, []peer.ID{B, C}},
		{"holds all", []cms.Held{{Peer: A, Seq: seq[A]}, {Peer: B, Seq: seq[B]}, {Peer: C, Seq: seq[C]}}, protocol.MaxSyncRecords, nil},
		{"at most one", nil, 1, []peer.ID{A}},
		{"at most none counts as one", nil, 0, []peer.ID{A}},
		{"more than the cap counts as the cap", nil, protocol.MaxSyncRecords + 1, []peer.ID{A, B, C}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envs, err := svc.Pull(t.Context(), A, tt.held, tt.most)
			if err != nil {
				t.Fatalf("pull: %v", err)
			}
			var got []peer.ID
			for _, env := range envs {
				r, err := cms.Open(env, time.Now())
				if err != nil {
					t.Fatalf("pulled record does not open: %v", err)
				}
				got = append(got, r.Peer)
			}
			if slices.Contains(tt.want, A) && (len(got) == 0 || got[0] != A) {
				t.Errorf("pulled %v, want the server's own record first", got)
			}
			slices.Sort(got) // past the server's own, the cache's order is its own
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("pulled %v, want %v", got, want)
			}
		})
	}
}

// A server that misbehaves never makes Pull panic or hang: Pull returns the
// records that came before the fault, with an error naming it.
func TestPullFromHostileServers(t *testing.T) {
	server := p2ptest.NewHost(t)
	asker := p2ptest.NewHost(t)
	p2ptest.Connect(t, asker, server)
	errAny := errors.New("any error")
	tests := []struct {
		name    string
		opts    []Option
		timeout time.Duration // of the pull's context; 0: none
		hangs   bool          // the server never answers
		serve   func(t *testing.T, str network.Stream, done <-chan struct{})
		want    int
		wantErr error // nil: none; errAny: any
	}{
		{name: "honest, nothing missing", serve: func(*testing.T, network.Stream, <-chan struct{}) {}},
		{name: "honest, two records", want: 2, serve: writeFrames("one", "two")},
		{name: "more than asked for", want: 2, wantErr: ErrTooManyRecords, serve: writeFrames("one", "two", "three")},
		{name: "a frame over the cap", want: 1, wantErr: protocol.ErrTooLarge, serve: func(t *testing.T, str network.Stream, _ <-chan struct{}) {
			_, _ = str.Write(append(recordFrame(t, []byte("one")), prefix(protocol.MaxCMSSyncRecordBytes+1)...))
		}},
		{name: "garbage", want: 1, wantErr: protocol.ErrMalformed, serve: func(t *testing.T, str network.Stream, _ <-chan struct{}) {
			_, _ = str.Write(append(recordFrame(t, []byte("one")), 0x04, 0xde, 0xad, 0xbe, 0xef))
		}},
		{name: "an empty envelope", wantErr: protocol.ErrMalformed, serve: func(_ *testing.T, str network.Stream, _ <-chan struct{}) {
			_, _ = str.Write(prefix(0))
		}},
		{name: "a frame cut short", want: 1, wantErr: io.ErrUnexpectedEOF, serve: func(t *testing.T, str network.Stream, _ <-chan struct{}) {
			_, _ = str.Write(append(recordFrame(t, []byte("one")), append(prefix(10), 1, 2, 3)...))
		}},
		{name: "resets", wantErr: errAny, serve: func(_ *testing.T, str network.Stream, _ <-chan struct{}) { _ = str.Reset() }},
		{name: "never answers: the context's deadline ends it", timeout: 200 * time.Millisecond, hangs: true, wantErr: errAny, serve: hang},
		{name: "never answers: the pull timeout ends it", opts: []Option{WithPullTimeout(200 * time.Millisecond)}, hangs: true, wantErr: errAny, serve: hang},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})    // the pull returned
			started := make(chan struct{}) // the server's handler runs
			handled := make(chan struct{}) // and returned
			var reqErr error               // the handler's, before handled
			server.SetStreamHandler(protocol.CMSSyncProtocol, func(str network.Stream) {
				close(started)
				defer close(handled)
				if _, reqErr = protocol.ReadCMSSyncRequest(str); reqErr != nil {
					_ = str.Reset()
					return
				}
				tt.serve(t, str, done)
				_ = str.Close()
			})
			defer server.RemoveStreamHandler(protocol.CMSSyncProtocol)
			svc := newService(t, asker, tt.opts...)
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			envs, err := svc.Pull(ctx, server.ID(), nil, 2)
			close(done)
			if tt.hangs {
				// The pull may end before the server saw its stream; a
				// handler that starts later finds it reset and returns.
				select {
				case <-started:
					<-handled
				default:
				}
			} else if <-handled; reqErr != nil {
				t.Errorf("server reads the request: %v", reqErr)
			}
			if len(envs) != tt.want {
				t.Errorf("pulled %d records (%q), want %d", len(envs), envs, tt.want)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("pull: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Errorf("pull: error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// writeFrames has a server send one well-formed record frame per envelope.
func writeFrames(envs ...string) func(*testing.T, network.Stream, <-chan struct{}) {
	return func(t *testing.T, str network.Stream, _ <-chan struct{}) {
		for _, env := range envs {
			if _, err := str.Write(recordFrame(t, []byte(env))); err != nil {
				t.Errorf("write frame: %v", err)
			}
		}
	}
}

// hang has a server answer nothing until the pull has returned.
func hang(_ *testing.T, _ network.Stream, done <-chan struct{}) { <-done }

// Bad input is refused before any stream opens.
func TestPullRefusesBadInput(t *testing.T) {
	server := p2ptest.NewHost(t)
	asker := p2ptest.NewHost(t)
	p2ptest.Connect(t, asker, server)
	opened := make(chan struct{}, 1)
	server.SetStreamHandler(protocol.CMSSyncProtocol, func(str network.Stream) {
		opened <- struct{}{}
		_ = str.Reset()
	})
	svc := newService(t, asker)
	envs, err := svc.Pull(t.Context(), server.ID(), []cms.Held{{Peer: "not a peer id", Seq: 1}}, 1)
	if !errors.Is(err, protocol.ErrMalformed) || envs != nil {
		t.Errorf("pull holding a bad peer id = %v, %v; want no records and a malformed error", envs, err)
	}
	select {
	case <-opened:
		t.Error("a stream was opened for a bad request")
	default:
	}
}

// Wired as the node wires it, a newcomer pulls the swarm's records from the
// first member it meets: nobody re-announces for it.
func TestNewcomerPullsFromTheMemberItMeets(t *testing.T) {
	a, b, c := newStoreNode(t), newStoreNode(t), newStoreNode(t)
	p2ptest.Connect(t, b.h, a.h)
	p2ptest.Connect(t, c.h, a.h)
	p2ptest.Eventually(t, func() bool { return a.store.Self() != nil && len(a.store.Records()) == 2 }, p2ptest.Patience)

	n := newStoreNode(t)
	p2ptest.Connect(t, n.h, a.h)
	p2ptest.Eventually(t, func() bool { return served(t, a.svc, resultOK) >= 1 }, p2ptest.Patience)
	p2ptest.Eventually(t, func() bool { return len(n.store.Records()) == 3 }, p2ptest.Patience)
}
