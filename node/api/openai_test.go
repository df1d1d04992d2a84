package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"

	"github.com/swarmllm/swarmllm/router"
)

func newOpenAIClient(srv *httptest.Server, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(srv.URL + "/v1/"), option.WithAPIKey("unused"),
		option.WithHTTPClient(srv.Client()), option.WithMaxRetries(0),
	}, opts...)...)
}

func decodeTrace(t *testing.T, raw string) router.Trace {
	t.Helper()
	if raw == "" {
		t.Fatal("no swarm field in the response")
	}
	var tr router.Trace
	if err := json.Unmarshal([]byte(raw), &tr); err != nil {
		t.Fatalf("decode swarm trace %q: %v", raw, err)
	}
	return tr
}

func TestOpenAIClientChatCompletion(t *testing.T) {
	srv, f := newTestServer(t)
	client := newOpenAIClient(srv)
	var httpResp *http.Response
	c, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: testModel,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Answer briefly."),
			openai.UserMessage("What is the capital of France?"),
		},
		Temperature: openai.Float(0.2),
		MaxTokens:   openai.Int(64),
		Seed:        openai.Int(7),
	}, option.WithResponseInto(&httpResp), option.WithHeader(HeaderPolicy, "always-swarm"))
	if err != nil {
		t.Fatalf("chat completion: %v", err)
	}
	if got := c.Choices[0].Message.Content; got != f.resp.Text {
		t.Errorf("content = %q, want %q", got, f.resp.Text)
	}
	if c.Model != "sim-geo:3b" || c.Choices[0].FinishReason != "stop" || c.ID != "chatcmpl-q-7f3a" {
		t.Errorf("model %q finish %q id %q", c.Model, c.Choices[0].FinishReason, c.ID)
	}
	if c.Usage.PromptTokens != 12 || c.Usage.CompletionTokens != 7 || c.Usage.TotalTokens != 19 {
		t.Errorf("usage = %+v", c.Usage)
	}
	if got := httpResp.Header.Get(HeaderRoute); got != "swarm" {
		t.Errorf("%s = %q, want swarm", HeaderRoute, got)
	}
	tr := decodeTrace(t, c.JSON.ExtraFields["swarm"].Raw())
	if tr.Route != router.RouteSwarm || len(tr.Peers) != 2 || tr.Tally.Outcome != router.OutcomeConsensus {
		t.Errorf("trace = %+v", tr)
	}

	req := f.lastAsk(t)
	if req.Model != testModel || req.Policy != router.PolicyAlwaysSwarm {
		t.Errorf("engine got model %q policy %q", req.Model, req.Policy)
	}
	if len(req.Messages) != 2 || req.Messages[0].Role != RoleSystem || req.Messages[1].Content != "What is the capital of France?" {
		t.Errorf("engine got messages %+v", req.Messages)
	}
	o := req.Options
	if o.Temperature == nil || *o.Temperature != 0.2 || o.MaxTokens != 64 || o.Seed == nil || *o.Seed != 7 {
		t.Errorf("engine got options %+v", o)
	}
}

func TestOpenAIClientStreaming(t *testing.T) {
	for _, includeUsage := range []bool{false, true} {
		name := "without-usage"
		if includeUsage {
			name = "with-usage"
		}
		t.Run(name, func(t *testing.T) {
			srv, f := newTestServer(t)
			client := newOpenAIClient(srv)
			params := openai.ChatCompletionNewParams{
				Model:    testModel,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the capital of France?")},
			}
			if includeUsage {
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			var httpResp *http.Response
			stream := client.Chat.Completions.NewStreaming(t.Context(), params, option.WithResponseInto(&httpResp))
			defer stream.Close()
			var acc openai.ChatCompletionAccumulator
			var chunks int
			var swarm string
			for stream.Next() {
				chunk := stream.Current()
				acc.AddChunk(chunk)
				chunks++
				if raw := chunk.JSON.ExtraFields["swarm"].Raw(); raw != "" {
					if swarm != "" {
						t.Error("more than one chunk carries the trace")
					}
					swarm = raw
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if got := acc.Choices[0].Message.Content; got != f.resp.Text {
				t.Errorf("streamed content = %q, want %q", got, f.resp.Text)
			}
			if acc.Choices[0].FinishReason != "stop" {
				t.Errorf("finish reason = %q", acc.Choices[0].FinishReason)
			}
			words := len(strings.Fields(f.resp.Text))
			if want := words + 2 + map[bool]int{true: 1}[includeUsage]; chunks != want {
				t.Errorf("got %d chunks, want %d (role, %d words, finish, usage?)", chunks, want, words)
			}
			if includeUsage && acc.Usage.TotalTokens != 19 {
				t.Errorf("usage = %+v", acc.Usage)
			}
			if got := httpResp.Header.Get(HeaderRoute); got != "swarm" {
				t.Errorf("%s = %q", HeaderRoute, got)
			}
			if tr := decodeTrace(t, swarm); tr.QueryID != "q-7f3a" || len(tr.Ballots) != 2 {
				t.Errorf("trace = %+v", tr)
			}
		})
	}
}

func TestOpenAIClientModels(t *testing.T) {
	srv, _ := newTestServer(t)
	client := newOpenAIClient(srv)
	page, err := client.Models.List(t.Context())
	if err != nil {
		t.Fatalf("list models: %v", err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != testModel+",swarm" {
		t.Errorf("models = %v", ids)
	}
}

func TestOpenAIClientSeesErrors(t *testing.T) {
	srv, f := newTestServer(t)
	client := newOpenAIClient(srv)
	_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model:    "no-such-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	apiErr, ok := err.(*openai.Error)
	if !ok {
		t.Fatalf("err = %T %v, want *openai.Error", err, err)
	}
	if apiErr.StatusCode != http.StatusNotFound || apiErr.Code != CodeUnknownModel || apiErr.Param != "model" {
		t.Errorf("error = %d code %q param %q", apiErr.StatusCode, apiErr.Code, apiErr.Param)
	}
	if f.askCount() != 0 {
		t.Error("engine was asked about an unknown model")
	}
}

func TestOpenAIContentParts(t *testing.T) {
	srv, f := newTestServer(t)
	status, _, body := postJSON(t, srv, "/v1/chat/completions", map[string]any{
		"model": "Swarm", // case and a missing tag do not matter, as in Ollama
		"messages": []map[string]any{
			{"role": "developer", "content": "Be brief."},
			{"role": "user", "content": []map[string]string{{"type": "text", "text": "Capital of "}, {"type": "text", "text": "France?"}}},
			{"role": "assistant", "content": nil},
		},
	})
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	req := f.lastAsk(t)
	if req.Model != "swarm" || req.Messages[0].Role != RoleSystem || req.Messages[1].Content != "Capital of France?" {
		t.Errorf("engine got %+v", req)
	}
}
