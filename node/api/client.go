package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/swarmllm/swarmllm/cms"
)

// DefaultClientTimeout bounds each call of a Client whose context has no
// earlier deadline; it is a little over DefaultAskTimeout so the node's own
// 504 arrives first.
const DefaultClientTimeout = DefaultAskTimeout + 10*time.Second

// maxClientResponseBytes caps what a Client reads back; traces are small.
const maxClientResponseBytes = 8 << 20

// Client speaks the native API of one node (used by `swarmllm ask` and `swarmllm peers`).
type Client struct {
	base *url.URL
	http *http.Client
	key  string // sent as a Bearer token when set
}

// EnvAPIKey names the environment variable a Client takes its API key from
// by default, so `swarmllm ask` reaches a node that wants a key.
const EnvAPIKey = "SWARM_API_KEY"

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient replaces the default http.Client (timeout DefaultClientTimeout).
func WithHTTPClient(h *http.Client) ClientOption { return func(c *Client) { c.http = h } }

// WithAPIKey sets the API key sent with every call (default: $SWARM_API_KEY;
// "" sends none).
func WithAPIKey(key string) ClientOption { return func(c *Client) { c.key = key } }

// NewClient returns a client for the node at baseURL ("http://127.0.0.1:8700";
// a bare "host:port" means http).
func NewClient(baseURL string, opts ...ClientOption) (*Client, error) {
	if !strings.Contains(baseURL, "://") {
		baseURL = "http://" + baseURL
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("new api client: parse %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("new api client: %q is not an http(s) URL with a host", baseURL)
	}
	// A node's own listen address (0.0.0.0:8700, as SWARM_API may say) means
	// this machine; the node refuses "0.0.0.0" as a Host, so dial loopback.
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && a.IsUnspecified() {
		port := u.Port()
		u.Host = "127.0.0.1"
		if port != "" {
			u.Host = net.JoinHostPort(u.Host, port)
		}
	}
	c := &Client{base: u, http: &http.Client{Timeout: DefaultClientTimeout}, key: strings.TrimSpace(os.Getenv(EnvAPIKey))}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		return nil, errors.New("new api client: nil http client")
	}
	return c, nil
}

// APIError is a native error answer from a node.
type APIError struct {
	Status  int
	Code    string // one of the Code* constants
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("node answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Ask sends one query and returns the answer with its trace.
func (c *Client) Ask(ctx context.Context, req AskRequest) (*AskResult, error) {
	var out AskResult
	if err := c.do(ctx, http.MethodPost, "/swarm/v1/ask", req, &out, http.StatusOK); err != nil {
		return nil, fmt.Errorf("ask: %w", err)
	}
	return &out, nil
}

// AskStream sends one query as a stream (POST /swarm/v1/ask with "stream":
// true): onText runs for every piece of the answer as it arrives; the
// result, with the trace, comes with the last line. An error line after the
// first piece is an APIError like any other.
func (c *Client) AskStream(ctx context.Context, req AskRequest, onText func(string)) (*AskResult, error) {
	req.Stream = true
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("ask: encode request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.JoinPath("/swarm/v1/ask").String(), bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("ask: build request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/x-ndjson")
	if c.key != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("ask: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxClientResponseBytes))
		var eb nativeErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error.Message == "" {
			return nil, fmt.Errorf("ask: %w", &APIError{Status: resp.StatusCode, Message: strings.TrimSpace(string(data))})
		}
		return nil, fmt.Errorf("ask: %w", &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message})
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxClientResponseBytes))
	for {
		var chunk AskChunk
		if err := dec.Decode(&chunk); err != nil {
			return nil, fmt.Errorf("ask: read stream: %w", err)
		}
		switch {
		case chunk.Error != nil:
			return nil, fmt.Errorf("ask: %w", &APIError{Status: resp.StatusCode, Code: chunk.Error.Code, Message: chunk.Error.Message})
		case chunk.Done && chunk.Result != nil:
			return chunk.Result, nil
		case chunk.Text != "":
			onText(chunk.Text)
		}
	}
}

// Peers lists the peers the node sees.
func (c *Client) Peers(ctx context.Context) ([]PeerInfo, error) {
	var out PeersResult
	if err := c.do(ctx, http.MethodGet, "/swarm/v1/peers", nil, &out, http.StatusOK); err != nil {
		return nil, fmt.Errorf("list peers: %w", err)
	}
	return out.Peers, nil
}

// Records lists the capability records the node knows.
func (c *Client) Records(ctx context.Context) ([]cms.RecordView, error) {
	var out RecordsResult
	if err := c.do(ctx, http.MethodGet, "/swarm/v1/cms", nil, &out, http.StatusOK); err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	return out.Records, nil
}

// Health returns the node's health. An unhealthy node (503) is not an error:
// the result says what is wrong and what to do.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var out Health
	if err := c.do(ctx, http.MethodGet, "/healthz", nil, &out, http.StatusOK, http.StatusServiceUnavailable); err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	return &out, nil
}

// do sends one request; a status outside ok is decoded as an APIError.
func (c *Client) do(ctx context.Context, method, path string, in, out any, ok ...int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.JoinPath(path).String(), body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxClientResponseBytes))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("decode response: %w", err)
			}
			return nil
		}
	}
	var eb nativeErrorBody
	if json.Unmarshal(data, &eb) != nil || eb.Error.Message == "" {
		return &APIError{Status: resp.StatusCode, Message: strings.TrimSpace(string(data))}
	}
	return &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
}
