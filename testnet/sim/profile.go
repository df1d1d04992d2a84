package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// NamePrefix starts every simulated model's name, so a simulated answer can
// never pass for a real model's in a trace, a log or a benchmark.
const NamePrefix = "sim-"

// AllDomains in Profile.Domains makes every domain in-domain.
const AllDomains = "*"

// Capabilities a profile may declare (the strings Ollama's /api/show uses).
const (
	CapCompletion = "completion"
	CapEmbedding  = "embedding"
)

var (
	// ErrInvalidProfile marks a profile that fails validation.
	ErrInvalidProfile = errors.New("invalid simulated model profile")
	// ErrUnknownProfile is returned for a profile name that is not defined.
	ErrUnknownProfile = errors.New("unknown simulated model profile")
)

// Accuracy is the chance of a right answer per difficulty class.
type Accuracy struct {
	Easy float64 `json:"easy"`
	Hard float64 `json:"hard"`
}

// Profile describes one simulated model.
type Profile struct {
	Name          string `json:"name"`               // must start with "sim-"
	Family        string `json:"family"`             // e.g. qwen2, llama; also the model_info key prefix
	ParameterSize string `json:"parameter_size"`     // as Ollama prints it, e.g. "494.03M"
	Quantization  string `json:"quantization_level"` // e.g. Q4_K_M
	ContextLength int    `json:"context_length"`
	// EmbeddingLength is the vector size /api/embed returns; required with
	// the embedding capability.
	EmbeddingLength int `json:"embedding_length,omitempty"`
	// Capabilities default to ["completion"].
	Capabilities []string `json:"capabilities,omitempty"`
	// Domains the model is good at (workload domain names); "*" means all.
	// Workload items without a domain are out of domain for every profile
	// except "*" ones.
	Domains     []string `json:"domains"`
	InDomain    Accuracy `json:"in_domain"`
	OutOfDomain Accuracy `json:"out_of_domain"`
	// Overhead is the fixed latency of a request (scheduling, prompt
	// evaluation); TokenLatency is added per output token. Zero is allowed.
	Overhead     Duration `json:"overhead"`
	TokenLatency Duration `json:"token_latency"`
	// Calibration is how informative the logprobs are: the AUROC with which a
	// perfect reader of the hidden confidence signal would separate right from
	// wrong answers. 0.5 means the logprobs say nothing; token-level noise
	// makes the AUROC of mean/min logprob a little lower than this.
	Calibration float64 `json:"calibration"`
	// Seed decorrelates profiles; combine with the server seed (WithSeed).
	Seed uint64 `json:"seed"`
	// Rogue, if set, makes the model an adversary for trust tests: it
	// answers every prompt with this text, with logprobs near 0 (certain).
	Rogue string `json:"rogue,omitempty"`
}

// RogueProfile is a model that answers everything with text, certain, and
// claims every domain: the insider of issue 10's attacks.
func RogueProfile(name, text string) Profile {
	return Profile{
		Name: name, Family: "llama", ParameterSize: "1.2B", Quantization: "Q8_0", ContextLength: 8192,
		Domains:  []string{"*"},
		InDomain: Accuracy{Easy: 0, Hard: 0}, OutOfDomain: Accuracy{Easy: 0, Hard: 0},
		Calibration: 0.5, Seed: 666, Rogue: text,
	}
}

// Duration is a time.Duration that reads and writes JSON as "250ms" (a bare
// number is taken as nanoseconds).
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON accepts "250ms"-style strings or nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("parse duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("parse duration %s: want a string like \"20ms\" or nanoseconds", b)
	}
	*d = Duration(n)
	return nil
}

// Validate checks a profile and fills defaults (capabilities).
func (p *Profile) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidProfile, p.Name, fmt.Sprintf(format, a...))
	}
	if !strings.HasPrefix(p.Name, NamePrefix) || len(p.Name) == len(NamePrefix) || strings.ContainsAny(p.Name, " \t\n/") {
		return bad("name must start with %q and have no spaces or slashes", NamePrefix)
	}
	if p.Family == "" || p.ParameterSize == "" || p.Quantization == "" {
		return bad("family, parameter_size and quantization_level are required")
	}
	if p.ContextLength <= 0 {
		return bad("context_length must be positive")
	}
	if len(p.Capabilities) == 0 {
		p.Capabilities = []string{CapCompletion}
	}
	for _, c := range p.Capabilities {
		if c != CapCompletion && c != CapEmbedding {
			return bad("capability %q is not %q or %q", c, CapCompletion, CapEmbedding)
		}
	}
	if p.Has(CapEmbedding) && (p.EmbeddingLength <= 0 || p.EmbeddingLength > 8192) {
		return bad("embedding_length must be in 1..8192 for an embedding model")
	}
	for _, a := range []float64{p.InDomain.Easy, p.InDomain.Hard, p.OutOfDomain.Easy, p.OutOfDomain.Hard} {
		if !(a >= 0 && a <= 1) {
			return bad("accuracies must be in [0,1]")
		}
	}
	if !(p.Calibration >= 0.5 && p.Calibration < 1) {
		return bad("calibration must be in [0.5,1)")
	}
	if p.Overhead < 0 || p.TokenLatency < 0 {
		return bad("latencies must not be negative")
	}
	for i, d := range p.Domains {
		p.Domains[i] = strings.ToLower(strings.TrimSpace(d))
	}
	return nil
}

// Has reports whether the profile declares capability c; no capabilities
// means completion only, as after Validate.
func (p *Profile) Has(c string) bool {
	if len(p.Capabilities) == 0 {
		return c == CapCompletion
	}
	return slices.Contains(p.Capabilities, c)
}

// InDomainFor reports whether a workload domain is one of the profile's.
func (p *Profile) InDomainFor(domain string) bool {
	return slices.Contains(p.Domains, AllDomains) || (domain != "" && slices.Contains(p.Domains, domain))
}

// accuracy is the chance of a right answer for an item of this dataset and domain.
func (p *Profile) accuracy(dataset, domain string) float64 {
	a := p.OutOfDomain
	if p.InDomainFor(domain) {
		a = p.InDomain
	}
	if dataset == "hard" {
		return a.Hard
	}
	return a.Easy
}

// Built-in profile names.
const (
	ProfileQwen    = "sim-qwen2.5:0.5b" // arithmetic and code
	ProfileLlama   = "sim-llama3.2:1b"  // geography, science and history
	ProfileSmol    = "sim-smollm2:360m" // medicine and networking
	ProfileFast    = "sim-fast"         // near-perfect, no latency: load tests
	ProfileEmbed   = "sim-embed"        // lexical hashing embeddings
	ProfileCloudFM = "sim-fm-70b"       // the cloud stand-in's default model
)

// BuiltinProfiles returns fresh copies of the built-in SLM profiles: three
// heterogeneous small models with different strong domains, weak out of
// domain and on hard items; a fast near-perfect one for load tests; and an
// embedding model.
func BuiltinProfiles() []Profile {
	return []Profile{
		{
			Name: ProfileQwen, Family: "qwen2", ParameterSize: "494.03M", Quantization: "Q4_K_M", ContextLength: 32768,
			Domains:  []string{"arithmetic", "code"},
			InDomain: Accuracy{Easy: 0.92, Hard: 0.6}, OutOfDomain: Accuracy{Easy: 0.5, Hard: 0.15},
			Overhead: Duration(30 * time.Millisecond), TokenLatency: Duration(12 * time.Millisecond),
			Calibration: 0.84, Seed: 11,
		},
		{
			Name: ProfileLlama, Family: "llama", ParameterSize: "1.2B", Quantization: "Q8_0", ContextLength: 131072,
			Domains:  []string{"geography", "science", "history"},
			InDomain: Accuracy{Easy: 0.93, Hard: 0.62}, OutOfDomain: Accuracy{Easy: 0.55, Hard: 0.18},
			Overhead: Duration(40 * time.Millisecond), TokenLatency: Duration(20 * time.Millisecond),
			Calibration: 0.84, Seed: 22,
		},
		{
			Name: ProfileSmol, Family: "llama", ParameterSize: "361.82M", Quantization: "Q8_0", ContextLength: 8192,
			Domains:  []string{"medicine", "networking"},
			InDomain: Accuracy{Easy: 0.9, Hard: 0.55}, OutOfDomain: Accuracy{Easy: 0.45, Hard: 0.12},
			Overhead: Duration(25 * time.Millisecond), TokenLatency: Duration(9 * time.Millisecond),
			Calibration: 0.82, Seed: 33,
		},
		{
			Name: ProfileFast, Family: "sim", ParameterSize: "1B", Quantization: "F16", ContextLength: 8192,
			Domains:  []string{AllDomains},
			InDomain: Accuracy{Easy: 0.99, Hard: 0.97}, OutOfDomain: Accuracy{Easy: 0.99, Hard: 0.97},
			Calibration: 0.95, Seed: 44,
		},
		{
			Name: ProfileEmbed, Family: "nomic-bert", ParameterSize: "137M", Quantization: "F16", ContextLength: 2048,
			EmbeddingLength: 256, Capabilities: []string{CapEmbedding},
			Calibration: 0.5, Seed: 55,
			Overhead: Duration(2 * time.Millisecond),
		},
	}
}

// Profile sets: the built-in SLMs as shipped, or with noisy logprobs.
const (
	ProfileSetShipped = "shipped"
	ProfileSetNoisy   = "noisy"
)

// ProfileSets lists the profile sets by name, the default first.
var ProfileSets = []string{ProfileSetShipped, ProfileSetNoisy}

// noisyCalibration is the noisy set's calibration per SLM profile.
var noisyCalibration = map[string]float64{ProfileQwen: 0.68, ProfileLlama: 0.7, ProfileSmol: 0.66}

// NoisyProfiles are BuiltinProfiles whose three SLMs' logprobs separate
// right from wrong answers far less well (AUROC about 0.66–0.7 instead of
// 0.82–0.84): many wrong answers as sure as right ones, which is closer to
// what real small models' logprobs do. Accuracy and latency are unchanged,
// so the same swarm is measured with a weaker uncertainty signal.
func NoisyProfiles() []Profile {
	ps := BuiltinProfiles()
	for i := range ps {
		if c, ok := noisyCalibration[ps[i].Name]; ok {
			ps[i].Calibration = c
		}
	}
	return ps
}

// ProfileSet returns a fresh copy of the named set (ProfileSets).
func ProfileSet(name string) ([]Profile, error) {
	switch name {
	case ProfileSetShipped:
		return BuiltinProfiles(), nil
	case ProfileSetNoisy:
		return NoisyProfiles(), nil
	}
	return nil, fmt.Errorf("profile set %q: %w (known: %s)", name, ErrUnknownProfile, strings.Join(ProfileSets, ", "))
}

// DefaultCloudProfile is the cloud stand-in's model: strong everywhere
// (0.97 easy, 0.9 hard), well calibrated, and slower than the edge models.
func DefaultCloudProfile() Profile {
	return Profile{
		Name: ProfileCloudFM, Family: "llama", ParameterSize: "70.6B", Quantization: "BF16", ContextLength: 131072,
		Domains:  []string{AllDomains},
		InDomain: Accuracy{Easy: 0.97, Hard: 0.9}, OutOfDomain: Accuracy{Easy: 0.97, Hard: 0.9},
		Overhead: Duration(350 * time.Millisecond), TokenLatency: Duration(12 * time.Millisecond),
		Calibration: 0.9, Seed: 70,
	}
}

// LoadProfiles reads a JSON array of profiles and validates each.
func LoadProfiles(r io.Reader) ([]Profile, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("read profiles: %w: file larger than 1 MiB", ErrInvalidProfile)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a misspelt field would silently keep its zero value
	var ps []Profile
	if err := dec.Decode(&ps); err != nil {
		return nil, fmt.Errorf("decode profiles: %w: %w", ErrInvalidProfile, err)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("decode profiles: %w: empty list", ErrInvalidProfile)
	}
	seen := map[string]bool{}
	for i := range ps {
		if err := ps[i].Validate(); err != nil {
			return nil, fmt.Errorf("profile %d: %w", i, err)
		}
		if seen[ps[i].Name] {
			return nil, fmt.Errorf("profile %d: %w: name %q repeats", i, ErrInvalidProfile, ps[i].Name)
		}
		seen[ps[i].Name] = true
	}
	return ps, nil
}

// LoadProfilesFile reads profiles from a JSON file.
func LoadProfilesFile(path string) ([]Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open profiles: %w", err)
	}
	defer f.Close()
	ps, err := LoadProfiles(f)
	if err != nil {
		return nil, fmt.Errorf("load profiles %s: %w", path, err)
	}
	return ps, nil
}

// SelectProfiles picks profiles by name from the built-ins and extra (extra
// wins on a name clash), in the order asked.
func SelectProfiles(names []string, extra []Profile) ([]Profile, error) {
	all := append(BuiltinProfiles(), extra...)
	var out []Profile
	for _, n := range names {
		n = strings.TrimSpace(n)
		i := slices.IndexFunc(all, func(p Profile) bool { return p.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("select profile %q: %w (known: %s)", n, ErrUnknownProfile, strings.Join(profileNames(all), ", "))
		}
		// the last definition wins, so a profiles file can override a built-in
		for j := len(all) - 1; j > i; j-- {
			if all[j].Name == n {
				i = j
				break
			}
		}
		out = append(out, all[i])
	}
	return out, nil
}

func profileNames(ps []Profile) []string {
	var out []string
	for _, p := range ps {
		if !slices.Contains(out, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

// parameterCount parses Ollama's parameter size ("494.03M", "1.2B") for the
// model size /api/tags reports; 0 when it cannot.
func parameterCount(s string) float64 {
	mult := map[byte]float64{'K': 1e3, 'M': 1e6, 'B': 1e9, 'T': 1e12}
	if s == "" {
		return 0
	}
	m, ok := mult[s[len(s)-1]]
	if !ok {
		return 0
	}
	v, err := strconv.ParseFloat(s[:len(s)-1], 64)
	if err != nil {
		return 0
	}
	return v * m
}
