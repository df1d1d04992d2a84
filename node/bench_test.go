package node_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// BenchmarkLocalAnswer measures what a node adds to one local answer: the
// same question straight to the (simulated, zero-latency) backend and through
// the node's native API with the local-only policy, in one run.
//
//	go test -run '^$' -bench BenchmarkLocalAnswer -benchtime 2000x ./node/
func BenchmarkLocalAnswer(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sw, err := swarm.Start(ctx, swarm.Spec{Nodes: swarm.DefaultNodes()[:1]})
	if err != nil {
		b.Fatal(err)
	}
	defer sw.Close()
	model := swarm.DefaultNodes()[0].Model
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	post := func(b *testing.B, url, body string) {
		resp, err := client.Post(url, "application/json", bytes.NewBufferString(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: status %d", url, resp.StatusCode)
		}
	}
	b.Run("backend-direct", func(b *testing.B) {
		body := `{"model":"` + model + `","stream":false,"logprobs":true,"top_logprobs":5,` +
			`"messages":[{"role":"user","content":"What is 7 + 8?"}]}`
		for b.Loop() {
			post(b, sw.SLMURL()+"/api/chat", body)
		}
	})
	b.Run("through-node", func(b *testing.B) {
		body := `{"prompt":"What is 7 + 8?","policy":"local-only"}`
		for b.Loop() {
			post(b, sw.APIURL(0)+"/swarm/v1/ask", body)
		}
	})
}
