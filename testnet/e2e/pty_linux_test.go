package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// terminal runs a program on a pseudo-terminal, as a user at a shell would:
// programs that talk differently to a terminal (`ollama run`'s interactive
// mode) see one. Its output accumulates; tests wait for text in it.
type terminal struct {
	cmd    *exec.Cmd
	master *os.File
	done   chan struct{} // closed when the reader has stopped

	mu      sync.Mutex
	out     bytes.Buffer
	changed chan struct{} // closed and replaced on every read
}

// openPTY opens a pseudo-terminal pair of the given size.
func openPTY(cols, rows uint16) (master, tty *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows}); err != nil {
		m.Close()
		s.Close()
		return nil, nil, fmt.Errorf("set pty size: %w", err)
	}
	return m, s, nil
}

// startTerminal starts cmd with a pseudo-terminal as its controlling
// terminal and stdin, stdout and stderr. The test's cleanup kills it if it
// is still running and waits for it.
func startTerminal(t *testing.T, cmd *exec.Cmd) *terminal {
	t.Helper()
	master, tty, err := openPTY(200, 50)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		master.Close()
		tty.Close()
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	tty.Close() // the child holds its own copy; EOF on master once it exits
	term := &terminal{cmd: cmd, master: master, done: make(chan struct{}), changed: make(chan struct{})}
	go term.read()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		master.Close()
		<-term.done
	})
	return term
}

// terminalReplies are what a terminal answers to the queries programs send
// it: its background colour (OSC 11) and the cursor position (CPR). Without
// them termenv, which `ollama run` uses, waits 5 s for a reply.
var terminalReplies = []struct{ query, reply string }{
	{"\x1b]11;?", "\x1b]11;rgb:0000/0000/0000\x1b\\"},
	{"\x1b[6n", "\x1b[1;1R"},
}

func (term *terminal) read() {
	defer close(term.done)
	buf := make([]byte, 4096)
	for {
		n, err := term.master.Read(buf)
		for _, r := range terminalReplies {
			if bytes.Contains(buf[:n], []byte(r.query)) {
				_, _ = io.WriteString(term.master, r.reply)
			}
		}
		term.mu.Lock()
		term.out.Write(buf[:n])
		close(term.changed)
		term.changed = make(chan struct{})
		term.mu.Unlock()
		if err != nil { // EIO once the child side is gone
			return
		}
	}
}

// output is everything the program wrote so far.
func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// waitFor waits until want appears in the output at or after byte offset
// from, and returns the offset just past it.
func (term *terminal) waitFor(t *testing.T, from int, want string, timeout time.Duration) int {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		term.mu.Lock()
		out, changed := term.out.String(), term.changed
		term.mu.Unlock()
		if from <= len(out) {
			if i := strings.Index(out[from:], want); i >= 0 {
				return from + i + len(want)
			}
		}
		select {
		case <-changed:
		case <-term.done:
			if !strings.Contains(term.output()[min(from, len(term.output())):], want) {
				t.Fatalf("program ended without writing %q; output:\n%s", want, term.output())
			}
		case <-deadline.C:
			t.Fatalf("no %q within %v; output:\n%s", want, timeout, term.output())
		}
	}
}

// send types s (a line ends with "\r", as the Enter key sends it).
func (term *terminal) send(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(term.master, s); err != nil {
		t.Fatalf("type %q: %v", s, err)
	}
}

// wait waits for the program to exit and returns its error.
func (term *terminal) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- term.cmd.Wait() }()
	select {
	case err := <-exited:
		return err
	case <-time.After(timeout):
		_ = term.cmd.Process.Kill()
		<-exited
		return errors.New("killed: did not exit in time")
	}
}
