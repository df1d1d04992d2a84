package node_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// recordingCloud is an OpenAI-compatible endpoint that keeps every request
// body and answers with a fixed text holding placeholders.
type recordingCloud struct {
	mu     sync.Mutex
	bodies []string
	answer string
}

func (c *recordingCloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies = append(c.bodies, string(b))
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "r1", "object": "chat.completion", "created": 1, "model": "fm",
		"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": c.answer}}},
		"usage": map[string]int{"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49},
	})
}

func (c *recordingCloud) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.bodies...)
}

// A conversation with personal data in its system message, an earlier turn
// and the question goes to the cloud through the real HTTP API: under
// redact the cloud sees placeholders only (a name no detector knows is
// found by the node's own model, simulated here), the trace names kinds and
// never the data, and the answer comes back with the data restored; under
// block nothing goes to the cloud.
func TestCloudSeesNoPersonalData(t *testing.T) {
	secrets := []string{"Maria", "Lopez", "maria.lopez@example.com", "02/05/1980", "Zbigniew", "Kowalczyk"}
	body := `{"model":"swarm","messages":[
		{"role":"system","content":"You help Maria Lopez (maria.lopez@example.com) with her paperwork."},
		{"role":"user","content":"I was born on 02/05/1980."},
		{"role":"assistant","content":"Noted."},
		{"role":"user","content":"Write two lines from Maria to her colleague Zbigniew Kowalczyk."}]}`
	cases := []struct {
		name    string
		privacy string
		toCloud bool
	}{
		{"redact", "redact", true},
		{"block", "block", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cloud := &recordingCloud{answer: "Dear [NAME_2], greetings from [NAME_1]."}
			srv := httptest.NewServer(cloud)
			t.Cleanup(srv.Close)
			sw := startSwarm(t, swarm.Spec{Nodes: swarm.DefaultNodes()[:1], Configure: func(_ int, c *config.Config) {
				c.CloudURL, c.CloudModel, c.Policy, c.Privacy = srv.URL, "fm", router.PolicyCloudOnly, tc.privacy
			}})
			out, status := post(t, sw.APIURL(0)+"/v1/chat/completions", body)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, out)
			}
			var resp struct {
				Choices []struct {
					Message struct{ Content string } `json:"message"`
				} `json:"choices"`
				Swarm json.RawMessage `json:"swarm"`
			}
			if err := json.Unmarshal([]byte(out), &resp); err != nil || len(resp.Choices) == 0 {
				t.Fatalf("response %s: %v", out, err)
			}
			var tr router.Trace
			if err := json.Unmarshal(resp.Swarm, &tr); err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if strings.Contains(string(resp.Swarm), s) {
					t.Errorf("the trace carries %q: %s", s, resp.Swarm)
				}
			}
			seen := cloud.seen()
			if !tc.toCloud {
				if len(seen) != 0 || tr.Route == router.RouteCloud || !strings.Contains(strings.Join(tr.Flags, ","), router.FlagPIIBlocked) {
					t.Fatalf("block: the cloud saw %d requests, route %s, flags %v", len(seen), tr.Route, tr.Flags)
				}
				return
			}
			if len(seen) != 1 {
				t.Fatalf("the cloud saw %d requests, want 1", len(seen))
			}
			for _, s := range secrets {
				if strings.Contains(seen[0], s) {
					t.Errorf("the cloud saw %q: %s", s, seen[0])
				}
			}
			for _, p := range []string{"[NAME_1]", "[NAME_2]", "[EMAIL_1]", "[DATE_1]"} {
				if !strings.Contains(seen[0], p) {
					t.Errorf("the cloud's request lacks %s: %s", p, seen[0])
				}
			}
			if got := resp.Choices[0].Message.Content; got != "Dear Zbigniew Kowalczyk, greetings from Maria Lopez." {
				t.Errorf("answer %q, want the placeholders restored", got)
			}
			if tr.Cloud == nil || len(tr.Cloud.Redactions) == 0 {
				t.Errorf("trace cloud %+v, want the kinds redacted", tr.Cloud)
			}
		})
	}
}

// recordingProxy forwards to an Ollama and keeps the bodies of /api/chat requests.
type recordingProxy struct {
	mu     sync.Mutex
	bodies []string
	proxy  *httputil.ReverseProxy
}

func newRecordingProxy(t *testing.T, target string) (*httptest.Server, *recordingProxy) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := &recordingProxy{proxy: httputil.NewSingleHostReverseProxy(u)}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv, rp
}

func (p *recordingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/chat" {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.bodies = append(p.bodies, string(b))
		p.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	p.proxy.ServeHTTP(w, r)
}

func (p *recordingProxy) seen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.bodies, "\n")
}

// A peer of an open swarm answers the question with the personal data
// redacted (it reaches the peer's model over the real ask protocol); with
// --peer-privacy allow it gets the question as written.
func TestPeersSeeRedactedPrompts(t *testing.T) {
	const question = "My colleague Hannah Whitfield (hannah@example.org) asks: what is the capital of Peru?"
	cases := []struct {
		name       string
		peers      string
		wantSecret bool
	}{
		{"open swarm redacts", "redact", false},
		{"allow", "allow", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var peer *recordingProxy
			sw := startSwarm(t, swarm.Spec{Nodes: swarm.DefaultNodes()[:2], Configure: func(i int, c *config.Config) {
				c.PeerPrivacy = tc.peers
				if i == 1 { // the peer's model, behind a recorder
					var srv *httptest.Server
					srv, peer = newRecordingProxy(t, c.OllamaURL)
					c.OllamaURL = srv.URL
				}
			}})
			res := ask(t, sw.APIURL(0), nodeapi.AskRequest{Prompt: question, Policy: string(router.PolicyAlwaysSwarm)})
			if len(res.Trace.Peers) == 0 {
				t.Fatalf("no peer asked: %s", res.Trace.Reason)
			}
			seen := peer.seen()
			if !strings.Contains(seen, "capital of Peru") {
				t.Fatalf("the peer's model never got the question: %s", seen)
			}
			for _, s := range []string{"Hannah", "Whitfield", "hannah@example.org"} {
				if strings.Contains(seen, s) != tc.wantSecret {
					t.Errorf("the peer's model saw %q: %v, want %v", s, !tc.wantSecret, tc.wantSecret)
				}
			}
			if !tc.wantSecret && !slices.Contains(res.Trace.Flags, router.FlagPeersRedacted) {
				t.Errorf("flags %v, want %s", res.Trace.Flags, router.FlagPeersRedacted)
			}
		})
	}
}
