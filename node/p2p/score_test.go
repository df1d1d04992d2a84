package p2p

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/protocol"
)

// scoreBoard keeps the latest scores gossipsub reports.
type scoreBoard struct {
	mu sync.Mutex
	m  map[peer.ID]float64
}

func (b *scoreBoard) inspect(m map[peer.ID]float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m = m
}

func (b *scoreBoard) score(p peer.ID) (float64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.m[p]
	return s, ok
}

// newGossip joins the CMS topic on h; an honest node's validator rejects
// messages that start with "bad", a rogue publishes them unchecked.
func newGossip(t *testing.T, h host.Host, honest bool, opts ...pubsub.Option) (*pubsub.Topic, *pubsub.Subscription) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ps, err := pubsub.NewGossipSub(ctx, h, append([]pubsub.Option{pubsub.WithFloodPublish(true)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(protocol.TopicCMS)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := topic.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Cancel)
	if !honest {
		return topic, sub
	}
	if err := ps.RegisterTopicValidator(protocol.TopicCMS, func(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if string(m.Data[:min(3, len(m.Data))]) == "bad" {
			return pubsub.ValidationReject
		}
		return pubsub.ValidationAccept
	}); err != nil {
		t.Fatal(err)
	}
	return topic, sub
}

// next is the next message on sub from p, or an error once d passes.
func next(sub *pubsub.Subscription, from peer.ID, d time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return "", err
		}
		if m.GetFrom() == from {
			return string(m.Data), nil
		}
	}
}

// A rogue peer in the swarm's gossip: once its score falls below the graylist
// threshold, the honest node drops everything it sends, valid or not.
func TestGossipScoringGraylistsARogue(t *testing.T) {
	tests := []struct {
		name  string
		abuse func(t *testing.T, rogue *pubsub.Topic, app *AppScores, id peer.ID)
	}{
		{"invalid-message spammer", func(t *testing.T, rogue *pubsub.Topic, _ *AppScores, _ peer.ID) {
			for i := range 5 {
				if err := rogue.Publish(context.Background(), []byte(fmt.Sprintf("bad record %d", i))); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"bad track record", func(_ *testing.T, _ *pubsub.Topic, app *AppScores, id peer.ID) {
			app.Set(id, math.Inf(-1))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			honest, rogue := newHost(t, nil, nil), newHost(t, nil, nil)
			app := NewAppScores()
			board := &scoreBoard{}
			_, sub := newGossip(t, honest, true, append(GossipOptions(app), pubsub.WithPeerScoreInspect(board.inspect, 10*time.Millisecond))...)
			rogueTopic, _ := newGossip(t, rogue, false) // no scoring, no validation: a rogue plays by no rules
			if err := connect(rogue, honest); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the rogue to see the honest node's subscription", func() bool {
				return len(rogueTopic.ListPeers()) == 1
			})
			if err := rogueTopic.Publish(context.Background(), []byte("good record 0")); err != nil {
				t.Fatal(err)
			}
			if got, err := next(sub, rogue.ID(), 5*time.Second); err != nil || got != "good record 0" {
				t.Fatalf("before any abuse the honest node got %q, %v", got, err)
			}

			tt.abuse(t, rogueTopic, app, rogue.ID())
			waitFor(t, "the rogue to be graylisted", func() bool {
				s, ok := board.score(rogue.ID())
				return ok && s < GraylistThreshold
			})
			if err := rogueTopic.Publish(context.Background(), []byte("good record 1")); err != nil {
				t.Fatal(err)
			}
			// A message from a graylisted peer never arrives; one second is
			// far longer than the few ms the first delivery took.
			if got, err := next(sub, rogue.ID(), time.Second); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("a graylisted rogue's message arrived: %q, %v", got, err)
			}
		})
	}
}

func TestAppScoresClamp(t *testing.T) {
	id, _ := peer.Decode("12D3KooWE2Nf3wDzabfSNRtLDyUGBKYZSJi9UjMjCceuWrbYhhx3")
	tests := []struct {
		name string
		set  float64
		want float64
	}{
		{"within range", -30, -30},
		{"below the floor", -1e9, AppScoreMin},
		{"above the ceiling", 1e9, AppScoreMax},
		{"minus infinity", math.Inf(-1), AppScoreMin},
		{"NaN forgets", math.NaN(), 0},
		{"zero forgets", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAppScores()
			a.Set(id, tt.set)
			if got := a.Score(id); got != tt.want {
				t.Errorf("Score after Set(%v) = %v, want %v", tt.set, got, tt.want)
			}
		})
	}
}

func TestColocationExemptsLoopbackAndStaticRelays(t *testing.T) {
	const id = "/p2p/12D3KooWGzBMNNaP3rCfUaQcfkQZdSrK5tBVH2CP7cCRFzQpDtpo"
	tests := []struct {
		name   string
		relays []string
		exempt []string
		not    []string
	}{
		{"no relays: loopback only", nil, []string{"127.0.0.1", "::1"}, []string{"192.168.1.7", "11.0.0.1"}},
		{"an IPv4 relay, that address only", []string{"/ip4/11.0.0.1/tcp/4700" + id}, []string{"127.0.0.1", "11.0.0.1"}, []string{"11.0.0.2"}},
		{"an IPv6 relay", []string{"/ip6/2001:db8::1/udp/4700/quic-v1" + id}, []string{"2001:db8::1"}, []string{"2001:db8::2"}},
		{"a DNS relay adds nothing", []string{"/dns4/relay.example/tcp/4700" + id}, []string{"127.0.0.1"}, []string{"11.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nets := colocationExempt(tt.relays)
			in := func(s string) bool {
				ip := net.ParseIP(s)
				return slices.ContainsFunc(nets, func(n *net.IPNet) bool { return n.Contains(ip) })
			}
			for _, s := range tt.exempt {
				if !in(s) {
					t.Errorf("%s is not exempt (%v)", s, nets)
				}
			}
			for _, s := range tt.not {
				if in(s) {
					t.Errorf("%s is exempt (%v)", s, nets)
				}
			}
		})
	}
}
