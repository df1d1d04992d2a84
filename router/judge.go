package router

// Checked is what a finished query lets the node check about its peers'
// answers, for Judge.
type Checked struct {
	Self      string     // this node's peer id: its own answer is evidence, never judged
	Proposals []Proposal // the peers' answers (this node's own may be among them)
	Domains   []string   // the query's domains
	// Cloud is the cloud FM's answer, "" when it was not summoned.
	Cloud string
	// Local is this node's own answer; it is evidence on its own only at
	// confidence Sure or more, and counts among the independent peers always.
	Local     Proposal
	Sure      float64
	Agreement float64 // answers agreeing at least this much are the same answer (0: default)
	Agree     AgreeFunc
	// Trust weighs the independent peers (nil: all weigh 1); this node's own
	// answer always weighs 1.
	Trust func(peer string) float64
	// Fit is how each answerer's declared domains fit the query
	// (Thresholds.DomainFit; nil: all fit alike). Answers from outside the
	// query's domain never convict one from inside it: peers' agreement and
	// this node's own answer are evidence on a peer only when they fit the
	// query at least as well as it does.
	Fit func(peer string) float64
}

// Judge lists the outcomes a finished query shows, one per other peer that
// gave a usable answer, each judged on the strongest evidence there is:
//
//   - the cloud FM's answer (EvidenceCloud);
//   - else the answer the others agree on (EvidencePeers): at least two
//     distinct peers other than the one judged (this node's own answer
//     included) that agree with each other and hold more than half of the
//     others' trust. The peer judged never votes on itself, so a rogue
//     cannot vouch for its own answer, and identities nobody trusts yet
//     cannot outvote this node's own model;
//   - else this node's own answer at confidence Sure or more (EvidenceLocal).
//
// Failures and abstentions are not judged: they say nothing about being
// right. A peer with several proposals is judged on the first.
func Judge(c Checked) []Outcome {
	agreement := c.Agreement
	if !(agreement > 0 && agreement <= 1) {
		agreement = DefaultThresholds().Agreement
	}
	same := func(a, b Proposal) bool {
		if c.Agree != nil {
			return c.Agree(a, b) >= agreement
		}
		return Agree(a.Answer, b.Answer) >= agreement
	}
	// One answer per peer, this node's own first.
	var answers []Proposal
	seen := map[string]bool{}
	add := func(p Proposal) {
		if p.Peer != "" && !seen[p.Peer] && usable(p) {
			seen[p.Peer] = true
			answers = append(answers, p)
		}
	}
	if c.Local.Peer == "" {
		c.Local.Peer = c.Self
	}
	add(c.Local)
	for _, p := range c.Proposals {
		add(p)
	}
	fit := func(peer string) float64 {
		if c.Fit == nil {
			return 1
		}
		return c.Fit(peer)
	}
	weight := func(p Proposal) float64 {
		if p.Peer == c.Self || c.Trust == nil {
			return 1
		}
		return clamp01(c.Trust(p.Peer))
	}
	var out []Outcome
	for i, p := range answers {
		if p.Peer == c.Self {
			continue
		}
		o := Outcome{Peer: p.Peer, Domains: c.Domains, Confidence: p.Confidence}
		ref, refFit, ok := consensusWithout(answers, i, weight, fit, same)
		switch {
		case c.Cloud != "":
			o.Evidence, o.Right = EvidenceCloud, same(p, Proposal{Answer: c.Cloud})
		case ok && refFit >= fit(p.Peer):
			o.Evidence, o.Right = EvidencePeers, same(p, ref)
		case usable(c.Local) && c.Local.Confidence >= c.Sure && fit(c.Local.Peer) >= fit(p.Peer):
			o.Evidence, o.Right = EvidenceLocal, same(p, c.Local)
		default:
			continue
		}
		out = append(out, o)
	}
	return out
}

// consensusWithout finds the answer the others (all but skip) agree on: the
// heaviest group of at least two that holds more than half their weight,
// and the best fit among its members.
func consensusWithout(answers []Proposal, skip int, weight func(Proposal) float64, fit func(string) float64,
	same func(a, b Proposal) bool) (Proposal, float64, bool) {
	others := make([]Proposal, 0, len(answers))
	for i, p := range answers {
		if i != skip {
			others = append(others, p)
		}
	}
	label := clusters(len(others), func(int) bool { return true }, func(i, j int) float64 {
		if same(others[i], others[j]) {
			return 1
		}
		return 0
	}, 1)
	mass, size := map[int]float64{}, map[int]int{}
	total := 0.0
	for i, l := range label {
		w := weight(others[i])
		mass[l] += w
		size[l]++
		total += w
	}
	best := -1
	for l := range mass {
		if best < 0 || mass[l] > mass[best] || (mass[l] == mass[best] && l < best) {
			best = l
		}
	}
	if best < 0 || size[best] < 2 || !(mass[best] > total/2) {
		return Proposal{}, 0, false
	}
	groupFit := 0.0
	for i, l := range label {
		if l == best {
			groupFit = max(groupFit, fit(others[i].Peer))
		}
	}
	return others[best], groupFit, true
}
