package sim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

func TestParseFault(t *testing.T) {
	cases := []struct {
		name, spec string
		want       Fault
		wantErr    bool
	}{
		{name: "empty", spec: "", want: Fault{}},
		{name: "none", spec: "none", want: Fault{}},
		{name: "slow", spec: "slow=20", want: Fault{Slow: 20}},
		{name: "embed hangs", spec: "embed=hang", want: Fault{Embed: FailHang}},
		{name: "completions fail, spaced", spec: " complete=500 , slow=2.5", want: Fault{Complete: FailError, Slow: 2.5}},
		{name: "explicit none", spec: "embed=none", want: Fault{}},
		{name: "unknown key", spec: "freeze=1", wantErr: true},
		{name: "unknown failure", spec: "embed=503", wantErr: true},
		{name: "no value", spec: "slow", wantErr: true},
		{name: "slow not a number", spec: "slow=x", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFault(tc.spec)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidFault) {
					t.Fatalf("ParseFault(%q) = %+v, %v; want ErrInvalidFault", tc.spec, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseFault(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
			}
			if back, err := ParseFault(got.String()); err != nil || back != got {
				t.Errorf("round trip through %q: %+v, %v", got.String(), back, err)
			}
		})
	}
}

func FuzzParseFault(f *testing.F) {
	for _, s := range []string{"", "none", "slow=20", "embed=hang,complete=500", "slow=1e3", "x=y,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		got, err := ParseFault(spec)
		if err != nil {
			return
		}
		if back, err := ParseFault(got.String()); err != nil || back != got {
			t.Fatalf("%q parsed to %+v, whose spec %q reads back as %+v, %v", spec, got, got.String(), back, err)
		}
	})
}

func TestFaultValidated(t *testing.T) {
	for _, slow := range []float64{0.5, -1, 1001} {
		if _, err := NewSLM(workload.Default(), BuiltinProfiles(), WithFault(Fault{Slow: slow})); err == nil {
			t.Errorf("slow=%v accepted", slow)
		}
	}
	if _, err := NewCloud(workload.Default(), DefaultCloudProfile(), WithFault(Fault{Embed: FailError})); err == nil {
		t.Error("the cloud accepted an embedding fault")
	}
}

// The slow fault multiplies the per-token wait only: the overhead (prompt
// processing) and the embedding latency stay as the profile says.
func TestFaultSlowsTokens(t *testing.T) {
	o := defaultOptions()
	o.latencyScale, o.fault = 2, Fault{Slow: 10}
	if got, want := o.tokenLatency(Duration(3*time.Millisecond)), 60*time.Millisecond; got != want {
		t.Errorf("token latency %v, want %v", got, want)
	}
	if got, want := o.scale(Duration(3*time.Millisecond)), 6*time.Millisecond; got != want {
		t.Errorf("overhead %v, want %v", got, want)
	}
}

// A failing endpoint answers 500 in its API's error shape; a hanging one
// holds the request until the client gives up; the other endpoints of the
// same backend keep working.
func TestFaultEndpoints(t *testing.T) {
	const (
		chat  = `{"model":"sim-qwen2.5:0.5b","stream":false,"messages":[{"role":"user","content":"What is 17 * 23?"}]}`
		embed = `{"model":"sim-embed","input":"What is 17 * 23?"}`
		cloud = `{"model":"sim-fm-70b","messages":[{"role":"user","content":"What is 17 * 23?"}]}`
	)
	type call struct{ path, body string }
	cases := []struct {
		name   string
		cloud  bool
		fault  Fault
		failed call // answers 500 (or hangs, when hang)
		hang   bool
		works  call
	}{
		{name: "slm embed 500", fault: Fault{Embed: FailError}, failed: call{"/api/embed", embed}, works: call{"/api/chat", chat}},
		{name: "slm embed hang", fault: Fault{Embed: FailHang}, failed: call{"/api/embed", embed}, hang: true, works: call{"/api/chat", chat}},
		{name: "slm completions 500", fault: Fault{Complete: FailError}, failed: call{"/api/chat", chat}, works: call{"/api/embed", embed}},
		{name: "cloud 500", cloud: true, fault: Fault{Complete: FailError}, failed: call{"/v1/chat/completions", cloud}, works: call{"/v1/models", ""}},
		{name: "cloud hang", cloud: true, fault: Fault{Complete: FailHang}, failed: call{"/v1/chat/completions", cloud}, hang: true, works: call{"/v1/models", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var srv *Server
			if tc.cloud {
				_, srv = startCloud(t, WithFault(tc.fault))
			} else {
				_, srv, _ = startSLM(t, WithFault(tc.fault))
			}
			do := func(ctx context.Context, c call) (int, error) {
				method := http.MethodPost
				if c.body == "" {
					method = http.MethodGet
				}
				req, err := http.NewRequestWithContext(ctx, method, srv.URL()+c.path, strings.NewReader(c.body))
				if err != nil {
					return 0, err
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return 0, err
				}
				resp.Body.Close()
				return resp.StatusCode, nil
			}
			if tc.hang {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				if code, err := do(ctx, tc.failed); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s: status %d, err %v; want it to hang until the deadline", tc.failed.path, code, err)
				}
			} else if code, err := do(context.Background(), tc.failed); err != nil || code != http.StatusInternalServerError {
				t.Errorf("%s: status %d, err %v; want 500", tc.failed.path, code, err)
			}
			if code, err := do(context.Background(), tc.works); err != nil || code != http.StatusOK {
				t.Errorf("%s: status %d, err %v; want 200", tc.works.path, code, err)
			}
		})
	}
}
