package node_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multiformats/go-multiaddr"
	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"

	"github.com/swarmllm/swarmllm/node"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// quietConfig is a node on loopback with no backend and no mDNS.
func quietConfig(dir string) config.Config {
	cfg := config.Default()
	cfg.DataDir, cfg.APIAddr, cfg.MDNS = dir, "127.0.0.1:0", false
	cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.OllamaURL = "http://127.0.0.1:1" // nothing listens: the node must start anyway
	return cfg
}

// Two nodes on one --data-dir would share a peer id (each taking the other
// for itself): the second is refused with an error that says what to do, and
// the dir is free again once the first closes.
func TestDataDirLock(t *testing.T) {
	cfg := quietConfig(t.TempDir())
	first, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	second, err := node.New(cfg)
	if err == nil {
		second.Close()
		first.Close()
		t.Fatal("a second node started on the same --data-dir")
	}
	if !errors.Is(err, node.ErrDataDirInUse) || !strings.Contains(err.Error(), "--data-dir") || !strings.Contains(err.Error(), cfg.DataDir) {
		t.Errorf("second node: %v, want %v naming the dir and --data-dir", err, node.ErrDataDirInUse)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := node.New(cfg)
	if err != nil {
		t.Fatalf("restart after Close: %v", err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a log sink the node's goroutines may write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A bootstrap peer that never answers is a warning with its reason, and
// /healthz says why the node has no peers, instead of "healthy, 0 peers".
func TestUnreachableBootstrapIsReported(t *testing.T) {
	_, id := p2ptest.NewIdentity(t)
	boot := fmt.Sprintf("%s/p2p/%s", p2ptest.ClosedAddr(t), id)

	cfg := quietConfig(t.TempDir())
	cfg.Bootstrap = []string{boot}
	var logs syncBuffer
	n, err := node.New(cfg, node.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-ran
		n.Close()
	})

	deadline := time.Now().Add(10 * time.Second)
	for {
		h := n.Health(t.Context())
		if strings.HasPrefix(h.Warning, "no peers yet: bootstrap "+boot+" unreachable: ") &&
			strings.Contains(logs.String(), "level=WARN msg=\"bootstrap peer unreachable; retrying\"") {
			if !strings.Contains(h.Warning, "refused") {
				t.Errorf("warning %q does not say why", h.Warning)
			}
			t.Logf("healthz warning: %s", h.Warning)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health warning %q; logs:\n%s", h.Warning, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A libp2p port another node holds is a clear error at start, not a second
// listener sharing it (SO_REUSEPORT), after which dials reach the wrong peer.
func TestTakenP2PPortIsAnError(t *testing.T) {
	first, err := node.New(quietConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	var taken string
	for _, a := range first.Host().Addrs() {
		if port, err := a.ValueForProtocol(multiaddr.P_TCP); err == nil {
			taken = "/ip4/127.0.0.1/tcp/" + port
		}
	}
	cfg := quietConfig(t.TempDir())
	cfg.Listen = []string{taken}
	second, err := node.New(cfg)
	if err == nil {
		second.Close()
		t.Fatalf("a second node listens on %s too", taken)
	}
	if !errors.Is(err, node.ErrPortInUse) || !strings.Contains(err.Error(), taken) || !strings.Contains(err.Error(), "--listen") {
		t.Errorf("error %q, want %v naming %s and pointing at --listen", err, node.ErrPortInUse, taken)
	}
}

// Every route reports the tokens its answer cost (swarm answers used to say 0/0).
func TestUsageOnEveryRoute(t *testing.T) {
	sw := startSwarm(t, swarm.Spec{Cloud: true})
	c := openai.NewClient(option.WithBaseURL(sw.APIURL(0)+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	for _, tc := range []struct {
		policy router.Policy
		route  string
	}{
		{router.PolicyLocalOnly, "local"},
		{router.PolicyAlwaysSwarm, "swarm"},
		{router.PolicyCloudOnly, "cloud"},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			var raw *http.Response
			res, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
				Model:    "swarm",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the capital of Australia?")},
			}, option.WithHeader(nodeapi.HeaderPolicy, string(tc.policy)), option.WithResponseInto(&raw))
			if err != nil {
				t.Fatal(err)
			}
			if got := raw.Header.Get(nodeapi.HeaderRoute); got != tc.route {
				t.Fatalf("route %q, want %q", got, tc.route)
			}
			if u := res.Usage; u.PromptTokens == 0 || u.CompletionTokens == 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("usage prompt %d completion %d total %d on a %s answer", u.PromptTokens, u.CompletionTokens, u.TotalTokens, tc.route)
			}
		})
	}
}
