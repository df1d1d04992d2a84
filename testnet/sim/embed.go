package sim

import (
	"hash/fnv"
	"math"
	"strings"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

// stopWords carry little meaning; they weigh a fifth of other words.
var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "of": true, "in": true, "on": true, "to": true, "and": true, "or": true,
	"is": true, "are": true, "was": true, "what": true, "which": true, "who": true, "how": true, "does": true,
	"do": true, "for": true, "with": true, "by": true, "at": true, "it": true, "this": true, "that": true, "i": true,
}

// embedText is the simulated embedding: a signed feature-hashing vector of
// the text's words (weight 1, stop words 0.2), word bigrams (0.5) and
// character trigrams of each word (0.3 shared across the word's trigrams),
// L2-normalized. Texts sharing words or word stems land close together;
// unrelated texts are near orthogonal. The model name salts the hash, so two
// embedding models give incompatible spaces, as real ones do.
func embedText(model, text string, dim int) []float32 {
	v := make([]float64, dim)
	add := func(feature string, w float64) {
		h := fnv.New64a()
		h.Write([]byte(model))
		h.Write([]byte{0})
		h.Write([]byte(feature))
		x := h.Sum64()
		i := int(x % uint64(dim))
		if x>>63 == 1 {
			w = -w
		}
		v[i] += w
	}
	words := strings.Fields(workload.Normalize(text))
	for i, w := range words {
		weight := 1.0
		if stopWords[w] {
			weight = 0.2
		}
		add("w:"+w, weight)
		if i > 0 {
			add("b:"+words[i-1]+" "+w, 0.5*weight)
		}
		g := "<" + w + ">"
		rs := []rune(g)
		if n := len(rs) - 2; n > 1 {
			for j := 0; j+3 <= len(rs); j++ {
				add("c:"+string(rs[j:j+3]), 0.3*weight/float64(n))
			}
		}
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, dim)
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

// truncateVector keeps the first n components and re-normalizes, as Ollama
// does for EmbedRequest.Dimensions.
func truncateVector(v []float32, n int) []float32 {
	if n <= 0 || n >= len(v) {
		return v
	}
	out := v[:n:n]
	var norm float64
	for _, x := range out {
		norm += float64(x) * float64(x)
	}
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i := range out {
		out[i] = float32(float64(out[i]) / norm)
	}
	return out
}
