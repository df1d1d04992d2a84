package sim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

// BenchmarkChat measures the simulator's own cost per non-streamed chat with
// logprobs (no simulated latency, no network).
func BenchmarkChat(b *testing.B) {
	s, err := NewSLM(workload.Default(), BuiltinProfiles(), WithLatencyScale(0))
	if err != nil {
		b.Fatal(err)
	}
	body := `{"model":"sim-fast","stream":false,"logprobs":true,"top_logprobs":5,"messages":[{"role":"user","content":"What is the capital of Burkina Faso?"}]}`
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/chat", strings.NewReader(body)))
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
