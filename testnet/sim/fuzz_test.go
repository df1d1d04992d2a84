package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

// FuzzLoadProfiles: any input gives profiles that validate, or an error.
func FuzzLoadProfiles(f *testing.F) {
	b, _ := json.Marshal(BuiltinProfiles())
	f.Add(string(b))
	f.Add(`[{"name":"sim-x","family":"f","parameter_size":"1B","quantization_level":"Q8_0","context_length":1,"calibration":0.5}]`)
	f.Add(`[{"overhead":"1h","token_latency":-5}]`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, in string) {
		ps, err := LoadProfiles(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, p := range ps {
			if err := p.Validate(); err != nil {
				t.Fatalf("loaded profile fails validation: %v", err)
			}
		}
	})
}

// FuzzHandlers posts arbitrary bodies to every JSON endpoint of both
// simulators: each answers with a status (4xx for bad input), never a panic,
// and errors come in the API's own shape.
func FuzzHandlers(f *testing.F) {
	wl := workload.Default()
	slm, err := NewSLM(wl, BuiltinProfiles(), WithLatencyScale(0))
	if err != nil {
		f.Fatal(err)
	}
	cloud, err := NewCloud(wl, DefaultCloudProfile(), WithLatencyScale(0))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		`{"model":"sim-fast","messages":[{"role":"user","content":"What is 7 + 8?"}],"logprobs":true,"top_logprobs":3}`,
		`{"model":"sim-fast","prompt":"What is 7 + 8?","options":{"num_predict":1,"temperature":0.5,"seed":3}}`,
		`{"model":"sim-embed","input":["a","b"],"dimensions":8}`,
		`{"model":"sim-fm-70b","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
		`{"model":"sim-fast","messages":null}`, `[]`, `{"model":7}`, ``,
	} {
		f.Add(s)
	}
	paths := []struct {
		h    http.Handler
		path string
	}{
		{slm, "/api/chat"}, {slm, "/api/generate"}, {slm, "/api/embed"}, {slm, "/api/show"},
		{cloud, "/v1/chat/completions"},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range paths {
			w := httptest.NewRecorder()
			p.h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, p.path, strings.NewReader(body)))
			if w.Code >= 500 {
				t.Fatalf("%s: status %d for %q", p.path, w.Code, body)
			}
			if w.Code >= 400 {
				var e map[string]any
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e["error"] == nil {
					t.Fatalf("%s: error body %q is not in the API's error shape", p.path, w.Body.String())
				}
			}
		}
	})
}

// FuzzSplitTokens: the tokens always spell the text back.
func FuzzSplitTokens(f *testing.F) {
	for _, s := range []string{"Paris", "Mycobacterium tuberculosis", "  x \n\n 123456 ", "ünï©ødé", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := splitTokens(s)
		if strings.Join(toks, "") != s {
			t.Fatalf("tokens %q do not spell %q", toks, s)
		}
		for _, tok := range toks {
			if tok == "" {
				t.Fatalf("empty token in %q", toks)
			}
		}
	})
}
