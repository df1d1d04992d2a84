package node_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmllm/swarmllm/node"
	"github.com/swarmllm/swarmllm/node/config"
)

// New registers every area's metrics in the node's registry at once; a
// second live node on the same registry is refused with an error, and a
// closed node frees the registry for its successor.
func TestMetricsOneRegistryPerNode(t *testing.T) {
	newCfg := func() config.Config {
		cfg := config.Default()
		cfg.DataDir, cfg.APIAddr, cfg.MDNS = t.TempDir(), "127.0.0.1:0", false
		cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
		cfg.OllamaURL = "http://127.0.0.1:1" // nothing listens: the node starts anyway
		return cfg
	}
	reg := prometheus.NewRegistry()
	n, err := node.New(newCfg(), node.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		if area, _, ok := strings.Cut(strings.TrimPrefix(mf.GetName(), "swarmllm_"), "_"); ok && strings.HasPrefix(mf.GetName(), "swarmllm_") {
			seen[area] = true
		}
		if strings.HasPrefix(mf.GetName(), "go_") {
			seen["go"] = true
		}
	}
	// Vectors without observations are not gathered; these areas have a
	// plain counter or gauge each.
	for _, area := range []string{"go", "query", "cms", "collab"} {
		if !seen[area] {
			t.Errorf("no %s metrics in the node's registry (saw %v)", area, seen)
		}
	}

	if second, err := node.New(newCfg(), node.WithRegistry(reg)); err == nil {
		second.Close()
		t.Fatal("a second live node registered its metrics in the first one's registry")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	next, err := node.New(newCfg(), node.WithRegistry(reg))
	if err != nil {
		t.Fatalf("a node on the registry of a closed one: %v", err)
	}
	if err := next.Close(); err != nil {
		t.Fatal(err)
	}
}
