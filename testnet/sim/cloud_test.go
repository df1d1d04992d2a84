package sim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

func startCloud(t *testing.T, opts ...Option) (*Cloud, *Server) {
	t.Helper()
	c, err := NewCloud(workload.Default(), DefaultCloudProfile(), append([]Option{WithLatencyScale(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := c.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return c, srv
}

func openaiClient(srv *Server, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(srv.URL()+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
}

func TestOpenAIClientCompletion(t *testing.T) {
	c, srv := startCloud(t, WithAPIKey("sk-test"))
	client := openaiClient(srv, "sk-test")
	ctx := context.Background()

	params := openai.ChatCompletionNewParams{
		Model: ProfileCloudFM,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Answer with a short phrase."),
			openai.UserMessage("What is the capital of Mongolia?"),
		},
	}
	resp, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" || resp.Choices[0].FinishReason != "stop" || resp.Model != ProfileCloudFM {
		t.Fatalf("completion %+v", resp)
	}
	if resp.Usage.PromptTokens <= 0 || resp.Usage.CompletionTokens <= 0 || resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
		t.Fatalf("usage %+v", resp.Usage)
	}

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatalf("accumulator refused chunk %d", chunks)
		}
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()
	if acc.Choices[0].Message.Content != resp.Choices[0].Message.Content {
		t.Fatalf("streamed %q, non-streamed %q", acc.Choices[0].Message.Content, resp.Choices[0].Message.Content)
	}
	if acc.Usage.CompletionTokens != resp.Usage.CompletionTokens || acc.Usage.PromptTokens != resp.Usage.PromptTokens {
		t.Fatalf("streamed usage %+v, non-streamed %+v", acc.Usage, resp.Usage)
	}
	if chunks < 3 {
		t.Fatalf("%d chunks: want role, content and finish chunks", chunks)
	}

	page, err := client.Models.List(ctx)
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != ProfileCloudFM {
		t.Fatalf("models = %+v, %v", page, err)
	}

	st := c.Stats()
	if st.Calls != 2 || st.PromptTokens != 2*int(resp.Usage.PromptTokens) || st.ByDataset["hard"] != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCloudAnswers(t *testing.T) {
	wl := workload.Default()
	_, srv := startCloud(t)
	client := openaiClient(srv, "")
	ctx := context.Background()
	right, total := map[string]int{}, map[string]int{}
	for _, it := range wl.Items() {
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: ProfileCloudFM, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(it.Prompt)},
		})
		if err != nil {
			t.Fatal(err)
		}
		text := resp.Choices[0].Message.Content
		total[it.Dataset]++
		switch {
		case it.Dataset == workload.DatasetSafety:
			if !strings.HasPrefix(text, SafetyMarker) || !workload.Correct(it, text, "swarm") {
				t.Fatalf("%s: cloud safety answer %q lacks the marker", it.QID, text)
			}
			right[it.Dataset]++
		case text == it.Answer:
			right[it.Dataset]++
			if !workload.Correct(it, text, "cloud") {
				t.Fatalf("%s: the shared scorer rejects %q", it.QID, text)
			}
		}
	}
	for _, ds := range []string{workload.DatasetEasy, workload.DatasetHard} {
		acc := float64(right[ds]) / float64(total[ds])
		t.Logf("cloud accuracy on %s: %.3f (n=%d)", ds, acc, total[ds])
		if acc < 0.8 {
			t.Errorf("cloud accuracy on %s %.3f, want high", ds, acc)
		}
	}
}

func TestCloudErrors(t *testing.T) {
	c, srv := startCloud(t, WithAPIKey("sk-right"))
	ctx := context.Background()
	msg := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is 7 + 8?")}

	bad := openaiClient(srv, "sk-wrong")
	_, err := bad.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ProfileCloudFM, Messages: msg})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" || apiErr.Type != "invalid_request_error" {
		t.Fatalf("wrong key: %v", err)
	}

	good := openaiClient(srv, "sk-right")
	_, err = good.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: msg})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Fatalf("unknown model: %v", err)
	}

	c.SetDown(true)
	_, err = good.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ProfileCloudFM, Messages: msg})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
		t.Fatalf("down: %v", err)
	}
	if status, _ := post(t, "POST", srv.URL()+"/sim/up", ""); status != 200 {
		t.Fatalf("POST /sim/up: %d", status)
	}
	if _, err := good.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ProfileCloudFM, Messages: msg}); err != nil {
		t.Fatalf("after /sim/up: %v", err)
	}

	authHeader := "Bearer sk-right"
	tests := []struct {
		name, body string
		status     int
		wantMsg    string
	}{
		{"malformed json", `{"model":`, 400, "unexpected EOF"},
		{"empty body", ``, 400, "missing request body"},
		{"no model", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "model parameter"},
		{"no messages", `{"model":"sim-fm-70b","messages":[]}`, 400, "at least one message"},
		{"n above one", `{"model":"sim-fm-70b","n":2,"messages":[{"role":"user","content":"hi"}]}`, 400, "n=1"},
		{"bad temperature", `{"model":"sim-fm-70b","temperature":3,"messages":[{"role":"user","content":"hi"}]}`, 400, "temperature"},
		{"bad max_tokens", `{"model":"sim-fm-70b","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, 400, "max_tokens"},
		{"content of wrong type", `{"model":"sim-fm-70b","messages":[{"role":"user","content":7}]}`, 400, "messages[0]"},
		{"body over the limit", `{"model":"sim-fm-70b","messages":[{"role":"user","content":"` + strings.Repeat("a", MaxRequestBody) + `"}]}`, 413, "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL()+"/v1/chat/completions", strings.NewReader(tc.body))
			req.Header.Set("Authorization", authHeader)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error struct{ Message, Type string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(e.Error.Message, tc.wantMsg) || e.Error.Type == "" {
				t.Fatalf("status %d error %+v; want %d with %q", resp.StatusCode, e.Error, tc.status, tc.wantMsg)
			}
		})
	}
	if st := c.Stats(); st.Rejected != 3+len(tests) || st.Calls != 1 {
		t.Fatalf("stats %+v: want %d rejected, 1 call", st, 3+len(tests))
	}
}

func TestCloudContentPartsAndMaxTokens(t *testing.T) {
	_, srv := startCloud(t)
	body := `{"model":"sim-fm-70b","max_tokens":2,"messages":[{"role":"user","content":[{"type":"text","text":"Which bacterium causes tuberculosis?"}]}]}`
	status, out := post(t, "POST", srv.URL()+"/v1/chat/completions", body)
	var resp struct {
		Choices []struct {
			FinishReason string `json:"finish_reason"`
			Message      struct{ Content string }
		}
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil || status != 200 {
		t.Fatalf("status %d body %s: %v", status, out, err)
	}
	if resp.Choices[0].FinishReason != "length" || resp.Usage.CompletionTokens != 2 || !strings.HasPrefix("Mycobacterium tuberculosis", resp.Choices[0].Message.Content) {
		t.Fatalf("max_tokens 2 gave %+v", resp)
	}
}

func TestNewCloudValidates(t *testing.T) {
	p := DefaultCloudProfile()
	p.Name = "gpt-4o" // not named as a simulator
	if _, err := NewCloud(workload.Default(), p); !errors.Is(err, ErrInvalidProfile) {
		t.Fatalf("NewCloud with a non-sim name: %v", err)
	}
	if _, err := NewCloud(nil, DefaultCloudProfile()); err == nil {
		t.Fatal("NewCloud without a workload succeeded")
	}
	if _, err := NewCloud(workload.Default(), DefaultCloudProfile(), WithLatencyScale(-2)); err == nil {
		t.Fatal("NewCloud with a negative latency scale succeeded")
	}
}
