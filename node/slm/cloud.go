package slm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
)

// ErrCloudUnavailable wraps every failure to get an answer from the cloud FM.
var ErrCloudUnavailable = errors.New("cloud FM unavailable")

// CloudResult is the cloud FM's answer with its token accounting.
type CloudResult struct {
	Text             string
	Model            string
	PromptTokens     int
	CompletionTokens int
	Latency          time.Duration
}

// Cloud is a client for an OpenAI-compatible chat completions endpoint.
type Cloud struct {
	client openai.Client
	model  string
	base   string
}

// CloudOption configures a Cloud client.
type CloudOption func(*cloudOptions)

type cloudOptions struct {
	httpClient *http.Client
	retries    int
}

// WithCloudHTTPClient replaces the HTTP client.
func WithCloudHTTPClient(c *http.Client) CloudOption {
	return func(o *cloudOptions) { o.httpClient = c }
}

// WithCloudRetries sets how many times a failed call is retried (default 1).
func WithCloudRetries(n int) CloudOption { return func(o *cloudOptions) { o.retries = n } }

// NewCloud returns a client for model at baseURL (…/v1 is added when missing).
// apiKey may be empty for endpoints that need none.
func NewCloud(baseURL, model, apiKey string, opts ...CloudOption) (*Cloud, error) {
	if baseURL == "" || model == "" {
		return nil, fmt.Errorf("new cloud client: base URL and model are required")
	}
	o := cloudOptions{retries: 1, httpClient: &http.Client{}}
	for _, opt := range opts {
		opt(&o)
	}
	base := strings.TrimSuffix(baseURL, "/")
	if !strings.HasSuffix(base, "/v1") {
		base += "/v1"
	}
	ropts := []option.RequestOption{
		option.WithBaseURL(base + "/"),
		option.WithMaxRetries(o.retries),
		option.WithHTTPClient(o.httpClient),
	}
	// openai-go falls back to OPENAI_API_KEY from the environment; we only ever
	// send the key we were given, so an unrelated key never leaves the machine.
	ropts = append(ropts, option.WithAPIKey(apiKey))
	return &Cloud{client: openai.NewClient(ropts...), model: model, base: base}, nil
}

// Model is the cloud model name.
func (c *Cloud) Model() string { return c.model }

// Complete asks the cloud FM for one answer.
func (c *Cloud) Complete(ctx context.Context, msgs []Message, maxTokens int) (*CloudResult, error) {
	start := time.Now()
	params := openai.ChatCompletionNewParams{Model: c.model}
	for _, m := range msgs {
		switch m.Role {
		case "system":
			params.Messages = append(params.Messages, openai.SystemMessage(m.Content))
		case "assistant":
			params.Messages = append(params.Messages, openai.AssistantMessage(m.Content))
		default:
			params.Messages = append(params.Messages, openai.UserMessage(m.Content))
		}
	}
	if maxTokens > 0 {
		params.MaxTokens = openai.Int(int64(maxTokens))
	}
	resp, err := c.client.Chat.Completions.New(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("complete with %s at %s: %w: %w", c.model, c.base, ErrCloudUnavailable, err)
	}
	if len(resp.Choices) == 0 || strings.TrimSpace(resp.Choices[0].Message.Content) == "" {
		return nil, fmt.Errorf("complete with %s: %w: %w", c.model, ErrCloudUnavailable, ErrEmptyAnswer)
	}
	model := resp.Model
	if model == "" {
		model = c.model
	}
	return &CloudResult{
		Text:             strings.TrimSpace(resp.Choices[0].Message.Content),
		Model:            model,
		PromptTokens:     int(resp.Usage.PromptTokens),
		CompletionTokens: int(resp.Usage.CompletionTokens),
		Latency:          time.Since(start),
	}, nil
}
