package collab

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

// answerFunc adapts a function to Answerer for one-off behaviours.
type answerFunc func(context.Context, *protocol.AskRequest) *protocol.AskResponse

func (f answerFunc) Answer(ctx context.Context, req *protocol.AskRequest) *protocol.AskResponse {
	return f(ctx, req)
}

func TestAsk(t *testing.T) {
	asker := newNode(t, nodeOpts{})
	good := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.8}})
	down := newNode(t, nodeOpts{local: answerFunc(func(context.Context, *protocol.AskRequest) *protocol.AskResponse {
		return &protocol.AskResponse{ErrorCode: protocol.ErrorCode_BACKEND_DOWN, ErrorMessage: "ollama unreachable"}
	})})
	liar := p2ptest.NewHost(t)
	rawAskHandler(liar, func(req *protocol.AskRequest) *protocol.AskResponse {
		return &protocol.AskResponse{QueryId: protocol.NewID(), Model: "m", Answer: "x", Confidence: 1}
	})
	p2ptest.Connect(t, asker.h, good.h)
	p2ptest.Connect(t, asker.h, down.h)
	p2ptest.Connect(t, asker.h, liar)

	tests := []struct {
		name     string
		to       peer.ID
		req      func() *protocol.AskRequest
		wantErr  error
		wantCode protocol.ErrorCode
		check    func(t *testing.T, req *protocol.AskRequest, resp *protocol.AskResponse)
	}{
		{name: "answer", to: good.id(), req: func() *protocol.AskRequest { return newRequest("r-1", time.Now().Add(5*time.Second)) },
			check: func(t *testing.T, req *protocol.AskRequest, resp *protocol.AskResponse) {
				if resp.GetAnswer() != "Paris" || resp.GetQueryId() != req.GetQueryId() || resp.GetLatencyMs() <= 0 {
					t.Errorf("response %v for query %s", resp, req.GetQueryId())
				}
				// The answer is remembered for the asker's round, to vote on later.
				own, why := good.c.answers.claim(asker.id(), "r-1", protocol.QueryDigest(req.GetMessages()), time.Now())
				if why != "" || own.Answer != "Paris" || own.Peer != good.id().String() {
					t.Errorf("remembered %+v (%s)", own, why)
				}
			}},
		{name: "refused", to: down.id(), req: func() *protocol.AskRequest { return newRequest("", time.Now().Add(5*time.Second)) },
			wantErr: ErrRefused, wantCode: protocol.ErrorCode_BACKEND_DOWN},
		{name: "another query", to: liar.ID(), req: func() *protocol.AskRequest { return newRequest("", time.Now().Add(5*time.Second)) },
			wantErr: ErrQueryMismatch},
		{name: "invalid request", to: good.id(), req: func() *protocol.AskRequest {
			r := newRequest("", time.Now().Add(5*time.Second))
			r.Messages = nil
			return r
		}, wantErr: protocol.ErrMalformed},
		{name: "unknown peer", to: p2ptest.NewHost(t).ID(), req: func() *protocol.AskRequest { return newRequest("", time.Now().Add(time.Second)) },
			wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req()
			resp, err := asker.c.Ask(context.Background(), tt.to, req)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Ask: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("Ask error %v, want %v", err, tt.wantErr)
			}
			if tt.wantCode != protocol.ErrorCode_OK && resp.GetErrorCode() != tt.wantCode {
				t.Errorf("code %s, want %s", resp.GetErrorCode(), tt.wantCode)
			}
			if tt.check != nil {
				tt.check(t, req, resp)
			}
		})
	}
}

// errAny marks a case where any error will do (it depends on the dialer).
var errAny = errors.New("any error")

func TestAskBadInput(t *testing.T) {
	srv := newNode(t, nodeOpts{})
	client := p2ptest.NewHost(t)
	p2ptest.Connect(t, client, srv.h)

	frame := func(body []byte) []byte { return append(protowire.AppendVarint(nil, uint64(len(body))), body...) }
	encode := func(req *protocol.AskRequest) []byte {
		var b strings.Builder
		if err := protocol.WriteMsg(&b, req, protocol.MaxAskRequestBytes); err != nil {
			t.Fatal(err)
		}
		return []byte(b.String())
	}
	valid := newRequest("", time.Now().Add(5*time.Second))
	expired := newRequest("", time.Now().Add(-time.Minute))
	farAhead := newRequest("", time.Now().Add(time.Hour))
	tests := []struct {
		name  string
		bytes []byte
		want  protocol.ErrorCode
		query string // query id the response must echo ("" = none)
	}{
		{"empty stream", nil, protocol.ErrorCode_BAD_REQUEST, ""},
		{"garbage", []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01garbage"), protocol.ErrorCode_BAD_REQUEST, ""},
		{"undecodable body", frame([]byte{0xff, 0xff, 0xff, 0xff}), protocol.ErrorCode_BAD_REQUEST, ""},
		{"truncated frame", frame(encode(valid))[:20], protocol.ErrorCode_BAD_REQUEST, ""},
		{"oversize frame", append(protowire.AppendVarint(nil, protocol.MaxAskRequestBytes+1), make([]byte, 4096)...), protocol.ErrorCode_BAD_REQUEST, ""},
		{"invalid request", encode(&protocol.AskRequest{QueryId: "q", DeadlineUnixMs: valid.DeadlineUnixMs}), protocol.ErrorCode_BAD_REQUEST, ""},
		{"expired deadline", encode(expired), protocol.ErrorCode_DEADLINE, expired.QueryId},
		{"deadline too far ahead", encode(farAhead), protocol.ErrorCode_BAD_REQUEST, farAhead.QueryId},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := client.NewStream(ctx, srv.id(), protocol.AskProtocol)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_ = s.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := s.Write(tt.bytes); err != nil {
				t.Fatal(err)
			}
			_ = s.CloseWrite()
			resp, err := protocol.ReadAskResponse(s)
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			if resp.GetErrorCode() != tt.want || resp.GetQueryId() != tt.query || resp.GetErrorMessage() == "" {
				t.Errorf("response %v, want code %s for query %q with a message", resp, tt.want, tt.query)
			}
		})
	}
	// The handler survived all of it.
	asker := newNode(t, nodeOpts{})
	p2ptest.Connect(t, asker.h, srv.h)
	if _, err := asker.c.Ask(context.Background(), srv.id(), newRequest("", time.Now().Add(5*time.Second))); err != nil {
		t.Fatalf("good ask after bad input: %v", err)
	}
	if got := counter(t, srv, "asks", "bad_request"); got != 7 {
		t.Errorf("asks_total{result=bad_request} = %v, want 7", got)
	}
	if srv.ans.calls.Load() != 1 {
		t.Errorf("the model was called %d times, want once (bad input never reaches it)", srv.ans.calls.Load())
	}
}

func TestAskLocalFailures(t *testing.T) {
	tests := []struct {
		name   string
		answer answerFunc
		want   protocol.ErrorCode
	}{
		{"nil response", func(context.Context, *protocol.AskRequest) *protocol.AskResponse { return nil }, protocol.ErrorCode_INTERNAL},
		{"invalid response", func(context.Context, *protocol.AskRequest) *protocol.AskResponse {
			return &protocol.AskResponse{Model: "m", Answer: "x", Confidence: 2}
		}, protocol.ErrorCode_INTERNAL},
		{"gave up at the deadline", func(ctx context.Context, _ *protocol.AskRequest) *protocol.AskResponse {
			<-ctx.Done()
			return &protocol.AskResponse{ErrorCode: protocol.ErrorCode_INTERNAL, ErrorMessage: "cancelled"}
		}, protocol.ErrorCode_DEADLINE},
	}
	asker := newNode(t, nodeOpts{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newNode(t, nodeOpts{local: tt.answer})
			p2ptest.Connect(t, asker.h, srv.h)
			// The server's deadline is the request's; the asker waits a little longer to see the code.
			req := newRequest("r", time.Now().Add(300*time.Millisecond))
			resp, err := askRaw(t, asker, srv.id(), req, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetErrorCode() != tt.want {
				t.Errorf("code %s (%s), want %s", resp.GetErrorCode(), resp.GetErrorMessage(), tt.want)
			}
			if _, why := srv.c.answers.claim(asker.id(), "r", protocol.QueryDigest(req.Messages), time.Now()); why != voteNoAnswer {
				t.Errorf("a failed answer was remembered for voting (%q)", why)
			}
		})
	}
}

// askRaw asks over a stream whose deadline is wait, not the request's, so a
// test can read what the server sends after the request's deadline.
func askRaw(t *testing.T, from *testNode, to peer.ID, req *protocol.AskRequest, wait time.Duration) (*protocol.AskResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := from.h.NewStream(ctx, to, protocol.AskProtocol)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(wait))
	if err := protocol.WriteAskRequest(s, req); err != nil {
		return nil, err
	}
	_ = s.CloseWrite()
	return protocol.ReadAskResponse(s)
}

func TestAskBusy(t *testing.T) {
	started := make(chan struct{}, 2)
	srv := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.9, delay: 500 * time.Millisecond, started: started},
		opts: []Option{WithMaxConcurrent(1)}})
	asker := newNode(t, nodeOpts{})
	p2ptest.Connect(t, asker.h, srv.h)

	first := make(chan error, 1)
	go func() {
		_, err := asker.c.Ask(context.Background(), srv.id(), newRequest("", time.Now().Add(5*time.Second)))
		first <- err
	}()
	<-started
	start := time.Now()
	resp, err := asker.c.Ask(context.Background(), srv.id(), newRequest("", time.Now().Add(5*time.Second)))
	if !errors.Is(err, ErrRefused) || resp.GetErrorCode() != protocol.ErrorCode_BUSY {
		t.Fatalf("second ask: %v (%v), want BUSY", err, resp)
	}
	if waited := time.Since(start); waited > 250*time.Millisecond {
		t.Errorf("BUSY took %s: it must come at once, not after the running answer", waited)
	}
	if err := <-first; err != nil {
		t.Fatalf("first ask: %v", err)
	}
	if got := counter(t, srv, "asks", "busy"); got != 1 {
		t.Errorf("asks_total{result=busy} = %v", got)
	}
}

func TestAskDeadline(t *testing.T) {
	srv := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "late", confidence: 0.9, delay: 10 * time.Second}})
	asker := newNode(t, nodeOpts{})
	p2ptest.Connect(t, asker.h, srv.h)
	start := time.Now()
	resp, err := asker.c.Ask(context.Background(), srv.id(), newRequest("", start.Add(200*time.Millisecond)))
	// Both sides keep the same deadline: whichever notices first ends the ask.
	if !errors.Is(err, context.DeadlineExceeded) && resp.GetErrorCode() != protocol.ErrorCode_DEADLINE {
		t.Fatalf("Ask: %v, want the deadline", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("Ask returned %s after a 200 ms deadline", waited)
	}
	// The server's model was cut off at the same deadline, not after 10 s.
	p2ptest.Eventually(t, func() bool {
		return counter(t, srv, "asks", "deadline")+counter(t, srv, "asks", resultStreamError) == 1
	}, 5*time.Second)
}

// TestAskAllInParallel: peers are asked in parallel, so the collaboration
// takes as long as the slowest peer, not the sum. Each peer answers only once
// all have started: asked one after another, the first would wait for the
// others until the deadline. (What parallel asking costs in wall time is
// BenchmarkAskAll's figure, not a bound here.)
func TestAskAllInParallel(t *testing.T) {
	const n = 3
	var started atomic.Int32
	all := make(chan struct{})
	barrier := answerFunc(func(ctx context.Context, _ *protocol.AskRequest) *protocol.AskResponse {
		if started.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
			return &protocol.AskResponse{Model: "fake:1", Answer: "Paris", Confidence: 0.9}
		case <-ctx.Done():
			return &protocol.AskResponse{ErrorCode: protocol.ErrorCode_DEADLINE, ErrorMessage: ctx.Err().Error()}
		}
	})
	asker := newNode(t, nodeOpts{})
	var peers []peer.ID
	for range n {
		p := newNode(t, nodeOpts{local: barrier})
		p2ptest.Connect(t, asker.h, p.h)
		peers = append(peers, p.id())
	}
	refusing := newNode(t, nodeOpts{local: answerFunc(func(context.Context, *protocol.AskRequest) *protocol.AskResponse {
		return &protocol.AskResponse{ErrorCode: protocol.ErrorCode_BACKEND_DOWN, ErrorMessage: "down"}
	})})
	p2ptest.Connect(t, asker.h, refusing.h)
	peers = append(peers, refusing.id())

	props := asker.c.AskAll(context.Background(), peers, newRequest("r", time.Now().Add(5*time.Second)))
	for i, p := range props[:n] {
		if p.Err != "" || p.Answer != "Paris" || p.Peer != peers[i].String() {
			t.Errorf("proposal %d: %+v, want Paris (an error here means the asks ran one after another)", i, p)
		}
	}
	// Its refusal, or, when the three agreeing answers came first, the cut
	// of a straggler (router.EnoughProposals).
	if p := props[n]; !strings.Contains(p.Err, "BACKEND_DOWN") && !strings.Contains(p.Err, context.Canceled.Error()) {
		t.Errorf("refusing peer's proposal %+v, want its error", p)
	}
}

// TestAskAllPeerDies: a peer whose host closes while it answers yields an
// error proposal as soon as its connection drops, and the others answer.
func TestAskAllPeerDies(t *testing.T) {
	started := make(chan struct{}, 1)
	asker := newNode(t, nodeOpts{})
	alive := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "Paris", confidence: 0.9, delay: 100 * time.Millisecond}})
	dying := newNode(t, nodeOpts{ans: &fakeAnswerer{answer: "never", confidence: 0.9, delay: time.Minute, started: started}})
	p2ptest.Connect(t, asker.h, alive.h)
	p2ptest.Connect(t, asker.h, dying.h)

	go func() {
		<-started
		_ = dying.h.Close()
	}()
	start := time.Now()
	props := asker.c.AskAll(context.Background(), []peer.ID{alive.id(), dying.id()}, newRequest("r", start.Add(10*time.Second)))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("AskAll took %s with a dead peer: it must not wait for the 10 s deadline", took)
	}
	if props[0].Err != "" || props[0].Answer != "Paris" {
		t.Errorf("live peer: %+v", props[0])
	}
	if props[1].Err == "" {
		t.Errorf("dead peer: %+v, want an error", props[1])
	}
}

func TestAskAfterClose(t *testing.T) {
	n := newNode(t, nodeOpts{})
	other := newNode(t, nodeOpts{})
	if err := n.c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := n.c.Ask(context.Background(), other.id(), newRequest("", time.Now().Add(time.Second))); !errors.Is(err, ErrClosed) {
		t.Errorf("Ask after Close: %v", err)
	}
	props := n.c.AskAll(context.Background(), []peer.ID{other.id()}, newRequest("", time.Now().Add(time.Second)))
	if !strings.Contains(props[0].Err, ErrClosed.Error()) {
		t.Errorf("AskAll after Close: %+v", props[0])
	}
	if _, err := n.c.RunRound(context.Background(), RoundSpec{}); !errors.Is(err, ErrClosed) {
		t.Errorf("RunRound after Close: %v", err)
	}
	// A stream to a closed Collab is refused, and another one can take its place on the same host.
	c2, err := New(n.h, n.ps, n.ans)
	if err != nil {
		t.Fatalf("New after Close on the same host and pubsub: %v", err)
	}
	_ = c2.Close()
}

// Collab registers nothing itself; its collectors register as one set (the
// node does it) and carry the counters the tests read.
func TestCollectors(t *testing.T) {
	n := newNode(t, nodeOpts{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(n.c.Collectors()...)
	n.c.m.asks.WithLabelValues("ok").Inc()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "swarmllm_collab_asks_total" {
			return
		}
	}
	t.Fatalf("swarmllm_collab_asks_total not gathered from %d families", len(mfs))
}
