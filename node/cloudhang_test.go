package node

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/router"
)

// A hung cloud FM (it takes the request over real HTTP and never answers)
// costs the query that finds it hung at most the first-byte deadline, then
// the best swarm answer, flagged; the breaker keeps the next queries away
// from it until its cooldown ends, when one probe goes.
func TestHungCloudCostsTheFirstByteDeadline(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client hang up
		<-r.Context().Done()
	}))
	defer srv.Close()
	const firstByte = 300 * time.Millisecond
	cloud, err := slm.NewCloud(srv.URL, "cloud-fm", "", slm.WithCloudTimeouts(time.Second, firstByte))
	if err != nil {
		t.Fatal(err)
	}
	self := peer.ID("self").String()
	sw := &fakeSwarm{self: self, silent: map[string]bool{},
		answers: map[peer.ID]router.Proposal{peerA: unsure("Melbourne"), peerB: unsure("Melbourne"), peerC: unsure("Perth")}}
	p := testPipeline(t, self, &fakeModel{text: "Sydney", conf: 0.4}, &fakeFinder{cands: threePeers}, sw, nil)
	p.cloud = cloud
	p.askTimeout = time.Minute // the caller's deadline: a hang must not cost it

	ask := func() (*nodeapi.Response, time.Duration) {
		t.Helper()
		start := time.Now()
		resp, err := p.Ask(context.Background(), nodeapi.Request{Messages: []nodeapi.Message{{Role: nodeapi.RoleUser, Content: capital}}})
		if err != nil {
			t.Fatalf("Ask: %v", err)
		}
		return resp, time.Since(start)
	}
	cases := []struct {
		name      string
		wantCalls int32 // cloud calls so far
	}{
		{name: "the first query finds the cloud hung", wantCalls: 1},
		{name: "the next one does not call it", wantCalls: 1},
	}
	for _, tc := range cases {
		resp, took := ask()
		tr := resp.Trace
		if tr.Route != router.RouteSwarm || resp.Text != "Melbourne" ||
			!slices.Contains(tr.Flags, router.FlagCloudDown) || !slices.Contains(tr.Flags, router.FlagBestEffort) {
			t.Errorf("%s: answered %q via %s, flags %v (%s); want Melbourne via swarm, flagged cloud-down and best-effort",
				tc.name, resp.Text, tr.Route, tr.Flags, tr.Reason)
		}
		if got := calls.Load(); got != tc.wantCalls {
			t.Errorf("%s: %d cloud calls, want %d", tc.name, got, tc.wantCalls)
		}
		t.Logf("%s: query took %v (cloud first-byte deadline %v, caller's deadline %v)", tc.name, took.Round(time.Millisecond), firstByte, p.askTimeout)
	}
	if st := p.cloudBreaker.State(time.Now().Add(cloudCooldown)); st != router.BreakerProbe {
		t.Errorf("breaker after the cooldown: %v, want %v", st, router.BreakerProbe)
	}
}
