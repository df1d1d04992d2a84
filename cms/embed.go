package cms

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Embedder turns texts into vectors. Vectors of different models (or
// dimensions) are never compared. The node adapts Ollama /api/embed to it;
// LexicalEmbedder is the built-in fallback.
type Embedder interface {
	// Model names the embedding model; it is stored with each vector.
	Model() string
	// Dim is the length of every vector Embed returns.
	Dim() int
	// Embed returns one vector per text, in order. The vectors belong to
	// the caller (the ranker normalizes them in place).
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// LexicalModel and LexicalDim identify LexicalEmbedder's vectors.
const (
	LexicalModel = "swarmllm/lexical-hash-v1"
	LexicalDim   = 1024
)

// LexicalEmbedder is a dependency-free embedder for swarms without a shared
// embedding model: feature hashing of stemmed word unigrams (weight 1) and
// character trigrams of each word (weight 1 spread over its trigrams, so
// "dose" still meets "dosage"), English stop words dropped, signed buckets
// so unrelated texts score near 0, L2-normalized. It captures shared vocabulary,
// not meaning. The zero value is ready to use and safe for concurrent use.
type LexicalEmbedder struct{}

var _ Embedder = LexicalEmbedder{}

// Model implements Embedder.
func (LexicalEmbedder) Model() string { return LexicalModel }

// Dim implements Embedder.
func (LexicalEmbedder) Dim() int { return LexicalDim }

// Embed implements Embedder; it never fails except on a cancelled ctx.
func (e LexicalEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = lexicalVector(t)
	}
	return out, nil
}

func lexicalVector(text string) []float32 {
	v := make([]float32, LexicalDim)
	for _, w := range tokenize(text) {
		addFeature(v, "w:"+stem(w), 1)
		padded := "<" + w + ">"
		n := utf8.RuneCountInString(padded) - 2 // trigrams in padded
		if n <= 0 {
			continue
		}
		weight := float32(1) / float32(n)
		runes := []rune(padded)
		for i := 0; i+3 <= len(runes); i++ {
			addFeature(v, "g:"+string(runes[i:i+3]), weight)
		}
	}
	normalize(v)
	return v
}

// addFeature adds weight to the feature's bucket with a sign from the hash,
// so collisions cancel on average instead of inflating similarity.
func addFeature(v []float32, feature string, weight float32) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(feature)) // hash.Hash never fails
	s := h.Sum64()
	if s>>63 == 1 {
		weight = -weight
	}
	v[s%uint64(len(v))] += weight
}

func tokenize(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	out := words[:0]
	for _, w := range words {
		if utf8.RuneCountInString(w) < 2 || stopWords[w] {
			continue
		}
		out = append(out, w)
	}
	return out
}

// stem strips common English inflections ("contracts"→"contract",
// "legally"→"legal", "studies"→"study") so word features match across
// them; a crude suffix stripper, which is all word matching needs.
func stem(w string) string {
	for _, r := range []struct{ suffix, repl string }{
		{"ies", "y"}, {"sses", "ss"}, {"ingly", ""}, {"edly", ""}, {"ing", ""}, {"ly", ""}, {"ed", ""}, {"s", ""},
	} {
		if b, ok := strings.CutSuffix(w, r.suffix); ok && utf8.RuneCountInString(b) >= 3 && !strings.HasSuffix(w, "ss") {
			w = b + r.repl
			break
		}
	}
	return strings.TrimSuffix(w, "e") // "disease"/"diseases", "fine"/"fines"
}

// normalize scales v to unit length in place (a zero vector stays zero).
func normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
}

// dot is the inner product of equal-length vectors. Four accumulators break
// the add dependency chain (ranking is dominated by this loop).
func dot(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return float64(s0 + s1 + s2 + s3)
}

var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again against all am an and any are as at be because been
		before being below between both but by can could did do does doing down during each few for from further had
		has have having he her here hers herself him himself his how i if in into is it its itself just me more most
		my myself no nor not now of off on once only or other our ours ourselves out over own same she should so some
		such than that the their theirs them themselves then there these they this those through to too under until up
		very was we were what when where which while who whom why will with would you your yours yourself yourselves
		please tell explain give answer question questions`) {
		m[w] = true
	}
	return m
}()

// Normalize scales v to unit length in place (a zero vector stays zero).
func Normalize(v []float32) { normalize(v) }

// Similarity is the cosine similarity of two unit vectors; vectors of
// different lengths (different models) are unrelated: 0.
func Similarity(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	return dot(a, b)
}

// Terms are the words of text as the lexical embedder matches them:
// lower-case, stop words dropped, stemmed.
func Terms(text string) []string {
	words := tokenize(text)
	for i, w := range words {
		words[i] = stem(w)
	}
	return words
}
