package api

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// send is do with a chosen Host and a body given as text; it returns
// status, headers and body.
func send(t *testing.T, srv *httptest.Server, method, path, host string, body string, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	return roundTrip(t, srv, method, path, host, rd, header)
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// TestHostCheck: a request naming a host that is not this node's (DNS
// rebinding) is refused in its API's error shape before anything runs.
func TestHostCheck(t *testing.T) {
	srv, f := newTestServer(t, WithAllowedHosts("node7.lan", "10.9.8.7"))
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	cases := []struct {
		name string
		host string
		ok   bool
	}{
		{"loopback address", "127.0.0.1:" + port, true},
		{"other loopback address", "127.3.4.5", true},
		{"IPv6 loopback", "[::1]:" + port, true},
		{"localhost", "localhost:" + port, true},
		{"localhost, upper case with dot", "LOCALHOST.", true},
		{"a .localhost name", "app.localhost:" + port, true},
		{"extra name", "node7.lan:" + port, true},
		{"extra address", "10.9.8.7", true},
		{"rebound name", "evil.example:" + port, false},
		{"rebound name on another port", "evil.example", false},
		{"name that ends like localhost", "evillocalhost", false},
		{"foreign address", "192.0.2.1:" + port, false},
		{"extra name as a suffix", "x.node7.lan", false},
	}
	for _, c := range cases {
		for _, a := range apis {
			t.Run(c.name+"/"+a.name, func(t *testing.T) {
				before := f.askCount()
				status, _, body := send(t, srv, http.MethodPost, a.path, c.host, a.body(okPrompt, ""), jsonHeader)
				if c.ok {
					if status != http.StatusOK {
						t.Fatalf("status = %d, want 200 (%s)", status, body)
					}
					return
				}
				if status != http.StatusForbidden {
					t.Fatalf("status = %d, want 403 (%s)", status, body)
				}
				a.check(t, body, CodeHostNotAllowed)
				if f.askCount() != before {
					t.Fatal("the engine was asked")
				}
			})
		}
	}
	// Health too: a rebound page must not learn what the node runs.
	if status, _, _ := send(t, srv, http.MethodGet, "/healthz", "evil.example", "", nil); status != http.StatusForbidden {
		t.Errorf("GET /healthz with a foreign Host: status %d, want 403", status)
	}
}

// TestHostCheckBoundAddress: the address the API is bound to is a valid Host.
func TestHostCheckBoundAddress(t *testing.T) {
	cases := []struct {
		name, listen, host string
		ok                 bool
	}{
		{"bound address", "192.0.2.10:8700", "192.0.2.10:8700", true},
		{"not the bound address", "192.0.2.10:8700", "192.0.2.11:8700", false},
		{"all interfaces allow loopback", "0.0.0.0:8700", "127.0.0.1:8700", true},
		{"all interfaces still refuse names", "0.0.0.0:8700", "evil.example:8700", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := newHostPolicy(c.listen, nil).allows(c.host); got != c.ok {
				t.Errorf("allows(%q) bound to %s = %v, want %v", c.host, c.listen, got, c.ok)
			}
		})
	}
}

// TestOriginCheck: cross-origin browser requests are refused unless listed;
// listed origins get CORS headers and preflights; same-origin (the
// dashboard) passes.
func TestOriginCheck(t *testing.T) {
	const listed = "https://app.example:8443"
	srv, f := newTestServer(t, WithCORSOrigins(listed+"/"))
	body := mustJSON(AskRequest{Prompt: okPrompt})
	cases := []struct {
		name   string
		method string
		header http.Header
		status int
		acao   string
	}{
		{"no origin", http.MethodPost, http.Header{}, 200, ""},
		{"same origin", http.MethodPost, http.Header{"Origin": {srv.URL}}, 200, ""},
		{"foreign origin", http.MethodPost, http.Header{"Origin": {"http://evil.example"}}, 403, ""},
		{"null origin", http.MethodPost, http.Header{"Origin": {"null"}}, 403, ""},
		{"foreign origin reading peers", http.MethodGet, http.Header{"Origin": {"http://evil.example"}}, 403, ""},
		{"listed origin", http.MethodPost, http.Header{"Origin": {listed}}, 200, listed},
		{"listed host, other scheme", http.MethodPost, http.Header{"Origin": {"http://app.example:8443"}}, 403, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.askCount()
			h := c.header.Clone()
			h.Set("Content-Type", "application/json")
			path, b := "/swarm/v1/ask", body
			if c.method == http.MethodGet {
				path, b = "/swarm/v1/peers", ""
			}
			status, hdr, got := send(t, srv, c.method, path, "", b, h)
			if status != c.status {
				t.Fatalf("status = %d, want %d (%s)", status, c.status, got)
			}
			if hdr.Get("Access-Control-Allow-Origin") != c.acao {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", hdr.Get("Access-Control-Allow-Origin"), c.acao)
			}
			if status == http.StatusForbidden {
				checkNativeError(t, got, CodeOriginNotAllowed)
				if f.askCount() != before {
					t.Fatal("the engine was asked")
				}
			}
		})
	}

	t.Run("preflight of a listed origin", func(t *testing.T) {
		status, hdr, _ := send(t, srv, http.MethodOptions, "/v1/chat/completions", "", "", http.Header{
			"Origin": {listed}, "Access-Control-Request-Method": {"POST"},
			"Access-Control-Request-Headers": {"authorization, content-type"}})
		if status != http.StatusNoContent {
			t.Fatalf("status = %d, want 204", status)
		}
		for k, want := range map[string]string{"Access-Control-Allow-Origin": listed,
			"Access-Control-Allow-Methods": "GET, HEAD, POST", "Access-Control-Allow-Headers": corsAllowHeaders} {
			if got := hdr.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	})
	t.Run("preflight of a foreign origin", func(t *testing.T) {
		status, hdr, body := send(t, srv, http.MethodOptions, "/v1/chat/completions", "", "", http.Header{
			"Origin": {"http://evil.example"}, "Access-Control-Request-Method": {"POST"}})
		if status != http.StatusForbidden || hdr.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("status = %d, ACAO %q; want 403 without CORS headers", status, hdr.Get("Access-Control-Allow-Origin"))
		}
		checkOpenAIError(t, body, CodeOriginNotAllowed)
	})
}

// TestJSONBodyRequired: a POST body must be declared JSON, which no
// cross-site "simple" request can do.
func TestJSONBodyRequired(t *testing.T) {
	srv, f := newTestServer(t)
	cases := []struct {
		name string
		ct   []string // nil: no Content-Type header at all
		ok   bool
	}{
		{"json", []string{"application/json"}, true},
		{"json with charset", []string{"application/json; charset=utf-8"}, true},
		{"json, upper case", []string{"Application/JSON"}, true},
		{"a +json type", []string{"application/vnd.swarm+json"}, true},
		{"text/plain (simple request)", []string{"text/plain"}, false},
		{"text/plain with charset", []string{"text/plain;charset=UTF-8"}, false},
		{"form", []string{"application/x-www-form-urlencoded"}, false},
		{"multipart", []string{"multipart/form-data; boundary=x"}, false},
		{"missing", nil, false},
		{"garbage", []string{"json"}, false},
	}
	for _, c := range cases {
		for _, a := range apis {
			t.Run(c.name+"/"+a.name, func(t *testing.T) {
				before := f.askCount()
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+a.path, strings.NewReader(a.body(okPrompt, "")))
				if err != nil {
					t.Fatal(err)
				}
				if c.ct != nil {
					req.Header["Content-Type"] = c.ct
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if c.ok {
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("status = %d, want 200 (%s)", resp.StatusCode, body)
					}
					return
				}
				if resp.StatusCode != http.StatusUnsupportedMediaType {
					t.Fatalf("status = %d, want 415 (%s)", resp.StatusCode, body)
				}
				a.check(t, body, CodeUnsupportedMedia)
				if f.askCount() != before {
					t.Fatal("the engine was asked")
				}
			})
		}
	}
}

// TestCrossSiteSimplePost is the attack of the issue: a web page's
// text/plain POST with a foreign Origin and a rebound Host. Each guard alone
// stops it.
func TestCrossSiteSimplePost(t *testing.T) {
	srv, f := newTestServer(t)
	cases := []struct {
		name   string
		host   string
		origin string
		code   string
	}{
		{"rebound host", "attacker.example:8700", "http://attacker.example:8700", CodeHostNotAllowed},
		{"foreign origin", "", "http://attacker.example", CodeOriginNotAllowed},
		{"no origin, text/plain", "", "", CodeUnsupportedMedia},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"text/plain;charset=UTF-8"}}
			if c.origin != "" {
				h.Set("Origin", c.origin)
			}
			status, _, body := send(t, srv, http.MethodPost, "/v1/chat/completions", c.host, chatBody(okPrompt, ""), h)
			if status < 400 {
				t.Fatalf("status = %d: the attack got through", status)
			}
			checkOpenAIError(t, body, c.code)
		})
	}
	if n := f.askCount(); n != 0 {
		t.Fatalf("engine asked %d times", n)
	}
}

func TestDashboardRefusesFraming(t *testing.T) {
	srv, _ := newTestServer(t)
	status, hdr, _ := do(t, srv, http.MethodGet, "/", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q lacks frame-ancestors 'none'", csp)
	}
	if got := hdr.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want DENY", got)
	}
}

func TestNewServerRefusesBadOrigins(t *testing.T) {
	for _, o := range []string{"app.example", "ftp://app.example", "https://app.example/path", "https://", "https://u@app.example"} {
		if _, err := NewServer(newFakeEngine(), WithCORSOrigins(o)); err == nil {
			t.Errorf("WithCORSOrigins(%q) accepted", o)
		}
	}
}

// delayEngine answers after a fixed time, reporting whether the query's
// context ended first.
type delayEngine struct {
	*fakeEngine
	delay time.Duration
}

func (d delayEngine) Ask(ctx context.Context, req Request) (*Response, error) {
	select {
	case <-time.After(d.delay):
		return d.fakeEngine.Ask(ctx, req)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// serveReal serves s through NewHTTPServer on a loopback listener, as a node does.
func serveReal(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := NewHTTPServer(s)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			_ = hs.Close()
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestSlowBodyClientCutOff is the hostile client of issue 10: it sends
// headers and then trickles (or withholds) the body. Each connection is
// answered 408 and closed once the body deadline passes, instead of being held.
func TestSlowBodyClientCutOff(t *testing.T) {
	const bodyTimeout = 150 * time.Millisecond
	s, err := NewServer(newFakeEngine(), WithLogger(slog.New(slog.DiscardHandler)), WithBodyTimeout(bodyTimeout))
	if err != nil {
		t.Fatal(err)
	}
	addr := serveReal(t, s)
	requests := map[string]string{
		"sized": "POST /swarm/v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
			"Content-Length: 4096\r\n\r\n{\"prompt\":",
		"chunked": "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"mod\r\n",
		"wrong method, unread body": "POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
			"Content-Length: 100000\r\n\r\n{",
	}
	const conns = 10 // per kind, all at once
	type result struct {
		name, status string
		err          error
	}
	results := make(chan result, conns*len(requests))
	for name, raw := range requests {
		for range conns {
			go func() {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					results <- result{name: name, err: err}
					return
				}
				defer c.Close()
				// The client would wait forever; the test waits at most 10 s.
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(c, raw); err != nil {
					results <- result{name: name, err: err}
					return
				}
				br := bufio.NewReader(c)
				line, err := br.ReadString('\n')
				if err != nil && line == "" {
					// Closed without an answer is a cut-off too, but say so.
					results <- result{name: name, status: "closed", err: nil}
					return
				}
				// Drain to EOF: the server must close the connection.
				if _, err := io.Copy(io.Discard, br); err != nil {
					results <- result{name: name, err: err}
					return
				}
				results <- result{name: name, status: strings.TrimSpace(line)}
			}()
		}
	}
	for range conns * len(requests) {
		r := <-results
		if r.err != nil {
			t.Errorf("%s: %v (the connection was held)", r.name, r.err)
			continue
		}
		if r.name != "wrong method, unread body" && !strings.HasPrefix(r.status, "HTTP/1.1 408") {
			t.Errorf("%s: got %q, want a 408 answer", r.name, r.status)
		}
	}
}

// TestLongAnswerOutlivesBodyDeadline: once the body is in, the body deadline
// no longer applies, so an answer slower than it is still delivered (an
// http.Server ReadTimeout would cancel the request here).
func TestLongAnswerOutlivesBodyDeadline(t *testing.T) {
	const bodyTimeout = 50 * time.Millisecond
	s, err := NewServer(delayEngine{newFakeEngine(), 4 * bodyTimeout}, WithLogger(slog.New(slog.DiscardHandler)),
		WithBodyTimeout(bodyTimeout))
	if err != nil {
		t.Fatal(err)
	}
	addr := serveReal(t, s)
	c, err := NewClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Ask(t.Context(), AskRequest{Prompt: okPrompt})
	if err != nil {
		t.Fatalf("ask: %v", err)
	}
	if res.Answer == "" {
		t.Fatal("empty answer")
	}
}
