// Command swarmllm runs a swarm node and talks to one.
//
//	swarmllm node  [flags]      run a node (flags have SWARM_* environment twins)
//	swarmllm ask   "question"   ask a node (--trace shows where the answer came from)
//	swarmllm peers              list the swarm as a node sees it
//	swarmllm demo               a three-node swarm on loopback with simulated models
//	swarmllm eval  [flags]      score a workload through a node, policy against policy
//	swarmllm sim   slm|cloud    run a simulated backend (a test instrument)
//	swarmllm health             exit 0 when a node can answer (container healthchecks)
//	swarmllm keygen --swarm-key FILE   make a private swarm key
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/swarmllm/swarmllm/node"
)

type command struct {
	run   func(ctx context.Context, args []string) error
	usage string
}

var commands = map[string]command{
	"node":   {runNode, "run a swarm node"},
	"ask":    {runAsk, "ask a node a question"},
	"peers":  {runPeers, "list the swarm's peers and what each can do"},
	"demo":   {runDemo, "start a three-node demo swarm on loopback (simulated models)"},
	"sim":    {runSim, "run a simulated SLM or cloud FM backend (test instrument)"},
	"eval":   {runEval, "score a workload through a node, policy against policy"},
	"health": {runHealth, "check a node: exit 0 when it can answer (for healthchecks)"},
	"keygen": {runKeygen, "make a private swarm key file (--swarm-key FILE)"},
}

var commandOrder = []string{"node", "ask", "peers", "health", "keygen", "demo", "eval", "sim"}

func main() {
	bi, ok := debug.ReadBuildInfo()
	node.Version = buildVersion(bi, ok, node.Version)
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Println("swarmllm", version())
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "swarmllm: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return 2
	}
	// SIGINT/SIGTERM cancel ctx; each command shuts down cleanly from there.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "swarmllm %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: swarmllm <command> [flags]\n\ncommands:")
	for _, name := range commandOrder {
		fmt.Fprintf(w, "  %-6s %s\n", name, commands[name].usage)
	}
	fmt.Fprintln(w, "\nRun 'swarmllm <command> -h' for a command's flags.")
}
