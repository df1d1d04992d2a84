package gguf

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// DType is the element type of the weight matrices (norm vectors are always f32).
type DType int

// Supported weight types.
const (
	F32 DType = iota
	F16
)

func (d DType) String() string {
	switch d {
	case F32:
		return "f32"
	case F16:
		return "f16"
	default:
		return fmt.Sprintf("DType(%d)", int(d))
	}
}

// ErrInvalid is wrapped by every error New returns for a bad option.
var ErrInvalid = errors.New("gguf: invalid model option")

// Limits keep a typo from asking for a multi-gigabyte "tiny" model.
const (
	MaxVocab   = 1 << 18
	MinEmbed   = 8 // the bias, token and bag subspaces need a few dims each
	MaxEmbed   = 4096
	MaxBlocks  = 64
	MaxContext = 1 << 20
)

// Defaults for New.
const (
	DefaultVocab     = 1024
	DefaultEmbed     = 64
	DefaultBlocks    = 2
	DefaultHeads     = 4
	DefaultContext   = 2048
	DefaultSeed      = 1
	DefaultSharpness = 1.0
	// DefaultDType is f16 because Ollama names file type f16 ("F16" in
	// /api/show) but shows all-f32 files as "unknown".
	DefaultDType = F16
	DefaultName  = "tiny-llama"
)

// Config is a model's shape and weight recipe. New starts from the Default*
// values; FFN defaults to 4×Embed and KVHeads to Heads.
type Config struct {
	Name    string
	Vocab   int
	Embed   int
	Blocks  int
	Heads   int
	KVHeads int
	FFN     int
	Context int
	Seed    uint64
	// Sharpness is the standard deviation of the next-token logits over the
	// word tokens: ~0.5 gives a nearly flat distribution (unsure), ~8 a
	// peaked one (confident).
	Sharpness float64
	DType     DType
}

// Option changes one field of the Config New starts from.
type Option func(*Config)

// WithName sets general.name.
func WithName(name string) Option { return func(c *Config) { c.Name = name } }

// WithVocab sets the vocabulary size (at least MinVocab).
func WithVocab(n int) Option { return func(c *Config) { c.Vocab = n } }

// WithEmbed sets the embedding length (a multiple of 2×heads).
func WithEmbed(n int) Option { return func(c *Config) { c.Embed = n } }

// WithBlocks sets the number of transformer blocks.
func WithBlocks(n int) Option { return func(c *Config) { c.Blocks = n } }

// WithHeads sets the attention heads; kv heads must divide them (0 = same).
func WithHeads(heads, kvHeads int) Option {
	return func(c *Config) { c.Heads, c.KVHeads = heads, kvHeads }
}

// WithFFN sets the feed-forward length.
func WithFFN(n int) Option { return func(c *Config) { c.FFN = n } }

// WithContext sets the training context length.
func WithContext(n int) Option { return func(c *Config) { c.Context = n } }

// WithSeed sets the seed for the vocabulary order and all weights.
func WithSeed(seed uint64) Option { return func(c *Config) { c.Seed = seed } }

// WithSharpness sets how peaked the next-token distribution is.
func WithSharpness(s float64) Option { return func(c *Config) { c.Sharpness = s } }

// WithDType sets the weight matrices' element type.
func WithDType(d DType) Option { return func(c *Config) { c.DType = d } }

// Model is a fully described tiny model, ready to be written.
type Model struct {
	cfg     Config
	vocab   vocab
	tensors []tensor
	// header is the encoded GGUF header, metadata and tensor infos, padded
	// to the alignment: everything before the tensor data.
	header []byte
	size   int64
	params uint64
}

// New validates the options and lays the model out; nothing is written yet.
func New(opts ...Option) (*Model, error) {
	cfg := Config{
		Name:      DefaultName,
		Vocab:     DefaultVocab,
		Embed:     DefaultEmbed,
		Blocks:    DefaultBlocks,
		Heads:     DefaultHeads,
		Context:   DefaultContext,
		Seed:      DefaultSeed,
		Sharpness: DefaultSharpness,
		DType:     DefaultDType,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.KVHeads == 0 {
		cfg.KVHeads = cfg.Heads
	}
	if cfg.FFN == 0 {
		cfg.FFN = 4 * cfg.Embed
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, vocab: newVocab(cfg.Vocab, cfg.Seed)}
	m.tensors = m.layout()
	for _, t := range m.tensors {
		m.params += t.elements()
	}
	m.header = m.encodeHeader()
	m.size = int64(len(m.header))
	for _, t := range m.tensors {
		m.size += int64(pad(t.bytes()))
	}
	return m, nil
}

func (c Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case strings.TrimSpace(c.Name) == "":
		return bad("empty name")
	case c.Vocab < MinVocab || c.Vocab > MaxVocab:
		return bad("vocab %d outside [%d, %d]", c.Vocab, MinVocab, MaxVocab)
	case c.Blocks < 1 || c.Blocks > MaxBlocks:
		return bad("blocks %d outside [1, %d]", c.Blocks, MaxBlocks)
	case c.Heads < 1 || c.KVHeads < 1:
		return bad("heads %d / kv heads %d must be positive", c.Heads, c.KVHeads)
	case c.Heads%c.KVHeads != 0:
		return bad("kv heads %d do not divide heads %d", c.KVHeads, c.Heads)
	case c.Embed < MinEmbed || c.Embed > MaxEmbed:
		return bad("embedding length %d outside [%d, %d]", c.Embed, MinEmbed, MaxEmbed)
	case c.Embed%(2*c.Heads) != 0:
		// RoPE rotates pairs, so the head dimension must be even.
		return bad("embedding length %d is not a multiple of 2×heads (%d)", c.Embed, 2*c.Heads)
	case c.FFN < 1 || c.FFN > 16*MaxEmbed:
		return bad("feed-forward length %d outside [1, %d]", c.FFN, 16*MaxEmbed)
	case c.Context < 16 || c.Context > MaxContext:
		return bad("context length %d outside [16, %d]", c.Context, MaxContext)
	case !(c.Sharpness > 0) || math.IsInf(c.Sharpness, 0) || c.Sharpness > 1000:
		return bad("sharpness %v must be in (0, 1000]", c.Sharpness)
	case c.DType != F32 && c.DType != F16:
		return bad("dtype %v", c.DType)
	}
	return nil
}

// Config returns the model's effective configuration (defaults applied).
func (m *Model) Config() Config { return m.cfg }

// Tokens returns a copy of the vocabulary, indexed by token id.
func (m *Model) Tokens() []string { return append([]string(nil), m.vocab.tokens...) }

// ParameterCount is the number of weights in all tensors.
func (m *Model) ParameterCount() uint64 { return m.params }

// Size is the exact length of the file WriteTo produces.
func (m *Model) Size() int64 { return m.size }
