package node_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	ollama "github.com/ollama/ollama/api"
	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// Any node answers a request for any model the swarm serves, by name: the
// peer serving it answers over the ask protocol, and the trace says so.
func TestEveryModelByNameOnEveryNode(t *testing.T) {
	sw := startSwarm(t, swarm.Spec{})
	specs := swarm.DefaultNodes()
	base := sw.APIURL(0)
	u, _ := url.Parse(base)
	oc := ollama.NewClient(u, http.DefaultClient)
	ctx := t.Context()

	t.Run("listed", func(t *testing.T) {
		tags, err := oc.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]ollama.ListModelResponse{}
		for _, m := range tags.Models {
			got[m.Name] = m
		}
		for i, s := range specs {
			m, ok := got[s.Model]
			switch {
			case !ok:
				t.Errorf("/api/tags lacks %s: %+v", s.Model, tags.Models)
			case i == 0 && m.RemoteHost != "":
				t.Errorf("the node's own model is marked remote: %+v", m)
			case i > 0 && m.RemoteHost != "/p2p/"+sw.Nodes[i].ID().String():
				t.Errorf("peer model %s: remote host %q, want node%d's id", s.Model, m.RemoteHost, i+1)
			}
		}
		if _, ok := got["swarm"]; !ok || len(tags.Models) != len(specs)+1 {
			t.Errorf("/api/tags = %+v, want the three models and swarm", tags.Models)
		}
		// A record published before its node's first look at Ollama has no
		// model facts yet: the next one does.
		deadline := time.Now().Add(10 * time.Second)
		for {
			show, err := oc.Show(ctx, &ollama.ShowRequest{Model: specs[1].Model})
			if err == nil && show.RemoteHost != "" && show.Details.Family != "" && slices.Contains(show.Capabilities, "completion") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("show peer model: %+v, %v", show, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		c := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
		models, err := c.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		owners := map[string]string{}
		for _, m := range models.Data {
			owners[m.ID] = m.OwnedBy
		}
		if owners[specs[2].Model] != "swarmllm peer "+sw.Nodes[2].ID().String() || owners[specs[0].Model] != "swarmllm" {
			t.Errorf("/v1/models owners %v", owners)
		}
	})

	t.Run("answered by the peer serving it", func(t *testing.T) {
		c := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
		var raw *http.Response
		res, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    specs[1].Model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the capital of Australia?")},
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		var tr router.Trace
		if err := json.Unmarshal([]byte(res.JSON.ExtraFields["swarm"].Raw()), &tr); err != nil {
			t.Fatal(err)
		}
		if raw.Header.Get(nodeapi.HeaderRoute) != "swarm" || len(tr.Peers) != 1 || tr.Peers[0].Peer != sw.Nodes[1].ID().String() ||
			tr.Peers[0].Model != specs[1].Model || tr.Local != nil || !slices.Contains(tr.Flags, router.FlagNamedModel) ||
			!strings.Contains(tr.Reason, "asking it directly") {
			t.Errorf("route %q trace %+v: want node2 asked directly", raw.Header.Get(nodeapi.HeaderRoute), tr)
		}
		if res.Model != specs[1].Model || res.Choices[0].Message.Content != tr.Peers[0].Answer || res.Usage.CompletionTokens == 0 {
			t.Errorf("model %q content %q usage %+v", res.Model, res.Choices[0].Message.Content, res.Usage)
		}
	})

	t.Run("streamed through the ollama API", func(t *testing.T) {
		var got strings.Builder
		var final ollama.ChatResponse
		err := oc.Chat(ctx, &ollama.ChatRequest{Model: specs[2].Model, Messages: []ollama.Message{{Role: "user", Content: "Which protocol resolves domain names?"}}},
			func(r ollama.ChatResponse) error {
				got.WriteString(r.Message.Content)
				final = r
				return nil
			})
		if err != nil || got.Len() == 0 || !final.Done {
			t.Fatalf("chat with a peer's model: %q, %v", got.String(), err)
		}
	})

	t.Run("refused", func(t *testing.T) {
		c := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
		msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}
		var oe *openai.Error
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "nobody-serves:1b", Messages: msgs})
		if !errors.As(err, &oe) || oe.StatusCode != http.StatusNotFound {
			t.Errorf("unknown model: %v, want 404", err)
		}
		_, err = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: specs[1].Model, Messages: msgs},
			option.WithHeader(nodeapi.HeaderPolicy, string(router.PolicyLocalOnly)))
		if !errors.As(err, &oe) || oe.StatusCode != http.StatusBadRequest || !strings.Contains(oe.Message, "asks no peers") {
			t.Errorf("a peer's model under local-only: %v, want 400 saying the policy asks no peers", err)
		}
	})
}
