package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmllm/swarmllm/node/internal/metrics"
	"github.com/swarmllm/swarmllm/router"
)

func newNativeClient(t *testing.T, url string) *Client {
	t.Helper()
	c, err := NewClient(url)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(c.http.CloseIdleConnections)
	return c
}

func TestClientAsk(t *testing.T) {
	srv, f := newTestServer(t)
	c := newNativeClient(t, srv.URL)
	res, err := c.Ask(t.Context(), AskRequest{Prompt: "What is the capital of France?", Policy: "local-only", MaxTokens: 16})
	if err != nil {
		t.Fatalf("ask: %v", err)
	}
	if res.Answer != f.resp.Text || res.Model != "sim-geo:3b" || res.FinishReason != "stop" || res.CompletionTokens != 7 {
		t.Errorf("result = %+v", res)
	}
	if res.Trace.Route != router.RouteSwarm || res.Trace.Tally == nil || res.Trace.Tally.Outcome != router.OutcomeConsensus {
		t.Errorf("trace = %+v", res.Trace)
	}
	req := f.lastAsk(t)
	if req.Policy != router.PolicyLocalOnly || req.Model != "" || req.Options.MaxTokens != 16 ||
		len(req.Messages) != 1 || req.Messages[0].Role != RoleUser {
		t.Errorf("engine got %+v", req)
	}
}

func TestClientAskError(t *testing.T) {
	srv, f := newTestServer(t)
	c := newNativeClient(t, srv.URL)
	_, err := c.Ask(t.Context(), AskRequest{Prompt: "hi", Model: "nope"})
	apiErr, ok := errors.AsType[*APIError](err)
	if !ok || apiErr.Status != http.StatusNotFound || apiErr.Code != CodeUnknownModel {
		t.Errorf("err = %v", err)
	}
	if f.askCount() != 0 {
		t.Error("engine asked")
	}
}

func TestClientPeersRecordsHealth(t *testing.T) {
	srv, f := newTestServer(t)
	c := newNativeClient(t, strings.TrimPrefix(srv.URL, "http://")) // bare host:port works too
	peers, err := c.Peers(t.Context())
	if err != nil || len(peers) != 1 || peers[0].ID != peerA || !peers[0].Healthy {
		t.Errorf("peers = %+v, %v", peers, err)
	}
	recs, err := c.Records(t.Context())
	if err != nil || len(recs) != 1 || recs[0].Seq != 3 || !recs[0].Expires.Equal(fixedTime.Add(time.Hour)) {
		t.Errorf("records = %+v, %v", recs, err)
	}
	h, err := c.Health(t.Context())
	if err != nil || !h.Healthy || h.Node != testNode {
		t.Errorf("health = %+v, %v", h, err)
	}

	f.health = Health{Healthy: false, Problem: "model qwen2.5:0.5b is not in Ollama", Hint: "ollama pull qwen2.5:0.5b"}
	status, _, body := do(t, srv, http.MethodGet, "/healthz", nil, nil)
	if status != http.StatusServiceUnavailable || !bytes.Contains(body, []byte("ollama pull qwen2.5:0.5b")) {
		t.Errorf("unhealthy /healthz = %d %s", status, body)
	}
	h, err = c.Health(t.Context())
	if err != nil || h.Healthy || h.Hint != "ollama pull qwen2.5:0.5b" {
		t.Errorf("unhealthy health = %+v, %v", h, err)
	}
}

func TestClientEmptyLists(t *testing.T) {
	srv, f := newTestServer(t)
	f.peers, f.records = nil, nil
	for _, path := range []string{"/swarm/v1/peers", "/swarm/v1/cms"} {
		_, _, body := do(t, srv, http.MethodGet, path, nil, nil)
		if !bytes.Contains(body, []byte("[]")) {
			t.Errorf("%s = %s, want an empty list rather than null", path, body)
		}
	}
}

func TestNewClientRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"ftp://host", "http://", "://x", "http://[::1"} {
		t.Run(u, func(t *testing.T) {
			if _, err := NewClient(u); err == nil {
				t.Errorf("NewClient(%q) accepted", u)
			}
		})
	}
}

func TestClientNonNativeErrorBody(t *testing.T) {
	srv, _ := newTestServer(t)
	c := newNativeClient(t, srv.URL+"/v1") // an OpenAI path: its error shape is not native
	_, err := c.Peers(t.Context())
	apiErr, ok := errors.AsType[*APIError](err)
	if !ok || apiErr.Status != http.StatusNotFound || apiErr.Message == "" {
		t.Errorf("err = %#v", err)
	}
}

func TestAskTimeout(t *testing.T) {
	srv, f := newTestServer(t, WithAskTimeout(20*time.Millisecond))
	f.block = true
	status, _, body := postJSON(t, srv, "/swarm/v1/ask", AskRequest{Prompt: "slow"})
	if status != http.StatusGatewayTimeout || !bytes.Contains(body, []byte(CodeTimeout)) {
		t.Errorf("status %d body %s", status, body)
	}
}

func TestDashboardAndMetrics(t *testing.T) {
	srv, _ := newTestServer(t)
	status, hdr, body := do(t, srv, http.MethodGet, "/", nil, nil)
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") ||
		!bytes.Contains(body, []byte("/swarm/v1/ask")) {
		t.Errorf("dashboard = %d %v", status, hdr)
	}
	// It shows what a newcomer needs: which record is the node's own, and why
	// it has no peers (the JSON fields it reads are the ones the API serves).
	for _, field := range []string{"r.self", "h.warning"} {
		if !bytes.Contains(body, []byte(field)) {
			t.Errorf("dashboard does not show %s", field)
		}
	}
	// Self-contained: no external scripts, styles or images.
	for _, ext := range []string{"src=\"http", "href=\"http", "@import", "url("} {
		if bytes.Contains(body, []byte(ext)) {
			t.Errorf("dashboard references an external asset (%s)", ext)
		}
	}
	if status, _, _ := do(t, srv, http.MethodHead, "/", nil, nil); status != http.StatusOK {
		t.Errorf("HEAD / = %d (the ollama CLI's heartbeat)", status)
	}
	postJSON(t, srv, "/swarm/v1/ask", AskRequest{Prompt: "hi"})
	postJSON(t, srv, "/swarm/v1/ask", AskRequest{Prompt: ""})
	do(t, srv, http.MethodGet, "/nowhere", nil, nil)
	_, _, metrics := do(t, srv, http.MethodGet, "/metrics", nil, nil)
	for _, want := range []string{
		`swarmllm_http_requests_total{code="200",route="/swarm/v1/ask"} 1`,
		`swarmllm_http_requests_total{code="400",route="/swarm/v1/ask"} 1`,
		`swarmllm_http_requests_total{code="404",route="unmatched"} 1`,
		`swarmllm_http_requests_total{code="200",route="/"} 2`, // GET and HEAD,
		`swarmllm_http_request_duration_seconds_count{route="/swarm/v1/ask"} 2`,
		`go_goroutines`,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestNewServerValidates(t *testing.T) {
	cases := []struct {
		name string
		opts []Option
	}{
		{"zero prompt cap", []Option{WithMaxPromptBytes(0)}},
		{"prompt cap over the p2p ceiling", []Option{WithMaxPromptBytes(PromptBytesCeiling + 1)}},
		{"body cap below prompt cap", []Option{WithMaxBodyBytes(1024)}},
		{"zero ask timeout", []Option{WithAskTimeout(0)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewServer(newFakeEngine(), c.opts...); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := NewServer(nil); err == nil {
		t.Error("nil engine accepted")
	}
}

// A server given a gatherer serves it on /metrics and registers nothing in
// it: its composer registers the server's collectors (the node does).
func TestGathererServedAsGiven(t *testing.T) {
	reg := prometheus.NewRegistry()
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "swarmllm_test_other_total", Help: "another area's metric"})
	reg.MustRegister(other)
	s, err := NewServer(newFakeEngine(), WithGatherer(reg))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	_, _, body := do(t, srv, http.MethodGet, "/metrics", nil, nil)
	if !bytes.Contains(body, []byte("swarmllm_test_other_total")) || bytes.Contains(body, []byte("swarmllm_http_requests_total")) {
		t.Fatalf("/metrics before registering the server's collectors:\n%s", body)
	}
	if _, err := metrics.Register(reg, s.Collectors()...); err != nil {
		t.Fatal(err)
	}
	_, _, body = do(t, srv, http.MethodGet, "/metrics", nil, nil)
	if !bytes.Contains(body, []byte("swarmllm_http_requests_total")) {
		t.Fatalf("/metrics after registering the server's collectors lacks them:\n%s", body)
	}
}

func TestEngineErrorsMapToStatuses(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"backend down", ErrUnavailable, http.StatusServiceUnavailable, CodeUnavailable},
		{"engine refuses", ErrBadRequest, http.StatusBadRequest, CodeBadRequest},
		{"model vanished", ErrUnknownModel, http.StatusNotFound, CodeUnknownModel},
		{"deadline", context.DeadlineExceeded, http.StatusGatewayTimeout, CodeTimeout},
		{"bug", errors.New("boom"), http.StatusInternalServerError, CodeInternal},
	}
	for _, c := range cases {
		for _, a := range apis {
			t.Run(c.name+"/"+a.name, func(t *testing.T) {
				srv, f := newTestServer(t)
				f.err = c.err
				status, _, body := do(t, srv, http.MethodPost, a.path, strings.NewReader(a.body(okPrompt, "")), nil)
				if status != c.status {
					t.Errorf("status = %d, want %d (%s)", status, c.status, body)
				}
				a.check(t, body, c.code)
			})
		}
	}
}

func TestRouteHeaderOnEveryAnswer(t *testing.T) {
	for _, route := range []router.Route{router.RouteLocal, router.RouteSwarm, router.RouteCloud} {
		for _, a := range apis {
			t.Run(route.String()+"/"+a.name, func(t *testing.T) {
				srv, f := newTestServer(t)
				f.resp.Trace.Route = route
				status, hdr, body := do(t, srv, http.MethodPost, a.path, strings.NewReader(a.body(okPrompt, "")), nil)
				if status != http.StatusOK || hdr.Get(HeaderRoute) != route.String() {
					t.Errorf("status %d %s = %q, want %q (%s)", status, HeaderRoute, hdr.Get(HeaderRoute), route, body)
				}
				if !bytes.Contains(body, []byte(`"route":"`+route.String()+`"`)) {
					t.Errorf("body lacks the trace's route: %s", body)
				}
			})
		}
	}
}

// TestClientDialsLoopbackForUnspecified: `swarmllm health --api 0.0.0.0:8700`
// (a node's own listen address) reaches the node through loopback, a Host
// the node accepts.
func TestClientDialsLoopbackForUnspecified(t *testing.T) {
	srv, _ := newTestServer(t)
	_, port, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	for _, addr := range []string{"0.0.0.0:" + port, "http://[::]:" + port} {
		c := newNativeClient(t, addr)
		if h, err := c.Health(t.Context()); err != nil || !h.Healthy {
			t.Errorf("%s: health %+v, %v", addr, h, err)
		}
	}
}
