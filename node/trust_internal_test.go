package node

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/swarmllm/swarmllm/router"
)

func TestTrackRecordPersists(t *testing.T) {
	params := router.DefaultTrustParams(router.SwarmPrivate)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name     string
		file     string // written before the load; "" = the saved record
		wantPeer bool   // the saved peer's record survives
	}{
		{"saved record comes back", "", true},
		{"corrupt file: a fresh record", "{not json", false},
		{"unknown version: a fresh record", `{"version":99,"records":[]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tr, err := loadTrackRecord(dir, params, log) // no file yet
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Observe(router.Outcome{Peer: "rogue", Confidence: 1, Evidence: router.EvidenceCloud}); err != nil {
				t.Fatal(err)
			}
			if err := saveTrackRecord(dir, tr); err != nil {
				t.Fatal(err)
			}
			if tt.file != "" {
				if err := os.WriteFile(filepath.Join(dir, trustFile), []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := loadTrackRecord(dir, params, log)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if pt := got.Trust("rogue", nil); (pt.Basis != "prior") != tt.wantPeer {
				t.Errorf("rogue's trust after load %+v, want its record kept: %v", pt, tt.wantPeer)
			}
		})
	}
}
