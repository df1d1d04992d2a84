package main

import (
	"bytes"
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/multiformats/go-multiaddr"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
)

// What the demo says to try once it serves is what the README says, ports
// included: every command line of the hint is a line of the README.
func TestDemoHintMatchesREADME(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(readme), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	hint := demoHint([]string{"127.0.0.1:8700", "127.0.0.1:8701", "127.0.0.1:8702"})
	for _, l := range strings.Split(strings.TrimSpace(hint), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "or open ") {
			if !strings.Contains(string(readme), l[:strings.Index(l, "/ ")+1]) {
				t.Errorf("README does not name the demo's dashboard: %q", l)
			}
			continue
		}
		if !lines[l] {
			t.Errorf("README lacks the demo's hint line %q", l)
		}
	}
}

// A wrong flag's error is the last thing on screen, not followed by every
// flag's usage; -h still prints them all.
func TestBadFlagErrorStaysOnScreen(t *testing.T) {
	for _, cmd := range []string{"node", "ask", "peers", "health", "demo", "eval"} {
		t.Run(cmd, func(t *testing.T) {
			// The flag package writes to os.Stderr itself: catch that too.
			f, err := os.CreateTemp(t.TempDir(), "stderr")
			if err != nil {
				t.Fatal(err)
			}
			orig := os.Stderr
			os.Stderr = f
			code := run([]string{cmd, "--no-such-flag"}, f)
			os.Stderr = orig
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			b, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			out := strings.TrimSpace(string(b))
			if n := strings.Count(out, "\n") + 1; n > 2 || !strings.Contains(out, "-no-such-flag") || !strings.Contains(out, cmd+" -h") {
				t.Errorf("%d lines:\n%s\nwant the error and a pointer to -h", n, out)
			}
		})
	}
}

// At start a node prints one ready-to-paste --bootstrap line per address
// (--relay for a relay), each of which the node's own config accepts.
func TestJoinHint(t *testing.T) {
	const id = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp"
	var addrs []multiaddr.Multiaddr
	for _, s := range []string{"/ip4/192.168.1.7/tcp/4700/p2p/" + id, "/ip4/127.0.0.1/tcp/4700/p2p/" + id} {
		addrs = append(addrs, multiaddr.StringCast(s))
	}
	tests := []struct {
		name  string
		relay bool
		flag  string
		set   func(*config.Config, []string)
	}{
		{"a node", false, "--bootstrap", func(c *config.Config, a []string) { c.Bootstrap = a }},
		{"a relay", true, "--relay", func(c *config.Config, a []string) { c.Relays = a }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			printJoinHint(&out, id, "127.0.0.1:8700", addrs, tt.relay)
			var given []string
			for _, l := range strings.Split(out.String(), "\n") {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(l), tt.flag+" "); ok {
					addr, note, _ := strings.Cut(rest, "#")
					if strings.Contains(addr, "127.0.0.1") != strings.Contains(note, "this machine only") {
						t.Errorf("line %q: loopback addresses (only) are marked", l)
					}
					given = append(given, strings.TrimSpace(addr))
				}
			}
			if len(given) != len(addrs) {
				t.Fatalf("%d %s lines for %d addresses:\n%s", len(given), tt.flag, len(addrs), out.String())
			}
			cfg := config.Default()
			tt.set(&cfg, given)
			if err := cfg.Validate(); err != nil {
				t.Errorf("the printed addresses do not make a valid %s: %v", tt.flag, err)
			}
		})
	}
}

// swarmllm peers marks the node it asked.
func TestPeersMarkSelf(t *testing.T) {
	const self, other = "12D3KooWselfselfselfselfselfselfselfselfselfself1", "12D3KooWotherotherotherotherotherotherotherother2"
	var out bytes.Buffer
	recs := []cms.RecordView{{Peer: self, Self: true, Model: "a", Healthy: true}, {Peer: other, Model: "b", Healthy: true}}
	if err := printPeers(&out, []api.PeerInfo{{ID: other}}, recs, time.Now()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "(self)") || !strings.HasSuffix(strings.TrimSpace(lines[1]), "self") ||
		strings.Contains(lines[2], "self") || !strings.HasSuffix(strings.TrimSpace(lines[2]), "true") {
		t.Errorf("peers table:\n%s", out.String())
	}
}

// The version a node reports (and `ollama -v` shows after the Ollama API
// version) is the build's own, not a fixed placeholder.
func TestBuildVersion(t *testing.T) {
	const fallback = "0.1.0-dev"
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, fallback},
		{"tagged", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, true, "v0.3.0"},
		{"pseudo-version from a clone", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261129231200-3763679abcde+dirty"}}, true,
			"v0.0.0-20261129231200-3763679abcde+dirty"},
		{"go run: commit only", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "3763679abcdef0123456789"}, {Key: "vcs.modified", Value: "true"}}}, true, fallback + "+3763679abcde+dirty"},
		{"nothing stamped", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, fallback},
	}
	for _, tc := range tests {
		if got := buildVersion(tc.bi, tc.ok, fallback); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
