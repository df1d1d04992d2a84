package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
)

// testRing holds alice (no quota) and bob.
func testRing(t *testing.T, bobQuota Quota) *Keyring {
	t.Helper()
	a, err := NewKey("alice", aliceSecret, Quota{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKey("bob", bobSecret, bobQuota)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := NewKeyring(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// offLoopback is a server that believes it is bound to a LAN address (the
// test still reaches it on loopback: the key rule follows the bound address).
func offLoopback(t *testing.T, opts ...Option) (*httptest.Server, *fakeEngine) {
	return newTestServer(t, append([]Option{WithListenAddr("192.0.2.10:8700"), WithKeys(testRing(t, Quota{}))}, opts...)...)
}

func bearer(secret string) http.Header { return http.Header{"Authorization": {"Bearer " + secret}} }

// TestKeysOffLoopback: bound off loopback, every route but /healthz (and the
// dashboard's static page) needs a valid key.
func TestKeysOffLoopback(t *testing.T) {
	srv, f := offLoopback(t)
	cases := []struct {
		name   string
		header http.Header
		status int
		code   string
	}{
		{"no key", nil, 401, CodeMissingKey},
		{"wrong key", bearer("not-a-key-at-all-0000"), 401, CodeInvalidKey},
		{"a prefix of a key", bearer(aliceSecret[:len(aliceSecret)-2]), 401, CodeInvalidKey},
		{"basic auth", http.Header{"Authorization": {"Basic " + aliceSecret}}, 401, CodeInvalidKey},
		{"alice", bearer(aliceSecret), 200, ""},
		{"bob, lower-case scheme", http.Header{"Authorization": {"bearer " + bobSecret}}, 200, ""},
	}
	for _, c := range cases {
		for _, a := range apis {
			t.Run(c.name+"/"+a.name, func(t *testing.T) {
				before := f.askCount()
				h := c.header.Clone()
				if h == nil {
					h = http.Header{}
				}
				h.Set("Content-Type", "application/json")
				status, hdr, body := send(t, srv, http.MethodPost, a.path, "", a.body(okPrompt, ""), h)
				if status != c.status {
					t.Fatalf("status = %d, want %d (%s)", status, c.status, body)
				}
				if status == http.StatusOK {
					return
				}
				a.check(t, body, c.code)
				if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", hdr.Get("WWW-Authenticate"))
				}
				if f.askCount() != before {
					t.Fatal("the engine was asked")
				}
			})
		}
	}
	for _, c := range []struct {
		path   string
		status int
	}{{"/healthz", 200}, {"/", 200}, {"/swarm/v1/peers", 401}, {"/swarm/v1/cms", 401}, {"/metrics", 401},
		{"/v1/models", 401}, {"/api/tags", 401}, {"/api/version", 401}, {"/nowhere", 401}} {
		if status, _, _ := send(t, srv, http.MethodGet, c.path, "", "", nil); status != c.status {
			t.Errorf("GET %s without a key: status %d, want %d", c.path, status, c.status)
		}
	}
}

// TestKeysOnLoopback: on loopback keys are optional, but a key that is sent
// must be valid; with no keys configured at all, tokens are ignored (OpenAI
// SDKs always send one).
func TestKeysOnLoopback(t *testing.T) {
	withKeys, _ := newTestServer(t, WithListenAddr("127.0.0.1:8700"), WithKeys(testRing(t, Quota{})))
	noKeys, _ := newTestServer(t, WithListenAddr("127.0.0.1:8700"))
	body := mustJSON(AskRequest{Prompt: okPrompt})
	cases := []struct {
		name   string
		srv    *httptest.Server
		header http.Header
		status int
	}{
		{"keys set, none sent", withKeys, http.Header{}, 200},
		{"keys set, valid key", withKeys, bearer(aliceSecret), 200},
		{"keys set, wrong key", withKeys, bearer("wrong-wrong-wrong-wrong"), 401},
		{"no keys, any token", noKeys, bearer("sk-anything"), 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.header.Set("Content-Type", "application/json")
			if status, _, got := send(t, c.srv, http.MethodPost, "/swarm/v1/ask", "", body, c.header); status != c.status {
				t.Fatalf("status = %d, want %d (%s)", status, c.status, got)
			}
		})
	}
}

func TestNewServerRefusesOpenNonLoopback(t *testing.T) {
	cases := []struct {
		name string
		opts []Option
		ok   bool
	}{
		{"LAN address, no keys", []Option{WithListenAddr("192.0.2.10:8700")}, false},
		{"all interfaces, no keys", []Option{WithListenAddr("0.0.0.0:8700")}, false},
		{"empty host, no keys", []Option{WithListenAddr(":8700")}, false},
		{"LAN address, insecure", []Option{WithListenAddr("192.0.2.10:8700"), WithInsecure(true)}, true},
		{"LAN address, keys", []Option{WithListenAddr("192.0.2.10:8700"), WithKeys(testRing(t, Quota{}))}, true},
		{"loopback, no keys", []Option{WithListenAddr("127.0.0.1:8700")}, true},
		{"localhost, no keys", []Option{WithListenAddr("localhost:8700")}, true},
		{"IPv6 loopback, no keys", []Option{WithListenAddr("[::1]:8700")}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewServer(newFakeEngine(), c.opts...)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok %v", err, c.ok)
			}
		})
	}
}

// TestKeyNamedNeverShown: the trace and the metrics name the key; its secret
// appears in no response.
func TestKeyNamedNeverShown(t *testing.T) {
	srv, f := offLoopback(t)
	send(t, srv, http.MethodGet, "/swarm/v1/peers", "", "", bearer(aliceSecret+"-guess"))
	h := bearer(aliceSecret)
	h.Set("Content-Type", "application/json")
	status, _, body := send(t, srv, http.MethodPost, "/swarm/v1/ask", "", mustJSON(AskRequest{Prompt: okPrompt}), h)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if !strings.Contains(string(body), `"caller":"alice"`) {
		t.Errorf("trace does not name the key: %s", body)
	}
	if got := f.lastAsk(t).Caller; got != "alice" {
		t.Errorf("engine saw caller %q, want alice", got)
	}
	_, _, metrics := send(t, srv, http.MethodGet, "/metrics", "", "", bearer(aliceSecret))
	if !strings.Contains(string(metrics), `swarmllm_api_key_requests_total{key="alice"}`) {
		t.Error("metrics do not count requests by key name")
	}
	if !strings.Contains(string(metrics), `swarmllm_api_refused_total{reason="auth"} 1`) {
		t.Error("the refused guess is not counted")
	}
	for what, b := range map[string][]byte{"answer": body, "metrics": metrics} {
		if strings.Contains(string(b), aliceSecret) {
			t.Errorf("the %s shows the secret", what)
		}
	}
}

// TestOpenAIClientWithKey: the official openai-go client reaches a keyed node
// with its own API key option, and is refused with a wrong one.
func TestOpenAIClientWithKey(t *testing.T) {
	srv, f := offLoopback(t)
	params := openai.ChatCompletionNewParams{Model: testModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(okPrompt)}}

	client := newOpenAIClient(srv, option.WithAPIKey(bobSecret))
	c, err := client.Chat.Completions.New(t.Context(), params)
	if err != nil {
		t.Fatalf("chat completion with a key: %v", err)
	}
	if c.Choices[0].Message.Content != f.resp.Text {
		t.Errorf("content = %q", c.Choices[0].Message.Content)
	}
	if tr := decodeTrace(t, c.JSON.ExtraFields["swarm"].Raw()); tr.Caller != "bob" {
		t.Errorf("trace caller = %q, want bob", tr.Caller)
	}

	stream := client.Chat.Completions.NewStreaming(t.Context(), params)
	var text strings.Builder
	for stream.Next() {
		for _, ch := range stream.Current().Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if err := stream.Err(); err != nil || text.String() != f.resp.Text {
		t.Errorf("streamed %q, err %v", text.String(), err)
	}

	wrong := newOpenAIClient(srv, option.WithAPIKey("sk-wrong-wrong-wrong-wrong"))
	_, err = wrong.Chat.Completions.New(t.Context(), params)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != CodeInvalidKey {
		t.Fatalf("wrong key: err = %v, want a 401 %s", err, CodeInvalidKey)
	}
}

// TestNativeClientSendsKey: the native client (swarmllm ask/peers) sends
// $SWARM_API_KEY, or the key it was given.
func TestNativeClientSendsKey(t *testing.T) {
	srv, _ := offLoopback(t)
	t.Run("no key", func(t *testing.T) {
		t.Setenv(EnvAPIKey, "")
		_, err := newNativeClient(t, srv.URL).Peers(t.Context())
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || ae.Code != CodeMissingKey {
			t.Fatalf("err = %v, want 401 %s", err, CodeMissingKey)
		}
	})
	t.Run("from the environment", func(t *testing.T) {
		t.Setenv(EnvAPIKey, aliceSecret)
		if _, err := newNativeClient(t, srv.URL).Ask(t.Context(), AskRequest{Prompt: okPrompt}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("given", func(t *testing.T) {
		t.Setenv(EnvAPIKey, "")
		c, err := NewClient(srv.URL, WithAPIKey(bobSecret))
		if err != nil {
			t.Fatal(err)
		}
		defer c.http.CloseIdleConnections()
		if _, err := c.Peers(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}
