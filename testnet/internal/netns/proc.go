//go:build linux

package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Process is a program running inside a namespace, in a process group of its
// own, with its output in a log file.
type Process struct {
	Name string // a label for messages
	Log  string // path of the file holding its stdout and stderr

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been waited for
	err  error         // the exit status; read after done
}

// Command returns a command running argv inside the namespace (`ip netns
// exec`, which execs argv, so the pid is argv's own) in a process group of its
// own. Pdeathsig kills it if the thread that started it ends, which in Go
// means at the latest when the test process dies: a test killed outright
// leaves no orphans. Set Env and the like, then pass it to Start.
func (ns *Namespace) Command(argv ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Start starts cmd (from Command) with its stdout and stderr in logPath.
func Start(cmd *exec.Cmd, name, logPath string) (*Process, error) {
	out, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer out.Close() // the child holds its own copy
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// ErrKilled means a process did not stop within its grace period and was killed.
var ErrKilled = errors.New("did not stop in time; killed")

// Stop sends SIGTERM to the process group and waits up to grace; then it
// sends SIGKILL. It returns the exit status (nil for a clean exit 0), or
// ErrKilled, and how long the process took to stop. Safe to call again.
func (p *Process) Stop(grace time.Duration) (time.Duration, error) {
	start := time.Now()
	if exited, err := p.Exited(); exited {
		return 0, err
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return time.Since(start), p.err
	case <-t.C:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return time.Since(start), fmt.Errorf("%s: %w after %v", p.Name, ErrKilled, grace)
}

// Tail returns the last n lines of the process's log, for failure messages.
func (p *Process) Tail(n int) string {
	b, err := os.ReadFile(p.Log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
