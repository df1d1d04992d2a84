package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/fs/ggml"
)

// decoded is a model parsed back by Ollama's own GGUF decoder, plus the raw
// bytes so tensor data can be read.
type decoded struct {
	f   *ggml.GGML
	raw []byte
}

func writeAndDecode(t *testing.T, m *Model) decoded {
	t.Helper()
	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) || n != m.Size() {
		t.Fatalf("WriteTo wrote %d bytes, buffer holds %d, Size() = %d", n, buf.Len(), m.Size())
	}
	f, err := ggml.Decode(bytes.NewReader(buf.Bytes()), -1)
	if err != nil {
		t.Fatalf("ollama ggml.Decode: %v", err)
	}
	return decoded{f: f, raw: buf.Bytes()}
}

// floats returns a tensor's values as float32, whatever its stored type.
func (d decoded) floats(t *testing.T, name string) (shape []uint64, vals []float32) {
	t.Helper()
	for _, ti := range d.f.Tensors().Items() {
		if ti.Name != name {
			continue
		}
		start := d.f.Tensors().Offset + ti.Offset
		data := d.raw[start : start+ti.Size()]
		vals = make([]float32, ti.Elements())
		for i := range vals {
			switch ti.Kind {
			case ggmlF32:
				vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
			case ggmlF16:
				vals[i] = f16ToF32(binary.LittleEndian.Uint16(data[2*i:]))
			default:
				t.Fatalf("tensor %s has kind %d", name, ti.Kind)
			}
		}
		return ti.Shape, vals
	}
	t.Fatalf("tensor %s not found", name)
	return nil, nil
}

// f16ToF32 is an independent reference decoder for half floats.
func f16ToF32(h uint16) float32 {
	sign := float32(1)
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * float32(math.Ldexp(mant, -24))
	case 0x1f:
		if mant != 0 {
			return float32(math.NaN())
		}
		return sign * float32(math.Inf(1))
	}
	return sign * float32(math.Ldexp(1+mant/1024, exp-15))
}

func TestRoundTripThroughOllamaDecoder(t *testing.T) {
	cases := []struct {
		name string
		opts []Option
	}{
		{"defaults", nil},
		{"f32", []Option{WithDType(F32)}},
		{"grouped query attention", []Option{WithHeads(8, 2), WithEmbed(128), WithBlocks(3)}},
		{"large vocab with made-up words", []Option{WithVocab(2000), WithFFN(100), WithContext(512)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			c := m.Config()
			d := writeAndDecode(t, m)
			kv := d.f.KV()

			if got := kv.Architecture(); got != "llama" {
				t.Errorf("architecture = %q", got)
			}
			checks := []struct {
				key  string
				got  uint64
				want uint64
			}{
				{"block_count", kv.BlockCount(), uint64(c.Blocks)},
				{"embedding_length", kv.EmbeddingLength(), uint64(c.Embed)},
				{"context_length", kv.ContextLength(), uint64(c.Context)},
				{"head_count", kv.HeadCountMax(), uint64(c.Heads)},
				{"head_count_kv", kv.HeadCountKVMax(), uint64(c.KVHeads)},
				{"feed_forward_length", uint64(kv.Uint("feed_forward_length")), uint64(c.FFN)},
				{"rope.dimension_count", uint64(kv.Uint("rope.dimension_count")), uint64(c.Embed / c.Heads)},
				{"vocab_size", uint64(kv.Uint("vocab_size")), uint64(c.Vocab)},
				{"parameter_count", kv.ParameterCount(), m.ParameterCount()},
				{"eos_token_id", uint64(kv.Uint("tokenizer.ggml.eos_token_id")), EOSID},
			}
			for _, ck := range checks {
				if ck.got != ck.want {
					t.Errorf("%s = %d, want %d", ck.key, ck.got, ck.want)
				}
			}
			// Ollama shows file type 0 (all f32) as "unknown", so compare the
			// raw value, and the name only for f16.
			wantFT := uint32(fileTypeF32)
			if c.DType == F16 {
				wantFT = fileTypeF16
				if got := kv.FileType().String(); got != "F16" {
					t.Errorf("file type = %s, want F16", got)
				}
			}
			if got := kv.Uint("general.file_type"); got != wantFT {
				t.Errorf("general.file_type = %d, want %d", got, wantFT)
			}
			if got := kv.String("tokenizer.ggml.model"); got != "llama" {
				t.Errorf("tokenizer model = %q", got)
			}
			if !kv.Bool("tokenizer.ggml.add_bos_token") {
				t.Error("add_bos_token is not true")
			}
			tokens := kv.Strings("tokenizer.ggml.tokens")
			if len(tokens) != c.Vocab || len(kv.Floats("tokenizer.ggml.scores")) != c.Vocab ||
				len(kv.Ints("tokenizer.ggml.token_type")) != c.Vocab {
				t.Fatalf("vocab arrays have %d tokens, %d scores, %d types; want %d each", len(tokens),
					len(kv.Floats("tokenizer.ggml.scores")), len(kv.Ints("tokenizer.ggml.token_type")), c.Vocab)
			}
			if !slices.Equal(tokens, m.Tokens()) {
				t.Error("decoded tokens differ from Tokens()")
			}

			kvDim := uint64(c.Embed / c.Heads * c.KVHeads)
			e, v, f := uint64(c.Embed), uint64(c.Vocab), uint64(c.FFN)
			want := map[string][]uint64{
				"token_embd.weight": {e, v}, "output_norm.weight": {e}, "output.weight": {e, v},
			}
			for b := range c.Blocks {
				p := "blk." + string(rune('0'+b)) + "."
				want[p+"attn_norm.weight"] = []uint64{e}
				want[p+"attn_q.weight"] = []uint64{e, e}
				want[p+"attn_k.weight"] = []uint64{e, kvDim}
				want[p+"attn_v.weight"] = []uint64{e, kvDim}
				want[p+"attn_output.weight"] = []uint64{e, e}
				want[p+"ffn_norm.weight"] = []uint64{e}
				want[p+"ffn_gate.weight"] = []uint64{e, f}
				want[p+"ffn_up.weight"] = []uint64{e, f}
				want[p+"ffn_down.weight"] = []uint64{f, e}
			}
			items := d.f.Tensors().Items()
			if len(items) != len(want) {
				t.Errorf("%d tensors, want %d", len(items), len(want))
			}
			var end uint64
			for _, ti := range items {
				shape, ok := want[ti.Name]
				if !ok {
					t.Errorf("unexpected tensor %s", ti.Name)
					continue
				}
				if !slices.Equal(ti.Shape, shape) {
					t.Errorf("%s shape %v, want %v", ti.Name, ti.Shape, shape)
				}
				wantKind := uint32(ggmlF32)
				if len(shape) == 2 && c.DType == F16 {
					wantKind = ggmlF16
				}
				if ti.Kind != wantKind {
					t.Errorf("%s kind %d, want %d", ti.Name, ti.Kind, wantKind)
				}
				if ti.Offset%alignment != 0 {
					t.Errorf("%s offset %d not aligned", ti.Name, ti.Offset)
				}
				end = max(end, ti.Offset+pad(ti.Size()))
			}
			if off := d.f.Tensors().Offset; off%alignment != 0 || off+end != uint64(len(d.raw)) {
				t.Errorf("data starts at %d and ends at %d, file is %d bytes", off, off+end, len(d.raw))
			}
		})
	}
}

func TestVocabulary(t *testing.T) {
	cases := []struct {
		name  string
		vocab int
		seed  uint64
	}{
		{"minimum", MinVocab, 1},
		{"default", DefaultVocab, 7},
		{"beyond the word list", 4000, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newVocab(tc.vocab, tc.seed)
			if len(v.tokens) != tc.vocab {
				t.Fatalf("%d tokens, want %d", len(v.tokens), tc.vocab)
			}
			seen := map[string]int{}
			for id, tok := range v.tokens {
				if prev, dup := seen[tok]; dup {
					t.Fatalf("token %q at ids %d and %d", tok, prev, id)
				}
				seen[tok] = id
			}
			if v.tokens[UnknownID] != "<unk>" || v.tokens[BOSID] != "<s>" || v.tokens[EOSID] != "</s>" {
				t.Errorf("special tokens = %q", v.tokens[:3])
			}
			// Byte fallback needs every <0xXX> token, and llama.cpp finds the
			// newline through it.
			if id, ok := seen["<0x0A>"]; !ok || TokenType(v.types[id]) != TokenByte {
				t.Errorf("<0x0A> missing or not a byte token")
			}
			// Every real word comes with all its prefixes, so SentencePiece
			// can merge it from characters.
			var realWords int
			for _, w := range words {
				tok := spaceMark + w
				if _, ok := seen[tok]; !ok {
					continue
				}
				realWords++
				for end := len(spaceMark) + 1; end < len(tok); end++ {
					if _, ok := seen[tok[:end]]; !ok {
						t.Errorf("word %q lacks its prefix %q", tok, tok[:end])
					}
				}
			}
			var emit int
			for id, tok := range v.tokens {
				if !v.emit[id] {
					continue
				}
				emit++
				if TokenType(v.types[id]) != TokenNormal {
					t.Errorf("emittable token %q has type %d", tok, v.types[id])
				}
				if !emittablePunct[tok] && !strings.HasPrefix(tok, spaceMark) {
					t.Errorf("emittable token %q is neither a word nor punctuation", tok)
				}
			}
			t.Logf("%d tokens: %d real words, %d emittable", tc.vocab, realWords, emit)
			if emit < minWords+len(emittablePunct) {
				t.Errorf("only %d emittable tokens", emit)
			}
			if tc.vocab >= 1200 && realWords != len(words) {
				t.Errorf("%d of %d real words in a vocabulary of %d", realWords, len(words), tc.vocab)
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	encode := func(opts ...Option) []byte {
		t.Helper()
		m, err := New(opts...)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		var b bytes.Buffer
		if _, err := m.WriteTo(&b); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		return b.Bytes()
	}
	if !bytes.Equal(encode(WithSeed(5)), encode(WithSeed(5))) {
		t.Error("same seed gave different files")
	}
	if bytes.Equal(encode(WithSeed(5)), encode(WithSeed(6))) {
		t.Error("different seeds gave the same file")
	}

	// Sharpness changes the output projection and nothing else.
	sharp, err := New(WithSharpness(8))
	if err != nil {
		t.Fatal(err)
	}
	flat, err := New(WithSharpness(0.5))
	if err != nil {
		t.Fatal(err)
	}
	ds, df := writeAndDecode(t, sharp), writeAndDecode(t, flat)
	for _, ti := range ds.f.Tensors().Items() {
		_, a := ds.floats(t, ti.Name)
		_, b := df.floats(t, ti.Name)
		if same := slices.Equal(a, b); same == (ti.Name == "output.weight") {
			t.Errorf("tensor %s: equal across sharpness = %v", ti.Name, same)
		}
	}
}

// TestSharpnessPeaksTheDistribution checks the weight recipe without running
// a model: the logits of the normalised token embeddings (the model's
// residual stream before any block adds to it) must be peaked for a sharp
// model, near uniform over the words for a flat one, and must never favour
// a non-word token.
func TestSharpnessPeaksTheDistribution(t *testing.T) {
	cases := []struct {
		name           string
		sharpness      float64
		minTop, maxTop float64 // bounds on the mean top-1 probability
	}{
		{"flat", 0.5, 0, 0.05},
		{"medium", 3, 0.1, 0.7},
		{"sharp", 8, 0.7, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(WithSharpness(tc.sharpness))
			if err != nil {
				t.Fatal(err)
			}
			d := writeAndDecode(t, m)
			shape, emb := d.floats(t, "token_embd.weight")
			_, out := d.floats(t, "output.weight")
			e, v := int(shape[0]), int(shape[1])
			var topSum float64
			probe := 0
			for tok := 0; tok < v; tok += 7 {
				h := slices.Clone(emb[tok*e : (tok+1)*e])
				var ss float64
				for _, x := range h {
					ss += float64(x) * float64(x)
				}
				rms := math.Sqrt(ss / float64(e))
				logits := make([]float64, v)
				best := 0
				for o := range v {
					for i, x := range h {
						logits[o] += float64(x) / rms * float64(out[o*e+i])
					}
					if logits[o] > logits[best] {
						best = o
					}
				}
				if !m.vocab.emit[best] {
					t.Fatalf("token %d: most likely next token %q is not emittable", tok, m.vocab.tokens[best])
				}
				var z float64
				for _, l := range logits {
					z += math.Exp(l - logits[best])
				}
				topSum += 1 / z
				probe++
			}
			top := topSum / float64(probe)
			t.Logf("sharpness %g: mean top-1 probability %.3f", tc.sharpness, top)
			if top < tc.minTop || top > tc.maxTop {
				t.Errorf("mean top-1 probability %.3f outside [%g, %g]", top, tc.minTop, tc.maxTop)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	cases := []struct {
		name string
		opt  Option
	}{
		{"empty name", WithName(" ")},
		{"vocab too small", WithVocab(MinVocab - 1)},
		{"vocab too large", WithVocab(MaxVocab + 1)},
		{"no blocks", WithBlocks(0)},
		{"too many blocks", WithBlocks(MaxBlocks + 1)},
		{"no heads", WithHeads(0, 0)},
		{"negative kv heads", WithHeads(4, -1)},
		{"kv heads do not divide", WithHeads(4, 3)},
		{"embedding not a multiple of heads", WithEmbed(60)},
		{"odd head dimension", func(c *Config) { c.Embed, c.Heads = 12, 4 }},
		{"embedding too large", WithEmbed(MaxEmbed * 2)},
		{"negative ffn", WithFFN(-1)},
		{"context too short", WithContext(8)},
		{"zero sharpness", WithSharpness(0)},
		{"negative sharpness", WithSharpness(-1)},
		{"NaN sharpness", WithSharpness(math.NaN())},
		{"infinite sharpness", WithSharpness(math.Inf(1))},
		{"unknown dtype", WithDType(DType(9))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.opt)
			if !errors.Is(err, ErrInvalid) || m != nil {
				t.Fatalf("New = %v, %v; want ErrInvalid", m, err)
			}
		})
	}
}

func TestF16Bits(t *testing.T) {
	cases := []struct {
		name string
		in   float32
		want uint16
	}{
		{"zero", 0, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"half", 0.5, 0x3800},
		{"largest", 65504, 0x7bff},
		{"overflow", 70000, 0x7c00},
		{"infinity", float32(math.Inf(-1)), 0xfc00},
		{"nan", float32(math.NaN()), 0x7e00},
		{"smallest subnormal", float32(math.Ldexp(1, -24)), 0x0001},
		{"underflow", 1e-10, 0x0000},
		{"ties to even (down)", 1 + 1.0/2048, 0x3c00},
		{"ties to even (up)", 1 + 3.0/2048, 0x3c02},
		{"rounds up into next binade", 2 - 1.0/4096, 0x4000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := f16bits(tc.in); got != tc.want {
				t.Errorf("f16bits(%v) = %#04x, want %#04x", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzF16Bits checks that f16bits picks the nearest representable half.
func FuzzF16Bits(f *testing.F) {
	for _, seed := range []float32{0, 1, -1, 0.1, 65504, 65520, 6e-8, 3e-5, 1e9} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, x float32) {
		if math.IsNaN(float64(x)) {
			return
		}
		h := f16bits(x)
		got := float64(f16ToF32(h))
		if math.Abs(float64(x)) >= 65520 { // rounds to infinity
			if !math.IsInf(got, 0) {
				t.Fatalf("f16bits(%v) = %#04x (%v), want infinity", x, h, got)
			}
			return
		}
		err := math.Abs(got - float64(x))
		for _, n := range []uint16{h - 1, h + 1} {
			alt := float64(f16ToF32(n))
			if n&0x7c00 != 0x7c00 && math.Signbit(alt) == math.Signbit(got) && math.Abs(alt-float64(x)) < err {
				t.Fatalf("f16bits(%v) = %#04x (%v), but %#04x (%v) is nearer", x, h, got, n, alt)
			}
		}
	})
}
