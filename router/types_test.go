package router

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	goldenfile "github.com/swarmllm/swarmllm/testnet/golden"
)

func TestParsePolicy(t *testing.T) {
	for _, p := range Policies {
		t.Run(string(p), func(t *testing.T) {
			if got, err := ParsePolicy(" " + string(p) + " "); err != nil || got != p {
				t.Errorf("ParsePolicy(%q) = %q, %v", p, got, err)
			}
		})
	}
	for _, bad := range []string{"", "swarmy"} {
		t.Run("invalid "+bad, func(t *testing.T) {
			if _, err := ParsePolicy(bad); !errors.Is(err, ErrUnknownPolicy) {
				t.Errorf("ParsePolicy(%q) err = %v", bad, err)
			}
		})
	}
}

// textEnum is what every enum in the trace implements.
type textEnum interface {
	MarshalText() ([]byte, error)
	String() string
}

func TestPolicyAsksPeers(t *testing.T) {
	want := map[Policy]bool{PolicySwarm: true, PolicyAlwaysSwarm: true, PolicyLocalOnly: false, PolicyCloudOnly: false, PolicyCascade: false}
	for _, p := range Policies {
		t.Run(string(p), func(t *testing.T) {
			if got := p.AsksPeers(); got != want[p] {
				t.Errorf("%s.AsksPeers() = %v, want %v", p, got, want[p])
			}
		})
	}
}

func TestEnumsText(t *testing.T) {
	cases := []struct {
		name  string
		value textEnum
		text  string
		back  func([]byte) (any, error)
	}{
		{"route", RouteCloud, "cloud", func(b []byte) (any, error) { var r Route; err := r.UnmarshalText(b); return r, err }},
		{"outcome", OutcomeEscalate, "escalate", func(b []byte) (any, error) { var o TallyOutcome; err := o.UnmarshalText(b); return o, err }},
		{"cloud state", CloudOverBudget, "over-budget", func(b []byte) (any, error) { var s CloudState; err := s.UnmarshalText(b); return s, err }},
		{"collab", CollabChain, "chain", func(b []byte) (any, error) { var c Collab; err := c.UnmarshalText(b); return c, err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.value.MarshalText()
			if err != nil || string(b) != tc.text || tc.value.String() != tc.text {
				t.Fatalf("MarshalText = %q, %v; String = %q", b, err, tc.value.String())
			}
			back, err := tc.back(b)
			if err != nil || back != any(tc.value) {
				t.Errorf("round trip = %v, %v", back, err)
			}
			if _, err := tc.back([]byte("nonsense")); err == nil {
				t.Error("unknown name parsed without error")
			}
		})
	}
	if _, err := Route(9).MarshalText(); !errors.Is(err, ErrUnknownRoute) {
		t.Errorf("marshal unknown route: %v", err)
	}
	if s := TallyOutcome(9).String(); s != "unknown" {
		t.Errorf("unknown outcome = %q", s)
	}
	if s := CloudState(9).String(); s != "unknown(9)" {
		t.Errorf("unknown cloud state = %q", s)
	}
}

// TestTraceGolden pins the JSON every API returns: clients decode it.
func TestTraceGolden(t *testing.T) {
	prompt := "Patient Maria Lopez (maria.lopez@example.com) has a fasting glucose of 8.1 mmol/L twice. Which condition?"
	rules := DefaultRules()
	cls := Classify(prompt)
	proposals := []Proposal{
		{Peer: "12D3KooWself", Model: "sim-a", Answer: "prediabetes", Confidence: 0.5, LatencyMS: 12.5},
		{Peer: "12D3KooWpeer1", Model: "sim-b", Answer: "Type 2 diabetes", Confidence: 0.45, LatencyMS: 20},
		{Peer: "12D3KooWpeer2", Model: "sim-c", Answer: "hyperglycemia", Confidence: 0.4, LatencyMS: 31},
		{Peer: "12D3KooWpeer3", Model: "sim-c", Err: "stream reset", LatencyMS: 8},
	}
	participants := []string{"12D3KooWself", "12D3KooWpeer1", "12D3KooWpeer2", "12D3KooWpeer3"}
	var ballots []Ballot
	for _, p := range proposals[:3] {
		ballots = append(ballots, ChooseBallot(p, proposals, rules.Thresholds.BallotParams(1)))
	}
	tally := Tally(proposals, ballots, rules.Thresholds.TallyParams(participants))
	d := DecideAfterVote(Features{Class: cls, Cloud: CloudReady, Tally: &tally}, rules)
	_, redactions, err := Redact(prompt, rules.Privacy)
	if err != nil {
		t.Fatal(err)
	}
	trace := Trace{
		QueryID: "q-1", Node: "12D3KooWself", Policy: rules.Policy, Route: d.Route, Reason: d.Reason,
		Classification: cls,
		Local:          &LocalInfo{Model: "sim-a", Answer: "prediabetes", Confidence: 0.5, LatencyMS: 12.5},
		Peers:          proposals, Ballots: ballots, Tally: &tally,
		Cloud:   &CloudInfo{Summoned: true, Model: "fm-70b", Redactions: redactions, LatencyMS: 300, PromptTokens: 40, CompletionTokens: 3},
		Flags:   d.Flags,
		Timings: Timings{ClassifyMS: 0.05, LocalMS: 12.5, PeersMS: 31, VoteMS: 2, CloudMS: 300, TotalMS: 346},
	}
	got, err := json.MarshalIndent(trace, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want := goldenfile.Check(t, "trace.golden.json", append(got, '\n'))
	var back Trace
	if err := json.Unmarshal(want, &back); err != nil {
		t.Fatalf("decode golden: %v", err)
	}
	if !reflect.DeepEqual(back, trace) {
		t.Errorf("decoded trace differs:\n%+v\nwant\n%+v", back, trace)
	}
}
