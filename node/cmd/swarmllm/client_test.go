package main

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestParseInterspersed(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		wantWords string
		wantTrace bool
		wantPol   string
	}{
		{"flags first", []string{"--trace", "--policy", "swarm", "What", "is", "2+2?"}, "What is 2+2?", true, "swarm"},
		{"flags last", []string{"What is 2+2?", "--trace", "--policy", "cloud-only"}, "What is 2+2?", true, "cloud-only"},
		{"flags between words", []string{"What", "--trace", "is", "it?"}, "What is it?", true, ""},
		{"double dash keeps dashes", []string{"--trace", "--", "-5", "--policy"}, "-5 --policy", true, ""},
		{"no flags", []string{"hello"}, "hello", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("ask", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			trace := fs.Bool("trace", false, "")
			policy := fs.String("policy", "", "")
			words, err := parseInterspersed(fs, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(words, " "); got != tc.wantWords || *trace != tc.wantTrace || *policy != tc.wantPol {
				t.Fatalf("words %q trace %v policy %q; want %q %v %q", got, *trace, *policy, tc.wantWords, tc.wantTrace, tc.wantPol)
			}
		})
	}
	fs := flag.NewFlagSet("ask", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseInterspersed(fs, []string{"q", "--nope"}); err == nil {
		t.Fatal("unknown flag after the question accepted")
	}
}
