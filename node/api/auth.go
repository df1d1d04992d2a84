package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Error codes of authentication.
const (
	CodeMissingKey = "missing_api_key"
	CodeInvalidKey = "invalid_api_key"
)

// WithKeys sets the API keys the server accepts. Bound off loopback, every
// route but /healthz and the dashboard's page needs one; on loopback keys are
// optional, but a key that is sent must be valid.
func WithKeys(r *Keyring) Option { return func(c *serverConfig) { c.keys = r } }

// WithInsecure lets a server bound off loopback run without keys: anyone who
// can reach it may use it. NewServer refuses that setup otherwise.
func WithInsecure(yes bool) Option { return func(c *serverConfig) { c.insecure = yes } }

// IsLoopbackAddr says whether a listen address ("host:port") only accepts
// connections from this machine. An empty or unspecified host is every
// interface, so not loopback.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Unmap().IsLoopback()
}

// checkKeysSetup refuses a server bound off loopback with no keys, unless
// the operator said --api-insecure.
func checkKeysSetup(c serverConfig) error {
	if c.listenAddr != "" && !IsLoopbackAddr(c.listenAddr) && c.keys.Len() == 0 && !c.insecure {
		return fmt.Errorf("API bound to %s, off loopback, without API keys: set SWARM_API_KEYS or --api-keys-file, "+
			"or --api-insecure to let anyone who reaches it use it", c.listenAddr)
	}
	return nil
}

// keyRequired says whether requests must carry a key.
func (s *Server) keyRequired() bool {
	return s.cfg.keys.Len() > 0 && s.cfg.listenAddr != "" && !IsLoopbackAddr(s.cfg.listenAddr)
}

// openRoute is reachable without a key: health for probes, and the
// dashboard's static page (it holds no data; its own calls carry the key).
func openRoute(r *http.Request) bool {
	return r.URL.Path == "/healthz" || r.URL.Path == "/"
}

type callerKey struct{}

// callerOf is the name of the key a request was authenticated with ("" for none).
func callerOf(ctx context.Context) (Key, bool) {
	k, ok := ctx.Value(callerKey{}).(Key)
	return k, ok
}

// authenticate checks the request's key, if keys are configured. It returns
// the request with the key in its context.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, *apiError) {
	if s.cfg.keys.Len() == 0 {
		// No keys at all (loopback, or --api-insecure): nothing to check, and
		// clients that always send some token (OpenAI SDKs) keep working.
		return r, nil
	}
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	if auth == "" {
		if !s.keyRequired() || openRoute(r) {
			return r, nil
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="swarmllm"`)
		return r, &apiError{status: http.StatusUnauthorized, code: CodeMissingKey,
			msg: "this node needs an API key: send Authorization: Bearer <key> (swarmllm ask and peers send $SWARM_API_KEY)"}
	}
	scheme, secret, _ := strings.Cut(auth, " ")
	key, ok := s.cfg.keys.lookup(strings.TrimSpace(secret))
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="swarmllm", error="invalid_token"`)
		return r, &apiError{status: http.StatusUnauthorized, code: CodeInvalidKey, msg: "invalid API key"}
	}
	s.guardMetrics.keyed.WithLabelValues(key.Name).Inc()
	return r.WithContext(context.WithValue(r.Context(), callerKey{}, key)), nil
}
