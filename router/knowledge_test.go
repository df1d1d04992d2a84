package router

import (
	"errors"
	"strings"
	"testing"
)

func TestMatchKnowledge(t *testing.T) {
	r := DefaultKnowledgeRules()
	peer := func(name string, sim float64, hits int) KnowledgeCandidate {
		return KnowledgeCandidate{Peer: "12D3KooW" + name, Collection: name, Similarity: sim, HasVector: true, TermHits: hits}
	}
	cases := []struct {
		name      string
		cands     []KnowledgeCandidate
		want      int
		wantRoute Route
	}{
		{"nothing advertised", nil, -1, 0},
		{"unrelated question", []KnowledgeCandidate{peer("a", 0.12, 0)}, -1, 0},
		{"vector alone", []KnowledgeCandidate{peer("a", 0.30, 0)}, 0, RouteSwarm},
		{"vector at the threshold", []KnowledgeCandidate{peer("a", r.MinSimilarity, 0)}, 0, RouteSwarm},
		{"weak vector, one term", []KnowledgeCandidate{peer("a", 0.18, 1)}, -1, 0},
		{"weak vector, two terms", []KnowledgeCandidate{peer("a", 0.18, 2)}, 0, RouteSwarm},
		{"terms cannot lift an unrelated vector", []KnowledgeCandidate{peer("a", 0.05, 5)}, -1, 0},
		{"no vector, terms alone", []KnowledgeCandidate{{Peer: "p", Collection: "c", TermHits: 2}}, 0, RouteSwarm},
		{"no vector, one term", []KnowledgeCandidate{{Peer: "p", Collection: "c", TermHits: 1}}, -1, 0},
		{"the nearer peer", []KnowledgeCandidate{peer("a", 0.25, 0), peer("b", 0.40, 0), peer("c", 0.10, 0)}, 1, RouteSwarm},
		{"terms break a tie", []KnowledgeCandidate{peer("a", 0.30, 0), peer("b", 0.30, 2)}, 1, RouteSwarm},
		{"own knowledge first", []KnowledgeCandidate{peer("a", 0.45, 3), {Self: true, Collection: "mine", Similarity: 0.23, HasVector: true}}, 1, RouteLocal},
		{"own knowledge that does not match", []KnowledgeCandidate{{Self: true, Collection: "mine", Similarity: 0.1, HasVector: true}, peer("a", 0.3, 0)}, 1, RouteSwarm},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, d := MatchKnowledge(tc.cands, r)
			if got != tc.want || d.Route != tc.wantRoute {
				t.Fatalf("MatchKnowledge = %d, %+v; want %d via %v", got, d, tc.want, tc.wantRoute)
			}
			if got >= 0 && !strings.Contains(d.Reason, tc.cands[got].Collection) {
				t.Fatalf("reason %q does not name the collection", d.Reason)
			}
		})
	}
}

func TestDecideAfterKnowledge(t *testing.T) {
	cases := []struct {
		name      string
		a         KnowledgeAnswer
		wantOK    bool
		wantRoute Route
	}{
		{"grounded peer answer", KnowledgeAnswer{Answer: "It holds 1840 litres [log.txt].", Sources: []string{"log.txt"}}, true, RouteSwarm},
		{"grounded own answer", KnowledgeAnswer{Self: true, Answer: "Gannet Hut", Sources: []string{"handbook.md"}}, true, RouteLocal},
		{"failed", KnowledgeAnswer{Err: "deadline", Sources: []string{"a"}}, false, 0},
		{"abstained", KnowledgeAnswer{Answer: "I don't know.", Sources: []string{"a"}}, false, 0},
		{"empty", KnowledgeAnswer{Sources: []string{"a"}}, false, 0},
		{"no sources", KnowledgeAnswer{Answer: "Gannet Hut"}, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := DecideAfterKnowledge(tc.a)
			if ok != tc.wantOK || d.Route != tc.wantRoute || d.Reason == "" {
				t.Fatalf("DecideAfterKnowledge = %+v, %v; want ok %v via %v with a reason", d, ok, tc.wantOK, tc.wantRoute)
			}
		})
	}
}

func TestKnowledgeRulesValidate(t *testing.T) {
	if err := DefaultKnowledgeRules().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cases := []struct {
		name   string
		mutate func(*KnowledgeRules)
	}{
		{"similarity over 1", func(r *KnowledgeRules) { r.MinSimilarity = 1.5 }},
		{"negative term similarity", func(r *KnowledgeRules) { r.TermSimilarity = -0.1 }},
		{"no term hits", func(r *KnowledgeRules) { r.MinTermHits = 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := DefaultKnowledgeRules()
			tc.mutate(&r)
			if err := r.Validate(); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestUsesKnowledge(t *testing.T) {
	for _, p := range Policies {
		if got, want := p.UsesKnowledge(), p != PolicyCloudOnly; got != want {
			t.Errorf("%s.UsesKnowledge() = %v, want %v", p, got, want)
		}
	}
}
