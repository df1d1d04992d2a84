package node

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/node/p2p"
	"github.com/swarmllm/swarmllm/router"
)

// trustFile is the track record's file in --data-dir.
const trustFile = "trust.json"

// trustSaveInterval is how often the track record is written while the node
// runs (and once more at Close), so a crash loses minutes of outcomes at most.
const trustSaveInterval = time.Minute

// loadTrackRecord reads the track record saved in dir. No file is a fresh
// record; a file that does not decode is refused with a warning and a fresh
// record (the file stays, for the operator, until the next save replaces it).
func loadTrackRecord(dir string, params router.TrustParams, log *slog.Logger) (*router.TrackRecord, error) {
	path := filepath.Join(dir, trustFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return router.NewTrackRecord(params)
	case err != nil:
		return nil, fmt.Errorf("read track record: %w", err)
	}
	t, err := router.DecodeTrackRecord(data, params)
	if err != nil {
		log.Warn("track record refused; every peer starts from the prior", "file", path, "err", err)
		return router.NewTrackRecord(params)
	}
	return t, nil
}

// saveTrackRecord writes t to dir atomically.
func saveTrackRecord(dir string, t *router.TrackRecord) error {
	data, err := t.Encode()
	if err != nil {
		return err
	}
	if err := writeAtomic(dir, trustFile, data); err != nil {
		return fmt.Errorf("save track record: %w", err)
	}
	return nil
}

// writeAtomic writes data to dir/name through a temporary file renamed, so
// a crash mid-write never leaves a half file.
func writeAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// saveTrustPeriodically writes the track record every trustSaveInterval
// until the node closes (Close writes it a last time).
func (n *Node) saveTrustPeriodically() {
	defer n.wg.Done()
	t := time.NewTicker(trustSaveInterval)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
			if err := saveTrackRecord(n.cfg.DataDir, n.trust); err != nil {
				n.log.Warn("save track record", "err", err)
			}
			if err := n.calib.save(n.cfg.DataDir); err != nil {
				n.log.Warn("save calibration", "err", err)
			}
		}
	}
}

// gossipScorer feeds a peer's standing in the track record into gossipsub's
// application score. Below the prior it costs at most GossipThreshold (no
// gossip is sent to the peer), never graylisting: honest small models are
// confidently wrong often enough that a bad streak would cut them off the
// rounds (measured: the workload's cloud share doubled). Invalid messages
// still graylist; the record silences a rogue in the tally instead.
type gossipScorer struct {
	scores *p2p.AppScores
	trust  *router.TrackRecord
}

// update rescores the peers whose records just changed.
func (g gossipScorer) update(peers []string) {
	if g.scores == nil {
		return
	}
	for _, s := range peers {
		id, err := peer.Decode(s)
		if err != nil {
			continue
		}
		st := router.GossipStanding(g.trust.Weight(s), g.trust.Prior())
		if st < 0 {
			g.scores.Set(id, -st*p2p.GossipThreshold)
		} else {
			g.scores.Set(id, st*p2p.AppScoreMax)
		}
	}
}
