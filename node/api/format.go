package api

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/swarmllm/swarmllm/router"
)

// FormatTrace prints a trace for people (`swarmllm ask --trace`): the route
// and why, what the classifier saw, the local attempt and the decision on its
// first tokens, each peer's proposal,
// the ballots and tally, the cloud call and the timings.
func FormatTrace(w io.Writer, t *router.Trace) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(key, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", key, fmt.Sprintf(format, args...))
	}
	line("route:", "%s (policy %s)", t.Route, orDash(string(t.Policy)))
	line("reason:", "%s", orDash(t.Reason))
	c := t.Classification
	var classFlags []string
	if c.MultiStep {
		classFlags = append(classFlags, " multi-step")
	}
	pii := make([]string, len(c.PII))
	for i, k := range c.PII {
		pii[i] = string(k)
	}
	line("classified:", "domains %s, difficulty %.2f, safety %s, pii %s%s",
		list(c.Domains), c.Difficulty, orDash(string(c.Safety)), list(pii), strings.Join(classFlags, ""))
	if l := t.Local; l != nil {
		u, detail := l.Uncertainty, ""
		if u.Tokens > 0 {
			detail = fmt.Sprintf(" (mean logprob %.2f, min %.2f, entropy %.2f over %d tokens)", u.MeanLogprob, u.MinLogprob, u.MeanEntropy, u.Tokens)
		}
		line("local:", "%s confidence %.2f%s %s%s", l.Model, l.Confidence, detail, millis(l.LatencyMS), errSuffix(l.Err))
	}
	if pr := t.Prefix; pr != nil {
		first := ""
		if pr.FirstTextMS > 0 {
			first = ", first words at " + millis(pr.FirstTextMS)
		}
		line("prefix:", "%s on %d tokens, confidence %.2f, at %s%s", pr.Verdict, pr.Tokens, pr.Confidence, millis(pr.AtMS), first)
	}
	for i, p := range t.Peers {
		outcome := quote(p.Answer)
		if p.Err != "" {
			outcome = "error: " + p.Err
		}
		line(fmt.Sprintf("peer [%d]:", i), "%s %s confidence %.2f %s  %s", shortID(p.Peer), p.Model, p.Confidence, millis(p.LatencyMS), outcome)
	}
	for _, b := range t.Ballots {
		line("ballot:", "%s -> %s weight %.2f", shortID(b.Voter), choice(b.Choice), b.Weight)
	}
	if tl := t.Tally; tl != nil {
		line("tally:", "%s, winner %s, share %.2f, %d ballots (quorum %d), escalate weight %.2f",
			tl.Outcome, choice(tl.Winner), tl.Share, tl.Ballots, tl.Quorum, tl.Escalate)
	}
	for _, s := range t.Chain {
		line("chain:", "%s by %s %s %s", s.Role, shortID(s.Peer), s.Model, millis(s.LatencyMS))
	}
	if cl := t.Cloud; cl != nil {
		if cl.Summoned {
			redacted := ""
			if len(cl.Redactions) > 0 {
				redacted = ", redacted " + strings.Join(cl.Redactions, ", ")
			}
			line("cloud:", "%s %s, %d+%d tokens%s%s", cl.Model, millis(cl.LatencyMS), cl.PromptTokens, cl.CompletionTokens, redacted, errSuffix(cl.Err))
		} else {
			line("cloud:", "not summoned%s", errSuffix(cl.Err))
		}
	}
	if len(t.Flags) > 0 {
		line("flags:", "%s", strings.Join(t.Flags, ", "))
	}
	tm := t.Timings
	stages := []struct {
		name string
		ms   float64
	}{{"classify", tm.ClassifyMS}, {"local", tm.LocalMS}, {"discover", tm.DiscoverMS}, {"peers", tm.PeersMS},
		{"vote", tm.VoteMS}, {"cloud", tm.CloudMS}, {"total", tm.TotalMS}}
	var parts []string
	for _, s := range stages {
		if s.ms > 0 || s.name == "total" {
			parts = append(parts, s.name+" "+millis(s.ms))
		}
	}
	line("timings:", "%s", strings.Join(parts, ", "))
	if t.QueryID != "" || t.Node != "" {
		line("query:", "%s on node %s", orDash(t.QueryID), orDash(shortID(t.Node)))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "-"
	}
	return strings.Join(xs, "+")
}

func millis(ms float64) string { return strconv.FormatFloat(ms, 'f', 1, 64) + "ms" }

func choice(i int) string {
	if i == router.Escalate {
		return "escalate"
	}
	return fmt.Sprintf("[%d]", i)
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return " error: " + e
}

// quote shows an answer on one line, cut to a readable length.
func quote(s string) string {
	const max = 60
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}

// shortID keeps a peer id recognisable but short: 12D3Ko…a1b2c3.
func shortID(id string) string {
	if len(id) <= 16 {
		return id
	}
	return id[:6] + "…" + id[len(id)-6:]
}
