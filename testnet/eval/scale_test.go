package eval

import (
	"context"
	"strings"
	"testing"
)

// BenchmarkScale50 starts a 50-node in-process swarm and reports record
// propagation, DHT lookups and vote rounds as metrics; run it with
// -benchtime 1x (each iteration is a whole run, about a minute on 2 cores).
func BenchmarkScale50(b *testing.B) {
	for b.Loop() {
		rep, err := RunScale(context.Background(), ScaleSpec{Nodes: 50})
		if err != nil {
			b.Fatal(err)
		}
		var md strings.Builder
		if err := rep.WriteMarkdown(&md); err != nil {
			b.Fatal(err)
		}
		b.Log("\n" + md.String())
		b.ReportMetric(ms(rep.Converge), "ms-converge")
		b.ReportMetric(ms(rep.JoinToAll), "ms-join-to-all")
		b.ReportMetric(ms(rep.LookupPeer.P50), "ms-dht-peer-p50")
		b.ReportMetric(ms(rep.LookupDomain.P50), "ms-dht-domain-p50")
		b.ReportMetric(ms(rep.RoundVote.P50), "ms-vote-p50")
		b.ReportMetric(float64(rep.Messages), "round-msgs")
	}
}

// TestScaleSmall runs the scale measurement on a few nodes, so the code
// path is checked by go test without the minute a 50-node run takes.
func TestScaleSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an in-process swarm")
	}
	rep, err := RunScale(context.Background(), ScaleSpec{Nodes: 5, Lookups: 3, Rounds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PeerFound != rep.PeerAsked || rep.PeerAsked != 3 {
		t.Errorf("found %d of %d records by peer id, want 3 of 3", rep.PeerFound, rep.PeerAsked)
	}
	if rep.Participants < 2 || rep.Ballots < 2 || rep.Messages < rep.Ballots {
		t.Errorf("round: %d proposals, %d ballots, %d messages; want a real round", rep.Participants, rep.Ballots, rep.Messages)
	}
	if rep.ProvidersFound == 0 {
		t.Error("no domain providers found through the DHT")
	}
}
