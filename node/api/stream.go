package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/swarmllm/swarmllm/router"
)

// Live streaming. A streaming request hands the engine a Sink; the engine
// calls it once it has committed to an answer (a confident local prefix, or
// an answer arriving from the cloud FM) with the text as it is generated.
// The first piece sends the status, the route header and the API's opening
// frames; the rest of the answer and the trace follow when Ask returns. An
// engine that never calls the Sink gets today's behaviour: the decided
// answer is sent at once, in word-sized pieces. An error before the first
// byte is a plain JSON error with its status; after it, the stream ends
// with an error frame in the API's shape, never silently.

// Piece is one part of an answer the engine has committed to.
type Piece struct {
	QueryID string       // the trace's query id
	Route   router.Route // where the answer comes from
	Model   string       // the model generating it
	Text    string
}

// Sink receives an answer's text while it is generated. The engine calls it
// from the goroutine running Ask, never after Ask returns, and only with
// text it will not take back: the pieces, joined, begin Response.Text.
type Sink func(Piece)

// streamWriteTimeout drops a client that stops reading a live stream.
const streamWriteTimeout = 30 * time.Second

// streamFormat renders one API's frames.
type streamFormat struct {
	contentType string
	// open is what precedes the first piece (OpenAI's role chunk); nil for none.
	open func(p Piece) []byte
	// piece renders one piece of text.
	piece func(p Piece) []byte
	// fail renders an error after the first byte.
	fail func(e *apiError) []byte
}

// liveStream is one streamed answer in flight. It is owned by the handler's
// goroutine (the engine calls the Sink on the goroutine running Ask, which
// the handler waits for).
type liveStream struct {
	w       http.ResponseWriter
	r       *http.Request
	rc      *http.ResponseController
	format  streamFormat
	first   Piece           // the first piece: its query id, route and model
	sent    strings.Builder // the text sent so far
	started bool
	broken  bool // a write failed: the client is gone
}

func newLiveStream(w http.ResponseWriter, r *http.Request, f streamFormat) *liveStream {
	return &liveStream{w: w, r: r, rc: http.NewResponseController(w), format: f}
}

// sink is the Sink the engine writes to.
func (l *liveStream) sink(p Piece) {
	if p.Text == "" {
		return
	}
	if !l.started {
		l.started, l.first = true, p
		h := l.w.Header()
		h.Set(HeaderRoute, p.Route.String())
		h.Set("Content-Type", l.format.contentType)
		h.Set("Cache-Control", "no-cache")
		l.w.WriteHeader(http.StatusOK)
		if l.format.open != nil {
			l.write(l.format.open(p))
		}
	}
	l.sent.WriteString(p.Text)
	l.write(l.format.piece(p))
	l.flush()
}

func (l *liveStream) write(b []byte) {
	if l.broken {
		return
	}
	_ = l.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := l.w.Write(b); err != nil {
		l.broken = true
	}
}

func (l *liveStream) flush() {
	if !l.broken && l.rc.Flush() != nil {
		l.broken = true
	}
}

// end finishes a started stream once Ask has returned: tail renders the
// rest of the answer (what was not sent yet) and the closing frames. An
// error, or an answer that no longer begins with what was sent (an engine
// breaking the Sink's contract), ends it with an error frame instead.
func (s *Server) endLive(l *liveStream, resp *Response, e *apiError, tail func(rest string) ([]byte, error)) {
	var out []byte
	if e == nil {
		sent := l.sent.String()
		if !strings.HasPrefix(resp.Text, sent) {
			e = streamBroke
		} else if b, err := tail(resp.Text[len(sent):]); err != nil {
			e = encodeError(err)
		} else {
			out = b
		}
	}
	if e != nil {
		s.cfg.logger.Warn("stream failed after its first byte", "method", l.r.Method, "path", l.r.URL.Path,
			"code", e.code, "err", cmp.Or(e.detail, e.msg))
		out = l.format.fail(e)
	}
	l.write(out)
	l.flush()
}

// streamBroke is the error of an answer that no longer begins with what was streamed.
var streamBroke = &apiError{status: http.StatusInternalServerError, code: CodeInternal,
	msg: "internal error: the answer changed after it began to stream"}

// frames renders values as lines, each with prefix and suffix (SSE's
// "data: " and blank line, NDJSON's newline).
func frames(prefix, suffix string, vs ...any) ([]byte, error) {
	var buf bytes.Buffer
	for _, v := range vs {
		out, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		buf.WriteString(prefix)
		buf.Write(out)
		buf.WriteString(suffix)
	}
	return buf.Bytes(), nil
}

// mustFrames is frames for values of plain strings and numbers, which cannot fail to encode.
func mustFrames(prefix, suffix string, vs ...any) []byte {
	b, _ := frames(prefix, suffix, vs...)
	return b
}
