package api

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"net/http"
)

// dashboardHTML is the whole dashboard: one page with inline CSS, JS and SVG
// and no external assets, so it works on an offline LAN. Its script tag
// carries noncePlaceholder, replaced per response.
//
//go:embed dashboard.html
var dashboardHTML []byte

var noncePlaceholder = []byte("{{NONCE}}")

func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand panics instead)
	nonce := base64.StdEncoding.EncodeToString(raw[:])
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Only this response's own script may run (its nonce; no injected or
	// inline handler code), it may only talk to this node, and no other page
	// may frame it (clickjacking); X-Frame-Options says the same to browsers
	// that predate frame-ancestors.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store") // the nonce is per response
	_, _ = w.Write(bytes.Replace(dashboardHTML, noncePlaceholder, []byte(nonce), 1))
}
