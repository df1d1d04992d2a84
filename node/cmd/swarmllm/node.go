package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/swarmllm/swarmllm/node"
	"github.com/swarmllm/swarmllm/node/config"
)

// shutdownGrace bounds how long a node may take to stop after SIGINT/SIGTERM.
const shutdownGrace = 5 * time.Second

func version() string { return node.Version }

// nodeConfig parses a node's flags over its SWARM_* environment over the defaults.
func nodeConfig(args []string) (config.Config, error) {
	cfg := config.Default()
	fs := flag.NewFlagSet("swarmllm node", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: swarmllm node [flags]\n\nEvery flag can also be set as SWARM_<NAME> (e.g. --data-dir ⇄ SWARM_DATA_DIR); flags win.")
		fs.PrintDefaults()
	}
	if err := config.ApplyEnv(fs, os.LookupEnv); err != nil {
		return cfg, fmt.Errorf("environment: %w", err)
	}
	if err := parseFlags(fs, args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	// The cloud API key is read from the environment only, never a flag (ps shows flags).
	cfg.CloudAPIKey = os.Getenv("SWARM_CLOUD_API_KEY")
	cfg.APIKeys = os.Getenv("SWARM_API_KEYS") // secrets, so never a flag either
	return cfg, cfg.Validate()
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated with the config
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func runNode(ctx context.Context, args []string) error {
	cfg, err := nodeConfig(args)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	n, err := node.New(cfg, node.WithLogger(log))
	if err != nil {
		return err
	}
	printJoinHint(os.Stdout, n.ID().String(), n.APIAddr(), n.Addrs(), cfg.RelayService)
	// SIGHUP re-reads the allow-peers file at once.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	hupDone := make(chan struct{})
	defer close(hupDone)
	go func() {
		for {
			select {
			case <-hup:
				if err := n.Reload(); err != nil {
					log.Error("reload on SIGHUP", "err", err)
				}
			case <-hupDone:
				return
			}
		}
	}()
	runErr := n.Run(ctx)
	log.Info("shutting down")
	done := make(chan error, 1)
	go func() { done <- n.Close() }()
	select {
	case err := <-done:
		if runErr != nil {
			return runErr
		}
		return err
	case <-time.After(shutdownGrace):
		return fmt.Errorf("shutdown took longer than %v; exiting anyway", shutdownGrace)
	}
}

// printJoinHint tells the operator, once at start, how other nodes join this
// one: a ready-to-paste --bootstrap per address (loopback ones work only from
// this machine), or --relay for a relay, and where the API is.
func printJoinHint(w io.Writer, id, apiAddr string, addrs []multiaddr.Multiaddr, relay bool) {
	fmt.Fprintf(w, "swarmllm node %s: HTTP API on http://%s\n", id, apiAddr)
	if len(addrs) == 0 {
		return
	}
	flag := "--bootstrap"
	if relay {
		flag = "--relay"
		fmt.Fprintln(w, "nodes at every site name this relay with any of (its public address, if it is not among them):")
	} else {
		fmt.Fprintln(w, "other nodes join this one with any of:")
	}
	for _, a := range addrs {
		note := ""
		if manet.IsIPLoopback(a) {
			note = "   # this machine only"
		}
		fmt.Fprintf(w, "  %s %s%s\n", flag, a, note)
	}
}
