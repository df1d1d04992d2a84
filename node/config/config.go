package config

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/multiformats/go-multiaddr"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/router"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid config")

// Defaults a user gets with no flags at all: a real Ollama on this machine and a
// small model most edge devices can run.
const (
	DefaultModel     = "qwen2.5:0.5b"
	DefaultOllamaURL = "http://127.0.0.1:11434"
	DefaultAPIAddr   = "127.0.0.1:8700"
	DefaultP2PPort   = 4700
	EnvPrefix        = "SWARM_"
)

// Config is everything a node needs to start. The zero value is not valid: use Default.
type Config struct {
	Model      string   // Ollama model name served by this node
	OllamaURL  string   // base URL of the Ollama server
	APIAddr    string   // HTTP API listen address
	Listen     []string // libp2p listen multiaddrs
	Bootstrap  []string // multiaddrs (with /p2p/<id>) to dial at start
	DataDir    string   // identity key and state
	MDNS       bool     // LAN discovery by multicast DNS
	Domains    []string // declared domains, e.g. medicine,networking
	Describe   string   // free-text description of what this node is good at
	EmbedModel string   // Ollama embedding model shared by the swarm; "" = built-in lexical embedder
	Knowledge  string   // directory of documents this node answers from (knowledge cooperation); "" = none
	Name       string   // human label shown to peers; "" = hostname
	SwarmKey   string   // private-network key file (swarmllm keygen); "" = an open swarm
	AllowPeers string   // file of member peer ids, re-read on change and SIGHUP; "" = every key holder

	Relays       []string // static circuit relays (with /p2p/<id>), also dialed as bootstrap peers
	RelayService bool     // relay for members behind NATs (and tell them they are): for a node others can reach

	Policy         router.Policy
	Privacy        string        // redact | block | allow: personal data sent to the cloud
	PeerPrivacy    string        // redact | allow: personal data sent to peers of an open swarm (a private one gets it as written)
	PIIModel       bool          // the node's own model also lists personal data before anything leaves the device
	PeerTrustPrior float64       // trust in a peer never judged, 0…1; 0 = by kind of swarm (private 0.5, open 0.2)
	PIITimeout     time.Duration // deadline for that look; past it the detectors alone decide
	CloudURL       string        // OpenAI-compatible endpoint; "" = no cloud FM
	CloudModel     string        // model name at that endpoint
	CloudAPIKey    string        // from SWARM_CLOUD_API_KEY only (never a flag: it would show in ps)
	CloudMaxShare  float64       // at most this share of queries per hour may go to the cloud (0 = no limit)
	CloudMaxCalls  RateCaps      // cloud calls per hour and per day (0 = no limit)
	CloudMaxTokens RateCaps      // cloud tokens per hour and per day (0 = no limit)
	// SwarmCloudMaxCalls and SwarmCloudMaxTokens cap the whole swarm's
	// cloud use per hour and per day (0 = no cap); every member sets the same.
	SwarmCloudMaxCalls  RateCaps
	SwarmCloudMaxTokens RateCaps
	// CloudConnectTimeout bounds connecting to the cloud FM; CloudFirstByteTimeout
	// how long it may stay silent (before its first token, or between two)
	// before the call counts as hung.
	CloudConnectTimeout   time.Duration
	CloudFirstByteTimeout time.Duration
	TopK                  int           // peers asked per round
	AskTimeout            time.Duration // deadline for one peer's answer
	RoundTimeout          time.Duration // deadline for a whole collaboration round (asks and vote)
	VoteTimeout           time.Duration // how long a round waits for ballots once the proposals are in
	Confident             float64       // local confidence at or above which an easy query stays local
	// PrefixTokens and PrefixMargin are the early decision on a streamed
	// local answer (router.PrefixRule); 0 tokens judges every answer whole.
	PrefixTokens int
	PrefixMargin float64
	LocalTimeout time.Duration // deadline for the local model's answer

	APIKeys     string   // from SWARM_API_KEYS only (never a flag): comma separated name:secret or secrets
	APIKeysFile string   // file of API keys with optional quotas (format in node/api/keys.go)
	APIInsecure bool     // serve off loopback without keys, on purpose
	APIHosts    []string // further names or addresses callers may put in Host (proxies, NAT)
	CORSOrigins []string // browser origins allowed to call the API cross-origin

	LogLevel string // debug | info | warn | error
}

// Default returns the built-in defaults. OLLAMA_HOST is honoured the way the
// ollama CLI honours it, so a node finds the same Ollama the user already runs.
func Default() Config {
	c := Config{
		Model:     DefaultModel,
		OllamaURL: DefaultOllamaURL,
		APIAddr:   DefaultAPIAddr,
		Listen: []string{
			fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", DefaultP2PPort),
			fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", DefaultP2PPort),
		},
		DataDir:               defaultDataDir(),
		MDNS:                  true,
		Policy:                router.PolicySwarm,
		Privacy:               "redact",
		PeerPrivacy:           "redact",
		PIIModel:              true,
		PIITimeout:            15 * time.Second,
		CloudMaxShare:         0.25,
		CloudConnectTimeout:   slm.DefaultCloudConnectTimeout,
		CloudFirstByteTimeout: slm.DefaultCloudFirstByteTimeout,
		TopK:                  3,
		AskTimeout:            60 * time.Second,
		RoundTimeout:          90 * time.Second,
		VoteTimeout:           3 * time.Second,
		Confident:             router.DefaultThresholds().Confident,
		PrefixTokens:          router.DefaultPrefixRule().MinTokens,
		PrefixMargin:          router.DefaultPrefixRule().Margin,
		LocalTimeout:          60 * time.Second,
		LogLevel:              "info",
	}
	if h := os.Getenv("OLLAMA_HOST"); h != "" {
		if u, err := OllamaURLFromHost(h); err == nil {
			c.OllamaURL = u
		}
	}
	return c
}

func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "swarmllm")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".swarmllm")
	}
	return ".swarmllm"
}

// OllamaURLFromHost turns an OLLAMA_HOST value ("0.0.0.0", "host:port",
// "http://host:port") into a base URL, as the ollama CLI does.
func OllamaURLFromHost(h string) (string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", fmt.Errorf("parse OLLAMA_HOST: %w: empty", ErrInvalid)
	}
	if !strings.Contains(h, "://") {
		h = "http://" + h
	}
	u, err := url.Parse(h)
	if err != nil {
		return "", fmt.Errorf("parse OLLAMA_HOST %q: %w", h, err)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "11434"
	}
	u.Host = net.JoinHostPort(host, port)
	return strings.TrimSuffix(u.String(), "/"), nil
}

// RegisterFlags binds every field to a flag on fs. Flags take their defaults
// from c, so call ApplyEnv (or set fields) first and flags still win.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Model, "model", c.Model, "Ollama model this node serves")
	fs.StringVar(&c.OllamaURL, "ollama", c.OllamaURL, "Ollama base URL (default from OLLAMA_HOST)")
	fs.StringVar(&c.APIAddr, "api", c.APIAddr, "HTTP API listen address")
	fs.Var((*listValue)(&c.Listen), "listen", "libp2p listen multiaddrs, comma separated")
	fs.Var((*listValue)(&c.Bootstrap), "bootstrap", "peer multiaddrs with /p2p/<id> to join, comma separated")
	fs.Var((*listValue)(&c.Relays), "relay", "static circuit relays (multiaddrs with /p2p/<id>), comma separated: when this node is behind a NAT, peers at other sites reach it through them")
	fs.BoolVar(&c.RelayService, "relay-service", c.RelayService, "relay connections for members behind NATs (run it on a node others can reach, e.g. with a public address)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the identity key and state")
	fs.BoolVar(&c.MDNS, "mdns", c.MDNS, "discover peers on the LAN by mDNS")
	fs.Var((*listValue)(&c.Domains), "domains", "domains this node declares, comma separated")
	fs.StringVar(&c.Describe, "describe", c.Describe, "free-text description of what this node's model is good at")
	fs.StringVar(&c.EmbedModel, "embed-model", c.EmbedModel, "Ollama embedding model shared by the swarm (empty: built-in lexical embedder)")
	fs.StringVar(&c.Knowledge, "knowledge", c.Knowledge, "directory of documents (.txt, .md, .pdf) this node answers from for the swarm; their text never leaves the device, only answers citing them (empty: none)")
	fs.StringVar(&c.Name, "name", c.Name, "human label shown to peers (default: hostname)")
	fs.StringVar(&c.SwarmKey, "swarm-key", c.SwarmKey, "private swarm key file (make one with 'swarmllm keygen'); empty: an open swarm anyone can join")
	fs.StringVar(&c.AllowPeers, "allow-peers", c.AllowPeers, "file of member peer ids, one a line (# comments); re-read on change and SIGHUP")
	fs.Var((*policyValue)(&c.Policy), "policy", fmt.Sprintf("routing policy: %v", router.Policies))
	fs.StringVar(&c.Privacy, "privacy", c.Privacy, "personal data bound for the cloud: redact | block | allow")
	fs.StringVar(&c.PeerPrivacy, "peer-privacy", c.PeerPrivacy, "personal data bound for peers of an open swarm (no --swarm-key): redact | allow")
	fs.Float64Var(&c.PeerTrustPrior, "peer-trust-prior", c.PeerTrustPrior, "trust (0..1) in a peer this node has not judged yet; 0: 0.5 in a private swarm, 0.2 in an open one")
	fs.BoolVar(&c.PIIModel, "pii-model", c.PIIModel, "let this node's own model list personal data too (through Ollama's structured output) before anything leaves the device")
	fs.DurationVar(&c.PIITimeout, "pii-timeout", c.PIITimeout, "deadline for the own model's look for personal data; past it the detectors alone decide")
	fs.StringVar(&c.CloudURL, "cloud-url", c.CloudURL, "OpenAI-compatible cloud FM base URL (empty: no cloud; key from SWARM_CLOUD_API_KEY)")
	fs.StringVar(&c.CloudModel, "cloud-model", c.CloudModel, "cloud FM model name")
	fs.Float64Var(&c.CloudMaxShare, "cloud-max-share", c.CloudMaxShare, "max share of queries per hour sent to the cloud (0: no limit)")
	fs.Var(&c.CloudMaxCalls, "cloud-max-calls", "cap on cloud calls: N/h and/or N/d, comma separated (a bare N is per hour; 0: no cap)")
	fs.Var(&c.CloudMaxTokens, "cloud-max-tokens", "cap on cloud tokens (prompt + completion): N/h and/or N/d, comma separated (a bare N is per hour)")
	fs.Var(&c.SwarmCloudMaxCalls, "swarm-cloud-max-calls", "cap on the whole swarm's cloud calls, shared by its members over gossip: N/h and/or N/d (a bare N is per hour; 0: no cap); set the same on every node")
	fs.Var(&c.SwarmCloudMaxTokens, "swarm-cloud-max-tokens", "cap on the whole swarm's cloud tokens: N/h and/or N/d (a bare N is per hour); set the same on every node")
	fs.IntVar(&c.TopK, "top-k", c.TopK, "peers asked per collaboration round")
	fs.DurationVar(&c.CloudConnectTimeout, "cloud-connect-timeout", c.CloudConnectTimeout, "deadline for connecting to the cloud FM")
	fs.DurationVar(&c.CloudFirstByteTimeout, "cloud-first-byte-timeout", c.CloudFirstByteTimeout, "how long the cloud FM may stay silent (before its first token, or between two) before the call counts as hung")
	fs.DurationVar(&c.AskTimeout, "ask-timeout", c.AskTimeout, "deadline for one peer's answer")
	fs.DurationVar(&c.RoundTimeout, "round-timeout", c.RoundTimeout, "deadline for a whole vote round")
	fs.DurationVar(&c.VoteTimeout, "vote-timeout", c.VoteTimeout, "how long a round waits for ballots")
	fs.Float64Var(&c.Confident, "confident", c.Confident, "local confidence (0..1) at or above which an easy query is answered locally")
	fs.IntVar(&c.PrefixTokens, "prefix-tokens", c.PrefixTokens, "a streamed local answer is judged on this many first tokens: a sure prefix streams on, an unsure one starts the swarm at once (0: judge every answer whole)")
	fs.Float64Var(&c.PrefixMargin, "prefix-margin", c.PrefixMargin, "how far (0..1) a prefix's confidence must be above or below the bar to decide before the whole answer")
	fs.DurationVar(&c.LocalTimeout, "local-timeout", c.LocalTimeout, "deadline for the local model's answer")
	fs.StringVar(&c.APIKeysFile, "api-keys-file", c.APIKeysFile, "file of API keys, one a line: name:secret [requests=N] [cloud_calls=N] [cloud_tokens=N] (quotas per hour); inline keys: SWARM_API_KEYS")
	fs.BoolVar(&c.APIInsecure, "api-insecure", c.APIInsecure, "allow --api off loopback without API keys: anyone who reaches it may use it and spend the cloud budget")
	fs.Var((*listValue)(&c.APIHosts), "api-hosts", "extra names or addresses callers may use in Host, comma separated (loopback, the bound address and the hostname always work)")
	fs.Var((*listValue)(&c.CORSOrigins), "cors-origins", "browser origins (scheme://host[:port]) allowed to call the API cross-origin, comma separated")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug | info | warn | error")
}

// EnvName is the environment twin of a flag: --data-dir ⇄ SWARM_DATA_DIR.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ApplyEnv sets every registered flag of fs whose SWARM_* twin is set in the
// environment (looked up through lookup, os.LookupEnv in production). Call it
// after RegisterFlags and before fs.Parse, so flags still win.
func ApplyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := lookup(EnvName(f.Name)); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// TrustParams are the track-record settings: the prior by kind of swarm
// unless --peer-trust-prior sets it.
func (c *Config) TrustParams() router.TrustParams {
	kind := router.SwarmOpen
	if c.SwarmKey != "" {
		kind = router.SwarmPrivate
	}
	p := router.DefaultTrustParams(kind)
	if c.PeerTrustPrior > 0 {
		p.Prior = c.PeerTrustPrior
		p.Floor = min(p.Floor, p.Prior)
	}
	return p
}

// Rules are the routing rules this config asks for.
func (c *Config) Rules() router.Rules {
	r := router.DefaultRules()
	r.Policy = c.Policy
	r.Privacy = router.PrivacyPolicy(c.Privacy)
	r.Thresholds.Confident = c.Confident
	return r
}

// PrefixRule is the early decision on streamed local answers this config asks for.
func (c *Config) PrefixRule() router.PrefixRule {
	return router.PrefixRule{MinTokens: c.PrefixTokens, Margin: c.PrefixMargin}
}

// Validate checks the whole config and reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if strings.TrimSpace(c.Model) == "" {
		bad("--model is empty")
	}
	if u, err := url.Parse(c.OllamaURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("--ollama %q is not an http(s) URL", c.OllamaURL)
	}
	if _, _, err := net.SplitHostPort(c.APIAddr); err != nil {
		bad("--api %q: %v", c.APIAddr, err)
	}
	if len(c.Listen) == 0 {
		bad("--listen is empty")
	}
	for _, a := range c.Listen {
		if _, err := multiaddr.NewMultiaddr(a); err != nil {
			bad("--listen %q: %v", a, err)
		}
	}
	for flag, addrs := range map[string][]string{"--bootstrap": c.Bootstrap, "--relay": c.Relays} {
		for _, a := range addrs {
			ma, err := multiaddr.NewMultiaddr(a)
			if err != nil {
				bad("%s %q: %v", flag, a, err)
				continue
			}
			if _, err := ma.ValueForProtocol(multiaddr.P_P2P); err != nil {
				bad("%s %q has no /p2p/<peer-id>", flag, a)
			}
		}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("--data-dir is empty")
	}
	if c.Knowledge != "" {
		if st, err := os.Stat(c.Knowledge); err != nil || !st.IsDir() {
			bad("--knowledge %q is not a readable directory", c.Knowledge)
		}
	}
	if _, err := router.ParsePolicy(string(c.Policy)); err != nil {
		bad("--policy: %v", err)
	}
	if _, err := router.ParsePrivacyPolicy(c.Privacy); err != nil {
		bad("--privacy: %v", err)
	}
	if math.IsNaN(c.PeerTrustPrior) || c.PeerTrustPrior < 0 || c.PeerTrustPrior > 1 {
		bad("--peer-trust-prior %v: want 0..1 (0: by kind of swarm)", c.PeerTrustPrior)
	}
	if p, err := router.ParsePrivacyPolicy(c.PeerPrivacy); err != nil || p == router.PrivacyBlock {
		bad("--peer-privacy %q: want redact or allow", c.PeerPrivacy)
	}
	if c.PIITimeout <= 0 {
		bad("--pii-timeout must be positive")
	}
	if c.CloudURL != "" {
		if u, err := url.Parse(c.CloudURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("--cloud-url %q is not an http(s) URL", c.CloudURL)
		}
		if c.CloudModel == "" {
			bad("--cloud-model is required with --cloud-url")
		}
	}
	if c.CloudMaxShare < 0 || c.CloudMaxShare > 1 {
		bad("--cloud-max-share %v: want 0..1", c.CloudMaxShare)
	}
	if c.Confident < 0 || c.Confident > 1 {
		bad("--confident %v: want 0..1", c.Confident)
	}
	if err := c.PrefixRule().Validate(); err != nil {
		bad("--prefix-tokens %d, --prefix-margin %v: want ≥ 0 tokens and a margin in 0..1", c.PrefixTokens, c.PrefixMargin)
	}
	if c.TopK < 1 || c.TopK > 32 {
		bad("--top-k %d: want 1..32", c.TopK)
	}
	for name, d := range map[string]time.Duration{"--ask-timeout": c.AskTimeout, "--round-timeout": c.RoundTimeout,
		"--vote-timeout": c.VoteTimeout, "--local-timeout": c.LocalTimeout,
		"--cloud-connect-timeout": c.CloudConnectTimeout, "--cloud-first-byte-timeout": c.CloudFirstByteTimeout} {
		if d <= 0 {
			bad("%s %v: must be positive", name, d)
		}
	}
	if keys, err := c.LoadAPIKeys(); err != nil {
		bad("API keys: %v", err)
	} else if keys.Len() == 0 && !c.APIInsecure && !nodeapi.IsLoopbackAddr(c.APIAddr) {
		bad("--api %s is off loopback and no API keys are set: set SWARM_API_KEYS or --api-keys-file, "+
			"or --api-insecure if anyone who reaches it may use it", c.APIAddr)
	}
	for _, o := range c.CORSOrigins {
		if err := nodeapi.CheckOrigin(o); err != nil {
			bad("--cors-origins: %v", err)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// BudgetOptions are the cloud budget this config asks for: the share, the
// absolute caps, and each API key's quota.
func (c *Config) BudgetOptions(keys *nodeapi.Keyring) []router.BudgetOption {
	opts := []router.BudgetOption{
		router.WithMaxShare(c.CloudMaxShare),
		router.WithMaxCalls(c.CloudMaxCalls.Hour, c.CloudMaxCalls.Day),
		router.WithMaxTokens(c.CloudMaxTokens.Hour, c.CloudMaxTokens.Day),
	}
	for _, k := range keys.Keys() {
		if k.Quota != (nodeapi.Quota{}) {
			opts = append(opts, router.WithKeyCaps(k.Name, router.KeyCaps{Requests: k.Quota.Requests,
				CloudCalls: k.Quota.CloudCalls, CloudTokens: k.Quota.CloudTokens}))
		}
	}
	return opts
}

// SwarmBudgetOptions are the swarm-wide caps this config asks for (all
// zero, no cap, when SwarmCapped is false).
func (c *Config) SwarmBudgetOptions() []router.SwarmBudgetOption {
	return []router.SwarmBudgetOption{
		router.WithSwarmCalls(c.SwarmCloudMaxCalls.Hour, c.SwarmCloudMaxCalls.Day),
		router.WithSwarmTokens(c.SwarmCloudMaxTokens.Hour, c.SwarmCloudMaxTokens.Day),
	}
}

// SwarmCapped reports whether a swarm-wide cloud cap is set.
func (c *Config) SwarmCapped() bool {
	return c.SwarmCloudMaxCalls != (RateCaps{}) || c.SwarmCloudMaxTokens != (RateCaps{})
}

// LoadAPIKeys reads the keys of SWARM_API_KEYS and of --api-keys-file into
// one keyring (empty when neither is set).
func (c *Config) LoadAPIKeys() (*nodeapi.Keyring, error) {
	keys, err := nodeapi.ParseKeys(c.APIKeys)
	if err != nil {
		return nil, fmt.Errorf("SWARM_API_KEYS: %w", err)
	}
	if c.APIKeysFile != "" {
		f, err := os.Open(c.APIKeysFile)
		if err != nil {
			return nil, fmt.Errorf("--api-keys-file: %w", err)
		}
		defer f.Close()
		more, err := nodeapi.ParseKeysFile(f)
		if err != nil {
			return nil, fmt.Errorf("--api-keys-file %s: %w", c.APIKeysFile, err)
		}
		keys = append(keys, more...)
	}
	return nodeapi.NewKeyring(keys...)
}

// listValue is a comma-separated list flag; a later setting replaces an
// earlier one, so a flag overrides its SWARM_* twin instead of adding to it.
type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }

func (l *listValue) Set(s string) error {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	*l = out
	return nil
}

// RateCaps is a cap per hour and per day; 0 is no cap. As a flag it reads
// "60/h", "500/d", "60/h,500/d", or a bare "60" (per hour).
type RateCaps struct{ Hour, Day int64 }

func (r *RateCaps) String() string {
	var parts []string
	if r.Hour > 0 {
		parts = append(parts, fmt.Sprintf("%d/h", r.Hour))
	}
	if r.Day > 0 {
		parts = append(parts, fmt.Sprintf("%d/d", r.Day))
	}
	return strings.Join(parts, ",")
}

func (r *RateCaps) Set(s string) error {
	var out RateCaps
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		num, unit, _ := strings.Cut(part, "/")
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%q: want N/h or N/d with N ≥ 0", part)
		}
		switch strings.TrimSpace(unit) {
		case "", "h", "hour":
			out.Hour = n
		case "d", "day":
			out.Day = n
		default:
			return fmt.Errorf("%q: unit %q: want h or d", part, unit)
		}
	}
	*r = out
	return nil
}

type policyValue router.Policy

func (p *policyValue) String() string { return string(*p) }

func (p *policyValue) Set(s string) error {
	pol, err := router.ParsePolicy(s)
	if err != nil {
		return err
	}
	*p = policyValue(pol)
	return nil
}
