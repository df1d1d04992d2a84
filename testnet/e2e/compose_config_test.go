package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/node/p2p"
)

// Paths relative to this package.
const (
	dockerDir       = "../docker"
	composeFile     = dockerDir + "/docker-compose.yml"
	realComposeFile = dockerDir + "/docker-compose.real.yml"
	ollamaOverride  = dockerDir + "/docker-compose.ollama.yml"
	testnetScript   = "../../scripts/testnet.sh"
)

// composeTools lists the compose commands installed here: the Docker CLI
// plugin and the standalone tool, or $SWARM_COMPOSE alone when set.
func composeTools() [][]string {
	if s := os.Getenv("SWARM_COMPOSE"); s != "" {
		return [][]string{strings.Fields(s)}
	}
	var tools [][]string
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if exec.CommandContext(ctx, "docker", "compose", "version").Run() == nil {
		tools = append(tools, []string{"docker", "compose"})
	}
	if exec.CommandContext(ctx, "docker-compose", "version").Run() == nil {
		tools = append(tools, []string{"docker-compose"})
	}
	return tools
}

// TestComposeConfig validates both compose files with every installed
// compose tool, under the default settings and the ones the e2e test uses.
func TestComposeConfig(t *testing.T) {
	tools := composeTools()
	if len(tools) == 0 {
		t.Skip("skipping: neither 'docker compose' nor 'docker-compose' is installed")
	}
	cases := []struct {
		name  string
		files []string
		env   []string
		want  []string // substrings of the rendered config
	}{
		{"testnet defaults", []string{composeFile}, nil, []string{"12D3KooWE2Nf3wDzabfSNRtLDyUGBKYZSJi9UjMjCceuWrbYhhx3", "8701", "SWARM_SWARM_KEY"}},
		{"testnet mDNS only, other ports", []string{composeFile},
			[]string{"SWARM_TESTNET_BOOTSTRAP=", "SWARM_TESTNET_PORT1=18701", "SWARM_TESTNET_CLOUD_MAX_SHARE=0"},
			[]string{"18701", "SWARM_CLOUD_MAX_SHARE"}},
		{"testnet with faults", []string{composeFile},
			[]string{"SWARM_TESTNET_SLM2_FAULT=slow=20", "SWARM_TESTNET_CLOUD_FAULT=complete=hang"},
			[]string{"slow=20", "complete=hang", "SWARM_CLOUD_FIRST_BYTE_TIMEOUT"}},
		{"testnet on real ollama", []string{composeFile, ollamaOverride}, nil,
			[]string{"swarmllm-ollama:local", "tiny-sharp", "tiny-flat", "tiny-embed", "/tmp"}},
		{"real devices defaults", []string{realComposeFile}, nil, []string{"ollama/ollama:0.17.4", "qwen2.5:0.5b", "all-minilm", "SWARM_SWARM_KEY", "swarm.key"}},
		{"real devices llama", []string{realComposeFile}, []string{"SWARM_MODEL=llama3.2:1b", "SWARM_DOMAINS=geography,science"},
			[]string{"llama3.2:1b", "geography,science"}},
		{"real devices smollm", []string{realComposeFile}, []string{"SWARM_MODEL=smollm2:360m"}, []string{"smollm2:360m"}},
	}
	for _, tool := range tools {
		for _, tc := range cases {
			t.Run(strings.Join(tool, " ")+"/"+tc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				args := append(append([]string{}, tool[1:]...), "-p", "swarmllm-config-check")
				for _, f := range tc.files {
					args = append(args, "-f", f)
				}
				args = append(args, "config")
				cmd := exec.CommandContext(ctx, tool[0], args...)
				cmd.Env = append(os.Environ(), tc.env...)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s config: %v\n%s", strings.Join(tool, " "), err, out)
				}
				for _, w := range tc.want {
					if !strings.Contains(string(out), w) {
						t.Errorf("rendered config lacks %q:\n%s", w, out)
					}
				}
			})
		}
	}
}

// TestComposeIdentities checks that the committed test keys are the peer ids
// the bootstrap addresses name, so nodes can dial each other by /p2p/<id>,
// and that every node holds the testnet's swarm key.
func TestComposeIdentities(t *testing.T) {
	compose, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("node%d", i)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dockerDir, "identity", name+".key"))
			if err != nil {
				t.Fatal(err)
			}
			key, err := crypto.UnmarshalPrivateKey(raw)
			if err != nil {
				t.Fatalf("decode %s key: %v", name, err)
			}
			id, err := peer.IDFromPrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("/dns4/%s/tcp/4700/p2p/%s", name, id); !strings.Contains(string(compose), want) {
				t.Errorf("%s lacks the bootstrap address %s", composeFile, want)
			}
			if want := fmt.Sprintf("./identity/%s.key:/data/identity.key:ro", name); !strings.Contains(string(compose), want) {
				t.Errorf("%s does not mount %s's key: want %q", composeFile, name, want)
			}
		})
	}
	// The testnet is a private swarm: every node mounts the committed test key.
	if _, err := p2p.LoadSwarmKey(filepath.Join(dockerDir, "identity", "swarm.key")); err != nil {
		t.Errorf("test swarm key: %v", err)
	}
	if got := strings.Count(string(compose), "./identity/swarm.key:/swarm.key:ro"); got != 3 {
		t.Errorf("%s mounts the swarm key into %d nodes, want 3", composeFile, got)
	}
}

// TestComposePublishesOnLoopbackOnly enforces the network rule on the files
// themselves: every published port is bound to 127.0.0.1, and the real-device
// file publishes none (it uses host networking).
func TestComposePublishesOnLoopbackOnly(t *testing.T) {
	portLine := regexp.MustCompile(`^\s*-\s*"?([^"]+)"?\s*$`)
	for _, file := range []string{composeFile, realComposeFile} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			inPorts, published := false, 0
			for sc.Scan() {
				line := sc.Text()
				trimmed := strings.TrimSpace(line)
				switch {
				case trimmed == "ports:":
					inPorts = true
					continue
				case inPorts && strings.HasPrefix(trimmed, "- "):
					m := portLine.FindStringSubmatch(line)
					if m == nil || !strings.HasPrefix(m[1], "127.0.0.1:") {
						t.Errorf("published port %q is not bound to 127.0.0.1", trimmed)
					}
					published++
					continue
				}
				inPorts = false
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			if file == composeFile && published != 3 {
				t.Errorf("%d published ports, want one per node (3)", published)
			}
			if file == realComposeFile && published != 0 {
				t.Errorf("%d published ports, want none (host networking)", published)
			}
		})
	}
}
