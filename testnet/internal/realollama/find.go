package realollama

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// OllamaVersion is the Ollama release scripts/build-ollama.sh builds; it must
// match the github.com/ollama/ollama version in go.mod (a test checks).
const OllamaVersion = "v0.17.4"

// Environment variables Lookup reads.
const (
	// EnvBin names an Ollama binary to use instead of the cached build.
	EnvBin = "SWARM_OLLAMA_BIN"
	// EnvCache is the cache root scripts/build-ollama.sh builds into.
	EnvCache = "SWARM_CACHE"
)

// ErrNoBinary means no Ollama binary was configured or built.
var ErrNoBinary = errors.New("realollama: no ollama binary (run scripts/build-ollama.sh or set " + EnvBin + ")")

// CachePath is where scripts/build-ollama.sh puts the binary:
// ${SWARM_CACHE:-$HOME/.cache/swarmllm}/ollama-<version>/bin/ollama.
func CachePath() (string, error) {
	root := os.Getenv(EnvCache)
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locate ollama cache: %w", err)
		}
		root = filepath.Join(home, ".cache", "swarmllm")
	}
	return filepath.Join(root, "ollama-"+OllamaVersion, "bin", "ollama"), nil
}

// Lookup returns the Ollama binary to run: $SWARM_OLLAMA_BIN when set (it
// must then be an executable file), else the cached build. It returns
// ErrNoBinary when neither is there.
func Lookup() (string, error) {
	if bin := os.Getenv(EnvBin); bin != "" {
		if err := executable(bin); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBin, bin, err)
		}
		return bin, nil
	}
	bin, err := CachePath()
	if err != nil {
		return "", err
	}
	if err := executable(bin); errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w: %s is missing", ErrNoBinary, bin)
	} else if err != nil {
		return "", fmt.Errorf("cached ollama %s: %w", bin, err)
	}
	return bin, nil
}

// Find is Lookup for tests: it skips the test when no binary was built and
// fails it when the configured one is unusable.
func Find(t testing.TB) string {
	t.Helper()
	bin, err := Lookup()
	if errors.Is(err, ErrNoBinary) {
		t.Skipf("skipping real-Ollama test: %v", err)
	}
	if err != nil {
		t.Fatalf("find ollama: %v", err)
	}
	return bin
}

func executable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("not an executable file (mode %v)", st.Mode())
	}
	return nil
}
