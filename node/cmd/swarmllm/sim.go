package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

const simUsage = `usage: swarmllm sim slm|cloud [flags]

Runs a simulated backend: a test instrument, not a model. Answers come from a
workload file; every model name starts with "sim-".

  swarmllm sim slm   --addr 127.0.0.1:11501 --profile sim-qwen2.5:0.5b[,NAME…]
                     an Ollama-API-compatible server (point a node's --ollama here)
  swarmllm sim cloud --addr 127.0.0.1:11600
                     an OpenAI-compatible cloud FM stand-in (a node's --cloud-url)

Both serve POST /sim/down, POST /sim/up (slm: ?model=NAME for one model) and
GET /sim/stats. Run 'swarmllm sim slm -h' or 'swarmllm sim cloud -h' for flags.`

// runSim runs `swarmllm sim slm|cloud` until ctx is cancelled.
func runSim(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("missing backend kind\n\n%s", simUsage)
	}
	switch args[0] {
	case "slm":
		return runSimSLM(ctx, args[1:], os.Stdout)
	case "cloud":
		return runSimCloud(ctx, args[1:], os.Stdout)
	case "-h", "--help", "help":
		fmt.Fprintln(os.Stderr, simUsage)
		return flag.ErrHelp
	default:
		return fmt.Errorf("unknown backend kind %q\n\n%s", args[0], simUsage)
	}
}

// simCommon are the flags both simulators share.
type simCommon struct {
	workload     string
	seed         uint64
	latencyScale float64
	logLevel     string
	fault        string
}

func (c *simCommon) register(fs *flag.FlagSet) {
	fs.StringVar(&c.workload, "workload", "", "workload CSV (dataset,qid,prompt,answer[,domain]); default: the shipped one")
	fs.Uint64Var(&c.seed, "seed", 0, "server-wide seed mixed into every draw (same seed, same answers)")
	fs.Float64Var(&c.latencyScale, "latency-scale", 1, "multiply every simulated latency (0 = answer at once)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug shows each prompt and answer")
	fs.StringVar(&c.fault, "fault", "", "start misbehaving, for fault runs: comma-separated slow=FACTOR (per-token latency), "+
		"complete=500|hang (completions), embed=500|hang (slm embeddings); empty or none: healthy")
}

func (c *simCommon) options() (*workload.Workload, []sim.Option, error) {
	wl := workload.Default()
	if c.workload != "" {
		var err error
		if wl, err = workload.LoadFile(c.workload); err != nil {
			return nil, nil, err
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, nil, fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	fault, err := sim.ParseFault(c.fault)
	if err != nil {
		return nil, nil, fmt.Errorf("--fault: %w", err)
	}
	if fault != (sim.Fault{}) {
		log.Warn("simulated backend starts with a fault", "fault", fault.String())
	}
	return wl, []sim.Option{sim.WithSeed(c.seed), sim.WithLatencyScale(c.latencyScale), sim.WithLogger(log), sim.WithFault(fault)}, nil
}

func parseSimFlags(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

func runSimSLM(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sim slm", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:11501", "listen address")
	names := fs.String("profile", sim.ProfileQwen, "comma-separated model profiles to serve (built in: "+
		strings.Join([]string{sim.ProfileQwen, sim.ProfileLlama, sim.ProfileSmol, sim.ProfileFast, sim.ProfileEmbed}, ", ")+")")
	embed := fs.String("embed-model", sim.ProfileEmbed, "embedding profile served alongside (empty: none)")
	profilesFile := fs.String("profiles", "", "JSON file with more profiles (an array; same names override built-ins)")
	set := fs.String("profile-set", sim.ProfileSetShipped, "built-in profiles to serve them from: "+strings.Join(sim.ProfileSets, " or ")+
		" (the same models with logprobs that separate right from wrong answers far less well)")
	var common simCommon
	common.register(fs)
	if err := parseSimFlags(fs, args); err != nil {
		return err
	}
	// the set's profiles override the built-ins, and a profiles file both
	extra, err := sim.ProfileSet(*set)
	if err != nil {
		return fmt.Errorf("--profile-set: %w", err)
	}
	if *profilesFile != "" {
		more, err := sim.LoadProfilesFile(*profilesFile)
		if err != nil {
			return err
		}
		extra = append(extra, more...)
	}
	var want []string
	for _, n := range strings.Split(*names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want = append(want, n)
		}
	}
	if *embed != "" && !slices.Contains(want, *embed) {
		want = append(want, *embed)
	}
	profiles, err := sim.SelectProfiles(want, extra)
	if err != nil {
		return err
	}
	wl, opts, err := common.options()
	if err != nil {
		return err
	}
	s, err := sim.NewSLM(wl, profiles, opts...)
	if err != nil {
		return err
	}
	srv, err := s.Start(ctx, *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "simulated Ollama (test instrument) serving %s from %d workload items at %s\n",
		strings.Join(s.Models(), ", "), wl.Len(), srv.URL())
	return serveUntilDone(ctx, srv)
}

func runSimCloud(ctx context.Context, args []string, stdout io.Writer) error {
	def := sim.DefaultCloudProfile()
	fs := flag.NewFlagSet("sim cloud", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:11600", "listen address")
	model := fs.String("model", def.Name, "model name to serve (must start with \"sim-\")")
	easy := fs.Float64("accuracy-easy", def.InDomain.Easy, "chance of a right answer on easy items")
	hard := fs.Float64("accuracy-hard", def.InDomain.Hard, "chance of a right answer on hard items")
	latency := fs.Duration("latency", time.Duration(def.Overhead), "fixed latency per request")
	tokenLatency := fs.Duration("token-latency", time.Duration(def.TokenLatency), "latency per output token")
	apiKey := fs.String("api-key", "", "require this bearer key on /v1/ (401 otherwise); empty: no key")
	var common simCommon
	common.register(fs)
	if err := parseSimFlags(fs, args); err != nil {
		return err
	}
	p := def
	p.Name = *model
	p.InDomain = sim.Accuracy{Easy: *easy, Hard: *hard}
	p.OutOfDomain = p.InDomain
	p.Overhead, p.TokenLatency = sim.Duration(*latency), sim.Duration(*tokenLatency)
	wl, opts, err := common.options()
	if err != nil {
		return err
	}
	if *apiKey != "" {
		opts = append(opts, sim.WithAPIKey(*apiKey))
	}
	c, err := sim.NewCloud(wl, p, opts...)
	if err != nil {
		return err
	}
	srv, err := c.Start(ctx, *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "simulated cloud FM (test instrument) serving %s at %s/v1\n", c.Model(), srv.URL())
	return serveUntilDone(ctx, srv)
}

func serveUntilDone(ctx context.Context, srv *sim.Server) error {
	<-ctx.Done()
	if err := srv.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stop simulated backend: %w", err)
	}
	return nil
}
