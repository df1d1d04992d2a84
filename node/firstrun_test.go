package node_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/swarmllm/swarmllm/node"
	"github.com/swarmllm/swarmllm/node/config"
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
