package api

import (
	_ "embed"
	"net/http"
)

// dashboardHTML is the whole dashboard: one page with inline CSS and JS and
// no external assets, so it works on an offline LAN.
//
//go:embed dashboard.html
var dashboardHTML []byte

func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Only this page's own inline code may run, it may only talk to this node,
	// and no other page may frame it (clickjacking); X-Frame-Options says the
	// same to browsers that predate frame-ancestors.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(dashboardHTML)
}
