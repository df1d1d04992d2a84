package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	okPeer := "/ip4/127.0.0.1/tcp/4700/p2p/12D3KooWGzBMNNaP3rCfUaQcfkQZdSrK5tBVH2CP7cCRFzQpDtpo"
	cases := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"bootstrap with peer id", func(c *Config) { c.Bootstrap = []string{okPeer} }, ""},
		{"empty model", func(c *Config) { c.Model = " " }, "--model is empty"},
		{"knowledge directory", func(c *Config) { c.Knowledge = os.TempDir() }, ""},
		{"knowledge not a directory", func(c *Config) { c.Knowledge = "/nonexistent/docs" }, "--knowledge"},
		{"ollama not a URL", func(c *Config) { c.OllamaURL = "localhost" }, "--ollama"},
		{"bad api addr", func(c *Config) { c.APIAddr = "8700" }, "--api"},
		{"bad listen", func(c *Config) { c.Listen = []string{"tcp/1"} }, "--listen"},
		{"bootstrap without peer id", func(c *Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/1"} }, "no /p2p/"},
		{"relay with peer id", func(c *Config) { c.Relays = []string{okPeer}; c.RelayService = true }, ""},
		{"relay without peer id", func(c *Config) { c.Relays = []string{"/ip4/127.0.0.1/tcp/1"} }, "--relay \"/ip4/127.0.0.1/tcp/1\" has no /p2p/"},
		{"relay not a multiaddr", func(c *Config) { c.Relays = []string{"relay.example:4700"} }, "--relay \"relay.example:4700\""},
		{"unknown policy", func(c *Config) { c.Policy = "fastest" }, "--policy"},
		{"bad privacy", func(c *Config) { c.Privacy = "maybe" }, "--privacy"},
		{"peers cannot be blocked", func(c *Config) { c.PeerPrivacy = "block" }, "--peer-privacy"},
		{"no pii timeout", func(c *Config) { c.PIITimeout = 0 }, "--pii-timeout"},
		{"trust prior above 1", func(c *Config) { c.PeerTrustPrior = 1.5 }, "--peer-trust-prior"},
		{"trust prior set", func(c *Config) { c.PeerTrustPrior = 0.3 }, ""},
		{"cloud url without model", func(c *Config) { c.CloudURL = "http://127.0.0.1:1" }, "--cloud-model"},
		{"share out of range", func(c *Config) { c.CloudMaxShare = 2 }, "--cloud-max-share"},
		{"top-k zero", func(c *Config) { c.TopK = 0 }, "--top-k"},
		{"negative timeout", func(c *Config) { c.AskTimeout = -time.Second }, "--ask-timeout"},
		{"bad log level", func(c *Config) { c.LogLevel = "loud" }, "--log-level"},
		{"api off loopback without keys", func(c *Config) { c.APIAddr = "0.0.0.0:8700" }, "off loopback"},
		{"api on all interfaces (no host) without keys", func(c *Config) { c.APIAddr = ":8700" }, "off loopback"},
		{"api off loopback, insecure on purpose", func(c *Config) { c.APIAddr, c.APIInsecure = "0.0.0.0:8700", true }, ""},
		{"api off loopback with keys", func(c *Config) { c.APIAddr, c.APIKeys = "0.0.0.0:8700", "ops:0123456789abcdef0123" }, ""},
		{"bad inline key", func(c *Config) { c.APIKeys = "ops:short" }, "SWARM_API_KEYS"},
		{"missing keys file", func(c *Config) { c.APIKeysFile = "/nonexistent/keys" }, "--api-keys-file"},
		{"bad CORS origin", func(c *Config) { c.CORSOrigins = []string{"app.example"} }, "--cors-origins"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want ErrInvalid mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadAPIKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte("# ops\nci:fedcba9876543210fedc requests=60 cloud_tokens=1000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default()
	c.APIKeys, c.APIKeysFile, c.APIAddr = "ops:0123456789abcdef0123", path, "0.0.0.0:8700"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ring, err := c.LoadAPIKeys()
	if err != nil {
		t.Fatal(err)
	}
	keys := ring.Keys()
	if len(keys) != 2 || keys[0].Name != "ops" || keys[1].Name != "ci" || keys[1].Quota.Requests != 60 || keys[1].Quota.CloudTokens != 1000 {
		t.Fatalf("keys = %+v", keys)
	}
	c.APIKeys = "ci:0123456789abcdef0123" // the file's name again
	if _, err := c.LoadAPIKeys(); err == nil {
		t.Fatal("two keys named ci accepted")
	}
}

func TestPrecedenceDefaultsEnvFlags(t *testing.T) {
	env := map[string]string{
		"SWARM_MODEL":         "llama3.2:1b",
		"SWARM_DOMAINS":       "medicine, networking",
		"SWARM_MDNS":          "false",
		"SWARM_API":           "127.0.0.1:9000",
		"SWARM_TOP_K":         "5",
		"SWARM_DATA_DIR":      "/tmp/from-env",
		"SWARM_RELAY":         "/ip4/192.0.2.1/tcp/4700/p2p/a, /ip4/192.0.2.2/tcp/4700/p2p/b",
		"SWARM_RELAY_SERVICE": "true",
	}
	c := Default()
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs)
	if err := ApplyEnv(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--api", "127.0.0.1:9100", "--domains", "code"}); err != nil {
		t.Fatal(err)
	}
	if c.Model != "llama3.2:1b" || c.MDNS || c.TopK != 5 || c.DataDir != "/tmp/from-env" || len(c.Relays) != 2 || !c.RelayService {
		t.Errorf("env not applied: %+v", c)
	}
	if c.APIAddr != "127.0.0.1:9100" || strings.Join(c.Domains, ",") != "code" {
		t.Errorf("flags must beat env: api=%q domains=%v", c.APIAddr, c.Domains)
	}
	if c.OllamaURL != Default().OllamaURL {
		t.Errorf("untouched field changed: %q", c.OllamaURL)
	}
}

func TestApplyEnvReportsBadValues(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	c.RegisterFlags(fs)
	err := ApplyEnv(fs, func(k string) (string, bool) {
		if k == "SWARM_TOP_K" {
			return "many", true
		}
		return "", false
	})
	if err == nil || !strings.Contains(err.Error(), "SWARM_TOP_K") {
		t.Fatalf("ApplyEnv = %v, want an error naming SWARM_TOP_K", err)
	}
}

func TestOllamaURLFromHost(t *testing.T) {
	cases := []struct{ in, want string }{
		{"0.0.0.0", "http://127.0.0.1:11434"},
		{"127.0.0.1:11500", "http://127.0.0.1:11500"},
		{"http://gpu-box:8080", "http://gpu-box:8080"},
		{"https://ollama.lan", "https://ollama.lan:11434"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := OllamaURLFromHost(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("OllamaURLFromHost(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestRateCapsFlag(t *testing.T) {
	cases := []struct {
		in   string
		want RateCaps
		err  bool
	}{
		{"60", RateCaps{Hour: 60}, false},
		{"60/h", RateCaps{Hour: 60}, false},
		{"500/d", RateCaps{Day: 500}, false},
		{" 60/h , 500/day ", RateCaps{Hour: 60, Day: 500}, false},
		{"0", RateCaps{}, false},
		{"", RateCaps{}, false},
		{"-1/h", RateCaps{}, true},
		{"60/w", RateCaps{}, true},
		{"lots", RateCaps{}, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			var r RateCaps
			err := r.Set(c.in)
			if (err != nil) != c.err || (err == nil && r != c.want) {
				t.Fatalf("Set(%q) = %+v, %v; want %+v, error %v", c.in, r, err, c.want, c.err)
			}
			if err == nil {
				var back RateCaps
				if err := back.Set(r.String()); err != nil || back != r {
					t.Errorf("round trip %q → %+v, %v", r.String(), back, err)
				}
			}
		})
	}
}

func TestSwarmCloudCaps(t *testing.T) {
	cases := []struct {
		name   string
		env    map[string]string
		args   []string
		calls  RateCaps
		tokens RateCaps
	}{
		{"unset: no swarm cap", nil, nil, RateCaps{}, RateCaps{}},
		{"flags", nil, []string{"--swarm-cloud-max-calls", "30/h,200/d", "--swarm-cloud-max-tokens", "50000/h"},
			RateCaps{Hour: 30, Day: 200}, RateCaps{Hour: 50000}},
		{"env twins", map[string]string{"SWARM_SWARM_CLOUD_MAX_CALLS": "40", "SWARM_SWARM_CLOUD_MAX_TOKENS": "9000/d"}, nil,
			RateCaps{Hour: 40}, RateCaps{Day: 9000}},
		{"flag beats env", map[string]string{"SWARM_SWARM_CLOUD_MAX_CALLS": "40"}, []string{"--swarm-cloud-max-calls", "10/d"},
			RateCaps{Day: 10}, RateCaps{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			fs := flag.NewFlagSet("node", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.RegisterFlags(fs)
			if err := ApplyEnv(fs, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }); err != nil {
				t.Fatal(err)
			}
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if c.SwarmCloudMaxCalls != tc.calls || c.SwarmCloudMaxTokens != tc.tokens {
				t.Errorf("calls %+v tokens %+v, want %+v %+v", c.SwarmCloudMaxCalls, c.SwarmCloudMaxTokens, tc.calls, tc.tokens)
			}
			if want := tc.calls != (RateCaps{}) || tc.tokens != (RateCaps{}); c.SwarmCapped() != want {
				t.Errorf("SwarmCapped = %v, want %v", c.SwarmCapped(), want)
			}
		})
	}
}
