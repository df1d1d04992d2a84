package slm_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startSLM(t *testing.T) (*sim.SLM, string) {
	t.Helper()
	s, err := sim.NewSLM(workload.Default(), sim.BuiltinProfiles(), sim.WithLatencyScale(0))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return s, srv.URL()
}

func TestOllamaChatShowEmbed(t *testing.T) {
	_, url := startSLM(t)
	ctx := context.Background()
	o, err := slm.NewOllama(url, sim.ProfileLlama)
	if err != nil {
		t.Fatal(err)
	}
	res, err := o.Chat(ctx, slm.ChatRequest{Messages: []slm.Message{{Role: "user", Content: "What is the capital of France?"}}, Logprobs: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text == "" || res.Model != sim.ProfileLlama || len(res.Logprobs) == 0 || len(res.Logprobs[0].TopLogprobs) == 0 {
		t.Fatalf("chat result %+v: want text, model and logprobs with alternatives", res)
	}
	if res.CompletionTokens == 0 {
		t.Errorf("no completion token count: %+v", res)
	}
	f, err := o.Show(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Family == "" || f.ParameterSize == "" || f.ContextLength == 0 || !strings.Contains(strings.Join(f.Capabilities, ","), "completion") {
		t.Errorf("model facts %+v incomplete", f)
	}
	v, err := o.Version(ctx)
	if err != nil || v == "" {
		t.Errorf("version %q, %v", v, err)
	}
	emb, err := slm.NewOllamaEmbedder(o, sim.ProfileEmbed)
	if err != nil {
		t.Fatal(err)
	}
	vecs, err := emb.Embed(ctx, []string{"capital of France", "capital city of France", "TCP handshake"})
	if err != nil || len(vecs) != 3 || emb.Dim() != len(vecs[0]) || emb.Dim() == 0 {
		t.Fatalf("embed: %d vectors, dim %d, err %v", len(vecs), emb.Dim(), err)
	}
}

func TestOllamaErrors(t *testing.T) {
	_, url := startSLM(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		url   string
		model string
		want  error
	}{
		{"model missing", url, "nope:1b", slm.ErrModelMissing},
		{"nothing listens", "http://" + closedAddr(t), sim.ProfileQwen, slm.ErrUnreachable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := slm.NewOllama(tc.url, tc.model)
			if err != nil {
				t.Fatal(err)
			}
			_, err = o.Chat(ctx, slm.ChatRequest{Messages: []slm.Message{{Role: "user", Content: "hi"}}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Chat err = %v, want %v", err, tc.want)
			}
			if _, err := o.Show(ctx); !errors.Is(err, tc.want) {
				t.Fatalf("Show err = %v, want %v", err, tc.want)
			}
		})
	}
	for _, bad := range []struct{ url, model string }{{"localhost:11434", "m"}, {"http://127.0.0.1:1", " "}} {
		if _, err := slm.NewOllama(bad.url, bad.model); err == nil {
			t.Errorf("NewOllama(%q, %q) accepted", bad.url, bad.model)
		}
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestMonitorStatesAndHints(t *testing.T) {
	s, url := startSLM(t)
	o, err := slm.NewOllama(url, sim.ProfileSmol)
	if err != nil {
		t.Fatal(err)
	}
	changes := make(chan slm.Status, 16)
	m, err := slm.NewMonitor(o, slm.WithInterval(20*time.Millisecond), slm.WithOnChange(func(st slm.Status) { changes <- st }))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if st := m.Status(); st.State != slm.StateUnknown {
		t.Fatalf("status before Start: %+v, want unknown", st)
	}
	m.Start()

	want := func(state slm.BackendState, hint string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case st := <-changes:
				if st.State == state {
					if !strings.Contains(st.Hint, hint) {
						t.Fatalf("state %v hint %q, want it to mention %q", state, st.Hint, hint)
					}
					return
				}
			case <-deadline:
				t.Fatalf("never reached %v (now %+v)", state, m.Status())
			}
		}
	}
	want(slm.StateHealthy, "")
	if m.Status().Facts == nil || m.Status().Facts.Family == "" {
		t.Errorf("healthy status without model facts: %+v", m.Status())
	}
	if err := s.SetDown(sim.ProfileSmol, true); err != nil {
		t.Fatal(err)
	}
	want(slm.StateModelMissing, "ollama pull "+sim.ProfileSmol)
	if err := s.SetDown(sim.ProfileSmol, false); err != nil {
		t.Fatal(err)
	}
	want(slm.StateHealthy, "")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// Before its first probe lands the monitor is in the unknown state, which is
// unhealthy and so must say what to do, like every unhealthy state.
func TestMonitorUnknownStateHasHint(t *testing.T) {
	// A listener nobody accepts on: the probe hangs until Close cuts it short.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	o, err := slm.NewOllama("http://"+ln.Addr().String(), sim.ProfileSmol)
	if err != nil {
		t.Fatal(err)
	}
	m, err := slm.NewMonitor(o)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st := m.Status()
	if st.State != slm.StateUnknown || st.Healthy() || !strings.Contains(st.Hint, ln.Addr().String()) {
		t.Fatalf("status before the first probe: %+v, want unknown with a hint naming %s", st, ln.Addr())
	}
}

func TestCloud(t *testing.T) {
	c, err := sim.NewCloud(workload.Default(), sim.DefaultCloudProfile(), sim.WithLatencyScale(0), sim.WithAPIKey("k3y"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := c.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	msgs := []slm.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "What is the capital of Australia?"}}

	cl, err := slm.NewCloud(srv.URL(), sim.ProfileCloudFM, "k3y", slm.WithCloudRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.Complete(ctx, msgs, 64)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text == "" || res.PromptTokens == 0 || res.CompletionTokens == 0 {
		t.Fatalf("cloud result %+v: want text and token counts", res)
	}

	bad, _ := slm.NewCloud(srv.URL(), sim.ProfileCloudFM, "wrong", slm.WithCloudRetries(0))
	if _, err := bad.Complete(ctx, msgs, 0); !errors.Is(err, slm.ErrCloudUnavailable) {
		t.Errorf("wrong key: %v, want ErrCloudUnavailable", err)
	}
	c.SetDown(true)
	if _, err := cl.Complete(ctx, msgs, 0); !errors.Is(err, slm.ErrCloudUnavailable) {
		t.Errorf("cloud down: %v, want ErrCloudUnavailable", err)
	}
}

// A hung cloud FM costs a call its first-byte deadline, not the caller's
// deadline: whether it never answers the request or goes silent after the
// headers.
func TestCloudHang(t *testing.T) {
	cases := []struct {
		name    string
		headers bool // the server sends its headers and first chunk, then hangs
	}{
		{name: "no answer at all"},
		{name: "silent after the first chunk", headers: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Read the request, so the server notices when the client hangs up.
				_, _ = io.Copy(io.Discard, r.Body)
				if tc.headers {
					w.Header().Set("Content-Type", "text/event-stream")
					fmt.Fprint(w, `data: {"id":"1","object":"chat.completion.chunk","model":"fm","choices":[{"index":0,"delta":{"role":"assistant","content":"Can"}}]}`+"\n\n")
					w.(http.Flusher).Flush()
				}
				<-r.Context().Done() // hung until the client gives up
			}))
			defer srv.Close()
			const firstByte = 200 * time.Millisecond
			cl, err := slm.NewCloud(srv.URL, "fm", "", slm.WithCloudRetries(0), slm.WithCloudTimeouts(time.Second, firstByte))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			_, err = cl.Complete(ctx, []slm.Message{{Role: "user", Content: "What is the capital of Australia?"}}, 0)
			if !errors.Is(err, slm.ErrCloudHung) || !errors.Is(err, slm.ErrCloudUnavailable) {
				t.Fatalf("Complete on a hung cloud: %v, want %v and %v", err, slm.ErrCloudHung, slm.ErrCloudUnavailable)
			}
			t.Logf("hung cloud call took %v (first-byte deadline %v, caller's deadline 1m)", time.Since(start).Round(time.Millisecond), firstByte)
		})
	}
}

// An endpoint that ignores "stream" and sends the whole completion as JSON
// still answers, with its token accounting.
func TestCloudWholeAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, `{"id":"r1","object":"chat.completion","created":1,"model":"fm-2","choices":[{"index":0,"finish_reason":"stop",`+
			`"message":{"role":"assistant","content":" Canberra. "}}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`)
	}))
	defer srv.Close()
	cl, err := slm.NewCloud(srv.URL, "fm", "", slm.WithCloudRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.Complete(context.Background(), []slm.Message{{Role: "user", Content: "Capital of Australia?"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "Canberra." || res.Model != "fm-2" || res.PromptTokens != 12 || res.CompletionTokens != 3 {
		t.Fatalf("whole answer read as %+v", res)
	}
}

func TestNewCloudRefusesBadDeadlines(t *testing.T) {
	if _, err := slm.NewCloud("http://127.0.0.1:1", "fm", "", slm.WithCloudTimeouts(0, time.Second)); err == nil {
		t.Fatal("NewCloud took a zero connect deadline")
	}
}

// A monitor closed before it started returns at once and never probes.
func TestMonitorClosedBeforeStart(t *testing.T) {
	o, err := slm.NewOllama("http://"+closedAddr(t), sim.ProfileSmol)
	if err != nil {
		t.Fatal(err)
	}
	m, err := slm.NewMonitor(o, slm.WithOnChange(func(st slm.Status) { t.Errorf("probed after Close: %+v", st) }))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m.Start()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if st := m.Status(); st.State != slm.StateUnknown {
		t.Errorf("status %+v, want unknown", st)
	}
}

// TestOllamaChatStream: the streamed answer arrives token by token with each
// token's logprobs, and adds up to what the whole answer says.
func TestOllamaChatStream(t *testing.T) {
	_, url := startSLM(t)
	ctx := context.Background()
	o, err := slm.NewOllama(url, sim.ProfileLlama)
	if err != nil {
		t.Fatal(err)
	}
	req := slm.ChatRequest{Messages: []slm.Message{{Role: "user", Content: "What is the capital of France?"}}, Logprobs: true}
	whole, err := o.Chat(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var pieces []slm.Token
	res, err := o.ChatStream(ctx, req, func(tok slm.Token) { pieces = append(pieces, tok) })
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, p := range pieces {
		text.WriteString(p.Text)
		if len(p.Logprobs) != 1 || len(p.Logprobs[0].TopLogprobs) == 0 {
			t.Errorf("piece %q carries %d logprobs, want its own with alternatives", p.Text, len(p.Logprobs))
		}
	}
	if len(pieces) != len(whole.Logprobs) || strings.TrimSpace(text.String()) != whole.Text {
		t.Errorf("streamed %d pieces %q, want the %d tokens of %q", len(pieces), text.String(), len(whole.Logprobs), whole.Text)
	}
	if res.Text != whole.Text || len(res.Logprobs) != len(whole.Logprobs) || res.CompletionTokens != whole.CompletionTokens {
		t.Errorf("streamed result %+v, want what the whole answer said %+v", res, whole)
	}
}

// TestOllamaChatStreamErrors: a failure before or during the stream is an
// error, never a short answer.
func TestOllamaChatStreamErrors(t *testing.T) {
	cases := []struct {
		name  string
		serve http.HandlerFunc
		want  error
	}{
		{"model missing", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"model 'x' not found"}`)
		}, slm.ErrModelMissing},
		{"error line mid-stream", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, `{"model":"x","message":{"role":"assistant","content":"Par"},"done":false}`)
			fmt.Fprintln(w, `{"error":"out of memory"}`)
		}, nil},
		{"cut before done", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, `{"model":"x","message":{"role":"assistant","content":"Par"},"done":false}`)
		}, io.ErrUnexpectedEOF},
		{"blank answer", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, `{"model":"x","message":{"role":"assistant","content":" "},"done":false}`)
			fmt.Fprintln(w, `{"model":"x","message":{"role":"assistant","content":""},"done":true}`)
		}, slm.ErrEmptyAnswer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.serve)
			defer srv.Close()
			o, err := slm.NewOllama(srv.URL, "x")
			if err != nil {
				t.Fatal(err)
			}
			res, err := o.ChatStream(context.Background(), slm.ChatRequest{Messages: []slm.Message{{Role: "user", Content: "hi"}}}, func(slm.Token) {})
			if err == nil || res != nil {
				t.Fatalf("ChatStream = %+v, %v: want an error", res, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// CompleteStream hands the answer on as it arrives: the server sends its
// second chunk only once the caller has seen the first.
func TestCloudCompleteStream(t *testing.T) {
	seen := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(content string) {
			fmt.Fprintf(w, `data: {"id":"1","object":"chat.completion.chunk","model":"fm","choices":[{"index":0,"delta":{"content":%q}}]}`+"\n\n", content)
			w.(http.Flusher).Flush()
		}
		chunk(" Can")
		select {
		case <-seen:
		case <-r.Context().Done():
			return
		}
		chunk("berra.")
		fmt.Fprint(w, `data: {"id":"1","object":"chat.completion.chunk","model":"fm","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}`+"\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()
	cl, err := slm.NewCloud(srv.URL, "fm", "", slm.WithCloudRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	var pieces []string
	res, err := cl.CompleteStream(context.Background(), []slm.Message{{Role: "user", Content: "Capital of Australia?"}}, 0, func(s string) {
		if len(pieces) == 0 {
			close(seen) // the server holds the rest until now
		}
		pieces = append(pieces, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pieces, "|") != " Can|berra." {
		t.Fatalf("pieces %q, want [\" Can\" \"berra.\"]", pieces)
	}
	if res.Text != "Canberra." || res.PromptTokens != 9 || res.CompletionTokens != 2 {
		t.Fatalf("streamed answer read as %+v", res)
	}
}
