package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
)

// apiFlag registers --api with its SWARM_API twin, shared by the client commands.
func apiFlag(fs *flag.FlagSet) *string {
	def := config.DefaultAPIAddr
	if v, ok := os.LookupEnv(config.EnvName("api")); ok {
		def = v
	}
	return fs.String("api", def, "address of the node's HTTP API")
}

func runAsk(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("swarmllm ask", flag.ContinueOnError)
	addr := apiFlag(fs)
	policy := fs.String("policy", "", "routing policy for this query (default: the node's)")
	model := fs.String("model", "", "model to ask (default: the node's)")
	trace := fs.Bool("trace", false, "print where the answer came from: route, reason, peers, votes, timings")
	timeout := fs.Duration("timeout", api.DefaultClientTimeout, "how long to wait for the answer")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: swarmllm ask [flags] "question"`)
		fs.PrintDefaults()
	}
	words, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	prompt := strings.TrimSpace(strings.Join(words, " "))
	if prompt == "" {
		fs.Usage()
		return fmt.Errorf("no question given")
	}
	return ask(ctx, os.Stdout, *addr, api.AskRequest{Prompt: prompt, Policy: *policy, Model: *model}, *trace, *timeout)
}

// parseInterspersed parses flags wherever they stand, so `ask "question"
// --trace` works like `ask --trace "question"`; the flag package alone stops
// at the first word. A "--" ends the flags: what follows is all question.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for len(args) > 0 {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(words, rest...), nil
		}
		if len(rest) == 0 {
			break
		}
		words, args = append(words, rest[0]), rest[1:]
	}
	return words, nil
}

func ask(ctx context.Context, w io.Writer, addr string, req api.AskRequest, trace bool, timeout time.Duration) error {
	c, err := api.NewClient(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := c.Ask(ctx, req)
	if err != nil {
		return fmt.Errorf("ask %s: %w", addr, err)
	}
	fmt.Fprintln(w, res.Answer)
	if trace {
		fmt.Fprintln(w)
		return api.FormatTrace(w, &res.Trace)
	}
	return nil
}

func runPeers(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("swarmllm peers", flag.ContinueOnError)
	addr := apiFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := api.NewClient(*addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	peers, err := c.Peers(ctx)
	if err != nil {
		return fmt.Errorf("list peers at %s: %w", *addr, err)
	}
	records, err := c.Records(ctx)
	if err != nil {
		return fmt.Errorf("list capability records at %s: %w", *addr, err)
	}
	return printPeers(os.Stdout, peers, records, time.Now())
}

// printPeers shows every known capability record, and connected peers that
// have not published one yet; self's row is marked.
func printPeers(w io.Writer, peers []api.PeerInfo, records []cms.RecordView, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tMODEL\tDOMAINS\tHEALTH\tLOAD\tTOK/S\tEXPIRES IN\tCONNECTED")
	connected := map[string]bool{}
	for _, p := range peers {
		connected[p.ID] = true
	}
	seen := map[string]bool{}
	for _, r := range records {
		seen[r.Peer] = true
		health := "healthy"
		if !r.Healthy {
			health = "unhealthy"
		}
		expires := "-"
		if !r.Expires.IsZero() {
			expires = r.Expires.Sub(now).Round(time.Second).String()
		}
		id, conn := shortID(r.Peer), strconv.FormatBool(connected[r.Peer])
		if r.Self {
			id, conn = id+" (self)", "self"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d+%d\t%.0f\t%s\t%s\n", id, r.Model, strings.Join(r.Domains, ","),
			health, r.InFlight, r.Queue, r.TokensPerSec, expires, conn)
	}
	for _, p := range peers {
		if !seen[p.ID] {
			fmt.Fprintf(tw, "%s\t(no record yet)\t\t\t\t\t\ttrue\n", shortID(p.ID))
		}
	}
	return tw.Flush()
}

func shortID(id string) string {
	if len(id) <= 16 {
		return id
	}
	return id[:6] + "…" + id[len(id)-6:]
}
