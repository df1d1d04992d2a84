package node

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/router"
)

// A streamed query on the cloud route gets the cloud's answer as it
// arrives, with this device's data restored; a cloud that breaks off after
// text went out ends the query with an error, and one that fails before
// any text leaves the fallback as it was.
func TestCloudAnswerStreams(t *testing.T) {
	cases := []struct {
		name    string
		policy  router.Policy
		prompt  string
		cloud   *fakeCloud
		midway  string // streamed once the cloud has sent its first chunk
		streamd string // streamed in all
		answer  string
		route   router.Route
		err     bool
	}{
		{name: "streams as it arrives", policy: router.PolicyCloudOnly, prompt: capital,
			cloud:  &fakeCloud{chunks: []string{" The capital", " is Canberra", ". "}},
			midway: "The capital", streamd: "The capital is Canberra.", answer: "The capital is Canberra.", route: router.RouteCloud},
		{name: "a placeholder split across chunks is restored", policy: router.PolicyCloudOnly, prompt: withMail,
			cloud:  &fakeCloud{chunks: []string{"I will write to [EMA", "IL_1] about", " Paris."}},
			midway: "I will write to", streamd: "I will write to jane.doe@example.com about Paris.",
			answer: "I will write to jane.doe@example.com about Paris.", route: router.RouteCloud},
		{name: "broken off after text went out: an error", policy: router.PolicyCloudOnly, prompt: capital,
			cloud:  &fakeCloud{chunks: []string{"The capital", " is"}, failMid: true},
			midway: "The capital", streamd: "The capital is", err: true},
		{name: "failed before any text: the flagged local answer", policy: router.PolicyCascade, prompt: capital,
			cloud:  &fakeCloud{err: slm.ErrCloudUnavailable},
			answer: "Sydney", route: router.RouteLocal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			self := peer.ID("self").String()
			p := testPipeline(t, self, &fakeModel{text: "Sydney", conf: 0.4}, &fakeFinder{}, &fakeSwarm{self: self}, tc.cloud)
			var streamed strings.Builder
			midway := ""
			tc.cloud.midway = func() { midway = streamed.String() }
			sink := func(pc nodeapi.Piece) {
				if pc.Route != router.RouteCloud || pc.Model != "cloud-fm" || pc.QueryID == "" {
					t.Errorf("piece %+v: want the cloud route, its model and the query id", pc)
				}
				streamed.WriteString(pc.Text)
			}
			resp, err := p.Ask(context.Background(), nodeapi.Request{Sink: sink, Policy: tc.policy,
				Messages: []nodeapi.Message{{Role: nodeapi.RoleUser, Content: tc.prompt}}})
			if midway != tc.midway || streamed.String() != tc.streamd {
				t.Errorf("streamed %q by the cloud's first chunk and %q in all, want %q and %q", midway, streamed.String(), tc.midway, tc.streamd)
			}
			if tc.err {
				if !errors.Is(err, nodeapi.ErrUnavailable) || !errors.Is(err, slm.ErrCloudUnavailable) {
					t.Fatalf("Ask = %v, want the cloud's failure as unavailable", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != tc.answer || resp.Trace.Route != tc.route {
				t.Fatalf("answer %q by %s, want %q by %s", resp.Text, resp.Trace.Route, tc.answer, tc.route)
			}
			if tc.route == router.RouteCloud {
				if c := resp.Trace.Cloud; c == nil || c.PromptTokens != 10 || c.CompletionTokens != 3 || c.Model != "cloud-fm" {
					t.Errorf("trace's cloud info %+v, want its model and tokens", resp.Trace.Cloud)
				}
			} else if !slices.Contains(resp.Trace.Flags, router.FlagCloudDown) {
				t.Errorf("flags %v, want %s", resp.Trace.Flags, router.FlagCloudDown)
			}
		})
	}
}
