package node

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/ollama/ollama/api"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// streamingModel streams a set answer token by token; before token hold it
// waits for release, so a test can require that something happened while
// the answer was still being generated (no clock involved).
type streamingModel struct {
	fakeModel
	tokens  []string
	logprob float64 // every token's
	hold    int
	release chan struct{}
}

func (m *streamingModel) answerStream(ctx context.Context, _ slm.ChatRequest, onToken func(slm.Token)) localAnswer {
	m.calls++
	var lps []router.TokenLogprob
	for i, t := range m.tokens {
		if i == m.hold {
			select {
			case <-m.release:
			case <-ctx.Done():
				return localAnswer{err: ctx.Err(), dur: time.Millisecond}
			}
		}
		lp := api.Logprob{TokenLogprob: api.TokenLogprob{Token: t, Logprob: m.logprob},
			TopLogprobs: []api.TokenLogprob{{Token: t, Logprob: m.logprob}, {Token: "?", Logprob: -9}}}
		lps = append(lps, tokenLogprobs([]api.Logprob{lp})...)
		onToken(slm.Token{Text: t, Logprobs: []api.Logprob{lp}})
	}
	return localAnswer{res: &slm.ChatResult{Text: strings.TrimSpace(strings.Join(m.tokens, "")), Model: m.Name()},
		unc: router.Estimate(lps, router.DefaultThresholds().Weights), dur: time.Millisecond}
}

// hedgeSwarm lets the held local answer go on once the peers were asked.
type hedgeSwarm struct {
	*fakeSwarm
	asked chan struct{}
}

func (s *hedgeSwarm) AskAll(ctx context.Context, peers []peer.ID, req *protocol.AskRequest, _ ...peer.ID) []router.Proposal {
	close(s.asked)
	return s.fakeSwarm.AskAll(ctx, peers, req)
}

func TestAskEarly(t *testing.T) {
	sentence := []string{" Canberra", " is", " the", " capital", " of", " Australia.", "\n"}
	rule := router.DefaultPrefixRule()
	cases := []struct {
		name    string
		logprob float64
		tokens  []string
		hedged  bool // the held answer goes on once the peers are asked, not once the caller has text
		route   router.Route
		verdict router.PrefixVerdict
		streamd string // what the engine streamed itself ("" none: the API sends the decided answer)
		prefix  string // the trace's prefix…
		read    int    // …and how many tokens it read
		rounds  int
	}{
		{name: "a confident prefix streams before the answer is complete", logprob: -0.01, tokens: sentence,
			route: router.RouteLocal, verdict: router.PrefixCommit, streamd: "Canberra is the capital of Australia.",
			prefix: " Canberra is the capital", read: 4},
		{name: "an unsure prefix asks the peers while the answer finishes", logprob: -2.5, tokens: sentence, hedged: true,
			route: router.RouteSwarm, verdict: router.PrefixEscalate, prefix: " Canberra is the capital", read: 4, rounds: 1},
		{name: "an answer shorter than the prefix is judged whole", logprob: -0.01, tokens: []string{" Canberra", "."},
			route: router.RouteLocal, verdict: router.PrefixWait, prefix: " Canberra.", read: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			self := peer.ID("self").String()
			fs := &fakeSwarm{self: self, answers: map[peer.ID]router.Proposal{peerA: sure("Canberra"), peerB: sure("Canberra")}}
			sw := &hedgeSwarm{fakeSwarm: fs, asked: make(chan struct{})}
			model := &streamingModel{tokens: tc.tokens, logprob: tc.logprob, hold: rule.MinTokens, release: make(chan struct{})}
			if tc.hedged {
				model.release = sw.asked
			}
			p := testPipeline(t, self, model, &fakeFinder{cands: threePeers}, sw, &fakeCloud{text: "Canberra"})
			p.streamer, p.prefixRule = model, rule

			var streamed strings.Builder
			sink := func(pc nodeapi.Piece) {
				if streamed.Len() == 0 && !tc.hedged {
					close(model.release) // the caller has text: only now may the model go on
				}
				if pc.Route != router.RouteLocal || pc.QueryID == "" {
					t.Errorf("piece %+v: want the local route and the query id", pc)
				}
				streamed.WriteString(pc.Text)
			}
			resp, err := p.Ask(context.Background(), nodeapi.Request{Sink: sink,
				Messages: []nodeapi.Message{{Role: nodeapi.RoleUser, Content: capital}}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Trace.Route != tc.route || fs.rounds != tc.rounds {
				t.Errorf("route %s after %d rounds (%q), want %s after %d", resp.Trace.Route, fs.rounds, resp.Trace.Reason, tc.route, tc.rounds)
			}
			if streamed.String() != tc.streamd {
				t.Errorf("streamed %q, want %q", streamed.String(), tc.streamd)
			}
			if tc.streamd != "" && !strings.HasPrefix(resp.Text, streamed.String()) {
				t.Errorf("answer %q does not begin with what streamed, %q", resp.Text, streamed.String())
			}
			pr := resp.Trace.Prefix
			if pr == nil {
				t.Fatal("the trace has no prefix decision")
			}
			if pr.Verdict != tc.verdict || pr.Text != tc.prefix || pr.Tokens != tc.read {
				t.Errorf("prefix %+v, want verdict %s on %q (%d tokens)", pr, tc.verdict, tc.prefix, tc.read)
			}
			if (pr.FirstTextMS > 0) != (tc.streamd != "") {
				t.Errorf("first text at %v ms, want it set only when text streamed", pr.FirstTextMS)
			}
		})
	}
}
