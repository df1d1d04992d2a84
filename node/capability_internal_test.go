package node

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/cms/cmspb"
	"github.com/swarmllm/swarmllm/router"
)

// hungEmbedder is an embedding model that takes every call and never
// answers (the compose fault run's "embedding model down": a hang).
type hungEmbedder struct{ calls atomic.Int32 }

func (*hungEmbedder) Model() string { return "hung-embed" }
func (*hungEmbedder) Dim() int      { return 0 }
func (h *hungEmbedder) Embed(ctx context.Context, _ []string) ([][]float32, error) {
	h.calls.Add(1)
	<-ctx.Done()
	return nil, ctx.Err()
}

// A hung embedding model costs discovery its embedWait once, then the
// lexical ranking finds the right expert; while its breaker is open the
// next queries rank lexically without calling it.
func TestRankSurvivesAHungEmbeddingModel(t *testing.T) {
	emb := &hungEmbedder{}
	breaker, err := router.NewBreaker(time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f := &finder{ranker: cms.NewRanker(emb), lexical: cms.NewRanker(nil),
		embedWait: 50 * time.Millisecond, embedBreaker: breaker, log: slog.New(slog.DiscardHandler)}
	expert := peer.ID("geo-expert")
	recs := []*cms.Record{
		{Peer: peer.ID("coder"), Fields: &cmspb.CapabilityRecord{Health: cmspb.Health_HEALTH_OK,
			Domains: []string{"code"}, Description: "programming questions, compilers and algorithms"}},
		{Peer: expert, Fields: &cmspb.CapabilityRecord{Health: cmspb.Health_HEALTH_OK,
			Domains: []string{"geography"}, Description: "geography: capitals, countries, rivers and mountains"}},
	}
	cases := []struct {
		name      string
		wantCalls int32 // embedding calls so far
	}{
		{name: "the first query finds the model hung", wantCalls: 1},
		{name: "the next one does not call it", wantCalls: 1},
	}
	for _, tc := range cases {
		scored, err := f.rank(context.Background(), "What is the capital of Australia?", recs, 1, cms.RankOptions{Domains: []string{"geography"}})
		if err != nil || len(scored) != 1 || scored[0].Record.Peer != expert {
			t.Fatalf("%s: ranked %+v, %v; want the geography expert first", tc.name, scored, err)
		}
		if got := emb.calls.Load(); got != tc.wantCalls {
			t.Errorf("%s: %d embedding calls, want %d", tc.name, got, tc.wantCalls)
		}
	}

	// A caller that gives up gets its own error, not a lexical ranking.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.embedBreaker.Success()
	if _, err := f.rank(ctx, "What is the capital of Australia?", recs, 1, cms.RankOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("rank for a caller gone: %v, want context.Canceled", err)
	}
}
