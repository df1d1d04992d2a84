package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

// answer is one chat reply read back through the official client.
type answer struct {
	item                   workload.Item
	text                   string
	meanLP, minLP, entropy float64
}

// chatAll asks model every item, decoding into the ollama api types. It
// posts plain HTTP: the official client allocates an 8 MB line buffer per
// call, which dominates thousands of zero-latency calls (the client itself is
// exercised in slm_test.go).
func chatAll(t *testing.T, baseURL, model string, items []workload.Item, options map[string]any) []answer {
	t.Helper()
	out := make([]answer, 0, len(items))
	for _, it := range items {
		body, err := json.Marshal(api.ChatRequest{Model: model, Stream: ptr(false), Logprobs: true, TopLogprobs: 5, Options: options,
			Messages: []api.Message{{Role: "user", Content: it.Prompt}}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(baseURL+"/api/chat", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("chat %s with %s: %v", it.QID, model, err)
		}
		var cr api.ChatResponse
		err = json.NewDecoder(resp.Body).Decode(&cr)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("chat %s with %s: status %d, %v", it.QID, model, resp.StatusCode, err)
		}
		a := answer{item: it, text: cr.Message.Content}
		a.meanLP, a.minLP, a.entropy = features(cr.Logprobs)
		out = append(out, a)
	}
	return out
}

// features are the uncertainty estimates a router would compute: mean and
// minimum token logprob and mean entropy of the renormalized top-k.
func features(lps []api.Logprob) (mean, minLP, entropy float64) {
	minLP = 0
	for _, lp := range lps {
		mean += lp.Logprob
		minLP = math.Min(minLP, lp.Logprob)
		var z float64
		for _, a := range lp.TopLogprobs {
			z += math.Exp(a.Logprob)
		}
		for _, a := range lp.TopLogprobs {
			q := math.Exp(a.Logprob) / z
			entropy -= q * math.Log(q)
		}
	}
	n := float64(len(lps))
	return mean / n, minLP, entropy / n
}

func answerable(wl *workload.Workload) []workload.Item {
	return slices.DeleteFunc(wl.Items(), func(it workload.Item) bool { return it.Dataset == workload.DatasetSafety })
}

func TestDeterministicBySeed(t *testing.T) {
	items := answerable(workload.Default())
	_, srv1, _ := startSLM(t, WithSeed(7))
	_, srv2, _ := startSLM(t, WithSeed(7))
	_, srv3, _ := startSLM(t, WithSeed(8))
	c1, c2, c3 := srv1.URL(), srv2.URL(), srv3.URL()
	a := chatAll(t, c1, ProfileLlama, items, nil)
	b := chatAll(t, c2, ProfileLlama, items, nil)
	again := chatAll(t, c1, ProfileLlama, items, nil)
	other := chatAll(t, c3, ProfileLlama, items, nil)
	differ := 0
	for i := range a {
		if a[i] != b[i] || a[i] != again[i] {
			t.Fatalf("%s: same seed gave %+v, %+v and %+v", a[i].item.QID, a[i], b[i], again[i])
		}
		if a[i].text != other[i].text {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("a different server seed changed no answer")
	}

	// Sampling: at temperature 0 the seed option changes nothing; hot samples
	// vary but stay correlated with the greedy answer.
	cold := chatAll(t, c1, ProfileLlama, items, map[string]any{"seed": 5, "temperature": 0})
	hot1 := chatAll(t, c1, ProfileLlama, items, map[string]any{"seed": 1, "temperature": 1.0})
	hot1again := chatAll(t, c1, ProfileLlama, items, map[string]any{"seed": 1, "temperature": 1.0})
	hot2 := chatAll(t, c1, ProfileLlama, items, map[string]any{"seed": 2, "temperature": 1.0})
	sameAsGreedy, sampleDiffers := 0, 0
	for i := range a {
		if cold[i] != a[i] {
			t.Fatalf("%s: temperature 0 with a seed changed the answer", a[i].item.QID)
		}
		if hot1[i] != hot1again[i] {
			t.Fatalf("%s: same sampling seed gave different answers", a[i].item.QID)
		}
		if hot1[i].text == a[i].text {
			sameAsGreedy++
		}
		if hot1[i].text != hot2[i].text {
			sampleDiffers++
		}
	}
	t.Logf("server seed 7 vs 8: %d/%d answers differ; temperature 1: %d/%d agree with greedy, seeds 1 vs 2 differ on %d",
		differ, len(a), sameAsGreedy, len(a), sampleDiffers)
	if sampleDiffers == 0 || sameAsGreedy < len(a)*6/10 {
		t.Fatalf("hot samples: %d agree with greedy, %d differ between seeds; want varied but correlated", sameAsGreedy, sampleDiffers)
	}
}

// TestAccuracyAndCalibration measures, per profile set over the shipped
// workload and some server seeds, each profile's accuracy against what its
// profile promises, and how well the logprobs separate right from wrong
// answers (AUROC): informative but imperfect as shipped, overlapping much
// more in the noisy set.
func TestAccuracyAndCalibration(t *testing.T) {
	tests := []struct {
		set              string
		seeds            uint64 // server seeds to pool
		aurocLo, aurocHi float64
	}{
		{set: ProfileSetShipped, seeds: 3, aurocLo: 0.72, aurocHi: 0.9},
		// the same accuracies as shipped: one seed is enough to see the overlap
		{set: ProfileSetNoisy, seeds: 1, aurocLo: 0.55, aurocHi: 0.74},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			profiles, err := ProfileSet(tt.set)
			if err != nil {
				t.Fatal(err)
			}
			accuracyAndCalibration(t, profiles, tt.seeds, tt.aurocLo, tt.aurocHi)
		})
	}
}

func accuracyAndCalibration(t *testing.T, profiles []Profile, seeds uint64, aurocLo, aurocHi float64) {
	wl := workload.Default()
	items := answerable(wl)
	var pos, neg [3][]float64 // mean LP, min LP, −entropy
	for _, p := range profiles {
		if !p.Has(CapCompletion) {
			continue
		}
		var got, want float64
		cells := map[string]*cell{}
		for seed := uint64(1); seed <= seeds; seed++ {
			_, srv, _ := startProfiles(t, profiles, WithSeed(seed))
			for _, a := range chatAll(t, srv.URL(), p.Name, items, nil) {
				right := a.text == a.item.Answer
				want += p.accuracy(a.item.Dataset, a.item.Domain)
				key := fmt.Sprintf("%s/%v", a.item.Dataset, p.InDomainFor(a.item.Domain))
				if cells[key] == nil {
					cells[key] = &cell{}
				}
				cells[key].n++
				if right {
					got++
					cells[key].right++
				} else if a.text == "" || workload.Normalize(a.text) == workload.Normalize(a.item.Answer) {
					t.Fatalf("%s: wrong answer %q is empty or matches the reference %q", a.item.QID, a.text, a.item.Answer)
				}
				if p.Name == ProfileFast {
					continue
				}
				f := [3]float64{a.meanLP, a.minLP, -a.entropy}
				for k := range f {
					if right {
						pos[k] = append(pos[k], f[k])
					} else {
						neg[k] = append(neg[k], f[k])
					}
				}
			}
		}
		n := float64(seeds) * float64(len(items))
		got, want = got/n, want/n
		sd := math.Sqrt(want * (1 - want) / n)
		t.Logf("%-18s accuracy %.3f (profile promises %.3f ± %.3f); easy/in %s easy/out %s hard/in %s hard/out %s", p.Name, got, want, sd,
			rate(cells["easy/true"]), rate(cells["easy/false"]), rate(cells["hard/true"]), rate(cells["hard/false"]))
		if math.Abs(got-want) > 4*sd+0.01 {
			t.Errorf("%s: accuracy %.3f, profile promises %.3f", p.Name, got, want)
		}
	}
	names := []string{"mean logprob", "min logprob", "-entropy"}
	for k := range names {
		auc := auroc(pos[k], neg[k])
		t.Logf("AUROC of %-12s separating right (%d) from wrong (%d) answers of the three SLM profiles: %.3f", names[k], len(pos[k]), len(neg[k]), auc)
		if !(auc >= aurocLo && auc <= aurocHi) {
			t.Errorf("AUROC of %s = %.3f, want %.2f…%.2f", names[k], auc, aurocLo, aurocHi)
		}
	}
}

type cell struct{ right, n int }

func rate(c *cell) string {
	if c == nil || c.n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f(n=%d)", float64(c.right)/float64(c.n), c.n)
}

// auroc is the probability that a random positive scores above a random negative.
func auroc(pos, neg []float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return math.NaN()
	}
	var s float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				s++
			case p == n:
				s += 0.5
			}
		}
	}
	return s / float64(len(pos)*len(neg))
}

func TestSafetyAndUnknownPrompts(t *testing.T) {
	wl := workload.Default()
	_, srv, _ := startSLM(t)
	c := srv.URL()
	var safety []workload.Item
	for _, it := range wl.Items() {
		if it.Dataset == workload.DatasetSafety {
			safety = append(safety, it)
		}
	}
	right := chatAll(t, c, ProfileFast, answerable(wl), nil)
	safe := chatAll(t, c, ProfileQwen, safety, nil)
	unknown := chatAll(t, c, ProfileQwen, []workload.Item{
		{Prompt: "Write a haiku about routers."},
		{Prompt: "What is the capital of Portugal?"},
		{Prompt: "Summarize the plot of a novel I have not named."},
	}, nil)
	median := func(as []answer) float64 {
		v := make([]float64, len(as))
		for i, a := range as {
			v[i] = a.meanLP
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	for _, a := range safe {
		if a.text == "" || a.text == unsureAnswer || containsMarker(a.text) || workload.Correct(a.item, a.text, "local") {
			t.Fatalf("%s: SLM safety answer %q must be a plausible, un-vetted answer", a.item.QID, a.text)
		}
	}
	for _, a := range unknown {
		if a.text != unsureAnswer {
			t.Fatalf("unknown prompt %q answered %q", a.item.Prompt, a.text)
		}
	}
	mr, ms, mu := median(right), median(safe), median(unknown)
	t.Logf("median mean logprob: near-perfect answers %.3f, safety answers %.3f, unknown prompts %.3f", mr, ms, mu)
	if !(mr > ms && ms > mu) {
		t.Fatalf("confidence must order right > safety (middling) > unknown, got %.3f %.3f %.3f", mr, ms, mu)
	}
}

func containsMarker(s string) bool {
	return len(s) >= len(SafetyMarker) && s[:len(SafetyMarker)] == SafetyMarker
}

// TestAnswerMatchesHTTP: the Go-level Answer is exactly what the API serves,
// and its Outcome is the ground truth behind the text.
func TestAnswerMatchesHTTP(t *testing.T) {
	wl := workload.Default()
	s, srv, _ := startSLM(t, WithSeed(3))
	items := wl.Items()
	via := chatAll(t, srv.URL(), ProfileSmol, items, map[string]any{"seed": 4, "temperature": 0.7})
	outcomes := map[Outcome]int{}
	for i, it := range items {
		r, err := s.Answer(ProfileSmol, it.Prompt, Sampling{Seed: 4, Temperature: 0.7}, 5)
		if err != nil {
			t.Fatal(err)
		}
		outcomes[r.Outcome]++
		lps := make([]api.Logprob, len(r.Tokens))
		for j, tok := range r.Tokens {
			lps[j].Logprob = tok.Logprob
			for _, a := range tok.Top {
				lps[j].TopLogprobs = append(lps[j].TopLogprobs, api.TokenLogprob{Token: a.Text, Logprob: a.Logprob})
			}
		}
		m, mn, e := features(lps)
		if r.Text != via[i].text || m != via[i].meanLP || mn != via[i].minLP || e != via[i].entropy {
			t.Fatalf("%s: Answer %q (%v %v %v) differs from the API's %+v", it.QID, r.Text, m, mn, e, via[i])
		}
		want := map[string]Outcome{workload.DatasetSafety: OutcomeSafety}[it.Dataset]
		if want == 0 {
			want = OutcomeWrong
			if r.Text == it.Answer {
				want = OutcomeCorrect
			}
		}
		if r.Outcome != want || r.Item.QID != it.QID {
			t.Fatalf("%s: outcome %v for %q, want %v", it.QID, r.Outcome, r.Text, want)
		}
	}
	t.Logf("outcomes: %v", outcomes)
	if _, err := s.Answer("sim-nope", "x", Sampling{}, 0); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("Answer with an unknown model: %v", err)
	}
	if _, err := s.Answer(ProfileEmbed, "x", Sampling{}, 0); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("Answer with an embedding model: %v", err)
	}
	c, err := NewCloud(wl, DefaultCloudProfile())
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Answer("I feel like hurting myself tonight. What should I do?", Sampling{}); r.Outcome != OutcomeSafety || !containsMarker(r.Text) {
		t.Fatalf("cloud safety answer %+v", r)
	}
}
