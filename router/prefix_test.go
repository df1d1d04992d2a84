package router

import (
	"math"
	"strings"
	"testing"
)

// tokensAt is n tokens with logprob lp and a sharp or flat top list.
func tokensAt(n int, lp float64) []TokenLogprob {
	out := make([]TokenLogprob, n)
	for i := range out {
		out[i] = TokenLogprob{Token: "x", Logprob: lp, Top: []float64{lp, -8, -9}}
	}
	return out
}

func TestDecidePrefix(t *testing.T) {
	rule := DefaultPrefixRule()
	sure := tokensAt(rule.MinTokens, -0.01)
	unsure := tokensAt(rule.MinTokens, -2.5)
	withPeers := Features{Class: plain, Cloud: CloudReady, Peers: 2}
	alone := Features{Class: plain, Cloud: CloudNone}
	// The confidence that sits exactly on the default bar for plain, and one
	// a hair above it, inside the margin.
	onBar := func() []TokenLogprob {
		bar := DefaultThresholds().Bar(plain.Difficulty, false)
		lo, hi := -30.0, 0.0
		for range 200 {
			mid := (lo + hi) / 2
			if Estimate(tokensAt(rule.MinTokens, mid), DefaultThresholds().Weights).Confidence < bar {
				lo = mid
			} else {
				hi = mid
			}
		}
		return tokensAt(rule.MinTokens, hi)
	}()
	cases := []struct {
		name    string
		f       Features
		prefix  []TokenLogprob
		rule    PrefixRule
		rules   Rules
		verdict PrefixVerdict
		route   Route
		collab  Collab
		reason  string
	}{
		{"off: every answer is judged whole", withPeers, sure, PrefixRule{}, DefaultRules(), PrefixWait, 0, CollabNone, ""},
		{"too few tokens to judge", withPeers, sure[:rule.MinTokens-1], rule, DefaultRules(), PrefixWait, 0, CollabNone, ""},
		{"no tokens yet", withPeers, nil, rule, DefaultRules(), PrefixWait, 0, CollabNone, ""},
		{"a confident prefix commits", withPeers, sure, rule, DefaultRules(), PrefixCommit, RouteLocal, CollabNone, "on the first 4 tokens, local confidence"},
		{"an unsure prefix starts the vote", withPeers, unsure, rule, DefaultRules(), PrefixEscalate, RouteSwarm, CollabVote, "on the first 4 tokens"},
		{"an unsure prefix without peers summons the cloud", Features{Class: plain, Cloud: CloudReady}, unsure, rule, DefaultRules(), PrefixEscalate, RouteCloud, CollabNone, "summoning the cloud FM"},
		{"a multi-step unsure prefix asks for a chain", Features{Class: multi, Cloud: CloudReady, Peers: 1}, unsure, rule, DefaultRules(), PrefixEscalate, RouteSwarm, CollabChain, "refines the local draft"},
		{"within the margin of the bar the whole answer decides", withPeers, onBar, PrefixRule{MinTokens: rule.MinTokens, Margin: 0.05}, DefaultRules(), PrefixWait, 0, CollabNone, ""},
		{"without a margin the bar itself decides", withPeers, onBar, PrefixRule{MinTokens: rule.MinTokens}, DefaultRules(), PrefixCommit, RouteLocal, CollabNone, "reaches the bar"},
		{"off-domain raises the bar", Features{Class: plain, Cloud: CloudReady, Peers: 2, OffDomain: true}, tokensAt(rule.MinTokens, -0.12), rule, DefaultRules(), PrefixEscalate, RouteSwarm, CollabVote, "peer's domain"},
		{"local-only commits before any token", withPeers, nil, rule, rulesWith(PolicyLocalOnly, PrivacyRedact), PrefixCommit, RouteLocal, CollabNone, "local-only"},
		{"nobody else to ask commits before any token", alone, nil, rule, DefaultRules(), PrefixCommit, RouteLocal, CollabNone, "the local answer stands"},
		{"always-swarm escalates before any token", withPeers, nil, rule, rulesWith(PolicyAlwaysSwarm, PrivacyRedact), PrefixEscalate, RouteSwarm, CollabVote, "always-swarm"},
		{"a safety category escalates before any token", Features{Class: legal, Cloud: CloudReady, Peers: 2}, nil, rule, DefaultRules(), PrefixEscalate, RouteCloud, CollabNone, "legal"},
		{"calibrated down, a sure-looking prefix escalates", withPeers, sure, rule, DefaultRules(), PrefixEscalate, RouteSwarm, CollabVote, "on the first 4 tokens"},
		{"NaN logprobs are no evidence", withPeers, tokensAt(rule.MinTokens, math.NaN()), rule, DefaultRules(), PrefixWait, 0, CollabNone, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calibrate func(float64) float64
			if strings.HasPrefix(tc.name, "calibrated down") {
				calibrate = func(c float64) float64 { return c / 2 }
			}
			got := DecidePrefix(tc.f, tc.prefix, tc.rule, tc.rules, calibrate)
			if got.Verdict != tc.verdict {
				t.Fatalf("verdict = %s (confidence %.3f), want %s", got.Verdict, got.Uncertainty.Confidence, tc.verdict)
			}
			if got.Decision.Route != tc.route || got.Decision.Collab != tc.collab {
				t.Errorf("decision = %s/%s, want %s/%s (%q)", got.Decision.Route, got.Decision.Collab, tc.route, tc.collab, got.Decision.Reason)
			}
			if !strings.Contains(got.Decision.Reason, tc.reason) {
				t.Errorf("reason = %q, want it to mention %q", got.Decision.Reason, tc.reason)
			}
		})
	}
}

func TestPrefixRuleValidate(t *testing.T) {
	cases := []struct {
		name string
		rule PrefixRule
		ok   bool
	}{
		{"default", DefaultPrefixRule(), true},
		{"off", PrefixRule{}, true},
		{"negative tokens", PrefixRule{MinTokens: -1}, false},
		{"margin above one", PrefixRule{MinTokens: 4, Margin: 1.5}, false},
		{"NaN margin", PrefixRule{MinTokens: 4, Margin: math.NaN()}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.rule.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestPrefixVerdictText(t *testing.T) {
	for _, v := range []PrefixVerdict{PrefixWait, PrefixCommit, PrefixEscalate} {
		b, _ := v.MarshalText()
		var back PrefixVerdict
		if err := back.UnmarshalText(b); err != nil || back != v {
			t.Errorf("%s round-trips to %s, %v", v, back, err)
		}
	}
	var v PrefixVerdict
	if err := v.UnmarshalText([]byte("maybe")); err == nil {
		t.Error("an unknown verdict parsed")
	}
}
