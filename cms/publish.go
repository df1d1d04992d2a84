package cms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/swarmllm/swarmllm/cms/cmspb"
)

// joinSettle is how long after a peer joins the topic the store announces
// a record nobody heard (see publisher.run).
const joinSettle = 20 * time.Millisecond

// echoAfter is when a node's first announcement that had peers to reach is
// announced once more. One announcement can be dropped on its way (a
// relay's queue full or its validation starved while a swarm forms: 3,144
// outbound RPCs carrying records and 354 records at validation in one
// 100-node start), and a record lost at its first relays reached no one
// else until pulls found it, tens of seconds later. The echo is one more
// message every node checks, once per node; four echoes (1 to 8 s apart)
// made the start's floods five times larger and saturated the process.
const echoAfter = 2 * time.Second

// publisher builds, signs and announces this node's records. Its loop (run)
// owns every field below the channels and is the only writer of Store.own,
// so publications never overlap and sequence numbers only grow.
type publisher struct {
	s *Store

	changed  chan struct{}   // Changed → run (cap 1)
	joined   chan struct{}   // a peer joined the topic → run (cap 1)
	refreshQ chan refreshReq // Refresh → run

	// Owned by run.
	lastSeq   uint64
	unheard   bool // own was last announced when the topic had no peers
	embedText string
	embedVec  *cmspb.Embedding
}

// refreshReq asks the loop for a publication now, under ctx.
type refreshReq struct {
	ctx   context.Context
	reply chan<- refreshResult
}

type refreshResult struct {
	rec *Record
	err error
}

func newPublisher(s *Store) *publisher {
	return &publisher{
		s:        s,
		changed:  make(chan struct{}, 1),
		joined:   make(chan struct{}, 1),
		refreshQ: make(chan refreshReq),
	}
}

// refresh has the loop publish now and returns what publish returned.
func (p *publisher) refresh(ctx context.Context) (*Record, error) {
	reply := make(chan refreshResult, 1)
	select {
	case p.refreshQ <- refreshReq{ctx: ctx, reply: reply}:
	case <-p.s.ctx.Done():
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("publish: %w", ctx.Err())
	}
	r := <-reply // the loop answers every request it took
	return r.rec, r.err
}

// run publishes on start, every TTL/3, on Changed (throttled) and on
// Refresh, announces again the record nobody heard (published while the
// topic had no peers) when a peer joins, and echoes the first announcement
// that had peers (echoAfter). Every new record goes to the DHT writer.
// Peers that join later pull the record (sync.go): nobody re-announces for
// them.
func (p *publisher) run() {
	s := p.s
	refresh := time.NewTicker(s.cfg.ttl / 3)
	defer refresh.Stop()
	pub := throttle{interval: s.cfg.minInterval}
	defer pub.stop()
	// The announcement of a record nobody heard waits joinSettle after the
	// join: pubsub reports the join when the peer's subscription arrives,
	// possibly before our stream to it is open, and drops what it cannot
	// send. Publishing counts as announcing.
	ann := throttle{interval: s.cfg.announceDelay, settle: joinSettle}
	defer ann.stop()
	var retry <-chan time.Time
	var echo *time.Timer // set once, when the first announcement had peers
	defer func() {
		if echo != nil {
			echo.Stop()
		}
	}()
	var echoC <-chan time.Time // echo.C until it fired
	startEcho := func() {
		if !p.unheard && echo == nil {
			echo = time.NewTimer(echoAfter)
			echoC = echo.C
		}
	}

	doPublish := func(ctx context.Context) (*Record, error) {
		pub.ran()
		ann.ran()
		rec, err := p.publish(ctx)
		retry = nil
		if rec == nil && s.ctx.Err() == nil {
			retry = time.After(min(s.cfg.ttl/3, 5*time.Second))
		}
		if rec != nil {
			startEcho() // only a publication that happened can be echoed
			s.writer.queue(rec)
		}
		return rec, err
	}
	background := func() {
		if _, err := doPublish(s.ctx); err != nil && s.ctx.Err() == nil {
			s.log.Warn("publish capability record", "err", err)
		}
	}
	doAnnounce := func() {
		rec := s.Self()
		if rec == nil {
			return // the first publication will announce
		}
		ann.ran()
		p.unheard = len(s.topic.ListPeers()) == 0
		s.log.Debug("announce capability record again", "seq", rec.Seq(), "heard", !p.unheard)
		err := s.topic.Publish(s.ctx, rec.Raw)
		s.m.publish.WithLabelValues(viaGossip, result(err)).Inc()
		if err != nil && s.ctx.Err() == nil {
			s.log.Warn("announce capability record again", "err", err)
		}
		startEcho()
	}
	background()
	for {
		select {
		case <-s.ctx.Done():
			return
		case req := <-p.refreshQ:
			rec, err := doPublish(req.ctx)
			req.reply <- refreshResult{rec, err}
		case <-refresh.C:
			background()
		case <-retry:
			background()
		case <-p.changed:
			if pub.request() {
				background()
			}
		case <-pub.C():
			pub.fired()
			background()
		case <-p.joined:
			if p.unheard && ann.request() {
				doAnnounce()
			}
		case <-ann.C():
			ann.fired()
			doAnnounce()
		case <-echoC:
			echoC = nil
			doAnnounce()
		}
	}
}

// publish builds, signs and stores as own a new record of this node and
// announces it on the topic. It returns the record when it was signed, even
// if the announcement failed. Run by the loop.
func (p *publisher) publish(ctx context.Context) (*Record, error) {
	s := p.s
	ctx, cancel := context.WithTimeout(ctx, s.cfg.opTimeout)
	defer cancel()
	desc, err := s.self.CapabilityRecord(ctx)
	if err == nil && desc == nil {
		err = errors.New("nil record")
	}
	if err != nil {
		return nil, fmt.Errorf("publish: %w: %w", ErrSelfSource, err)
	}
	f := proto.CloneOf(desc)
	now := s.cfg.now()
	seq := max(p.lastSeq+1, uint64(max(now.UnixMilli(), 0))) // time-based so it grows across restarts
	f.SchemaVersion = SchemaVersion
	f.PeerId = []byte(s.h.ID())
	f.Seq = seq
	f.IssuedUnixMs = now.UnixMilli()
	f.ExpiresUnixMs = now.Add(s.cfg.ttl).UnixMilli()
	if len(f.Addrs) == 0 {
		for _, a := range s.h.Addrs() {
			if len(f.Addrs) < MaxListLen {
				f.Addrs = append(f.Addrs, a.Bytes())
			}
		}
	}
	f.Domains = normalizeDomains(f.Domains)
	f.DescriptionEmbedding = p.embedding(ctx, ProfileText(f))

	raw, err := Seal(s.priv, f)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	rec, err := Open(raw, now)
	if err != nil {
		return nil, fmt.Errorf("publish: own record refused: %w", err)
	}
	p.lastSeq = seq
	s.own.Store(rec)

	p.unheard = len(s.topic.ListPeers()) == 0
	err = s.topic.Publish(ctx, raw)
	s.m.publish.WithLabelValues(viaGossip, result(err)).Inc()
	if err != nil {
		return rec, fmt.Errorf("publish: announce seq %d: %w", seq, err)
	}
	return rec, nil
}

// embedding returns the published embedding of text, embedding it only when
// the text changed; on failure the record goes out without one (peers embed
// its text themselves) and the next publication tries again. Run by the loop.
func (p *publisher) embedding(ctx context.Context, text string) *cmspb.Embedding {
	e := p.s.cfg.embedder
	if e == nil || e.Model() == LexicalModel || text == "" {
		return nil
	}
	if text == p.embedText && p.embedVec != nil {
		return p.embedVec
	}
	vs, err := e.Embed(ctx, []string{text})
	if err == nil && (len(vs) != 1 || len(vs[0]) != e.Dim() || e.Dim() > MaxEmbeddingDim) {
		err = fmt.Errorf("embedder %s returned %d vectors, want 1 of dim %d (max %d)", e.Model(), len(vs), e.Dim(), MaxEmbeddingDim)
	}
	if err != nil {
		p.s.log.Warn("embed own description", "err", err)
		return nil
	}
	p.embedText = text
	p.embedVec = &cmspb.Embedding{Model: e.Model(), Dim: uint32(e.Dim()), Vector: vs[0]}
	return p.embedVec
}
