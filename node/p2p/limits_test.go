package p2p

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
)

func TestLimitsAreTheEdgeBudget(t *testing.T) {
	l := Limits().ToPartialLimitConfig()
	tests := []struct {
		name      string
		got, want int64
	}{
		{"system conns", int64(l.System.Conns), limitConns},
		{"system memory", int64(l.System.Memory), limitMemory},
		{"system FDs", int64(l.System.FD), limitFD},
		{"peer conns", int64(l.PeerDefault.Conns), limitPeerConns},
		{"peer streams", int64(l.PeerDefault.Streams), limitPeerStreams},
		{"peer memory", int64(l.PeerDefault.Memory), limitPeerMemory},
		{"transient conns", int64(l.Transient.Conns), limitTransientConns},
		{"ask streams per peer", int64(l.ProtocolPeer[protocol.AskProtocol].StreamsInbound), limitAskStreamsPerPeer},
		{"cms sync streams per peer", int64(l.ProtocolPeer[protocol.CMSSyncProtocol].StreamsInbound), limitSyncStreamsPerPeer},
		{"ping streams (service)", int64(l.Service[ping.ServiceName].Streams), limitPingStreams},
		{"ping streams (protocol)", int64(l.Protocol[ping.ID].StreamsInbound), limitPingStreamsIO},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

// The host trims idle connections before its resource limits refuse dials
// or streams: the connection manager's high watermark is under the inbound
// limit, and its peers' standing streams take at most three quarters of the
// memory limit.
func TestConnManagerTrimsBelowTheLimits(t *testing.T) {
	h := newHost(t, nil, nil)
	cm, ok := h.ConnManager().(*connmgr.BasicConnMgr)
	if !ok {
		t.Fatalf("connection manager is %T, want *connmgr.BasicConnMgr", h.ConnManager())
	}
	info := cm.GetInfo()
	if info.LowWater != connLow || info.HighWater != connHigh || info.GracePeriod != connGrace {
		t.Errorf("watermarks %d–%d, grace %s; want %d–%d, %s", info.LowWater, info.HighWater, info.GracePeriod, connLow, connHigh, connGrace)
	}
	if info.HighWater >= limitConnsIn || info.LowWater >= info.HighWater {
		t.Errorf("watermarks %d–%d not under the inbound limit %d", info.LowWater, info.HighWater, limitConnsIn)
	}
	if standing := info.HighWater * streamsPerPeer * yamuxStreamWindow; standing > limitMemory*3/4 {
		t.Errorf("%d peers' standing streams reserve %d MiB of the %d MiB memory limit, over three quarters",
			info.HighWater, standing>>20, limitMemory>>20)
	}
}

// One peer holding ask streams open gets no more than the per-peer cap: the
// next is refused by the resource manager before any handler runs.
func TestAskStreamsPerPeerAreCapped(t *testing.T) {
	server := newHost(t, nil, nil)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	handled := make(chan struct{}, 2*limitAskStreamsPerPeer)
	server.SetStreamHandler(protocol.AskProtocol, func(s network.Stream) {
		handled <- struct{}{}
		<-release
		_ = s.Reset()
	})
	// The client has libp2p's default (much larger) limits: the cap tested
	// is the server's.
	client := p2ptest.NewHost(t)
	if err := connect(client, server); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), p2ptest.Patience)
	defer cancel()
	for i := range limitAskStreamsPerPeer {
		s, err := client.NewStream(ctx, server.ID(), protocol.AskProtocol)
		if err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
		// Write so the server negotiates the stream and its handler runs.
		if _, err := s.Write([]byte{0}); err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
		<-handled
	}
	s, err := client.NewStream(ctx, server.ID(), protocol.AskProtocol)
	if err == nil {
		_, _ = s.Write([]byte{0})
		buf := make([]byte, 1)
		_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err = s.Read(buf); err == nil {
			t.Fatalf("stream %d past the cap was served", limitAskStreamsPerPeer+1)
		}
	}
	select {
	case <-handled:
		t.Fatalf("the handler ran for stream %d past the cap", limitAskStreamsPerPeer+1)
	default:
	}
}

// Every topic's largest message, with gossipsub's envelope (signature, key,
// sender, sequence number, topic), fits the message cap.
func TestGossipMessageCapFitsEveryTopic(t *testing.T) {
	const envelope = 4 << 10
	for _, c := range []struct {
		topic string
		max   int
	}{
		{"rounds", protocol.MaxRoundMessageBytes},
		{"budget", protocol.MaxBudgetClaimBytes},
		{"cms", cms.MaxRecordBytes},
	} {
		if c.max+envelope > gossipMaxMessage {
			t.Errorf("%s messages of %d bytes do not fit the %d-byte cap", c.topic, c.max, gossipMaxMessage)
		}
	}
}
