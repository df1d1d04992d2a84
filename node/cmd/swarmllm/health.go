package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/swarmllm/swarmllm/node/api"
)

// errUnhealthy is returned when the node answered but is not ready.
var errUnhealthy = errors.New("not healthy")

// runHealth is a probe for containers and scripts: it exits 0 when the node
// can answer and, with --records N, also knows the capability records of at
// least N nodes (itself included), i.e. has joined a swarm of that size.
// FROM scratch images have no shell or curl, so healthchecks need it.
func runHealth(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("swarmllm health", flag.ContinueOnError)
	addr := apiFlag(fs)
	records := fs.Int("records", 0, "also require capability records of at least this many nodes, itself included")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the node")
	quiet := fs.Bool("q", false, "print nothing; the exit status says it all")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: swarmllm health [flags]\n\nExits 0 when the node at --api is healthy (and joined, with --records), 1 otherwise.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	out := io.Writer(os.Stdout)
	if *quiet {
		out = io.Discard
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	return health(ctx, out, *addr, *records)
}

func health(ctx context.Context, w io.Writer, addr string, minRecords int) error {
	c, err := api.NewClient(addr)
	if err != nil {
		return err
	}
	h, err := c.Health(ctx)
	if err != nil {
		return fmt.Errorf("check %s: %w", addr, err)
	}
	if !h.Healthy {
		msg := h.Problem
		if h.Hint != "" {
			msg += " (" + h.Hint + ")"
		}
		return fmt.Errorf("%s: %w: %s", addr, errUnhealthy, msg)
	}
	n := 0
	if minRecords > 0 {
		recs, err := c.Records(ctx)
		if err != nil {
			return fmt.Errorf("check %s: %w", addr, err)
		}
		if n = len(recs); n < minRecords {
			return fmt.Errorf("%s: %w: knows the records of %d of %d nodes", addr, errUnhealthy, n, minRecords)
		}
	}
	fmt.Fprintf(w, "healthy: %s serves %s, %s connected", addr, h.Model, plural(h.Peers, "peer"))
	if minRecords > 0 {
		fmt.Fprintf(w, ", %d records", n)
	}
	fmt.Fprintln(w)
	if h.Warning != "" {
		fmt.Fprintln(w, "warning:", h.Warning)
	}
	return nil
}
