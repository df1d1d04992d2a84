package node_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// chromium finds a headless-capable Chromium: Debian's `chromium` package
// (scripts/test.sh installs it), or SWARM_CHROMIUM.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SWARM_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium binary on PATH (apt-get install chromium, or set SWARM_CHROMIUM): the dashboard is not rendered")
	return ""
}

// headless runs Chromium on url with args and returns its stdout. The page
// fills itself from the event stream after its load event, so Chromium runs
// it for a virtual-time budget before it dumps or shoots; --timeout bounds
// the wall time, since the stream never ends.
func headless(t *testing.T, bin, url string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	home := t.TempDir()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--disable-extensions", "--user-data-dir=" + filepath.Join(home, "profile"),
		"--virtual-time-budget=3000", "--timeout=8000", "--window-size=1280,1250"}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, url)...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// The dashboard, rendered by a real browser against a three-node swarm after
// queries on every route, shows each of them, the peers with their trust,
// the node itself, the route chart and the budget, live over the event
// stream, and no prompt.
func TestDashboardInChromium(t *testing.T) {
	bin := chromium(t)
	sw := startSwarm(t, swarm.Spec{Cloud: true})
	base := sw.APIURL(0)
	prompts := []struct {
		policy router.Policy
		prompt string
	}{
		{router.PolicyLocalOnly, "What is 17 * 23?"},
		{router.PolicyAlwaysSwarm, "What is the capital of France?"},
		{router.PolicyAlwaysSwarm, "Which protocol resolves domain names?"},
		{router.PolicyCloudOnly, "Explain the difference between TCP and UDP."},
	}
	for _, p := range prompts {
		ask(t, base, nodeapi.AskRequest{Prompt: p.prompt, Policy: string(p.policy)})
	}

	dom := headless(t, bin, base+"/", "--dump-dom")
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(dom, " ")
	checks := []struct {
		name string
		ok   bool
	}{
		{"the event stream is live", strings.Contains(dom, `id="live" class="badge live">live<`)},
		{"four recent queries", strings.Contains(text, "(last 4)")},
		{"a local query", strings.Contains(dom, `class="badge local">local<`)},
		{"a swarm query", strings.Contains(dom, `class="badge swarm">swarm<`)},
		{"a cloud query with its tokens", strings.Contains(dom, `class="badge cloud">cloud<`) && regexp.MustCompile(`yes · [1-9]\d* tokens`).MatchString(text)},
		{"the node itself marked", strings.Contains(text, "(this node)")},
		{"two connected peers", strings.Contains(text, "(2 connected)")},
		// Trust comes from checked outcomes (router.Judge): these four
		// queries may check none, and then each peer says so.
		{"each peer's trust, or that none is known yet", regexp.MustCompile(`class="bar"><i style="width: \d+%;?"></i></span> [01]\.\d\d`).MatchString(dom) || strings.Contains(text, "no votes yet")},
		{"the chart's bars by route", strings.Contains(dom, `data-route="local"`) && strings.Contains(dom, `data-route="cloud"`)},
		{"the budget's share", strings.Contains(text, "(budget 25%)")},
		{"no prompt", !strings.Contains(text, "capital of France") && !strings.Contains(text, "17 * 23")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("dashboard does not show %s", c.name)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
	if out := os.Getenv("SWARM_DASHBOARD_PNG"); out != "" {
		headless(t, bin, base+"/", "--screenshot="+out, "--hide-scrollbars")
		t.Logf("screenshot in %s", out)
	}
}
