package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/router"
)

// sseEvent is one event (or comment, with Event "comment") read off a stream.
type sseEvent struct{ Event, Data string }

// eventStream is one open GET /swarm/v1/events over real HTTP.
type eventStream struct {
	resp   *http.Response
	events chan sseEvent // closed at the end of the stream
	cancel context.CancelFunc
}

// startHTTP serves s through NewHTTPServer (as the node does) on loopback.
func startHTTP(t *testing.T, s *Server) (string, *http.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := NewHTTPServer(s)
	done := make(chan struct{})
	go func() { defer close(done); _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close(); <-done })
	return "http://" + ln.Addr().String(), hs
}

func openEvents(t *testing.T, base string) (*eventStream, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/swarm/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode
	}
	es := &eventStream{resp: resp, events: make(chan sseEvent, 64), cancel: cancel}
	go func() {
		defer close(es.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					es.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.Event = "comment"
			case strings.HasPrefix(line, "event: "):
				ev.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data += strings.TrimPrefix(line, "data: ")
			case strings.HasPrefix(line, "retry: "):
				ev.Event = "retry"
			}
		}
	}()
	t.Cleanup(es.close)
	return es, http.StatusOK
}

// openEventsOnceFree opens a stream once the server has noticed that the
// last one's client went (it frees the place when its next write fails or
// the request's context ends).
func openEventsOnceFree(t *testing.T, base string) *eventStream {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		es, status := openEvents(t, base)
		if status == http.StatusOK {
			return es
		}
		if time.Now().After(deadline) {
			t.Fatalf("no place for a stream within 10 s: %d", status)
		}
		time.Sleep(10 * time.Millisecond) // polling the server's own release, with a deadline
	}
}

func (es *eventStream) close() {
	es.cancel()
	es.resp.Body.Close()
	for range es.events { // the reader goroutine ends with the body
	}
}

// next returns the next event named name, skipping others, or fails.
func (es *eventStream) next(t *testing.T, name string) sseEvent {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-es.events:
			if !ok {
				t.Fatalf("stream ended before a %q event", name)
			}
			if ev.Event == name {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %q event within 10 s", name)
		}
	}
}

func newQueryLog(t *testing.T, capacity int) *QueryLog {
	t.Helper()
	l, err := NewQueryLog(capacity)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestEventStream(t *testing.T) {
	log := newQueryLog(t, 8)
	eng := newFakeEngine()
	s, err := NewServer(eng, WithActivity(log), WithEventInterval(20*time.Millisecond), WithMaxEventStreams(1))
	if err != nil {
		t.Fatal(err)
	}
	base, hs := startHTTP(t, s)
	es, status := openEvents(t, base)
	if status != http.StatusOK {
		t.Fatalf("open events: %d", status)
	}
	if ct := es.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}

	t.Run("swarm and activity at once", func(t *testing.T) {
		es.next(t, "retry")
		var sv SwarmView
		if err := json.Unmarshal([]byte(es.next(t, EventSwarm).Data), &sv); err != nil || sv.Health.Node != testNode || len(sv.Peers) != len(eng.peers) {
			t.Fatalf("swarm view %+v: %v", sv, err)
		}
		var av ActivityView
		if err := json.Unmarshal([]byte(es.next(t, EventActivity).Data), &av); err != nil || len(av.Recent) != 0 || len(av.Minutes) != SeriesMinutes {
			t.Fatalf("activity %+v: %v", av, err)
		}
	})
	t.Run("a finished query is pushed without its prompt or answer", func(t *testing.T) {
		tr := sampleTrace()
		log.Record(tr, time.Now())
		ev := es.next(t, EventActivity)
		var av ActivityView
		if err := json.Unmarshal([]byte(ev.Data), &av); err != nil || len(av.Recent) != 1 {
			t.Fatalf("activity %s: %v", ev.Data, err)
		}
		q := av.Recent[0]
		if q.ID != tr.QueryID || q.Route != router.RouteSwarm || q.Reason != tr.Reason || len(q.Peers) != len(tr.Peers) || q.Tally != "consensus" {
			t.Errorf("summary %+v of trace %+v", q, tr)
		}
		for _, p := range tr.Peers {
			if p.Answer != "" && strings.Contains(ev.Data, p.Answer) {
				t.Errorf("the event carries a peer's answer %q: %s", p.Answer, ev.Data)
			}
		}
	})
	t.Run("a burst of queries ends with a view holding all of them", func(t *testing.T) {
		for range 5 {
			log.Record(sampleTrace(), time.Now())
		}
		for {
			var av ActivityView
			if err := json.Unmarshal([]byte(es.next(t, EventActivity).Data), &av); err != nil {
				t.Fatal(err)
			}
			if len(av.Recent) == 6 {
				break
			}
		}
	})
	t.Run("heartbeats while nothing changes", func(t *testing.T) {
		es.next(t, "comment")
		es.next(t, "comment")
	})
	t.Run("the open stream is counted", func(t *testing.T) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "\nswarmllm_http_event_streams 1\n") {
			t.Errorf("metrics lack swarmllm_http_event_streams 1:\n%s", body)
		}
	})
	t.Run("one stream too many gets 503", func(t *testing.T) {
		if _, status := openEvents(t, base); status != http.StatusServiceUnavailable {
			t.Errorf("second stream: %d, want 503", status)
		}
	})
	t.Run("a client that goes frees its place", func(t *testing.T) {
		es.close()
		again := openEventsOnceFree(t, base)
		again.next(t, EventSwarm)
		again.close()
	})
	t.Run("shutdown ends open streams", func(t *testing.T) {
		open := openEventsOnceFree(t, base)
		open.next(t, EventSwarm)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			t.Fatalf("shutdown with a stream open: %v", err)
		}
		for range open.events { // must end
		}
	})
}

// A HEAD gets the stream's headers and ends, leaving its place to a GET.
func TestEventStreamHead(t *testing.T) {
	s, err := NewServer(newFakeEngine(), WithMaxEventStreams(1))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := startHTTP(t, s)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, base+"/swarm/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("HEAD: %d %v", resp.StatusCode, resp.Header)
	}
	openEventsOnceFree(t, base).next(t, EventSwarm)
}

func TestActivityJSON(t *testing.T) {
	log := newQueryLog(t, 2)
	srv, _ := newTestServer(t, WithActivity(log))
	now := time.Now()
	routes := []router.Route{router.RouteLocal, router.RouteSwarm, router.RouteCloud}
	for i, r := range routes {
		tr := sampleTrace()
		tr.QueryID, tr.Route = "q"+string(rune('a'+i)), r
		if r == router.RouteCloud {
			tr.Cloud = &router.CloudInfo{Summoned: true, PromptTokens: 30, CompletionTokens: 12}
		}
		log.Record(tr, now)
	}
	status, hdr, body := do(t, srv, http.MethodGet, "/swarm/v1/activity", nil, nil)
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /swarm/v1/activity: %d %v", status, hdr)
	}
	var av ActivityView
	if err := json.Unmarshal(body, &av); err != nil {
		t.Fatal(err)
	}
	// The ring keeps the last two, newest first; the series counts all three.
	if len(av.Recent) != 2 || av.Recent[0].ID != "qc" || av.Recent[1].ID != "qb" {
		t.Errorf("recent %+v", av.Recent)
	}
	if !av.Recent[0].Cloud || av.Recent[0].CloudTokens != 42 {
		t.Errorf("cloud query %+v", av.Recent[0])
	}
	last := av.Minutes[len(av.Minutes)-1]
	if len(av.Minutes) != SeriesMinutes || last.Local != 1 || last.Swarm != 1 || last.Cloud != 1 || last.CloudTokens != 42 {
		t.Errorf("minutes: %d, last %+v", len(av.Minutes), last)
	}
}

func TestActivityWithoutLog(t *testing.T) {
	srv, _ := newTestServer(t)
	status, _, body := do(t, srv, http.MethodGet, "/swarm/v1/activity", nil, nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"recent":[]`) {
		t.Errorf("%d %s", status, body)
	}
}

func TestQueryLog(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	tests := []struct {
		name        string
		record      []time.Duration // offsets from at
		now         time.Duration
		wantRecent  int
		wantCounted int // queries in the series
	}{
		{"empty", nil, 0, 0, 0},
		{"within a minute", []time.Duration{0, time.Second}, 0, 2, 2},
		{"ring wraps at capacity", []time.Duration{0, 1, 2, 3, 4}, 0, 3, 5},
		{"an hour later the series is empty", []time.Duration{0}, time.Hour, 1, 0},
		{"a query older than its slot's minute (the clock went back) stays out of the series", []time.Duration{time.Hour, 0}, time.Hour, 2, 1},
		{"before 1970", []time.Duration{-60 * 24 * 365 * 57 * time.Minute}, -60 * 24 * 365 * 57 * time.Minute, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newQueryLog(t, 3)
			for i, d := range tc.record {
				tr := sampleTrace()
				tr.QueryID = string(rune('a' + i))
				l.Record(tr, at.Add(d))
			}
			v := l.View(at.Add(tc.now))
			counted := 0
			for _, m := range v.Minutes {
				counted += m.Local + m.Swarm + m.Cloud
			}
			if len(v.Recent) != tc.wantRecent || counted != tc.wantCounted || len(v.Minutes) != SeriesMinutes {
				t.Errorf("recent %d (want %d), counted %d (want %d), minutes %d", len(v.Recent), tc.wantRecent, counted, tc.wantCounted, len(v.Minutes))
			}
			if n := len(tc.record); n > 0 && v.Recent[0].ID != string(rune('a'+n-1)) {
				t.Errorf("newest is %q", v.Recent[0].ID)
			}
		})
	}
	t.Run("nil records nothing", func(t *testing.T) {
		var l *QueryLog
		l.Record(sampleTrace(), at)
		if v := l.View(at); len(v.Recent) != 0 || l.Changed() != nil {
			t.Errorf("%+v", v)
		}
	})
	t.Run("bad capacity", func(t *testing.T) {
		if _, err := NewQueryLog(0); err == nil {
			t.Error("capacity 0 accepted")
		}
	})
	t.Run("Changed closes on Record", func(t *testing.T) {
		l := newQueryLog(t, 1)
		ch := l.Changed()
		l.Record(sampleTrace(), at)
		select {
		case <-ch:
		default:
			t.Error("not closed")
		}
	})
}
