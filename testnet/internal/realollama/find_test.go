package realollama

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "ollama-exe")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "ollama-plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	cached := filepath.Join(cache, "ollama-"+OllamaVersion, "bin", "ollama")
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cached, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		bin      string
		cache    string
		want     string
		wantErr  bool
		noBinary bool
	}{
		{"explicit binary", exe, "", exe, false, false},
		{"explicit binary wins over cache", exe, cache, exe, false, false},
		{"explicit binary not executable", plain, cache, "", true, false},
		{"explicit binary missing", filepath.Join(dir, "nope"), cache, "", true, false},
		{"cached build", "", cache, cached, false, false},
		{"nothing built", "", filepath.Join(dir, "empty"), "", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBin, tc.bin)
			t.Setenv(EnvCache, tc.cache)
			if tc.cache == "" {
				t.Setenv("HOME", filepath.Join(dir, "home"))
			}
			got, err := Lookup()
			if (err != nil) != tc.wantErr || errors.Is(err, ErrNoBinary) != tc.noBinary {
				t.Fatalf("Lookup() = %q, %v; want error %v (ErrNoBinary %v)", got, err, tc.wantErr, tc.noBinary)
			}
			if got != tc.want {
				t.Errorf("Lookup() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCachePathDefaultsToHome(t *testing.T) {
	t.Setenv(EnvCache, "")
	t.Setenv("HOME", "/home/someone")
	got, err := CachePath()
	if err != nil {
		t.Fatal(err)
	}
	if want := "/home/someone/.cache/swarmllm/ollama-" + OllamaVersion + "/bin/ollama"; got != want {
		t.Errorf("CachePath() = %q, want %q", got, want)
	}
}

// The build script and this package must build and expect the Ollama that
// go.mod pins (the api package talks to it). Test binaries carry no
// dependency versions, so read the files.
func TestOllamaVersionMatchesGoMod(t *testing.T) {
	files := []struct {
		path, want string
	}{
		{"../../../go.mod", "\tgithub.com/ollama/ollama " + OllamaVersion + "\n"},
		{"../../../scripts/build-ollama.sh", `OLLAMA_VERSION="${OLLAMA_VERSION:-` + OllamaVersion + `}"`},
	}
	for _, f := range files {
		b, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), f.want) {
			t.Errorf("%s does not contain %q", f.path, f.want)
		}
	}
}
