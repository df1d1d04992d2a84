package node_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	ollama "github.com/ollama/ollama/api"
	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"

	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// Unmodified official clients talk to a real node backed by the simulator.
func TestOfficialClientsAgainstNode(t *testing.T) {
	sw := startSwarm(t, swarm.Spec{Nodes: swarm.DefaultNodes()[:1]})
	base := sw.APIURL(0)
	model := swarm.DefaultNodes()[0].Model
	ctx := t.Context()

	t.Run("openai chat completion", func(t *testing.T) {
		c := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
		var raw *http.Response
		res, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is 7 + 8?")},
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if res.Choices[0].Message.Content == "" || raw.Header.Get("X-Swarm-Route") == "" {
			t.Fatalf("content %q route header %q", res.Choices[0].Message.Content, raw.Header.Get("X-Swarm-Route"))
		}
		var tr router.Trace
		if err := json.Unmarshal([]byte(res.JSON.ExtraFields["swarm"].Raw()), &tr); err != nil || tr.QueryID == "" {
			t.Fatalf("swarm trace: %v %+v", err, tr)
		}
	})
	t.Run("openai streaming", func(t *testing.T) {
		c := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
		stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:    "swarm",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the capital of France?")},
		})
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if len(acc.Choices) == 0 || acc.Choices[0].Message.Content == "" {
			t.Fatalf("streamed nothing: %+v", acc)
		}
	})

	u, _ := url.Parse(base)
	oc := ollama.NewClient(u, http.DefaultClient)
	t.Run("ollama chat", func(t *testing.T) {
		var got strings.Builder
		err := oc.Chat(ctx, &ollama.ChatRequest{Model: model, Messages: []ollama.Message{{Role: "user", Content: "What is 7 + 8?"}}},
			func(r ollama.ChatResponse) error { got.WriteString(r.Message.Content); return nil })
		if err != nil || got.Len() == 0 {
			t.Fatalf("chat: %q, %v", got.String(), err)
		}
	})
	t.Run("ollama generate", func(t *testing.T) {
		stream := false
		var got string
		err := oc.Generate(ctx, &ollama.GenerateRequest{Model: model, Prompt: "What is the capital of France?", Stream: &stream},
			func(r ollama.GenerateResponse) error { got += r.Response; return nil })
		if err != nil || got == "" {
			t.Fatalf("generate: %q, %v", got, err)
		}
	})
	t.Run("ollama tags show version", func(t *testing.T) {
		tags, err := oc.List(ctx)
		if err != nil || len(tags.Models) == 0 || tags.Models[0].Name != model {
			t.Fatalf("tags: %+v, %v", tags, err)
		}
		show, err := oc.Show(ctx, &ollama.ShowRequest{Model: model})
		if err != nil || show.Details.Family == "" {
			t.Fatalf("show: %+v, %v", show, err)
		}
		v, err := oc.Version(ctx)
		if err != nil || v == "" {
			t.Fatalf("version: %q, %v", v, err)
		}
	})
}
