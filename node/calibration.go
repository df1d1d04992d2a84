package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/swarmllm/swarmllm/router"
)

// calibrationFile is the local model's calibration in --data-dir.
const calibrationFile = "calibration.json"

// calibration is this node's router.Calibration of its own model's
// confidence, learned from the outcomes of its answers (router.JudgeLocal)
// and read when the node judges its local answer. It owns its mutex; the
// Node saves it with the track record.
type calibration struct {
	mu sync.Mutex
	c  router.Calibration
}

// loadCalibration reads the calibration saved in dir. No file is a fresh
// one; a file that does not decode is refused with a warning (the file
// stays until the next save replaces it).
func loadCalibration(dir string, log *slog.Logger) (*calibration, error) {
	path := filepath.Join(dir, calibrationFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return &calibration{}, nil
	case err != nil:
		return nil, fmt.Errorf("read calibration: %w", err)
	}
	cal := &calibration{}
	if err := json.Unmarshal(data, &cal.c); err != nil {
		log.Warn("calibration refused; confidence starts uncalibrated", "file", path, "err", err)
		return &calibration{}, nil
	}
	return cal, nil
}

// save writes the calibration to dir atomically.
func (c *calibration) save(dir string) error {
	c.mu.Lock()
	data, err := json.Marshal(&c.c)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("save calibration: %w", err)
	}
	return writeAtomic(dir, calibrationFile, data)
}

// observe records one checked answer; a nil calibration learns nothing.
func (c *calibration) observe(model, domain string, confidence float64, right bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.Observe(model, domain, confidence, right)
}

// calibrate is the calibrated confidence; a nil calibration is the identity.
func (c *calibration) calibrate(model, domain string, confidence float64) float64 {
	if c == nil {
		var none *router.Calibration
		return none.Calibrate(model, domain, confidence)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.c.Calibrate(model, domain, confidence)
}

// firstDomain is the domain a query is calibrated under: its first
// classified one, or none.
func firstDomain(domains []string) string {
	if len(domains) == 0 {
		return ""
	}
	return domains[0]
}
