package node

import (
	"context"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/router"
)

// The node's own answer, once checked by the cloud or by agreeing peers,
// calibrates its confidence; an answer nothing checked does not.
func TestPipelineCalibratesOnChecks(t *testing.T) {
	tests := []struct {
		name    string
		policy  router.Policy
		local   fakeModel
		answers map[peer.ID]router.Proposal
		want    float64 // the calibrated confidence at the local answer's, afterwards
	}{
		// one wrong answer in the bin: (0 + 4·.4)/(1 + 4) for the model, the same shrink again for the domain
		{name: "the cloud checks a cascade's answer", policy: router.PolicyCascade, local: fakeModel{text: "Sydney", conf: 0.4},
			want: (4 * 0.32) / 5},
		{name: "agreeing peers check the swarm's", local: fakeModel{text: "Sydney", conf: 0.4},
			answers: map[peer.ID]router.Proposal{peerA: sure("Canberra"), peerB: sure("Canberra"), peerC: unsure("Sydney")},
			want:    (4 * 0.32) / 5},
		{name: "a confident answer kept is unchecked", local: fakeModel{text: "Canberra", conf: 0.95}, want: 0.95},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			self := peer.ID("self").String()
			sw := &fakeSwarm{self: self, answers: tc.answers, silent: map[string]bool{}}
			local := tc.local
			p := testPipeline(t, self, &local, &fakeFinder{cands: threePeers}, sw, &fakeCloud{text: "Canberra"})
			p.calib = &calibration{}
			resp, err := p.Ask(context.Background(), nodeapi.Request{Policy: tc.policy,
				Messages: []nodeapi.Message{{Role: nodeapi.RoleUser, Content: capital}}})
			if err != nil {
				t.Fatal(err)
			}
			got := p.calib.calibrate(local.Name(), firstDomain(resp.Trace.Classification.Domains), tc.local.conf)
			if math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("calibrated %v after a %s answer, want %v", got, resp.Trace.Route, tc.want)
			}
		})
	}
}

func TestCalibrationFile(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	fresh, err := loadCalibration(dir, log)
	if err != nil || fresh.calibrate("m", "geo", 0.7) != 0.7 {
		t.Fatalf("no file: %v, calibrated %v; want a fresh calibration", err, fresh.calibrate("m", "geo", 0.7))
	}
	fresh.observe("m", "geo", 0.7, false)
	want := fresh.calibrate("m", "geo", 0.7)
	if err := fresh.save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := loadCalibration(dir, log)
	if err != nil || back.calibrate("m", "geo", 0.7) != want {
		t.Fatalf("saved and loaded: %v, calibrated %v; want %v", err, back.calibrate("m", "geo", 0.7), want)
	}
	if err := os.WriteFile(filepath.Join(dir, calibrationFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if bad, err := loadCalibration(dir, log); err != nil || bad.calibrate("m", "geo", 0.7) != 0.7 {
		t.Errorf("a file that does not decode: %v; want a fresh calibration", err)
	}
}
