package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics() *httpMetrics {
	return &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_http_requests_total",
			Help: "HTTP requests served, by endpoint and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "swarmllm_http_request_duration_seconds",
			Help: "Wall time of HTTP requests, by endpoint (a query's time includes its whole route).",
			// From a cached local answer (~100 µs) up to a cloud call near the ask timeout.
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"route"}),
	}
}

// guardMetrics count what the access checks refused and, per API key name
// (never its secret), what they let through.
type guardMetrics struct {
	refused *prometheus.CounterVec
	keyed   *prometheus.CounterVec
}

func newGuardMetrics() *guardMetrics {
	return &guardMetrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_api_refused_total",
			Help: "HTTP requests refused before their endpoint ran, by reason (host, origin, content_type, slow_body, auth, quota, policy).",
		}, []string{"reason"}),
		keyed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmllm_api_key_requests_total",
			Help: "HTTP requests authenticated by an API key, by the key's name.",
		}, []string{"key"}),
	}
}

// Collectors are the API's metrics, for whoever composes the server to
// register (the node; a server standing alone registers them in its own
// registry). The server registers nothing in a registry it was given.
func (s *Server) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.metrics.requests, s.metrics.duration, s.guardMetrics.refused, s.guardMetrics.keyed, s.streamGauge}
}

// statusRecorder remembers the status a handler wrote. Unwrap lets
// http.ResponseController reach the real writer's Flush.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument counts and times every request under a fixed route label (the
// endpoint's path, or "unmatched"), so label cardinality stays bounded.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		s.metrics.duration.WithLabelValues(route).Observe(elapsed.Seconds())
		s.cfg.logger.Debug("http request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			slog.Duration("elapsed", elapsed))
	})
}
