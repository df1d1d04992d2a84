package gguf

import (
	"fmt"
	"math/rand/v2"
)

// TokenType values of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
type TokenType int32

// Token types used by the vocabulary.
const (
	TokenNormal  TokenType = 1
	TokenUnknown TokenType = 2
	TokenControl TokenType = 3
	TokenByte    TokenType = 6
)

// Special token ids, fixed at the start of every vocabulary.
const (
	UnknownID = 0
	BOSID     = 1
	EOSID     = 2
)

// spaceMark is SentencePiece's word-boundary marker (U+2581): "▁the" is " the".
const spaceMark = "\u2581"

// chars are single-character pieces so plain ASCII prompts tokenize without
// byte fallback; anything else falls back to the <0xXX> byte tokens.
var chars = func() []string {
	cs := []string{spaceMark}
	for c := 'a'; c <= 'z'; c++ {
		cs = append(cs, string(c))
	}
	for c := '0'; c <= '9'; c++ {
		cs = append(cs, string(c))
	}
	return append(cs, ".", ",", "!", "?", "'", "-", ":")
}()

// emittablePunct are the character pieces a model may output besides words.
var emittablePunct = map[string]bool{".": true, ",": true}

// minWords keeps a model's output from degenerating to a handful of tokens.
const minWords = 16

// MinVocab is the smallest vocabulary New accepts: 3 special tokens, 256 byte
// tokens, the single characters and a few words.
var MinVocab = 3 + 256 + len(chars) + minWords

type vocab struct {
	tokens []string
	scores []float32
	types  []int32
	// emit marks the tokens the output layer lets through (words, "." and ",");
	// the rest get a large negative logit so output reads like text.
	emit []bool
}

// newVocab builds n unique tokens: specials, bytes, characters, then real
// words in a seed-dependent order, then made-up words if n asks for more.
//
// SentencePiece only merges two pieces when their concatenation is itself a
// token, so a real word comes with all its prefixes ("▁b", "▁br", …): prompts
// then tokenize into whole words, which is what makes /api/embed reflect the
// words a text shares with another. Prefixes that are not words are never
// emitted. Made-up words fill the rest without prefixes: they only ever
// appear in output.
func newVocab(n int, seed uint64) vocab {
	v := vocab{}
	seen := make(map[string]bool, n)
	add := func(tok string, score float32, typ TokenType, emit bool) {
		seen[tok] = true
		v.tokens = append(v.tokens, tok)
		v.scores = append(v.scores, score)
		v.types = append(v.types, int32(typ))
		v.emit = append(v.emit, emit)
	}
	add("<unk>", 0, TokenUnknown, false)
	add("<s>", 0, TokenControl, false)
	add("</s>", 0, TokenControl, false)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), 0, TokenByte, false)
	}
	// Character scores sit below every longer piece so merges win.
	for i, c := range chars {
		add(c, float32(-1000-i), TokenNormal, emittablePunct[c])
	}

	rng := rand.New(rand.NewPCG(seed, 0x766f636162)) // "vocab"
	isWord := make(map[string]bool, len(words))
	for _, w := range words {
		isWord[spaceMark+w] = true
	}
	rank := 0
	addPiece := func(tok string, emit bool) {
		add(tok, float32(-rank), TokenNormal, emit)
		rank++
	}
	for _, i := range rng.Perm(len(words)) {
		var missing []string
		w := spaceMark + words[i]
		for end := len(spaceMark) + 1; end <= len(w); end++ {
			if !seen[w[:end]] {
				missing = append(missing, w[:end])
			}
		}
		// Leave minWords slots for made-up words, which need no prefixes, so
		// even the smallest vocabulary can say a few different things.
		if len(v.tokens)+len(missing) > n-minWords {
			continue // a shorter word may still fit
		}
		for _, p := range missing {
			addPiece(p, isWord[p])
		}
	}
	for len(v.tokens) < n {
		// A made-up word that happens to be real would lack its prefixes.
		if tok := spaceMark + madeUpWord(rng); !seen[tok] && !isWord[tok] {
			addPiece(tok, true)
		}
	}
	return v
}

// madeUpWord returns a pronounceable one- to three-syllable word.
func madeUpWord(rng *rand.Rand) string {
	w := ""
	for range 1 + rng.IntN(3) {
		w += onsets[rng.IntN(len(onsets))] + nuclei[rng.IntN(len(nuclei))] + codas[rng.IntN(len(codas))]
	}
	return w
}
