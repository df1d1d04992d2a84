package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/swarmllm/swarmllm/cms"
)

// Defaults of the event stream.
const (
	// DefaultMaxEventStreams bounds the open /swarm/v1/events streams: each
	// holds a connection and a handler goroutine for as long as a dashboard
	// is open.
	DefaultMaxEventStreams = 16
	// DefaultEventInterval is how often a stream looks at the swarm (health,
	// peers, records) and sends it if it changed, or a heartbeat if not.
	DefaultEventInterval = 5 * time.Second
	// eventWriteTimeout drops a client that stops reading.
	eventWriteTimeout = 10 * time.Second
	// activityMinGap spaces a stream's activity events: a busy node sends
	// the latest view a few times a second, not one per query.
	activityMinGap = 250 * time.Millisecond
)

// Event names on /swarm/v1/events.
const (
	EventActivity = "activity" // data: ActivityView, on every finished query
	EventSwarm    = "swarm"    // data: SwarmView, when health, peers or records changed
)

// SwarmView is the node's health and the swarm as it sees it.
type SwarmView struct {
	Health  Health           `json:"health"`
	Peers   []PeerInfo       `json:"peers"`
	Records []cms.RecordView `json:"records"`
	Version string           `json:"version"`
}

// WithActivity serves a's recent queries, route series, budget and trust on
// /swarm/v1/activity and the event stream. Without it they are empty (a
// nil *QueryLog).
func WithActivity(a Activity) Option { return func(c *serverConfig) { c.activity = a } }

// WithMaxEventStreams bounds the open event streams (default
// DefaultMaxEventStreams); one more gets 503.
func WithMaxEventStreams(n int) Option { return func(c *serverConfig) { c.maxStreams = n } }

// WithEventInterval sets how often an event stream refreshes the swarm view
// or sends a heartbeat (default DefaultEventInterval).
func WithEventInterval(d time.Duration) Option { return func(c *serverConfig) { c.eventInterval = d } }

func (s *Server) activityView(r *http.Request) ActivityView {
	return s.cfg.activity.Activity(r.Context())
}

func (s *Server) handleActivity(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, kindNative, http.StatusOK, s.activityView(r))
}

func (s *Server) swarmView(r *http.Request) SwarmView {
	ctx := r.Context()
	v := SwarmView{Health: s.engine.Health(ctx), Peers: s.engine.Peers(ctx), Records: s.engine.Records(ctx), Version: s.cfg.version}
	if v.Peers == nil {
		v.Peers = []PeerInfo{}
	}
	if v.Records == nil {
		v.Records = []cms.RecordView{}
	}
	return v
}

// handleEvents streams server-sent events: the swarm view and the activity
// at once, the activity again after finished queries (at most one event per
// activityMinGap, carrying the latest view), the swarm view
// when it changed, and a heartbeat comment otherwise. It runs in the
// request's own goroutine and returns when the client goes, a write stalls,
// or the HTTP server shuts down.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		s.writeError(w, r, kindNative, &apiError{status: http.StatusServiceUnavailable, code: CodeUnavailable,
			msg: fmt.Sprintf("too many event streams open (%d); close a dashboard or poll /swarm/v1/activity", cap(s.streams)), retryAfter: s.cfg.eventInterval})
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return // a HEAD would otherwise hold its place with a body nobody reads
	}

	send := func(event string, data []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
		var buf bytes.Buffer
		if event != "" {
			fmt.Fprintf(&buf, "event: %s\ndata: %s\n\n", event, data)
		} else {
			buf.Write(data) // a comment line
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	marshal := func(v any) []byte { b, _ := json.Marshal(v); return b } // plain structs: cannot fail

	changed := s.cfg.activity.Changed() // taken before the first view, so no query falls between
	lastSwarm := marshal(s.swarmView(r))
	if !send("", []byte("retry: 3000\n\n")) || !send(EventSwarm, lastSwarm) || !send(EventActivity, marshal(s.activityView(r))) {
		return
	}
	lastActivity := time.Now()
	var due <-chan time.Time // set while a change waits for activityMinGap to pass
	tick := time.NewTicker(s.cfg.eventInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-changed:
			changed, due = nil, time.After(time.Until(lastActivity.Add(activityMinGap)))
		case <-due:
			due, changed = nil, s.cfg.activity.Changed()
			lastActivity = time.Now()
			if !send(EventActivity, marshal(s.activityView(r))) {
				return
			}
		case <-tick.C:
			ok := false
			if cur := marshal(s.swarmView(r)); !bytes.Equal(cur, lastSwarm) {
				lastSwarm, ok = cur, send(EventSwarm, cur)
			} else {
				ok = send("", []byte(": heartbeat\n\n"))
			}
			if !ok {
				return
			}
		}
	}
}

// endStreams ends every event stream: http.Server.Shutdown waits for
// connections to go idle, which a stream never does.
func (s *Server) endStreams() { s.closeOnce.Do(func() { close(s.closing) }) }
