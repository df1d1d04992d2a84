package sim

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Failure is how a simulated endpoint misbehaves in a fault run.
type Failure int

const (
	FailNone  Failure = iota // answers as usual
	FailError                // answers 500 at once
	FailHang                 // takes the request and never answers until the client gives up
)

func (f Failure) String() string {
	switch f {
	case FailNone:
		return "none"
	case FailError:
		return "500"
	case FailHang:
		return "hang"
	}
	return fmt.Sprintf("Failure(%d)", int(f))
}

func parseFailure(s string) (Failure, error) {
	for _, f := range []Failure{FailNone, FailError, FailHang} {
		if s == f.String() {
			return f, nil
		}
	}
	return FailNone, fmt.Errorf("failure %q: want none, 500 or hang", s)
}

// ErrInvalidFault is returned for a fault spec ParseFault cannot read.
var ErrInvalidFault = errors.New("invalid fault")

// Fault is the misbehaviour a simulated backend is started with (the compose
// testnet's fault runs): a slow model, or an endpoint that fails or hangs.
// The zero value is a healthy backend.
type Fault struct {
	Slow     float64 // multiplies the per-token latency on top of the latency scale (0: as 1)
	Complete Failure // completions: /api/chat and /api/generate, or the cloud's /v1/chat/completions
	Embed    Failure // /api/embed (SLM only)
}

// ParseFault reads a fault spec: "" or "none" for none, else comma-separated
// key=value settings, e.g. "slow=20", "embed=hang", "complete=500".
func ParseFault(spec string) (Fault, error) {
	var f Fault
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "none" {
		return f, nil
	}
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return Fault{}, fmt.Errorf("%w %q: %q is not key=value", ErrInvalidFault, spec, kv)
		}
		var err error
		switch k {
		case "slow":
			// The range is checked where every option is: options.validate.
			f.Slow, err = strconv.ParseFloat(v, 64)
		case "complete":
			f.Complete, err = parseFailure(v)
		case "embed":
			f.Embed, err = parseFailure(v)
		default:
			err = fmt.Errorf("unknown key %q (want slow, complete or embed)", k)
		}
		if err != nil {
			return Fault{}, fmt.Errorf("%w %q: %w", ErrInvalidFault, spec, err)
		}
	}
	return f, nil
}

// String is the spec ParseFault reads back.
func (f Fault) String() string {
	var parts []string
	if f.Slow > 1 {
		parts = append(parts, "slow="+strconv.FormatFloat(f.Slow, 'g', -1, 64))
	}
	if f.Complete != FailNone {
		parts = append(parts, "complete="+f.Complete.String())
	}
	if f.Embed != FailNone {
		parts = append(parts, "embed="+f.Embed.String())
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// WithFault starts the backend with a fault (default: none).
func WithFault(f Fault) Option { return func(o *options) { o.fault = f } }

// tokenFactor is what the fault multiplies the per-token latency by.
func (f Fault) tokenFactor() float64 { return max(f.Slow, 1) }

// inject serves a failing endpoint's request the way fail says and reports
// whether it did; writeErr writes the API's own error shape.
func inject(w http.ResponseWriter, r *http.Request, fail Failure, writeErr func(http.ResponseWriter, int, string)) bool {
	switch fail {
	case FailError:
		writeErr(w, http.StatusInternalServerError, "simulated fault: the model failed")
		return true
	case FailHang:
		// Read the body so the server notices when the client hangs up.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return true
	}
	return false
}
