package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/swarmllm/swarmllm/node/p2p"
)

func TestKeygen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "swarm.key")
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no file named", []string{"keygen"}, 1},
		{"new key", []string{"keygen", "--swarm-key", path}, 0},
		{"refuses to overwrite", []string{"keygen", "--swarm-key", path}, 1},
	}
	var first []byte
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(tt.args, io.Discard); got != tt.want {
				t.Fatalf("exit %d, want %d", got, tt.want)
			}
			raw, err := os.ReadFile(path)
			if tt.want == 0 {
				if err != nil {
					t.Fatal(err)
				}
				first = raw
			}
			if first != nil && string(raw) != string(first) {
				t.Fatal("the key file changed")
			}
		})
	}
	if _, err := p2p.LoadSwarmKey(path); err != nil {
		t.Fatalf("generated key does not load: %v", err)
	}
}
