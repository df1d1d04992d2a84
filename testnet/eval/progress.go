package eval

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progressBarWidth is the bar's width in cells.
const progressBarWidth = 30

// progressRedraw is the least time between redraws of a live bar.
const progressRedraw = 100 * time.Millisecond

// Progress draws a progress bar for each run. On a terminal (live) the bar
// redraws in place; otherwise one line per run is written when it ends, so
// logs stay readable. A nil *Progress draws nothing. Safe for concurrent use.
type Progress struct {
	w    io.Writer
	live bool
	now  func() time.Time

	mu          sync.Mutex // guards the fields below and writes to w
	label       string
	total, done int
	correct     int
	began, drew time.Time
}

// NewProgress writes to w; live redraws in place (pass whether w is a terminal).
func NewProgress(w io.Writer, live bool) *Progress {
	return &Progress{w: w, live: live, now: time.Now}
}

func (p *Progress) start(label string, total int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.label, p.total, p.done, p.correct = label, total, 0, 0
	p.began = p.now()
	p.drew = time.Time{}
	if p.live {
		p.draw()
	}
}

func (p *Progress) add(correct bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if correct {
		p.correct++
	}
	if p.live && p.now().Sub(p.drew) >= progressRedraw {
		p.draw()
	}
}

func (p *Progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw()
	fmt.Fprintln(p.w)
}

// draw writes the bar; the caller holds mu.
func (p *Progress) draw() {
	p.drew = p.now()
	filled := 0
	if p.total > 0 {
		filled = progressBarWidth * p.done / p.total
	}
	bar := strings.Repeat("█", filled) + strings.Repeat("░", progressBarWidth-filled)
	prefix := ""
	if p.live {
		prefix = "\r\033[K" // back to the line's start and clear it
	}
	fmt.Fprintf(p.w, "%s%-32s %s %4d/%-4d right %4d  %v", prefix, p.label, bar, p.done, p.total, p.correct,
		p.drew.Sub(p.began).Round(10*time.Millisecond))
}
