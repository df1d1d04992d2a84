package node

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/router"
)

// forPeers sends the conversation as written to a private swarm or under
// --peer-privacy allow, and redacted (flagged) to an open one by default.
func TestForPeers(t *testing.T) {
	msgs := []slm.Message{
		{Role: "system", Content: "Notes for Hannah Whitfield."},
		{Role: "user", Content: "Email hannah@example.org the summary."},
	}
	redacted := []slm.Message{
		{Role: "system", Content: "Notes for [NAME_1]."},
		{Role: "user", Content: "Email [EMAIL_1] the summary."},
	}
	cases := []struct {
		name      string
		swarmKey  string
		peers     string
		want      []slm.Message
		wantFlags []string
	}{
		{"open swarm redacts by default", "", "redact", redacted, []string{router.FlagPeersRedacted}},
		{"open swarm, allow", "", "allow", msgs, nil},
		{"private swarm", "/etc/swarm.key", "redact", msgs, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clf, err := router.NewClassifier()
			if err != nil {
				t.Fatal(err)
			}
			n := &pipeline{classifier: clf, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				peerPrivacy: router.PeerPrivacy(tc.swarmKey != "", router.PrivacyPolicy(tc.peers))}
			q := &query{msgs: msgs}
			got := n.forPeers(context.Background(), q, msgs)
			if !slices.Equal(got, tc.want) || !slices.Equal(q.trace.Flags, tc.wantFlags) {
				t.Errorf("forPeers = %v flags %v, want %v flags %v", got, q.trace.Flags, tc.want, tc.wantFlags)
			}
			if tc.want[0] != msgs[0] {
				if ans := n.forPeersAnswer(context.Background(), q, "Hi Hannah Whitfield!"); ans != "Hi [NAME_1]!" {
					t.Errorf("own answer for peers = %q", ans)
				}
			}
		})
	}
}
