package api

import (
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// Browser safety and connection hygiene, checked before any endpoint runs.
//
// A web page can make a browser send requests to this node: a cross-site
// "simple" POST needs no preflight, and DNS rebinding makes the browser
// believe the node is the attacker's own origin. So the node refuses a Host
// that is not one of its own names or addresses (a rebound name shows up in
// Host), a cross-origin request unless the operator listed the origin, and a
// POST whose body is not declared JSON (no simple request can declare it).

// DefaultBodyTimeout bounds how long a client may take to send a request
// body; a slow-body client is cut off instead of holding a connection.
const DefaultBodyTimeout = 30 * time.Second

// Refusal reasons, the label of swarmllm_api_refused_total.
const (
	refusedHost        = "host"
	refusedOrigin      = "origin"
	refusedContentType = "content_type"
	refusedSlowBody    = "slow_body"
	refusedAuth        = "auth"
	refusedQuota       = "quota"
	refusedPolicy      = "policy"
)

// Error codes of the guard's refusals.
const (
	CodeHostNotAllowed   = "host_not_allowed"
	CodeOriginNotAllowed = "origin_not_allowed"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeBodyTimeout      = "body_timeout"
)

// corsAllowHeaders are the request headers a listed origin may send.
const corsAllowHeaders = "Authorization, Content-Type, " + HeaderPolicy

// hostPolicy is the set of names and addresses a request's Host may carry.
type hostPolicy struct {
	names map[string]bool
	addrs map[netip.Addr]bool
}

// newHostPolicy allows loopback always, the bound address (every interface
// address when bound to all of them), the machine's hostname (also as
// NAME.local, as mDNS announces it) and the extra names or addresses given.
func newHostPolicy(listenAddr string, extra []string) hostPolicy {
	h := hostPolicy{names: map[string]bool{}, addrs: map[netip.Addr]bool{}}
	add := func(s string) {
		s = normalizeHost(s)
		if s == "" {
			return
		}
		if a, err := netip.ParseAddr(s); err == nil {
			h.addrs[a.Unmap()] = true
			return
		}
		h.names[s] = true
	}
	if host, _, err := net.SplitHostPort(listenAddr); err == nil {
		if a, err := netip.ParseAddr(host); err == nil && a.IsUnspecified() {
			if ifaddrs, err := net.InterfaceAddrs(); err == nil {
				for _, ia := range ifaddrs {
					if p, err := netip.ParsePrefix(ia.String()); err == nil {
						h.addrs[p.Addr().Unmap()] = true
					}
				}
			}
		} else {
			add(host)
		}
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		add(name)
		add(name + ".local")
	}
	for _, e := range extra {
		add(e)
	}
	return h
}

// normalizeHost drops the port, brackets, case and a trailing dot.
func normalizeHost(s string) string {
	s = strings.TrimSpace(s)
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

func (h hostPolicy) allows(host string) bool {
	if host == "" { // HTTP/1.0 without Host: no browser sends that
		return true
	}
	host = normalizeHost(host)
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		return a.IsLoopback() || h.addrs[a]
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || h.names[host]
}

// kindForPath is the API a path belongs to, for the shape of an error
// answered before routing.
func kindForPath(path string) apiKind {
	switch {
	case strings.HasPrefix(path, "/v1/"):
		return kindOpenAI
	case strings.HasPrefix(path, "/api/"):
		return kindOllama
	}
	return kindNative
}

// guard runs the checks every request passes before its endpoint: Host,
// Origin (answering CORS preflights for listed origins), the API key, and
// the body deadline. A preflight carries no key (browsers never send one),
// so it is answered before the key check.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := kindForPath(r.URL.Path)
		if !s.hosts.allows(r.Host) {
			s.refuse(w, r, kind, refusedHost, &apiError{status: http.StatusForbidden, code: CodeHostNotAllowed,
				msg: fmt.Sprintf("host %q is not a name of this node (add it with --api-hosts)", r.Host)})
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) {
			if !slices.Contains(s.cfg.corsOrigins, origin) {
				s.refuse(w, r, kind, refusedOrigin, &apiError{status: http.StatusForbidden, code: CodeOriginNotAllowed,
					msg: fmt.Sprintf("cross-origin request from %q refused (allow it with --cors-origins)", origin)})
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST")
				h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			h.Set("Access-Control-Expose-Headers", HeaderRoute)
		}
		r, e := s.authenticate(w, r)
		if e != nil {
			s.refuse(w, r, kind, refusedAuth, e)
			return
		}
		if r.ContentLength != 0 {
			// net/http clears it once the body has been read to its end, so a
			// long answer is not cut by it; a body left unread keeps it, and the
			// server's drain of that body obeys it too.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.bodyTimeout))
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin says whether a browser's Origin names the host it sent the
// request to (the dashboard's own fetches).
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// CheckOrigin accepts an origin as browsers send it: scheme://host[:port].
func CheckOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("CORS origin %q: want scheme://host[:port]", o)
	}
	return nil
}

// checkJSONBody refuses a body not declared JSON: a browser's cross-site
// "simple" POST can only be form-encoded or text/plain.
func checkJSONBody(r *http.Request) *apiError {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return nil
	}
	if ct == "" {
		ct = "none"
	}
	return &apiError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMedia, param: "Content-Type",
		msg: fmt.Sprintf("request body must be JSON with Content-Type: application/json (got %s)", ct)}
}

// bodyReadError maps a failed body read: the body deadline is a 408.
func bodyReadError(err error) *apiError {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &apiError{status: http.StatusRequestTimeout, code: CodeBodyTimeout, msg: "request body not received in time"}
	}
	return badRequest(CodeBadRequest, "", "read request body: %v", err)
}

// refuse answers a refused request and counts it by reason.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, kind apiKind, reason string, e *apiError) {
	s.guardMetrics.refused.WithLabelValues(reason).Inc()
	s.writeError(w, r, kind, e)
}

// NewHTTPServer serves h with the deadlines a node needs facing untrusted
// clients: headers within 10 s, idle connections closed after 2 min, small
// headers. Bodies are bounded by the Server's own body deadline
// (WithBodyTimeout), so it can be set per server and tested.
func NewHTTPServer(h http.Handler) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	if s, ok := h.(*Server); ok {
		srv.RegisterOnShutdown(s.endStreams) // Shutdown waits for idle connections; a stream never idles
	}
	return srv
}
