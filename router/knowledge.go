package router

import (
	"fmt"
	"math"
)

// UsesKnowledge reports whether a policy lets a query be answered from
// knowledge collections: every policy but cloud-only, whose caller asked for
// the cloud FM's answer (local-only reads this node's own collection only,
// as it asks no peer).
func (p Policy) UsesKnowledge() bool { return p != PolicyCloudOnly }

// KnowledgeCandidate is one knowledge collection a query might be answered
// from: this node's own, or one a peer's capability record advertises. The
// node measures it; MatchKnowledge judges it.
type KnowledgeCandidate struct {
	Peer       string // peer id of the collection's node
	Self       bool   // the collection is this node's own
	Collection string
	// Similarity is the cosine similarity of the query's lexical vector to
	// the collection's summary vector (HasVector false: the record carried
	// none, and only the terms speak).
	Similarity float64
	HasVector  bool
	// TermHits is how many of the query's words are among the collection's
	// descriptive terms.
	TermHits int
}

// KnowledgeRules are the thresholds of knowledge routing.
type KnowledgeRules struct {
	// MinSimilarity: a collection whose summary vector is at least this
	// similar to the query matches on the vector alone.
	MinSimilarity float64 `json:"min_similarity"`
	// TermSimilarity and MinTermHits: a collection sharing at least
	// MinTermHits descriptive terms with the query matches at this lower
	// similarity (or, without a vector, on the terms alone).
	TermSimilarity float64 `json:"term_similarity"`
	MinTermHits    int     `json:"min_term_hits"`
}

// DefaultKnowledgeRules are measured on the knowledge workload
// (testnet/eval/testdata/knowledge) against the shipped workload: its
// questions sit at 0.28–0.47 from their collection's lexical summary, the
// shipped workload's prompts at 0.16 or below (BENCHMARKS.md, "Knowledge
// cooperation").
func DefaultKnowledgeRules() KnowledgeRules {
	return KnowledgeRules{MinSimilarity: 0.22, TermSimilarity: 0.15, MinTermHits: 2}
}

// Validate reports every out-of-range field at once.
func (r KnowledgeRules) Validate() error {
	for name, v := range map[string]float64{"min_similarity": r.MinSimilarity, "term_similarity": r.TermSimilarity} {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("knowledge rule %s = %v: want 0…1: %w", name, v, ErrInvalidConfig)
		}
	}
	if r.MinTermHits < 1 {
		return fmt.Errorf("knowledge rule min_term_hits = %d: want at least 1: %w", r.MinTermHits, ErrInvalidConfig)
	}
	return nil
}

// matches reports whether a collection matches the query under r, and how well.
func (r KnowledgeRules) matches(c KnowledgeCandidate) (bool, float64) {
	score := float64(c.TermHits) / 10 // terms break ties between equal vectors
	if c.HasVector {
		score += c.Similarity
		if c.Similarity >= r.MinSimilarity {
			return true, score
		}
		return c.TermHits >= r.MinTermHits && c.Similarity >= r.TermSimilarity, score
	}
	return c.TermHits >= r.MinTermHits, score
}

// MatchKnowledge picks the collection a query is answered from: this node's
// own when it matches (its documents answer without the network), else the
// best-matching peer's. It returns the candidate's index, or -1 when none
// matches, and the decision the trace records.
func MatchKnowledge(cands []KnowledgeCandidate, r KnowledgeRules) (int, Decision) {
	best, bestScore := -1, math.Inf(-1)
	for i, c := range cands {
		ok, score := r.matches(c)
		if !ok {
			continue
		}
		switch {
		case best >= 0 && cands[best].Self && !c.Self:
		case best < 0, c.Self && !cands[best].Self, score > bestScore:
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return -1, Decision{}
	}
	c := cands[best]
	if c.Self {
		return best, decision(RouteLocal, fmt.Sprintf("the query matches this node's knowledge %q", c.Collection))
	}
	return best, decision(RouteSwarm, fmt.Sprintf("the query matches the knowledge %q of peer %s", c.Collection, shortPeer(c.Peer)))
}

// KnowledgeAnswer is what came back from a knowledge collection: the
// answer of the model that read its passages, and the documents it cites.
type KnowledgeAnswer struct {
	Self    bool // answered by this node's own model
	Answer  string
	Sources []string
	Err     string
}

// DecideAfterKnowledge judges a knowledge answer. A grounded one — an
// answer, no abstention, citing at least one document — stands: the
// documents are evidence no bigger model has, so a cloud FM is no reason to
// escalate it. Otherwise the query goes on as if no collection had matched
// (ok false), and the reason says why.
func DecideAfterKnowledge(a KnowledgeAnswer) (d Decision, ok bool) {
	var why string
	switch {
	case a.Err != "":
		why = "the knowledge answer failed"
	case a.Answer == "" || Abstains(a.Answer):
		why = "the documents did not answer it"
	case len(a.Sources) == 0:
		why = "the knowledge answer cites no document"
	}
	if why != "" {
		return Decision{Reason: why}, false
	}
	route := RouteSwarm
	if a.Self {
		route = RouteLocal
	}
	return decision(route, fmt.Sprintf("answered from %d document(s); grounded answers are not escalated", len(a.Sources))), true
}

// shortPeer is a peer id short enough for a reason.
func shortPeer(p string) string {
	if len(p) > 12 {
		return p[len(p)-8:]
	}
	return p
}
