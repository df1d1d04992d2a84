package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/swarmllm/swarmllm/node/p2p"
)

// runKeygen makes a new private swarm key file.
func runKeygen(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("swarmllm keygen", flag.ContinueOnError)
	path := fs.String("swarm-key", "", "where to write the new swarm key (refuses to overwrite)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: swarmllm keygen --swarm-key FILE\n\nWrites a new private swarm key (IPFS swarm.key format, mode 0600). Copy it to every\nmember and start each node with --swarm-key FILE: nodes without it cannot connect.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("want exactly --swarm-key FILE")
	}
	if err := p2p.WriteSwarmKey(*path); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote a new swarm key to %s; copy it to every member and start each node with --swarm-key %s\n", *path, *path)
	return nil
}
