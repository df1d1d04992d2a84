package gguf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// GGUF constants (ggml/docs/gguf.md).
const (
	magic     = "GGUF"
	version   = 3
	alignment = 32

	ggmlF32 = 0
	ggmlF16 = 1

	// general.file_type values (llama_ftype).
	fileTypeF32 = 0
	fileTypeF16 = 1
)

// Metadata value types.
const (
	typeUint32  = 4
	typeInt32   = 5
	typeFloat32 = 6
	typeBool    = 7
	typeString  = 8
	typeArray   = 9
	typeUint64  = 10
)

// Weight recipe. The residual stream has three parts:
//   - dimension 0 is a constant 1 that no layer writes to, so after the final
//     RMS norm it acts as a bias input: the output rows of non-emittable
//     tokens put -suppressLogit on it and nothing elsewhere;
//   - the token subspace [1, E/2) holds the current token's identity; the
//     output layer reads only these dims, so generation is a smooth bigram
//     model nudged by context (later blocks write here, lightly);
//   - the bag subspace [E/2, E) holds a random projection of the mean of all
//     the tokens so far, written by block 0's attention with zero queries
//     and keys (uniform causal attention). Ollama's /api/embed returns the
//     last position's hidden state after the output norm, whose weights boost
//     the bag dims, so texts that share words get similar embeddings.
const (
	suppressLogit = 40
	// residualMix scales what blocks after the first add to the token subspace.
	residualMix = 0.5
	// bagRatio is the bag's norm relative to the token part's, for a prompt
	// of bagTypicalTokens distinct tokens (the mean shrinks as 1/√n). Kept
	// small because the final norm divides by the whole vector's size, so a
	// large bag would make the logits' spread depend on prompt length.
	bagRatio         = 0.7
	bagTypicalTokens = 8
	// bagBoost is the output norm's weight on the bag dims: it makes the bag
	// dominate the embedding without touching the logits.
	bagBoost   = 5
	rmsEpsilon = 1e-5
	ropeBase   = 10000
)

type tensor struct {
	name  string
	dims  []uint64 // ggml order: dims[0] is the contiguous row length
	dtype int
	fill  func(rng *rand.Rand, row int, dst []float32)
}

func (t tensor) elements() uint64 {
	n := uint64(1)
	for _, d := range t.dims {
		n *= d
	}
	return n
}

func (t tensor) bytes() uint64 {
	if t.dtype == ggmlF16 {
		return 2 * t.elements()
	}
	return 4 * t.elements()
}

func pad(n uint64) uint64 { return (n + alignment - 1) / alignment * alignment }

func ones(_ *rand.Rand, _ int, dst []float32) {
	for i := range dst {
		dst[i] = 1
	}
}

func zeros(_ *rand.Rand, _ int, dst []float32) { clear(dst) }

// gaussian fills N(0, std²) into the rows in [lo, hi) (the output dims a
// matrix may write) and zeroes the others.
func gaussian(std float64, lo, hi int) func(*rand.Rand, int, []float32) {
	return func(rng *rand.Rand, row int, dst []float32) {
		for i := range dst {
			dst[i] = float32(rng.NormFloat64() * std)
		}
		if row < lo || row >= hi {
			clear(dst)
		}
	}
}

func (m *Model) layout() []tensor {
	c := m.cfg
	e, v, f := uint64(c.Embed), uint64(c.Vocab), uint64(c.FFN)
	kv := uint64(c.Embed / c.Heads * c.KVHeads)
	w := ggmlF32
	if c.DType == F16 {
		w = ggmlF16
	}
	bag := c.Embed / 2
	tokDims, bagDims := float64(bag-1), float64(c.Embed-bag)
	all := c.Embed + c.FFN // any row index
	in := 1 / math.Sqrt(float64(c.Embed))
	// With the bag at its typical size, the final norm divides by about
	// typicalRMS; scaling for it makes the word logits' spread ≈ Sharpness.
	typicalRMS := math.Sqrt((1 + tokDims*(1+bagRatio*bagRatio)) / float64(c.Embed))
	wordStd := c.Sharpness * typicalRMS / math.Sqrt(tokDims)
	// V outputs have unit variance per token; the mean of n tokens has
	// variance 1/n per entry; bagDims rows of E inputs must then give a
	// squared norm of bagRatio²·tokDims.
	bagStd := math.Sqrt(bagRatio * bagRatio * tokDims * bagTypicalTokens / (bagDims * float64(c.Embed)))
	voc := m.vocab

	ts := []tensor{
		{"token_embd.weight", []uint64{e, v}, w, func(rng *rand.Rand, tok int, dst []float32) {
			clear(dst)
			dst[0] = 1
			// Control tokens carry no identity, so BOS does not pull every
			// text's bag towards the same point.
			if t := TokenType(voc.types[tok]); t == TokenControl || t == TokenUnknown {
				return
			}
			for i := 1; i < bag; i++ {
				dst[i] = float32(rng.NormFloat64())
			}
		}},
		{"output_norm.weight", []uint64{e}, ggmlF32, func(_ *rand.Rand, _ int, dst []float32) {
			for i := range dst {
				dst[i] = 1
				if i >= bag {
					dst[i] = bagBoost
				}
			}
		}},
		{"output.weight", []uint64{e, v}, w, func(rng *rand.Rand, tok int, dst []float32) {
			clear(dst)
			if !voc.emit[tok] {
				dst[0] = -suppressLogit
				return
			}
			for i := 1; i < bag; i++ {
				dst[i] = float32(rng.NormFloat64() * wordStd)
			}
		}},
	}
	for b := range c.Blocks {
		name := func(s string) string { return fmt.Sprintf("blk.%d.%s.weight", b, s) }
		q, k := gaussian(in, 0, all), gaussian(in, 0, all)
		out := gaussian(residualMix*in, 1, bag)
		down := gaussian(residualMix/math.Sqrt(float64(c.FFN)), 1, bag)
		if b == 0 {
			q, k, out, down = zeros, zeros, gaussian(bagStd, bag, c.Embed), zeros
		}
		ts = append(ts,
			tensor{name("attn_norm"), []uint64{e}, ggmlF32, ones},
			tensor{name("attn_q"), []uint64{e, e}, w, q},
			tensor{name("attn_k"), []uint64{e, kv}, w, k},
			tensor{name("attn_v"), []uint64{e, kv}, w, gaussian(in, 0, all)},
			tensor{name("attn_output"), []uint64{e, e}, w, out},
			tensor{name("ffn_norm"), []uint64{e}, ggmlF32, ones},
			tensor{name("ffn_gate"), []uint64{e, f}, w, gaussian(in, 0, all)},
			tensor{name("ffn_up"), []uint64{e, f}, w, gaussian(in, 0, all)},
			tensor{name("ffn_down"), []uint64{f, e}, w, down},
		)
	}
	return ts
}

type kv struct {
	key string
	val any
}

func (m *Model) metadata() []kv {
	c := m.cfg
	ft := uint32(fileTypeF32)
	if c.DType == F16 {
		ft = fileTypeF16
	}
	return []kv{
		{"general.architecture", "llama"},
		{"general.name", c.Name},
		{"general.file_type", ft},
		{"general.parameter_count", m.params},
		{"general.alignment", uint32(alignment)},
		{"llama.context_length", uint32(c.Context)},
		{"llama.embedding_length", uint32(c.Embed)},
		{"llama.block_count", uint32(c.Blocks)},
		{"llama.feed_forward_length", uint32(c.FFN)},
		{"llama.attention.head_count", uint32(c.Heads)},
		{"llama.attention.head_count_kv", uint32(c.KVHeads)},
		{"llama.attention.layer_norm_rms_epsilon", float32(rmsEpsilon)},
		{"llama.rope.dimension_count", uint32(c.Embed / c.Heads)},
		{"llama.rope.freq_base", float32(ropeBase)},
		{"llama.vocab_size", uint32(c.Vocab)},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", m.vocab.tokens},
		{"tokenizer.ggml.scores", m.vocab.scores},
		{"tokenizer.ggml.token_type", m.vocab.types},
		{"tokenizer.ggml.unknown_token_id", uint32(UnknownID)},
		{"tokenizer.ggml.bos_token_id", uint32(BOSID)},
		{"tokenizer.ggml.eos_token_id", uint32(EOSID)},
		{"tokenizer.ggml.add_bos_token", true},
		{"tokenizer.ggml.add_eos_token", false},
	}
}

// encodeHeader encodes everything before the tensor data. Values come only
// from metadata(), so an unsupported type is a programming error.
func (m *Model) encodeHeader() []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	u32 := func(v uint32) { b.Write(le.AppendUint32(nil, v)) }
	u64 := func(v uint64) { b.Write(le.AppendUint64(nil, v)) }
	str := func(s string) { u64(uint64(len(s))); b.WriteString(s) }

	md := m.metadata()
	b.WriteString(magic)
	u32(version)
	u64(uint64(len(m.tensors)))
	u64(uint64(len(md)))
	for _, p := range md {
		str(p.key)
		switch v := p.val.(type) {
		case uint32:
			u32(typeUint32)
			u32(v)
		case uint64:
			u32(typeUint64)
			u64(v)
		case float32:
			u32(typeFloat32)
			u32(math.Float32bits(v))
		case bool:
			u32(typeBool)
			if v {
				b.WriteByte(1)
			} else {
				b.WriteByte(0)
			}
		case string:
			u32(typeString)
			str(v)
		case []string:
			u32(typeArray)
			u32(typeString)
			u64(uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		case []float32:
			u32(typeArray)
			u32(typeFloat32)
			u64(uint64(len(v)))
			for _, f := range v {
				u32(math.Float32bits(f))
			}
		case []int32:
			u32(typeArray)
			u32(typeInt32)
			u64(uint64(len(v)))
			for _, i := range v {
				u32(uint32(i))
			}
		default:
			panic(fmt.Sprintf("gguf: metadata %s has unsupported type %T", p.key, v))
		}
	}
	var off uint64
	for _, t := range m.tensors {
		str(t.name)
		u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			u64(d)
		}
		u32(uint32(t.dtype))
		u64(off)
		off += pad(t.bytes())
	}
	b.Write(make([]byte, pad(uint64(b.Len()))-uint64(b.Len())))
	return b.Bytes()
}

// tensorSeed gives each tensor its own random stream, so changing one
// option (say the sharpness) leaves every other tensor's weights as they were.
func tensorSeed(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// WriteTo writes the GGUF file; it implements io.WriterTo.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<16)
	if _, err := bw.Write(m.header); err != nil {
		return cw.n, fmt.Errorf("write gguf header: %w", err)
	}
	for _, t := range m.tensors {
		rng := rand.New(rand.NewPCG(m.cfg.Seed, tensorSeed(t.name)))
		row := make([]float32, t.dims[0])
		rows := int(t.elements() / t.dims[0])
		buf := make([]byte, 0, t.bytes()/uint64(rows))
		for r := range rows {
			t.fill(rng, r, row)
			buf = buf[:0]
			for _, f := range row {
				if t.dtype == ggmlF16 {
					buf = binary.LittleEndian.AppendUint16(buf, f16bits(f))
				} else {
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
				}
			}
			if _, err := bw.Write(buf); err != nil {
				return cw.n, fmt.Errorf("write tensor %s: %w", t.name, err)
			}
		}
		if _, err := bw.Write(make([]byte, pad(t.bytes())-t.bytes())); err != nil {
			return cw.n, fmt.Errorf("write tensor %s padding: %w", t.name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("write gguf: %w", err)
	}
	return cw.n, nil
}

// WriteFile writes the model to path atomically (temp file + rename), so a
// reader never sees half a model.
func (m *Model) WriteFile(path string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tinygguf-*")
	if err != nil {
		return fmt.Errorf("write gguf file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = m.WriteTo(f); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close gguf file: %w", err)
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("chmod gguf file: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename gguf file: %w", err)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// f16bits converts to IEEE 754 half precision, rounding to nearest even.
func f16bits(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	rawExp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if rawExp == 0xff { // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	exp := rawExp - 127 + 15
	switch {
	case exp >= 0x1f:
		return sign | 0x7c00
	case exp <= 0: // subnormal half, or zero
		if exp < -10 {
			return sign
		}
		mant |= 1 << 23
		shift := uint32(14 - exp)
		half := mant >> shift
		rem, halfway := mant&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > halfway || (rem == halfway && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint16(exp)<<10 | uint16(mant>>13)
	// A carry out of the mantissa correctly bumps the exponent (up to Inf).
	if rem := mant & 0x1fff; rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++
	}
	return sign | half
}
