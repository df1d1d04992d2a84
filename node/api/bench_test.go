package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkAnswer measures what the HTTP surface adds to one answer: each API
// over loopback keep-alive with an engine that answers at once, against a bare
// handler that writes a canned JSON answer of the same size (the floor any
// HTTP server pays).
func BenchmarkAnswer(b *testing.B) {
	f := newFakeEngine()
	s, err := NewServer(f, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	canned := mustPost(b, srv, "/swarm/v1/ask", `{"prompt":"Capital of France?"}`)
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(canned)
	}))
	defer bare.Close()

	cases := []struct{ name, url, path, body string }{
		{"bare", bare.URL, "/", `{"prompt":"Capital of France?"}`},
		{"native", srv.URL, "/swarm/v1/ask", `{"prompt":"Capital of France?"}`},
		{"openai", srv.URL, "/v1/chat/completions", chatBody("Capital of France?", testModel)},
		{"openai-stream", srv.URL, "/v1/chat/completions",
			`{"model":"sim-geo:1b","stream":true,"messages":[{"role":"user","content":"Capital of France?"}]}`},
		{"ollama-chat-stream", srv.URL, "/api/chat", chatBody("Capital of France?", testModel)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			client := srv.Client()
			for b.Loop() {
				resp, err := client.Post(c.url+c.path, "application/json", strings.NewReader(c.body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

func mustPost(b *testing.B, srv *httptest.Server, path, body string) []byte {
	b.Helper()
	resp, err := srv.Client().Post(srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		b.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("POST %s: %d %v", path, resp.StatusCode, err)
	}
	return out
}
