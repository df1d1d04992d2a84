package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/router"
)

// liveEngine streams its answer through the request's Sink: the first piece,
// then it waits until the test has read that piece off the wire (gate), then
// the rest, then returns. So a test that passes has seen the first chunk
// while the engine was still generating, with no clock involved.
type liveEngine struct {
	*fakeEngine
	pieces []string
	gate   chan struct{}
	text   string // the answer Ask returns ("" = the pieces joined)
	err    error  // returned after the pieces
}

func (e *liveEngine) Ask(ctx context.Context, req Request) (*Response, error) {
	if req.Sink == nil {
		return e.fakeEngine.Ask(ctx, req)
	}
	for i, p := range e.pieces {
		req.Sink(Piece{QueryID: "q-live", Route: router.RouteLocal, Model: "sim-geo:1b", Text: p})
		if i == 0 {
			select {
			case <-e.gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	if e.err != nil {
		return nil, e.err
	}
	resp := e.resp
	resp.Model, resp.Text = "sim-geo:1b", strings.Join(e.pieces, "")
	if e.text != "" {
		resp.Text = e.text
	}
	resp.Trace.Route = router.RouteLocal
	resp.Trace.Prefix = &router.PrefixInfo{Verdict: router.PrefixCommit, Tokens: 4, Text: e.pieces[0], Confidence: 0.93}
	return &resp, nil
}

func newLiveServer(t *testing.T, e *liveEngine) *httptest.Server {
	t.Helper()
	s, err := NewServer(e, WithLogger(slog.New(slog.DiscardHandler)), WithVersion("0.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return fixedTime }
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

// streamAPI is one streaming endpoint: how to ask it, and how to read the
// answer's text out of one of its frames.
type streamAPI struct {
	name, path, body string
	text             func(frame []byte) string
	// errFrame says whether a frame is an error frame.
	errFrame func(frame []byte) bool
	// done is the frame that ends a finished stream.
	done func(frame []byte) bool
}

func streamAPIs() []streamAPI {
	jsonText := func(f func(m map[string]any) string) func([]byte) string {
		return func(b []byte) string {
			var m map[string]any
			if json.Unmarshal(b, &m) != nil {
				return ""
			}
			return f(m)
		}
	}
	hasKey := func(key string) func([]byte) bool {
		return func(b []byte) bool {
			var m map[string]any
			return json.Unmarshal(b, &m) == nil && m[key] != nil
		}
	}
	return []streamAPI{
		{name: "openai", path: "/v1/chat/completions",
			body: `{"model":"swarm","stream":true,"messages":[{"role":"user","content":"capital of France?"}]}`,
			text: jsonText(func(m map[string]any) string {
				ch, _ := m["choices"].([]any)
				if len(ch) == 0 {
					return ""
				}
				d, _ := ch[0].(map[string]any)["delta"].(map[string]any)
				s, _ := d["content"].(string)
				return s
			}),
			errFrame: hasKey("error"),
			done:     func(b []byte) bool { return string(b) == "[DONE]" }},
		{name: "ollama chat", path: "/api/chat",
			body: `{"model":"swarm","messages":[{"role":"user","content":"capital of France?"}]}`,
			text: jsonText(func(m map[string]any) string {
				msg, _ := m["message"].(map[string]any)
				s, _ := msg["content"].(string)
				return s
			}),
			errFrame: hasKey("error"),
			done:     func(b []byte) bool { return hasKey("swarm")(b) && bytes.Contains(b, []byte(`"done":true`)) }},
		{name: "ollama generate", path: "/api/generate",
			body:     `{"model":"swarm","prompt":"capital of France?"}`,
			text:     jsonText(func(m map[string]any) string { s, _ := m["response"].(string); return s }),
			errFrame: hasKey("error"),
			done:     func(b []byte) bool { return hasKey("swarm")(b) && bytes.Contains(b, []byte(`"done":true`)) }},
		{name: "native", path: "/swarm/v1/ask",
			body:     `{"prompt":"capital of France?","stream":true}`,
			text:     jsonText(func(m map[string]any) string { s, _ := m["text"].(string); return s }),
			errFrame: hasKey("error"),
			done:     func(b []byte) bool { return hasKey("result")(b) && bytes.Contains(b, []byte(`"prefix"`)) }},
	}
}

// frameReader reads SSE "data:" lines or NDJSON lines, one frame at a time.
type frameReader struct{ r *bufio.Reader }

func (f frameReader) next() ([]byte, error) {
	for {
		line, err := f.r.ReadBytes('\n')
		line = bytes.TrimSpace(line)
		line = bytes.TrimPrefix(line, []byte("data: "))
		if len(line) > 0 {
			return line, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func openStream(t *testing.T, srv *httptest.Server, api streamAPI) (*http.Response, frameReader) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+api.path, strings.NewReader(api.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, frameReader{bufio.NewReader(resp.Body)}
}

// TestLiveStreamFirstChunkBeforeTheEnd: on every API, the first piece of a
// committed answer reaches the client while the engine is still generating,
// the rest follows, and the stream ends with the trace (with its prefix).
func TestLiveStreamFirstChunkBeforeTheEnd(t *testing.T) {
	for _, api := range streamAPIs() {
		t.Run(api.name, func(t *testing.T) {
			e := &liveEngine{fakeEngine: newFakeEngine(), pieces: []string{"Paris", " is", " the capital."}, gate: make(chan struct{})}
			srv := newLiveServer(t, e)
			resp, fr := openStream(t, srv, api)
			if resp.StatusCode != http.StatusOK || resp.Header.Get(HeaderRoute) != "local" {
				t.Fatalf("status %d, route %q: want 200 local", resp.StatusCode, resp.Header.Get(HeaderRoute))
			}
			var got strings.Builder
			for got.Len() == 0 {
				f, err := fr.next()
				if err != nil {
					t.Fatalf("stream ended before its first piece: %v", err)
				}
				got.WriteString(api.text(f))
			}
			if got.String() != "Paris" {
				t.Fatalf("first text %q, want %q", got.String(), "Paris")
			}
			close(e.gate) // only now may the engine finish
			var last []byte
			for {
				f, err := fr.next()
				if err != nil {
					break
				}
				got.WriteString(api.text(f))
				last = f
			}
			if got.String() != "Paris is the capital." {
				t.Errorf("streamed text %q, want the whole answer once", got.String())
			}
			if last == nil || !api.done(last) {
				t.Errorf("last frame %s: want the end of a finished stream", last)
			}
		})
	}
}

// TestLiveStreamErrorAfterFirstByte: once the first byte is out, a failure
// ends the stream with an error frame, never silently and never as if done.
func TestLiveStreamErrorAfterFirstByte(t *testing.T) {
	cases := []struct {
		name string
		err  error
		text string
		want string // in the error frame
	}{
		{"the engine fails", fmt.Errorf("vote: %w", ErrUnavailable), "", "no model can answer now"},
		{"the answer changes after it began", nil, "Lyon.", "changed after it began to stream"},
	}
	for _, api := range streamAPIs() {
		for _, tc := range cases {
			t.Run(api.name+"/"+tc.name, func(t *testing.T) {
				gate := make(chan struct{})
				close(gate)
				e := &liveEngine{fakeEngine: newFakeEngine(), pieces: []string{"Paris", " is"}, gate: gate, err: tc.err, text: tc.text}
				srv := newLiveServer(t, e)
				resp, fr := openStream(t, srv, api)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: want 200, the stream had begun", resp.StatusCode)
				}
				var frames [][]byte
				for {
					f, err := fr.next()
					if err != nil {
						break
					}
					frames = append(frames, f)
				}
				if len(frames) == 0 {
					t.Fatal("no frames")
				}
				last := frames[len(frames)-1]
				if !api.errFrame(last) || !strings.Contains(string(last), tc.want) {
					t.Errorf("last frame %s: want an error frame saying %q", last, tc.want)
				}
				for _, f := range frames {
					if api.done(f) {
						t.Errorf("frame %s says done on a failed stream", f)
					}
				}
			})
		}
	}
}

// TestLiveStreamErrorBeforeFirstByte: a failure before any text is a plain
// JSON error with its status, even when the client asked for a stream.
func TestLiveStreamErrorBeforeFirstByte(t *testing.T) {
	for _, api := range streamAPIs() {
		t.Run(api.name, func(t *testing.T) {
			e := &liveEngine{fakeEngine: newFakeEngine(), gate: make(chan struct{})}
			e.err = ErrUnavailable
			srv := newLiveServer(t, e)
			resp, _ := openStream(t, srv, api)
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("status %d, %s: want a plain 503 JSON error", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		})
	}
}

// TestClientAskStream: the client hands over each piece as it comes and
// returns the result; an error line is an APIError.
func TestClientAskStream(t *testing.T) {
	cases := []struct {
		name string
		err  error
	}{{"answered", nil}, {"failed after the first piece", ErrUnavailable}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &liveEngine{fakeEngine: newFakeEngine(), pieces: []string{"Paris", " is", " the capital."}, gate: make(chan struct{}), err: tc.err}
			srv := newLiveServer(t, e)
			c, err := NewClient(srv.URL, WithHTTPClient(srv.Client()))
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			res, err := c.AskStream(t.Context(), AskRequest{Prompt: "capital of France?"}, func(s string) {
				if got.Len() == 0 {
					close(e.gate) // the first piece is here before the engine finished
				}
				got.WriteString(s)
			})
			if tc.err != nil {
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.Code != CodeUnavailable {
					t.Fatalf("AskStream = %v, want the node's %s error", err, CodeUnavailable)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != "Paris is the capital." || res.Answer != got.String() || res.Trace.Prefix == nil {
				t.Errorf("streamed %q, result %+v: want the pieces, then the whole answer with its trace", got.String(), res)
			}
		})
	}
}
