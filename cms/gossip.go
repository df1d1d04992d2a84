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
		case errors.Is(err, ErrCacheFull):
			// Not relayed either; whether the relay misbehaves is for peer
			// scoring to judge, not for one full cache.
			s.m.received.WithLabelValues(viaGossip, resultRefused).Inc()
			s.log.Debug("refuse capability announcement", "peer", msg.GetFrom(), "relay", msg.ReceivedFrom, "err", err)
			return pubsub.ValidationIgnore
		default:
			s.m.received.WithLabelValues(viaGossip, resultInvalid).Inc()
			s.log.Info("reject capability announcement", "peer", msg.GetFrom(), "err", err)
			return pubsub.ValidationReject
		}
	}
}

// checkGossip verifies an announcement. Called by pubsub's validation
// goroutines and by the receiver.
func (s *Store) checkGossip(msg *pubsub.Message) (*Record, error) {
	if s.ctx.Err() != nil {
		return nil, ErrClosed
	}
	// Many announcements repeat a record already verified (gossip delivers
	// one through several relays): skip the signature check for those.
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
	if err := s.cache.check(rec, msg.ReceivedFrom); err != nil {
		return nil, err
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
		_ = s.cache.put(rec, viaGossip, msg.ReceivedFrom) // counted by put
	}
}

// eventLoop tells the syncer and the publish loop (for a peer it holds no
// record of), the DHT writer and the fetcher when a peer joins the topic.
func (s *Store) eventLoop() {
	for {
		ev, err := s.events.NextPeerEvent(s.ctx)
		if err != nil {
			return // cancelled by Close
		}
		if ev.Type == pubsub.PeerJoin {
			// A peer whose record we hold learnt ours as we learnt its (or,
			// restarted, fetches it from the DHT as a joined peer). An
			// unknown one is new to the swarm or to our part of it: pull
			// what it holds, and it pulls from us. In a forming swarm most
			// joins are known peers meeting through the DHT.
			if s.cached(ev.Peer) == nil {
				s.sync.joined(ev.Peer)
				signal(s.pub.joined) // it can hear an announcement nobody heard
			}
			signal(s.writer.kick)     // and may be the DHT peer a failed write lacked
			s.fetcher.joined(ev.Peer) // and may serve no pulls (an older build): look it up
		}
	}
}
