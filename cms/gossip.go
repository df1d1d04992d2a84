package cms

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// GossipValidator is the pubsub validator of the capability topic:
// it rejects envelopes Open refuses (forged, tampered, oversized, garbage)
// and records whose owner is not the message's author; it ignores (drops
// without penalizing the relay) expired records and records older than the
// cached one. Register it with ps.RegisterTopicValidator(protocol.TopicCMS, …).
func (s *Store) GossipValidator() pubsub.ValidatorEx {
	return func(_ context.Context, _ peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		rec, err := s.checkGossip(msg)
		switch {
		case err == nil:
			msg.ValidatorData = rec
			return pubsub.ValidationAccept
		case errors.Is(err, ErrExpired), errors.Is(err, errStale), errors.Is(err, ErrClosed):
			s.log.Debug("ignore capability announcement", "peer", msg.GetFrom(), "err", err)
			return pubsub.ValidationIgnore
		default:
			s.m.received.WithLabelValues(viaGossip, resultInvalid).Inc()
			s.log.Info("reject capability announcement", "peer", msg.GetFrom(), "err", err)
			return pubsub.ValidationReject
		}
	}
}

// errStale marks an announcement older than the cached record.
var errStale = errors.New("capability record older than cached")

// checkGossip verifies an announcement. Called by pubsub's validation
// goroutines and by the receiver.
func (s *Store) checkGossip(msg *pubsub.Message) (*Record, error) {
	if s.ctx.Err() != nil {
		return nil, ErrClosed
	}
	// Most announcements repeat a record already verified (re-announcements
	// to newcomers reach everyone): skip the signature check for those.
	// pubsub's StrictSign has already authenticated the author.
	author := msg.GetFrom()
	old := s.cached(author)
	if old != nil && bytes.Equal(old.Raw, msg.GetData()) {
		return old, nil
	}
	if own := s.Self(); author == s.h.ID() && own != nil && bytes.Equal(own.Raw, msg.GetData()) {
		return own, nil
	}
	rec, err := Open(msg.GetData(), s.cfg.now())
	if err != nil {
		return nil, err
	}
	if rec.Peer != author {
		return nil, fmt.Errorf("record of %s announced by %s: %w", rec.Peer, author, ErrWrongOwner)
	}
	if old != nil && better(old, rec) {
		return nil, fmt.Errorf("seq %d < cached %d: %w", rec.Seq(), old.Seq(), errStale)
	}
	return rec, nil
}

// receiveLoop hands every announcement the validator accepted to the cache.
func (s *Store) receiveLoop() {
	for {
		msg, err := s.sub.Next(s.ctx)
		if err != nil {
			return // cancelled by Close
		}
		if msg.GetFrom() == s.h.ID() {
			continue
		}
		rec, ok := msg.ValidatorData.(*Record)
		if !ok { // GossipValidator not registered: check here instead
			if rec, err = s.checkGossip(msg); err != nil {
				s.m.received.WithLabelValues(viaGossip, resultInvalid).Inc()
				s.log.Debug("drop capability announcement", "peer", msg.GetFrom(), "err", err)
				continue
			}
		}
		s.cache.put(rec, viaGossip)
	}
}

// eventLoop tells the publish loop, the DHT writer and the fetcher when a
// peer joins the topic.
func (s *Store) eventLoop() {
	for {
		ev, err := s.events.NextPeerEvent(s.ctx)
		if err != nil {
			return // cancelled by Close
		}
		if ev.Type == pubsub.PeerJoin {
			signal(s.pub.joined)      // it can hear flood-published announcements now
			signal(s.writer.kick)     // and may be the DHT peer a failed write lacked
			s.fetcher.joined(ev.Peer) // and its own announcement may be lost
		}
	}
}
