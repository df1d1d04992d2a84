package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
)

// parseFlags parses a command's flags. -h prints the command's full usage; a
// bad flag returns only the error and where to find the flags, so the error
// is not pushed off screen by sixty lines of usage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
	case err != nil:
		err = fmt.Errorf("%w (run '%s -h' for its flags)", err, fs.Name())
	}
	return err
}

// plural spells a count with its noun: "1 peer", "2 peers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
