package eval

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
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

// TestScaleSeriesReport renders a series from made-up reports: a row per
// size, the failed size named, and a plot relative to the smallest size.
func TestScaleSeriesReport(t *testing.T) {
	rep := func(n, msgs int) ScaleReport {
		return ScaleReport{Spec: ScaleSpec{Nodes: n}, Messages: msgs, ProvidersFound: n, ProvidersDeclared: n,
			RoundQuery: Stat{N: 1, P50: 100 * time.Millisecond}, RoundCPU: 10 * time.Millisecond, Heap: uint64(n) << 20}
	}
	cases := []struct {
		name      string
		series    ScaleSeries
		wantMD    []string
		wantSVG   []string // nil: WriteSVG must fail
		wantMDErr bool
	}{
		{name: "two sizes", series: ScaleSeries{Reports: []ScaleReport{rep(10, 50), rep(50, 250)}},
			wantMD:  []string{"| 10 | 0s |", "| 50 | 0s |", "50 / 50 (100.0%)", "| 250 |", "| 1.00 MiB |"},
			wantSVG: []string{"× the 10-node value", "round messages", "1.5×"}},
		{name: "a size failed", series: ScaleSeries{Reports: []ScaleReport{rep(10, 50)}, Failed: 200, Err: errors.New("boom")},
			wantMD: []string{"| 10 |", "200 nodes: not measured: boom"}},
		{name: "empty", wantMDErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var md strings.Builder
			err := tc.series.WriteMarkdown(&md)
			if (err != nil) != tc.wantMDErr {
				t.Fatalf("WriteMarkdown: %v, want error %v", err, tc.wantMDErr)
			}
			for _, w := range tc.wantMD {
				if !strings.Contains(md.String(), w) {
					t.Errorf("markdown lacks %q:\n%s", w, md.String())
				}
			}
			var svg strings.Builder
			err = tc.series.WriteSVG(&svg)
			if (err != nil) != (tc.wantSVG == nil) {
				t.Fatalf("WriteSVG: %v, want error %v", err, tc.wantSVG == nil)
			}
			for _, w := range tc.wantSVG {
				if !strings.Contains(svg.String(), w) {
					t.Errorf("svg lacks %q", w)
				}
			}
		})
	}
}
