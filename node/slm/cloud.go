package slm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
)

// ErrCloudUnavailable wraps every failure to get an answer from the cloud FM.
var ErrCloudUnavailable = errors.New("cloud FM unavailable")

// ErrCloudHung is the cause of a call cut because the cloud FM sent nothing
// within the first-byte deadline (or went silent that long mid-answer).
var ErrCloudHung = errors.New("cloud FM sent nothing within the deadline")

// Default cloud deadlines: a reachable endpoint accepts a connection well
// within DefaultCloudConnectTimeout, and a working one streams its first
// token (after prefill) well within DefaultCloudFirstByteTimeout.
const (
	DefaultCloudConnectTimeout   = 5 * time.Second
	DefaultCloudFirstByteTimeout = 10 * time.Second
)

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
	client    openai.Client
	model     string
	base      string
	firstByte time.Duration
}

// CloudOption configures a Cloud client.
type CloudOption func(*cloudOptions)

type cloudOptions struct {
	httpClient *http.Client
	retries    int
	connect    time.Duration
	firstByte  time.Duration
}

// WithCloudHTTPClient replaces the HTTP client (and with it the connect
// deadline, which is its transport's).
func WithCloudHTTPClient(c *http.Client) CloudOption {
	return func(o *cloudOptions) { o.httpClient = c }
}

// WithCloudRetries sets how many times a failed call is retried (default 1).
func WithCloudRetries(n int) CloudOption { return func(o *cloudOptions) { o.retries = n } }

// WithCloudTimeouts sets the connect deadline (TCP and TLS) and the
// first-byte deadline: how long a call waits for the first streamed token,
// and then for each next one, before it counts as hung.
func WithCloudTimeouts(connect, firstByte time.Duration) CloudOption {
	return func(o *cloudOptions) { o.connect, o.firstByte = connect, firstByte }
}

// NewCloud returns a client for model at baseURL (…/v1 is added when missing).
// apiKey may be empty for endpoints that need none.
func NewCloud(baseURL, model, apiKey string, opts ...CloudOption) (*Cloud, error) {
	if baseURL == "" || model == "" {
		return nil, fmt.Errorf("new cloud client: base URL and model are required")
	}
	o := cloudOptions{retries: 1, connect: DefaultCloudConnectTimeout, firstByte: DefaultCloudFirstByteTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.connect <= 0 || o.firstByte <= 0 {
		return nil, fmt.Errorf("new cloud client: connect deadline %v and first-byte deadline %v must be positive", o.connect, o.firstByte)
	}
	if o.httpClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: o.connect, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = o.connect
		// No ResponseHeaderTimeout: Complete's first-byte timer already runs
		// from before the request, and a second deadline of the same length
		// raced it, so a hang sometimes came back without ErrCloudHung.
		o.httpClient = &http.Client{Transport: tr}
	}
	base := strings.TrimSuffix(baseURL, "/")
	if !strings.HasSuffix(base, "/v1") {
		base += "/v1"
	}
	ropts := []option.RequestOption{
		option.WithBaseURL(base + "/"),
		option.WithMaxRetries(o.retries),
		option.WithHTTPClient(o.httpClient),
		option.WithMiddleware(wholeAnswerAsStream),
	}
	// openai-go falls back to OPENAI_API_KEY from the environment; we only ever
	// send the key we were given, so an unrelated key never leaves the machine.
	ropts = append(ropts, option.WithAPIKey(apiKey))
	return &Cloud{client: openai.NewClient(ropts...), model: model, base: base, firstByte: o.firstByte}, nil
}

// Model is the cloud model name.
func (c *Cloud) Model() string { return c.model }

// Complete asks the cloud FM for one answer.
func (c *Cloud) Complete(ctx context.Context, msgs []Message, maxTokens int) (*CloudResult, error) {
	return c.CompleteStream(ctx, msgs, maxTokens, nil)
}

// CompleteStream is Complete that also hands each piece of the answer's
// text to onText (nil: none) as it arrives, on the calling goroutine. The
// result's Text is the whole answer, trimmed. Retries happen only before
// the response (openai-go retries the request, never a stream), so onText
// never sees text that a retry would take back; an error after some text
// went to onText means the answer broke off.
func (c *Cloud) CompleteStream(ctx context.Context, msgs []Message, maxTokens int, onText func(string)) (*CloudResult, error) {
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
	// Streamed, so that a hang shows as silence within the first-byte
	// deadline instead of costing the caller's whole deadline.
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	silent := time.AfterFunc(c.firstByte, func() { cancel(fmt.Errorf("%w (%v)", ErrCloudHung, c.firstByte)) })
	defer silent.Stop()
	stream := c.client.Chat.Completions.NewStreaming(ctx, params)
	defer stream.Close()
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		silent.Reset(c.firstByte)
		chunk := stream.Current()
		acc.AddChunk(chunk)
		for _, ch := range chunk.Choices {
			if onText != nil && ch.Index == 0 && ch.Delta.Content != "" { // the choice the result's Text is
				onText(ch.Delta.Content)
			}
		}
	}
	if err := stream.Err(); err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, ErrCloudHung) {
			err = cause
		}
		return nil, fmt.Errorf("complete with %s at %s: %w: %w", c.model, c.base, ErrCloudUnavailable, err)
	}
	if len(acc.Choices) == 0 || strings.TrimSpace(acc.Choices[0].Message.Content) == "" {
		return nil, fmt.Errorf("complete with %s: %w: %w", c.model, ErrCloudUnavailable, ErrEmptyAnswer)
	}
	model := acc.Model
	if model == "" {
		model = c.model
	}
	return &CloudResult{
		Text:             strings.TrimSpace(acc.Choices[0].Message.Content),
		Model:            model,
		PromptTokens:     int(acc.Usage.PromptTokens),
		CompletionTokens: int(acc.Usage.CompletionTokens),
		Latency:          time.Since(start),
	}, nil
}

// wholeAnswerAsStream serves endpoints that ignore "stream": true and send
// the whole completion as JSON: it hands the stream reader that completion
// as its one chunk, so such an endpoint still answers (its first byte is
// then its last).
func wholeAnswerAsStream(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	resp, err := next(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "application/json" {
		return resp, nil
	}
	defer resp.Body.Close()
	var whole openai.ChatCompletion
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxCloudAnswerBytes)).Decode(&whole); err != nil {
		return nil, fmt.Errorf("read the whole cloud answer: %w", err)
	}
	chunk := openai.ChatCompletionChunk{ID: whole.ID, Model: whole.Model, Created: whole.Created, Usage: whole.Usage}
	for _, c := range whole.Choices {
		chunk.Choices = append(chunk.Choices, openai.ChatCompletionChunkChoice{Index: c.Index, FinishReason: c.FinishReason,
			Delta: openai.ChatCompletionChunkChoiceDelta{Role: string(c.Message.Role), Content: c.Message.Content}})
	}
	b, err := json.Marshal(chunk)
	if err != nil {
		return nil, fmt.Errorf("re-encode the whole cloud answer: %w", err)
	}
	resp.Header.Set("Content-Type", "text/event-stream")
	resp.Body = io.NopCloser(bytes.NewReader(slices.Concat([]byte("data: "), b, []byte("\n\ndata: [DONE]\n\n"))))
	resp.ContentLength = -1
	return resp, nil
}

// maxCloudAnswerBytes caps a whole (unstreamed) cloud answer.
const maxCloudAnswerBytes = 8 << 20
