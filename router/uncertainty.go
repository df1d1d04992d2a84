package router

import "math"

// TokenLogprob is one generated token with its log-probability (natural log)
// and the log-probabilities of the top alternatives at that position (the
// node converts Ollama's api.Logprob into this; Top usually includes the
// chosen token itself).
type TokenLogprob struct {
	Token   string
	Logprob float64
	Top     []float64
}

// logprobFloor bounds log-probabilities from below: -Inf (a zero
// probability) would poison the mean and cannot be written as JSON.
const logprobFloor = -30.0

// Estimate computes the uncertainty of an answer from its tokens' logprobs;
// doc.go gives the formula. Tokens with a NaN logprob are skipped, positive
// logprobs count as 0 and very negative ones as logprobFloor. No tokens
// means no evidence: confidence 0.
func Estimate(tokens []TokenLogprob, w ConfidenceWeights) Uncertainty {
	var u Uncertainty
	sum, entropySum, normEntropySum, entropyTokens := 0.0, 0.0, 0.0, 0
	u.MinLogprob = 0
	for _, t := range tokens {
		if math.IsNaN(t.Logprob) {
			continue
		}
		lp := clampLogprob(t.Logprob)
		u.Tokens++
		sum += lp
		u.MinLogprob = min(u.MinLogprob, lp)
		if h, k, ok := entropy(t.Top); ok {
			entropySum += h
			normEntropySum += h / math.Log(float64(k))
			entropyTokens++
		}
	}
	if u.Tokens == 0 {
		return Uncertainty{}
	}
	u.MeanLogprob = sum / float64(u.Tokens)
	num := w.Mean*math.Exp(u.MeanLogprob) + w.Min*math.Exp(u.MinLogprob)
	den := w.Mean + w.Min
	if entropyTokens > 0 {
		u.MeanEntropy = entropySum / float64(entropyTokens)
		num += w.Entropy * (1 - normEntropySum/float64(entropyTokens))
		den += w.Entropy
	}
	if den > 0 {
		u.Confidence = clamp01(num / den)
	}
	return u
}

func clampLogprob(lp float64) float64 {
	if lp > 0 {
		return 0
	}
	return max(lp, logprobFloor)
}

// entropy is the Shannon entropy (nats) of the top alternatives renormalised
// to sum to one, with k the number of alternatives; ok is false below two.
func entropy(top []float64) (h float64, k int, ok bool) {
	hi := math.Inf(-1)
	for _, lp := range top {
		if !math.IsNaN(lp) {
			hi = max(hi, clampLogprob(lp))
			k++
		}
	}
	if k < 2 {
		return 0, k, false
	}
	// With p = e^(l−hi)/z, H = −Σ p·ln p = ln z − Σ p·(l−hi): one log per token.
	z, weighted := 0.0, 0.0
	for _, lp := range top {
		if !math.IsNaN(lp) {
			d := clampLogprob(lp) - hi
			e := math.Exp(d)
			z += e
			weighted += e * d
		}
	}
	h = math.Log(z) - weighted/z
	return max(h, 0), k, true
}

// SelfConsistency groups sampled answers that agree (Agree ≥ agreement) and
// returns one answer of the largest group with that group's share of all
// answers, a confidence estimate that needs no logprobs. Ties go to the
// group whose first answer came first. No usable answers yield ("", 0).
func SelfConsistency(answers []string, agreement float64) (answer string, share float64) {
	if len(answers) == 0 {
		return "", 0
	}
	keys := make([]answerKey, len(answers))
	for i, a := range answers {
		keys[i] = keyOf(a)
	}
	label := clusters(len(answers), func(i int) bool { return len(keys[i].tokens) > 0 },
		func(i, j int) float64 { return agreeKeys(keys[i], keys[j]) }, agreement)
	size := make([]int, len(answers))
	for _, l := range label {
		if l >= 0 {
			size[l]++
		}
	}
	best := 0 // labels are the lowest index of their group, so the first maximum is the earliest group
	for l, n := range size {
		if n > size[best] {
			best = l
		}
	}
	if size[best] == 0 {
		return "", 0
	}
	return answers[best], float64(size[best]) / float64(len(answers))
}

func clamp01(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return min(max(x, 0), 1)
}
