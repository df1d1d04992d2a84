package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/swarmllm/swarmllm/node/internal/metrics"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// Caps and defaults of the HTTP surface.
const (
	// MaxBodyBytes is the default cap on a request body; larger bodies get 413.
	MaxBodyBytes = 1 << 20
	// MaxPromptBytes is the default cap on a query's text: the sum of all
	// message contents. A query travels to peers in one /swarmllm/ask/1.0.0
	// message capped at 64 KiB, so the prompt keeps half of that for framing,
	// options and the round's metadata.
	MaxPromptBytes = 32 << 10
	// PromptBytesCeiling is the most WithMaxPromptBytes accepts: beyond it a
	// query could no longer fit the p2p ask message.
	PromptBytesCeiling = 48 << 10
	// DefaultAskTimeout bounds one query (local answer, round, cloud) when the
	// caller's own context has no earlier deadline.
	DefaultAskTimeout = 2 * time.Minute
	// DefaultVersion is what /api/version reports unless WithVersion says otherwise.
	DefaultVersion = "0.0.0-dev"
	// MaxMessages and MaxCompletionTokens are the wire caps of a peer ask: a
	// query beyond them could not reach the swarm, so the API refuses it
	// with a 400 instead of quietly answering it some other way.
	MaxMessages         = protocol.MaxMessages
	MaxCompletionTokens = protocol.MaxCompletionTokens
)

// Headers the API reads and writes.
const (
	// HeaderRoute is set on every answer: local, swarm or cloud.
	HeaderRoute = "X-Swarm-Route"
	// HeaderPolicy lets any client (OpenAI, Ollama, native) pick the routing
	// policy for one request; the native body's "policy" field wins over it.
	HeaderPolicy = "X-Swarm-Policy"
)

// Option configures a Server.
type Option func(*serverConfig)

type serverConfig struct {
	gatherer       prometheus.Gatherer
	logger         *slog.Logger
	version        string
	maxBodyBytes   int64
	maxPromptBytes int
	askTimeout     time.Duration
	bodyTimeout    time.Duration
	listenAddr     string   // the address the API is bound to: its own Host, and whether keys are required
	extraHosts     []string // further names or addresses callers may use in Host
	corsOrigins    []string // origins allowed to call cross-origin
	keys           *Keyring
	insecure       bool          // off loopback without keys, on purpose
	policyCeiling  router.Policy // the operator's policy: requests may only narrow it ("" = none)
	budget         *router.Budget
	activity       Activity      // nil: the dashboard's activity is empty
	maxStreams     int           // open /swarm/v1/events streams
	eventInterval  time.Duration // swarm view refresh or heartbeat on a stream
}

// WithGatherer serves g on /metrics, so one registry can expose every area's
// metrics; the caller registers the server's Collectors in it. By default the
// server serves a registry of its own with its collectors and the Go and
// process ones.
func WithGatherer(g prometheus.Gatherer) Option {
	return func(c *serverConfig) { c.gatherer = g }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *serverConfig) { c.logger = l } }

// WithVersion sets the version /api/version and the dashboard report.
func WithVersion(v string) Option { return func(c *serverConfig) { c.version = v } }

// WithMaxBodyBytes caps request bodies (default MaxBodyBytes).
func WithMaxBodyBytes(n int64) Option { return func(c *serverConfig) { c.maxBodyBytes = n } }

// WithMaxPromptBytes caps a query's text (default MaxPromptBytes, at most PromptBytesCeiling).
func WithMaxPromptBytes(n int) Option { return func(c *serverConfig) { c.maxPromptBytes = n } }

// WithAskTimeout bounds each query (default DefaultAskTimeout).
func WithAskTimeout(d time.Duration) Option { return func(c *serverConfig) { c.askTimeout = d } }

// WithBodyTimeout bounds how long a client may take to send a request body
// (default DefaultBodyTimeout); a slower one gets 408 and loses the connection.
func WithBodyTimeout(d time.Duration) Option { return func(c *serverConfig) { c.bodyTimeout = d } }

// WithListenAddr tells the server the address it is bound to ("host:port").
// Requests may then name that address in Host (every interface address when
// bound to 0.0.0.0 or ::). Default: loopback only.
func WithListenAddr(addr string) Option { return func(c *serverConfig) { c.listenAddr = addr } }

// WithAllowedHosts adds names or addresses callers may use in Host besides
// loopback, the bound address and the machine's hostname (e.g. a name a
// reverse proxy or a NAT forwards).
func WithAllowedHosts(hosts ...string) Option {
	return func(c *serverConfig) { c.extraHosts = append(c.extraHosts, hosts...) }
}

// WithCORSOrigins lists the origins ("https://app.example:8443") whose
// browser requests are allowed cross-origin; any other Origin is refused.
func WithCORSOrigins(origins ...string) Option {
	return func(c *serverConfig) { c.corsOrigins = append(c.corsOrigins, origins...) }
}

// WithPolicyCeiling makes p (the operator's --policy) the ceiling of every
// request: a request's policy may narrow it and is refused (403) if it would
// widen it (router.UnderCeiling). Without it a request may pick any policy.
func WithPolicyCeiling(p router.Policy) Option { return func(c *serverConfig) { c.policyCeiling = p } }

// WithBudget charges each query to its API key's requests-per-hour quota
// (router.Budget.Admit); over it the caller gets 429 with Retry-After.
func WithBudget(b *router.Budget) Option { return func(c *serverConfig) { c.budget = b } }

// Server is the node's HTTP surface: OpenAI- and Ollama-compatible APIs, the
// native API, health, metrics and the dashboard. It holds no goroutines of its
// own, so it needs no Close; its event streams run in their requests'
// goroutines and end when the http.Server from NewHTTPServer shuts down.
type Server struct {
	engine       Engine
	cfg          serverConfig
	handler      http.Handler // the guard around mux
	mux          *http.ServeMux
	hosts        hostPolicy
	metrics      *httpMetrics
	guardMetrics *guardMetrics
	gather       http.Handler
	streamGauge  prometheus.GaugeFunc // open event streams
	now          func() time.Time     // a seam so golden files can pin timestamps
	streams      chan struct{}        // one token per open event stream
	closing      chan struct{}        // closed by endStreams
	closeOnce    sync.Once
}

var _ http.Handler = (*Server)(nil)

// NewServer builds the HTTP surface over engine.
func NewServer(engine Engine, opts ...Option) (*Server, error) {
	if engine == nil {
		return nil, errors.New("new api server: nil engine")
	}
	cfg := serverConfig{
		version:        DefaultVersion,
		maxBodyBytes:   MaxBodyBytes,
		maxPromptBytes: MaxPromptBytes,
		askTimeout:     DefaultAskTimeout,
		bodyTimeout:    DefaultBodyTimeout,
		maxStreams:     DefaultMaxEventStreams,
		eventInterval:  DefaultEventInterval,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	if cfg.activity == nil {
		cfg.activity = (*QueryLog)(nil)
	}
	switch {
	case cfg.maxPromptBytes <= 0 || cfg.maxPromptBytes > PromptBytesCeiling:
		return nil, fmt.Errorf("new api server: max prompt bytes %d not in (0, %d]", cfg.maxPromptBytes, PromptBytesCeiling)
	case cfg.maxBodyBytes < int64(cfg.maxPromptBytes):
		return nil, fmt.Errorf("new api server: max body bytes %d below max prompt bytes %d", cfg.maxBodyBytes, cfg.maxPromptBytes)
	case cfg.askTimeout <= 0:
		return nil, fmt.Errorf("new api server: ask timeout %v must be positive", cfg.askTimeout)
	case cfg.bodyTimeout <= 0:
		return nil, fmt.Errorf("new api server: body timeout %v must be positive", cfg.bodyTimeout)
	case cfg.maxStreams < 1:
		return nil, fmt.Errorf("new api server: max event streams %d must be positive", cfg.maxStreams)
	case cfg.eventInterval <= 0:
		return nil, fmt.Errorf("new api server: event interval %v must be positive", cfg.eventInterval)
	}
	if cfg.policyCeiling != "" {
		if _, err := router.UnderCeiling(cfg.policyCeiling, ""); err != nil {
			return nil, fmt.Errorf("new api server: %w", err)
		}
	}
	if err := checkKeysSetup(cfg); err != nil {
		return nil, fmt.Errorf("new api server: %w", err)
	}
	for i, o := range cfg.corsOrigins {
		if err := CheckOrigin(o); err != nil {
			return nil, fmt.Errorf("new api server: %w", err)
		}
		cfg.corsOrigins[i] = strings.TrimSuffix(o, "/") // browsers send no trailing slash
	}
	s := &Server{
		engine:       engine,
		cfg:          cfg,
		mux:          http.NewServeMux(),
		hosts:        newHostPolicy(cfg.listenAddr, cfg.extraHosts),
		metrics:      newHTTPMetrics(),
		guardMetrics: newGuardMetrics(),
		now:          time.Now,
		streams:      make(chan struct{}, cfg.maxStreams),
		closing:      make(chan struct{}),
	}
	s.streamGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "swarmllm_http_event_streams",
		Help: "Open /swarm/v1/events streams (dashboards watching this node).",
	}, func() float64 { return float64(len(s.streams)) })
	g := cfg.gatherer
	if g == nil {
		reg := prometheus.NewRegistry()
		if _, err := metrics.Register(reg, append(metrics.Runtime(), s.Collectors()...)...); err != nil {
			return nil, fmt.Errorf("new api server: %w", err)
		}
		g = reg
	}
	s.gather = promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	s.routes()
	s.handler = s.guard(s.mux)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// endpoint is one path of the surface. Every path answers one method (GET
// also answers HEAD), so a wrong method gets 405 in the API's own error shape.
type endpoint struct {
	kind    apiKind
	method  string
	path    string
	handler http.HandlerFunc
}

func (s *Server) routes() {
	eps := []endpoint{
		{kindOpenAI, http.MethodPost, "/v1/chat/completions", s.handleChatCompletions},
		{kindOpenAI, http.MethodGet, "/v1/models", s.handleOpenAIModels},
		{kindOllama, http.MethodPost, "/api/chat", s.handleOllamaChat},
		{kindOllama, http.MethodPost, "/api/generate", s.handleOllamaGenerate},
		{kindOllama, http.MethodGet, "/api/tags", s.handleOllamaTags},
		{kindOllama, http.MethodPost, "/api/show", s.handleOllamaShow},
		{kindOllama, http.MethodGet, "/api/ps", s.handleOllamaPs},
		{kindOllama, http.MethodPost, "/api/pull", s.handleOllamaPull},
		{kindOllama, http.MethodGet, "/api/version", s.handleOllamaVersion},
		{kindOllama, http.MethodDelete, "/api/delete", s.handleOllamaManage("delete")},
		{kindOllama, http.MethodPost, "/api/copy", s.handleOllamaManage("copy")},
		{kindOllama, http.MethodPost, "/api/create", s.handleOllamaManage("create")},
		{kindOllama, http.MethodPost, "/api/push", s.handleOllamaManage("push")},
		{kindNative, http.MethodPost, "/swarm/v1/ask", s.handleAsk},
		{kindNative, http.MethodGet, "/swarm/v1/peers", s.handlePeers},
		{kindNative, http.MethodGet, "/swarm/v1/cms", s.handleRecords},
		{kindNative, http.MethodGet, "/swarm/v1/activity", s.handleActivity},
		{kindNative, http.MethodGet, "/swarm/v1/events", s.handleEvents},
		{kindNative, http.MethodGet, "/healthz", s.handleHealth},
		{kindNative, http.MethodGet, "/metrics", s.gather.ServeHTTP},
		{kindNative, http.MethodGet, "/{$}", s.handleDashboard},
	}
	for _, ep := range eps {
		label := strings.TrimSuffix(ep.path, "{$}")
		s.mux.Handle(ep.path, s.instrument(label, s.allowMethod(ep)))
	}
	s.mux.Handle("/", s.instrument("unmatched", http.HandlerFunc(s.handleNotFound)))
}

func (s *Server) allowMethod(ep endpoint) http.Handler {
	allow := ep.method
	if ep.method == http.MethodGet {
		allow = "GET, HEAD"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == ep.method || (ep.method == http.MethodGet && r.Method == http.MethodHead) {
			ep.handler(w, r)
			return
		}
		w.Header().Set("Allow", allow)
		s.writeError(w, r, ep.kind, &apiError{status: http.StatusMethodNotAllowed, code: CodeMethodNotAllowed,
			msg: fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow)})
	})
}

// handleNotFound answers unknown paths in the shape of the API their prefix names.
func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, kindForPath(r.URL.Path), &apiError{status: http.StatusNotFound, code: CodeNotFound,
		msg: fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path)})
}

// readBody reads a request body up to the cap; bigger bodies get 413.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if e := checkJSONBody(r); e != nil {
		s.guardMetrics.refused.WithLabelValues(refusedContentType).Inc()
		return nil, e
	}
	tooLarge := &apiError{status: http.StatusRequestEntityTooLarge, code: CodeBodyTooLarge,
		msg: fmt.Sprintf("request body exceeds %d bytes", s.cfg.maxBodyBytes)}
	if r.ContentLength > s.cfg.maxBodyBytes {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.maxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge
		}
		e := bodyReadError(err)
		if e.code == CodeBodyTimeout {
			s.guardMetrics.refused.WithLabelValues(refusedSlowBody).Inc()
		}
		return nil, e
	}
	return body, nil
}

// resolveModel checks a requested model against the engine's list before any
// query runs, and returns the engine's own spelling ("" stays "": the default).
func (s *Server) resolveModel(ctx context.Context, name string) (string, *apiError) {
	if name == "" {
		return "", nil
	}
	want := normalizeModel(name)
	for _, m := range s.engine.Models(ctx) {
		if normalizeModel(m.Name) == want {
			return m.Name, nil
		}
	}
	return "", unknownModel(name)
}

// normalizeModel makes "Qwen2.5" and "qwen2.5:latest" the same name, as Ollama does.
func normalizeModel(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if !strings.Contains(name[strings.LastIndex(name, "/")+1:], ":") {
		name += ":latest"
	}
	return name
}

// ask runs one validated query through the engine.
func (s *Server) ask(ctx context.Context, req Request) (*Response, *apiError) {
	model, aerr := s.resolveModel(ctx, req.Model)
	if aerr != nil {
		return nil, aerr
	}
	req.Model = model
	if s.cfg.policyCeiling != "" {
		p, err := router.UnderCeiling(s.cfg.policyCeiling, req.Policy)
		if err != nil {
			s.guardMetrics.refused.WithLabelValues(refusedPolicy).Inc()
			return nil, &apiError{status: http.StatusForbidden, code: CodePolicyAboveCeiling, param: "policy", msg: err.Error()}
		}
		req.Policy = p
	}
	if key, ok := callerOf(ctx); ok {
		req.Caller = key.Name
	}
	if b := s.cfg.budget; b != nil {
		now := time.Now()
		if err := b.Admit(now, req.Caller); err != nil {
			s.guardMetrics.refused.WithLabelValues(refusedQuota).Inc()
			return nil, &apiError{status: http.StatusTooManyRequests, code: CodeQuotaExceeded, msg: err.Error(),
				retryAfter: max(b.RetryAfter(now, req.Caller), time.Second)}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.askTimeout)
	defer cancel()
	resp, err := s.engine.Ask(ctx, req)
	if err != nil {
		return nil, engineError(fmt.Errorf("ask: %w", err))
	}
	if resp == nil {
		return nil, &apiError{status: http.StatusInternalServerError, code: CodeInternal, msg: "ask: engine returned no answer"}
	}
	resp.Trace.Caller = req.Caller
	return resp, nil
}

// writeAnswer sends an encoded answer with its route header.
func writeAnswer(w http.ResponseWriter, resp *Response, contentType string, body []byte) {
	w.Header().Set(HeaderRoute, resp.Trace.Route.String())
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(body)
}

// writeJSON encodes v before sending anything, so an encoding failure still
// becomes a clean 500 in the API's shape.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, kind apiKind, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, r, kind, &apiError{status: http.StatusInternalServerError, code: CodeInternal,
			msg: fmt.Sprintf("encode response: %v", err)})
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, kind apiKind, e *apiError) {
	level := slog.LevelDebug
	if e.status >= 500 {
		level = slog.LevelWarn
	}
	errText := e.msg
	if e.detail != "" {
		errText = e.detail
	}
	s.cfg.logger.Log(r.Context(), level, "http request failed", "method", r.Method, "path", r.URL.Path,
		"status", e.status, "code", e.code, "err", errText)
	body, _ := json.Marshal(errorBody(kind, e)) // plain structs of strings: cannot fail
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.retryAfter.Seconds()))))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	_, _ = w.Write(append(body, '\n'))
}
