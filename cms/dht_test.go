package cms

import (
	"testing"
	"time"
)

func TestProvisionDue(t *testing.T) {
	const interval = 10 * time.Minute
	at := testNow
	tests := []struct {
		name  string
		p     provision
		now   time.Time
		peers int
		want  bool
	}{
		{"never provided", provision{}, at, 5, true},
		{"provided just now", provision{at: at, peers: 4}, at.Add(time.Second), 4, false},
		{"the interval passed", provision{at: at, peers: 40}, at.Add(interval), 40, true},
		{"the swarm doubled since", provision{at: at, peers: 4}, at.Add(reprovideGap), 8, true},
		{"the swarm doubled, too soon", provision{at: at, peers: 4}, at.Add(reprovideGap - time.Second), 8, false},
		{"the swarm grew, not doubled", provision{at: at, peers: 4}, at.Add(reprovideGap), 7, false},
		{"provided with no peer, one now", provision{at: at, peers: 0}, at.Add(reprovideGap), 2, true},
		{"provided into a settled table", provision{at: at, peers: settledPeers}, at.Add(reprovideGap), 4 * settledPeers, false},
		{"table size unknown", provision{at: at, peers: -1}, at.Add(reprovideGap), 100, false},
		{"table size unknown now", provision{at: at, peers: 4}, at.Add(reprovideGap), -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.due(tt.now, tt.peers, interval); got != tt.want {
				t.Errorf("due = %v, want %v", got, tt.want)
			}
		})
	}
}
