package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/collab"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// The pipeline's fakes: a local model with a set answer and confidence, a
// finder with set candidates, a swarm whose peers give set answers and vote
// as router.ChooseBallot says (no libp2p, no gossip), and a cloud FM.

type fakeModel struct {
	text  string
	conf  float64
	err   error
	calls int
}

func (m *fakeModel) Name() string { return "local-slm" }

func (m *fakeModel) findPersonalData(context.Context, string, []string) ([]slm.PersonalSpan, error) {
	return nil, errors.New("the fake model lists nothing")
}

func (m *fakeModel) answer(_ context.Context, _ slm.ChatRequest) localAnswer {
	m.calls++
	if m.err != nil {
		return localAnswer{err: m.err, dur: time.Millisecond}
	}
	return localAnswer{res: &slm.ChatResult{Text: m.text, Model: m.Name()}, unc: router.Uncertainty{Confidence: m.conf}, dur: time.Millisecond}
}

type fakeFinder struct {
	cands []candidate
	calls int
}

func (f *fakeFinder) serving(string) []router.ModelHost { return nil }

func (f *fakeFinder) discover(context.Context, string, []string) ([]candidate, []candidate) {
	f.calls++
	return f.cands, nil
}

type fakeSwarm struct {
	self    string
	answers map[peer.ID]router.Proposal // AskAll's result per peer; a missing peer fails
	silent  map[string]bool             // participants that propose but never vote
	refine  *protocol.AskResponse       // the refiner's answer; nil: the ask fails
	asked   int                         // AskAll calls
	rounds  int                         // RunRound calls
	refined int                         // Ask calls
}

func (s *fakeSwarm) Ask(_ context.Context, p peer.ID, req *protocol.AskRequest) (*protocol.AskResponse, error) {
	s.refined++
	if s.refine == nil {
		return nil, errors.New("stream reset")
	}
	return s.refine, nil
}

func (s *fakeSwarm) AskAll(_ context.Context, peers []peer.ID, _ *protocol.AskRequest, _ ...peer.ID) []router.Proposal {
	s.asked++
	out := make([]router.Proposal, len(peers))
	for i, p := range peers {
		a, ok := s.answers[p]
		if !ok {
			a = router.Proposal{Err: "stream reset"}
		}
		a.Peer = p.String()
		out[i] = a
	}
	return out
}

// RunRound holds the round collab would: this node's answer first, then the
// peers that answered; each participant but the silent ones votes with
// router.ChooseBallot; the origin weighs and tallies with router.
func (s *fakeSwarm) RunRound(_ context.Context, spec collab.RoundSpec) (*collab.RoundResult, error) {
	s.rounds++
	th := router.DefaultThresholds()
	local := spec.Local
	local.Peer = s.self
	participants := []string{s.self}
	var props, peers, failed []router.Proposal
	if local.Err == "" {
		props = append(props, local)
	}
	for _, p := range spec.Proposals {
		if p.Err != "" {
			failed = append(failed, p)
			continue
		}
		participants = append(participants, p.Peer)
		peers = append(peers, p)
	}
	props = append(props, peers...)
	if len(props) == 0 {
		return nil, collab.ErrNoProposals
	}
	var ballots []router.Ballot
	for _, voter := range append([]router.Proposal{local}, peers...) {
		if s.silent[voter.Peer] {
			continue
		}
		b := router.ChooseBallot(voter, props, th.BallotParams(1))
		b.Weight = router.BallotWeight(b.Weight, 1)
		ballots = append(ballots, b)
	}
	tally := router.Tally(props, ballots, th.TallyParams(participants))
	return &collab.RoundResult{Participants: participants, Proposals: append(props, failed...), Ballots: ballots,
		Tally: tally, End: collab.EndAllVoted}, nil
}

type fakeCloud struct {
	text  string
	err   error
	calls int
	sent  []slm.Message
	// chunks, when set, is the answer as it streams (text is then unused);
	// midway runs after the first one went to onText, and failMid fails the
	// call after the last.
	chunks  []string
	midway  func()
	failMid bool
}

func (c *fakeCloud) Model() string { return "cloud-fm" }

func (c *fakeCloud) CompleteStream(_ context.Context, msgs []slm.Message, _ int, onText func(string)) (*slm.CloudResult, error) {
	c.calls++
	c.sent = msgs
	if c.err != nil {
		return nil, c.err
	}
	chunks := c.chunks
	if chunks == nil {
		chunks = []string{c.text}
	}
	for i, ch := range chunks {
		if onText != nil {
			onText(ch)
		}
		if i == 0 && c.midway != nil {
			c.midway()
		}
	}
	if c.failMid {
		return nil, fmt.Errorf("stream: %w", slm.ErrCloudUnavailable)
	}
	return &slm.CloudResult{Text: strings.TrimSpace(strings.Join(chunks, "")), Model: c.Model(), PromptTokens: 10, CompletionTokens: 3}, nil
}

var (
	peerA, peerB, peerC = peer.ID("peer-a"), peer.ID("peer-b"), peer.ID("peer-c")
	threePeers          = []candidate{{id: peerA, model: "slm-a"}, {id: peerB, model: "slm-b"}, {id: peerC, model: "slm-c"}}
)

func sure(answer string) router.Proposal {
	return router.Proposal{Answer: answer, Confidence: 0.9, Model: "slm"}
}
func unsure(answer string) router.Proposal {
	return router.Proposal{Answer: answer, Confidence: 0.5, Model: "slm"}
}

var errLocalDown = errors.New("answer locally: the model crashed")

const (
	capital  = "What is the capital of Australia?"
	dosing   = "How many milligrams of ibuprofen can I take at once for a bad headache?"
	twoSteps = "First convert 3 miles to kilometres, then explain the steps."
	withMail = "My email is jane.doe@example.com, what is the capital of France?"
)

func TestPipelineRoutes(t *testing.T) {
	type want struct {
		route     router.Route
		answer    string   // "" with err
		err       bool     // nothing could answer
		flags     []string // each must be in the trace
		noFlags   []string // none may be
		local     int      // local model calls
		discover  int      // finder calls
		rounds    int      // rounds held
		refined   int      // refine asks
		cloud     int      // cloud FM calls
		chain     bool     // the trace shows a draft and a refine step
		redaction bool     // the cloud got a redacted prompt
		reason    string   // a fragment the trace's reason must hold
	}
	cases := []struct {
		name    string
		policy  router.Policy
		prompt  string
		local   fakeModel
		cands   []candidate
		answers map[peer.ID]router.Proposal
		silent  []peer.ID
		refine  *protocol.AskResponse
		cloud   *fakeCloud // nil: none configured
		spent   bool       // the cloud budget is exhausted
		want    want
	}{
		{name: "local confident", prompt: capital, local: fakeModel{text: "Canberra", conf: 0.95}, cands: threePeers,
			cloud: &fakeCloud{text: "Canberra"},
			want:  want{route: router.RouteLocal, answer: "Canberra", local: 1, discover: 1, noFlags: []string{router.FlagBestEffort}}},
		{name: "swarm consensus", prompt: capital, local: fakeModel{text: "Sydney", conf: 0.4}, cands: threePeers,
			answers: map[peer.ID]router.Proposal{peerA: sure("Canberra"), peerB: sure("Canberra"), peerC: unsure("Sydney")},
			cloud:   &fakeCloud{text: "Canberra"},
			want:    want{route: router.RouteSwarm, answer: "Canberra", local: 1, discover: 1, rounds: 1, noFlags: []string{router.FlagBestEffort}}},
		{name: "swarm disagreement goes to the cloud", prompt: capital, local: fakeModel{text: "Sydney", conf: 0.4}, cands: threePeers,
			answers: map[peer.ID]router.Proposal{peerA: unsure("Melbourne"), peerB: unsure("Perth"), peerC: unsure("Sydney")},
			cloud:   &fakeCloud{text: "Canberra"},
			want:    want{route: router.RouteCloud, answer: "Canberra", local: 1, discover: 1, rounds: 1, cloud: 1, reason: "asked for the cloud FM"}},
		{name: "cloud down: the best swarm answer, flagged", prompt: capital, local: fakeModel{text: "Sydney", conf: 0.4}, cands: threePeers,
			answers: map[peer.ID]router.Proposal{peerA: unsure("Melbourne"), peerB: unsure("Melbourne"), peerC: unsure("Perth")},
			cloud:   &fakeCloud{err: slm.ErrCloudUnavailable},
			want: want{route: router.RouteSwarm, answer: "Melbourne", local: 1, discover: 1, rounds: 1, cloud: 1,
				flags: []string{router.FlagCloudDown, router.FlagBestEffort}, reason: "answering with the leading proposal"}},
		{name: "peer lost mid-round: the others still agree", prompt: capital, local: fakeModel{text: "Sydney", conf: 0.4}, cands: threePeers,
			answers: map[peer.ID]router.Proposal{peerA: sure("Canberra"), peerC: sure("Canberra")}, silent: []peer.ID{peerC},
			cloud: &fakeCloud{text: "Canberra"},
			want:  want{route: router.RouteSwarm, answer: "Canberra", local: 1, discover: 1, rounds: 1, reason: "2 of 3 peers answered"}},
		{name: "no peer answered: no round, the cloud", prompt: capital, local: fakeModel{text: "Sydney", conf: 0.4}, cands: threePeers,
			cloud: &fakeCloud{text: "Canberra"},
			want:  want{route: router.RouteCloud, answer: "Canberra", local: 1, discover: 1, cloud: 1, flags: []string{router.FlagNoPeers}}},
		{name: "safety goes straight to the cloud", prompt: dosing, local: fakeModel{text: "800 mg", conf: 0.95}, cands: threePeers,
			cloud: &fakeCloud{text: "Ask a pharmacist."},
			want:  want{route: router.RouteCloud, answer: "Ask a pharmacist.", cloud: 1, flags: []string{router.FlagSafety}}},
		{name: "chain: the refined answer agrees with the draft, so it stands", prompt: twoSteps, local: fakeModel{text: "4.83 km", conf: 0.4}, cands: threePeers,
			refine: &protocol.AskResponse{Answer: "4.83 km.", Model: "slm-a", Confidence: 0.7, CompletionTokens: 4},
			cloud:  &fakeCloud{text: "4.83 km"},
			want:   want{route: router.RouteSwarm, answer: "4.83 km.", local: 1, discover: 1, refined: 1, chain: true, reason: "refined answer stands"}},
		{name: "chain: the refiner changes the draft, so the peers vote on it", prompt: twoSteps, local: fakeModel{text: "about 5 km", conf: 0.4}, cands: threePeers,
			refine:  &protocol.AskResponse{Answer: "4.83 km", Model: "slm-a", Confidence: 1, CompletionTokens: 4},
			answers: map[peer.ID]router.Proposal{peerA: sure("4.83 km"), peerB: sure("4.83 km")},
			cloud:   &fakeCloud{text: "4.83 km"},
			want:    want{route: router.RouteSwarm, answer: "4.83 km", local: 1, discover: 1, refined: 1, rounds: 1, chain: true, reason: "differs from the draft"}},
		{name: "chain: the refiner fails, the peers vote", prompt: twoSteps, local: fakeModel{text: "about 5 km", conf: 0.4}, cands: threePeers,
			answers: map[peer.ID]router.Proposal{peerA: sure("4.83 km"), peerB: sure("4.83 km")},
			cloud:   &fakeCloud{text: "4.83 km"},
			want:    want{route: router.RouteSwarm, answer: "4.83 km", local: 1, discover: 1, refined: 1, rounds: 1, chain: true, reason: "peers vote instead"}},
		{name: "budget exhausted: the local answer, flagged", policy: router.PolicyCascade, prompt: capital,
			local: fakeModel{text: "Sydney", conf: 0.4}, cloud: &fakeCloud{text: "Canberra"}, spent: true,
			want: want{route: router.RouteLocal, answer: "Sydney", local: 1, flags: []string{router.FlagOverBudget, router.FlagBestEffort}}},
		{name: "cloud fails after the local answer: it stands, flagged", policy: router.PolicyCascade, prompt: capital,
			local: fakeModel{text: "Sydney", conf: 0.4}, cloud: &fakeCloud{err: slm.ErrCloudUnavailable},
			want: want{route: router.RouteLocal, answer: "Sydney", local: 1, cloud: 1, flags: []string{router.FlagCloudDown, router.FlagBestEffort}}},
		{name: "personal data is redacted for the cloud", policy: router.PolicyCascade, prompt: withMail,
			local: fakeModel{text: "Lyon", conf: 0.4}, cloud: &fakeCloud{text: "Paris"},
			want: want{route: router.RouteCloud, answer: "Paris", local: 1, cloud: 1, flags: []string{router.FlagRedact}, redaction: true}},
		{name: "local-only keeps an unsure answer and finds no peers", policy: router.PolicyLocalOnly, prompt: capital,
			local: fakeModel{text: "Sydney", conf: 0.4}, cands: threePeers, cloud: &fakeCloud{text: "Canberra"},
			want: want{route: router.RouteLocal, answer: "Sydney", local: 1}},
		{name: "cloud-only never asks the local model", policy: router.PolicyCloudOnly, prompt: capital,
			local: fakeModel{text: "Canberra", conf: 0.95}, cands: threePeers, cloud: &fakeCloud{text: "Canberra"},
			want: want{route: router.RouteCloud, answer: "Canberra", cloud: 1}},
		{name: "always-swarm holds a round even when confident", policy: router.PolicyAlwaysSwarm, prompt: capital,
			local: fakeModel{text: "Canberra", conf: 0.95}, cands: threePeers,
			answers: map[peer.ID]router.Proposal{peerA: sure("Canberra"), peerB: sure("canberra."), peerC: unsure("Sydney")},
			want:    want{route: router.RouteSwarm, answer: "Canberra", local: 1, discover: 1, rounds: 1}},
		{name: "nothing can answer: an error", prompt: capital, local: fakeModel{err: errLocalDown},
			want: want{err: true, local: 1, discover: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			self := peer.ID("self").String()
			sw := &fakeSwarm{self: self, answers: tc.answers, refine: tc.refine, silent: map[string]bool{}}
			for _, p := range tc.silent {
				sw.silent[p.String()] = true
			}
			local, finder := tc.local, &fakeFinder{cands: tc.cands}
			p := testPipeline(t, self, &local, finder, sw, tc.cloud)
			if tc.spent {
				var err error
				if p.budget, err = router.NewBudget(router.WithMaxCalls(1, 0)); err != nil {
					t.Fatal(err)
				}
				spent, err := p.budget.Reserve(time.Now(), "", 10)
				if err != nil {
					t.Fatal(err)
				}
				spent.Settle(time.Now(), 10)
			}
			resp, err := p.Ask(context.Background(), nodeapi.Request{Policy: tc.policy,
				Messages: []nodeapi.Message{{Role: nodeapi.RoleUser, Content: tc.prompt}}})

			w := tc.want
			var tr router.Trace
			switch {
			case w.err && err == nil:
				t.Fatalf("answered %q via %s, want an error", resp.Text, resp.Trace.Route)
			case w.err:
				if !errors.Is(err, errLocalDown) || !errors.Is(err, nodeapi.ErrUnavailable) {
					t.Errorf("error %v, want %v wrapping the local model's %v", err, nodeapi.ErrUnavailable, errLocalDown)
				}
			case err != nil:
				t.Fatalf("Ask: %v", err)
			default:
				tr = resp.Trace
				if tr.Route != w.route || resp.Text != w.answer {
					t.Errorf("answered %q via %s (%s), want %q via %s", resp.Text, tr.Route, tr.Reason, w.answer, w.route)
				}
			}
			for _, f := range w.flags {
				if !slices.Contains(tr.Flags, f) {
					t.Errorf("flags %v, want %s (%s)", tr.Flags, f, tr.Reason)
				}
			}
			for _, f := range w.noFlags {
				if slices.Contains(tr.Flags, f) {
					t.Errorf("flags %v hold %s (%s)", tr.Flags, f, tr.Reason)
				}
			}
			cloudCalls := 0
			if tc.cloud != nil {
				cloudCalls = tc.cloud.calls
			}
			got := [5]int{local.calls, finder.calls, sw.rounds, sw.refined, cloudCalls}
			if wantCalls := [5]int{w.local, w.discover, w.rounds, w.refined, w.cloud}; got != wantCalls {
				t.Errorf("calls local/discover/rounds/refine/cloud = %v, want %v (%s)", got, wantCalls, tr.Reason)
			}
			if !strings.Contains(tr.Reason, w.reason) {
				t.Errorf("reason %q, want it to mention %q", tr.Reason, w.reason)
			}
			if (len(tr.Chain) == 2) != w.chain {
				t.Errorf("chain %+v, want one: %v", tr.Chain, w.chain)
			}
			if w.rounds > 0 && (tr.Tally == nil || len(tr.Ballots) == 0) {
				t.Errorf("a round without tally or ballots in the trace: %+v", tr)
			}
			if w.redaction {
				if tr.Cloud == nil || len(tr.Cloud.Redactions) == 0 {
					t.Errorf("cloud info %+v, want redactions", tr.Cloud)
				}
				for _, m := range tc.cloud.sent {
					if strings.Contains(m.Content, "jane.doe@example.com") {
						t.Errorf("the cloud got %q", m.Content)
					}
				}
			}
		})
	}
}

// testPipeline is a pipeline over fakes with the default rules.
func testPipeline(t *testing.T, self string, model ownModel, peers peerFinder, sw swarmCaller, cloud *fakeCloud) *pipeline {
	t.Helper()
	p := &pipeline{self: self, model: model, peers: peers, swarm: sw, rules: router.DefaultRules(),
		askTimeout: time.Second, voteTimeout: time.Second, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if cloud != nil {
		p.cloud = cloud
	}
	p.metrics = newNodeMetrics()
	var err error
	if p.classifier, err = router.NewClassifier(); err != nil {
		t.Fatal(err)
	}
	if p.budget, err = router.NewBudget(); err != nil {
		t.Fatal(err)
	}
	if p.trust, err = router.NewTrackRecord(router.DefaultTrustParams(router.SwarmOpen)); err != nil {
		t.Fatal(err)
	}
	if p.cloudBreaker, err = router.NewBreaker(cloudCooldown, cloudMaxCooldown); err != nil {
		t.Fatal(err)
	}
	p.gossip = gossipScorer{trust: p.trust}
	return p
}
