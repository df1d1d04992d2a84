package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/swarmllm/swarmllm/testnet/internal/gguf"
)

func TestRun(t *testing.T) {
	cases := []struct {
		name      string
		noOut     bool // leave out -o
		args      []string
		wantErr   bool
		wantModel bool
		wantMF    bool
	}{
		{"model and Modelfile", false, []string{"-sharpness", "8", "-blocks", "1", "-embd", "32", "-vocab", "400", "-seed", "3", "-modelfile"}, false, true, true},
		{"model only, f32", false, []string{"-f32"}, false, true, false},
		{"missing -o", true, nil, true, false, false},
		{"invalid option", false, []string{"-vocab", "10"}, true, false, false},
		{"stray argument", false, []string{"extra"}, true, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "tiny.gguf")
			args := tc.args
			if !tc.noOut {
				args = append([]string{"-o", out}, args...)
			}
			var stdout, stderr bytes.Buffer
			err := run(args, &stdout, &stderr)
			if (err != nil) != tc.wantErr {
				t.Fatalf("run(%q) error = %v, wantErr %v", args, err, tc.wantErr)
			}
			st, statErr := os.Stat(out)
			if (statErr == nil) != tc.wantModel {
				t.Fatalf("model file exists = %v, want %v", statErr == nil, tc.wantModel)
			}
			if tc.wantModel && !strings.Contains(stdout.String(), "wrote "+out) {
				t.Errorf("stdout %q does not name the model", stdout.String())
			}
			if tc.wantModel && st.Size() < 1<<10 {
				t.Errorf("model file is only %d bytes", st.Size())
			}
			mf, mfErr := os.ReadFile(filepath.Join(dir, "Modelfile"))
			if (mfErr == nil) != tc.wantMF {
				t.Fatalf("Modelfile exists = %v, want %v", mfErr == nil, tc.wantMF)
			}
			if tc.wantMF && string(mf) != gguf.Modelfile("./tiny.gguf") {
				t.Errorf("Modelfile = %q", mf)
			}
		})
	}
}
