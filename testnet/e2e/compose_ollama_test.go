package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/internal/realollama"
)

// TestComposeTestnetOllama runs the compose testnet on real Ollama
// (docker-compose.ollama.yml): records carry what Ollama's /api/show says
// inside the containers, node1's confident tiny model answers locally and
// node3's unsure one hands its queries to the swarm or the cloud.
func TestComposeTestnetOllama(t *testing.T) {
	if os.Getenv(EnvComposeE2E) == "" {
		t.Skipf("skipping the compose testnet run: set %s=1 (scripts/e2e-compose.sh does) on a machine with Docker", EnvComposeE2E)
	}
	bin, err := realollama.CachePath()
	if err != nil {
		t.Fatal(err)
	}
	static := filepath.Join(filepath.Dir(filepath.Dir(bin)), "static", "ollama")
	if _, err := os.Stat(static); errors.Is(err, os.ErrNotExist) {
		t.Skipf("skipping the real-Ollama testnet: %s is missing (run scripts/build-ollama.sh --static)", static)
	}
	tn := newTestnet(t, "SWARM_TESTNET_BACKEND=ollama")
	took := tn.up(t)
	t.Logf("BENCH join ollama backend: %v from 'compose up' to every node holding 3 records", took)

	ctx := context.Background()
	recs, err := tn.records(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(nodeNames) {
		t.Fatalf("node1 holds %d records, want %d", len(recs), len(nodeNames))
	}
	for _, r := range recs {
		if r.Family != "llama" || r.Quantization != "F16" || !slices.Contains(r.Capabilities, "completion") || r.EmbedModel != "tiny-embed" {
			t.Errorf("record of %s lacks Ollama's facts: %+v", r.Model, r)
		}
	}

	prompts := []string{"What is the capital of France?", "hello", "Name a color."}
	byRoute := map[router.Route][]time.Duration{}
	for i := range nodeNames {
		for _, p := range prompts {
			a := tn.ask(ctx, i, p, "")
			if a.err != nil {
				t.Fatal(a.err)
			}
			tr := a.res.Trace
			byRoute[tr.Route] = append(byRoute[tr.Route], a.latency())
			t.Logf("%s %q: %s, local confidence %.2f, %v", nodeNames[i], p, tr.Route, tr.Local.Confidence, a.latency().Round(time.Millisecond))
			switch {
			case i == 0 && tr.Route != router.RouteLocal:
				t.Errorf("node1's confident model sent %q to the %s: %s", p, tr.Route, tr.Reason)
			case i == 2 && (tr.Route == router.RouteLocal || answeredPeers(tr) == 0 && (tr.Cloud == nil || !tr.Cloud.Summoned)):
				t.Errorf("node3's unsure model kept %q (route %s, %d peers): %s", p, tr.Route, answeredPeers(tr), tr.Reason)
			}
		}
	}
	for _, r := range []router.Route{router.RouteLocal, router.RouteSwarm, router.RouteCloud} {
		if d := byRoute[r]; len(d) > 0 {
			t.Logf("BENCH ollama backend route %-5s p50 %v (n=%d)", r, p50(d), len(d))
		}
	}
}
