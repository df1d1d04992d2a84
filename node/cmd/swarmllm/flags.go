package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
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

// buildVersion is this binary's version: the main module's version as the
// build stamped it (a release tag, or a pseudo-version naming the commit
// when built from a clone), else the commit alone, else fallback (go run,
// tests).
func buildVersion(bi *debug.BuildInfo, ok bool, fallback string) string {
	if !ok {
		return fallback
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		return fallback + "+" + rev[:min(12, len(rev))] + dirty
	}
	return fallback
}
