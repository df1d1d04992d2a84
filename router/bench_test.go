package router

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
)

// The figures BENCHMARKS.md quotes for the pure decision come from these:
//
//	go test ./router -run '^$' -bench . -benchmem

var benchPrompts = []struct{ name, prompt string }{
	{"short", "What is the capital of France?"},
	{"hard", "A train travels 240 km in 2.5 hours, then 90 km in 1.5 hours. Explain step by step: what is its average speed?"},
	{"pii", "Patient Maria Lopez (maria.lopez@example.com, +44 20 7946 0958) had a fasting blood glucose of 8.1 mmol/L on two separate days. Which condition does this indicate?"},
	{"safety", "How many milligrams of ibuprofen can I take at once for a bad headache?"},
}

func BenchmarkClassify(b *testing.B) {
	for _, p := range benchPrompts {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Classify(p.prompt)
			}
		})
	}
}

// BenchmarkClassifyWorkload classifies every prompt of the shipped workload
// per iteration; ns/op divided by the prompt count is the mean per query.
func BenchmarkClassifyWorkload(b *testing.B) {
	f, err := os.Open("../testnet/workload/workload.csv")
	if err != nil {
		b.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range rows[1:] {
			Classify(r[2])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(len(rows)-1)), "ns/prompt")
}

func BenchmarkRedact(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Redact(benchPrompts[2].prompt, PrivacyRedact); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecide is the whole pure decision for one query that goes to a
// vote: both decision points and the tally of a 4-participant round
// (classification excluded: see BenchmarkClassify).
func BenchmarkDecide(b *testing.B) {
	rules := DefaultRules()
	cls := Classify(benchPrompts[1].prompt)
	proposals, ballots, participants := benchRound(4)
	b.ReportAllocs()
	for b.Loop() {
		f := Features{Class: cls, Cloud: CloudReady, Confidence: 0.4, Peers: 3}
		DecideBeforeLocal(f, rules)
		DecideAfterLocal(f, rules)
		t := Tally(proposals, ballots, rules.Thresholds.TallyParams(participants))
		f.Tally = &t
		DecideAfterVote(f, rules)
	}
}

// BenchmarkDecideAfterLocal is the decision alone, as the node runs it on
// every query.
func BenchmarkDecideAfterLocal(b *testing.B) {
	rules := DefaultRules()
	f := Features{Class: Classify(benchPrompts[0].prompt), Cloud: CloudReady, Confidence: 0.4, Peers: 3}
	b.ReportAllocs()
	for b.Loop() {
		DecideAfterLocal(f, rules)
	}
}

func BenchmarkTally(b *testing.B) {
	for _, n := range []int{3, 5, 10} {
		proposals, ballots, participants := benchRound(n)
		params := DefaultThresholds().TallyParams(participants)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Tally(proposals, ballots, params)
			}
		})
	}
}

func BenchmarkChooseBallot(b *testing.B) {
	proposals, _, _ := benchRound(5)
	b.ReportAllocs()
	for b.Loop() {
		ChooseBallot(proposals[0], proposals, BallotParams{})
	}
}

func BenchmarkEstimate(b *testing.B) {
	tokens := make([]TokenLogprob, 64)
	for i := range tokens {
		p := 0.5 + 0.4*float64(i%5)/4
		tokens[i] = TokenLogprob{Token: "t", Logprob: math.Log(p), Top: []float64{math.Log(p), math.Log((1 - p) / 2), math.Log((1 - p) / 2)}}
	}
	w := DefaultThresholds().Weights
	b.ReportAllocs()
	for b.Loop() {
		Estimate(tokens, w)
	}
}

// benchRound is a round of n participants whose answers fall into a few
// groups, each voting for its own group.
func benchRound(n int) ([]Proposal, []Ballot, []string) {
	answers := []string{"The average speed is 82.5 km/h", "82.5 km/h", "about 80 km/h", "82.5", "It is 75 km/h"}
	var proposals []Proposal
	var ballots []Ballot
	var participants []string
	for i := range n {
		peer := fmt.Sprintf("12D3KooWpeer%02d", i)
		participants = append(participants, peer)
		proposals = append(proposals, Proposal{Peer: peer, Model: "sim", Answer: answers[i%len(answers)], Confidence: 0.5 + 0.05*float64(i)})
	}
	for i := range n {
		ballots = append(ballots, ChooseBallot(proposals[i], proposals, BallotParams{}))
	}
	return proposals, ballots, participants
}

// BenchmarkProtectWorstCase protects conversations of the API's largest
// prompt (32 KiB) made of nothing but look-alikes of personal data: phone
// numbers, dates with cues, street words, IBAN-like groups, names. Every
// detector is linear in the text (RE2, bounded windows, a bound on library
// phone checks), so this is the most one message can cost.
func BenchmarkProtectWorstCase(b *testing.B) {
	units := []string{"0612345678 0712345679 ", "born 12/03/1985 my 3 mai 2020 ", "12 rue 14 avenue 3 street ",
		"FR76 3000 6000 0112 ", "Anna Maria Lopez and my colleague ",
		"Call +33 6 12 34 56 78, Hauptstraße 5, 10115 Berlin, née le 3 mars 1985. "}
	for _, u := range units {
		text := strings.Repeat(u, (32<<10)/len(u))
		b.Run(strings.Fields(u)[0], func(b *testing.B) {
			for b.Loop() {
				Protect([]Turn{{Role: "user", Content: text}}, nil)
			}
		})
	}
}
