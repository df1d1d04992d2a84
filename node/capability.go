package node

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/cms/cmspb"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/router"
)

// candidate is a peer that discovery picked for a query.
type candidate struct {
	id      peer.ID
	model   string
	domains []string
	score   float64
}

// finder picks the peers to ask for a query (the pipeline's peerFinder):
// it ranks the connected peers' capability records by the query's meaning,
// their domains and their track records (a record's claims are hints only:
// its weight in the ranking comes from outcomes this node checked).
type finder struct {
	host     host.Host
	store    *cms.Store
	ranker   *cms.Ranker
	lexical  *cms.Ranker // when the ranker's embedding model fails (nil: no fallback)
	trust    *router.TrackRecord
	excluded func(peer.ID) bool // peers left out after asks they left unanswered (collab.Collab.Excluded)
	// load is a peer's load from its last ack or BUSY refusal, if recent
	// (collab.Collab.PeerLoad): fresher than its record's.
	load func(peer.ID) (router.Load, bool)
	k    int // peers to pick, and as many spares
	// embedWait bounds the embedding model's part of a ranking: a working
	// model embeds a query in milliseconds; a hung one must cost this, not
	// the whole query, before the lexical embedder stands in.
	embedWait time.Duration
	// embedBreaker keeps a failed embedding model out of the next queries'
	// rankings until its cooldown's probe succeeds (nil without a model).
	embedBreaker *router.Breaker
	log          *slog.Logger
}

// The embedding model's deadline per ranking (generous for an edge device's
// model: tens of ms a query; small next to an answer's deadlines) and its
// breaker's cooldowns.
const (
	defaultEmbedWait = 2 * time.Second
	embedCooldown    = 10 * time.Second
	embedMaxCooldown = 2 * time.Minute
)

var _ peerFinder = (*finder)(nil)

// newFinder ranks with emb (nil: the lexical embedder); when emb is a model,
// the lexical embedder stands in for the queries it fails.
func newFinder(h host.Host, store *cms.Store, emb cms.Embedder, trust *router.TrackRecord, excluded func(peer.ID) bool,
	load func(peer.ID) (router.Load, bool), k int, log *slog.Logger) (*finder, error) {
	f := &finder{host: h, store: store, ranker: cms.NewRanker(emb), trust: trust, excluded: excluded, load: load, k: k,
		embedWait: defaultEmbedWait, log: log}
	if f.ranker.Embedder().Model() != cms.LexicalModel {
		f.lexical = cms.NewRanker(nil)
		var err error
		if f.embedBreaker, err = router.NewBreaker(embedCooldown, embedMaxCooldown); err != nil {
			return nil, fmt.Errorf("new finder: embedding breaker: %w", err)
		}
	}
	return f, nil
}

// discover ranks the connected peers' records for prompt (classified into
// domains) and returns the top k that can answer now, and the next k as
// spares for the ones that refuse as BUSY. Peers without a record yet,
// whose model is down, or that left asks unanswered and are excluded for
// it, are not asked. A peer that just said it is busy ranks below an idle
// one as capable.
func (f *finder) discover(ctx context.Context, prompt string, domains []string) (ask, spares []candidate) {
	var recs []*cms.Record
	for _, r := range f.store.Records() {
		if r.Peer != f.host.ID() && f.host.Network().Connectedness(r.Peer) == network.Connected && !f.excluded(r.Peer) {
			recs = append(recs, r)
		}
	}
	if len(recs) == 0 {
		return nil, nil
	}
	scored, err := f.rank(ctx, prompt, recs, 2*f.k, cms.RankOptions{Domains: domains, Calibration: f.calibration, Load: f.freshLoad})
	if err != nil {
		f.log.Warn("rank peers", "err", err)
		return nil, nil
	}
	out := make([]candidate, len(scored))
	for i, s := range scored {
		out[i] = candidate{id: s.Record.Peer, model: s.Record.Fields.GetModel().GetName(),
			domains: s.Record.Fields.GetDomains(), score: s.Score}
	}
	n := min(f.k, len(out))
	return out[:n:n], out[n:]
}

// freshLoad is a peer's recent load in the record's terms, for the ranking.
func (f *finder) freshLoad(p peer.ID) (*cmspb.Load, bool) {
	l, ok := f.load(p)
	if !ok {
		return nil, false
	}
	return &cmspb.Load{InFlight: uint32(l.InFlight), Queued: uint32(l.Queued), Slots: uint32(l.Slots)}, true
}

// rank ranks the best n of recs for prompt with the embedding model, or with the lexical
// embedder when the model fails, leaves the query unanswered past
// embedWait, or failed recently (its breaker is open).
func (f *finder) rank(ctx context.Context, prompt string, recs []*cms.Record, n int, opts cms.RankOptions) ([]cms.Scored, error) {
	if f.lexical == nil {
		return f.ranker.Rank(ctx, prompt, recs, n, opts)
	}
	if !f.embedBreaker.Allow(time.Now()) {
		return f.lexical.Rank(ctx, prompt, recs, n, opts)
	}
	embedCtx, cancel := context.WithTimeout(ctx, f.embedWait)
	scored, err := f.ranker.Rank(embedCtx, prompt, recs, n, opts)
	cancel()
	if err == nil {
		f.embedBreaker.Success()
		return scored, nil
	}
	// Also when the caller gave up: the breaker's probe slot must be freed,
	// and a model that could not answer in time is worth a cooldown anyway.
	f.embedBreaker.Failure(time.Now())
	if ctx.Err() != nil {
		return nil, err
	}
	// The embedding model is down or hung: peers that could answer are
	// still found by the words of their descriptions.
	f.log.Warn("rank peers: embedding failed, ranking lexically until its cooldown ends", "embed_model", f.ranker.Embedder().Model(), "err", err)
	return f.lexical.Rank(ctx, prompt, recs, n, opts)
}

// calibration is a peer's track record as the ranking sees it: the prior
// for a peer never judged, so a newcomer ranks as its record stands, not as
// it describes itself.
func (f *finder) calibration(p peer.ID) (float64, bool) {
	return f.trust.Weight(p.String()), true
}

// Records lists every capability record this node knows, its own first.
func (e *engine) Records(context.Context) []cms.RecordView { return e.store.Views() }

// recordsByPeer indexes the cached records for lookups by peer.
func (e *engine) recordsByPeer() map[string]*cms.Record {
	out := map[string]*cms.Record{}
	for _, r := range e.store.Records() {
		out[r.Peer.String()] = r
	}
	return out
}

// describePeer fills a connected peer's model and domains from its record.
func describePeer(info *nodeapi.PeerInfo, r *cms.Record) {
	if r == nil {
		return
	}
	info.Model = r.Fields.GetModel().GetName()
	info.Domains = slices.Clone(r.Fields.GetDomains())
	info.Healthy = r.Fields.GetHealth() == cmspb.Health_HEALTH_OK
}
