package e2e

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// scripts/testnet.sh refuses a node it does not have before it builds,
// starts or dials anything: one line saying so, and a failed exit, never an
// attempt on a made-up port.
func TestTestnetScriptRefusesUnknownNode(t *testing.T) {
	for _, args := range [][]string{
		{"ask", "node4", "What is 17 * 23?"},
		{"peers", "node4"},
		{"kill", "node0"},
		{"backend", "nodeX", "down"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", append([]string{testnetScript}, args...)...)
			cmd.Env = append(cmd.Environ(), "PATH=/usr/bin:/bin") // no docker needed to refuse
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1\n%s", err, out)
			}
			msg := strings.TrimSpace(string(out))
			if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "unknown node '"+args[1]+"'") {
				t.Errorf("output %q, want the one line refusing %s", msg, args[1])
			}
		})
	}
}
