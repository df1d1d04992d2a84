//go:build unix

package realollama

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/swarmllm/swarmllm/testnet/internal/gguf"
)

// Defaults.
const (
	DefaultStartTimeout = 30 * time.Second
	// CreateTimeout bounds one Create (upload + model creation) when the
	// caller's context has no earlier deadline.
	CreateTimeout = 2 * time.Minute
	// stopGrace is how long Close waits after SIGTERM before SIGKILL.
	stopGrace = 5 * time.Second
	// startAttempts covers losing the probed free port to another process
	// between probing and ollama binding it.
	startAttempts = 3
	pollInterval  = 50 * time.Millisecond
	logTailBytes  = 4 << 10
)

// errExited means the process ended before it became ready.
var errExited = errors.New("ollama serve exited before it was ready")

type options struct {
	startTimeout time.Duration
	modelsDir    string
	env          []string
}

// Option configures Start.
type Option func(*options)

// WithStartTimeout bounds the wait for the server to answer /api/version.
func WithStartTimeout(d time.Duration) Option { return func(o *options) { o.startTimeout = d } }

// WithModelsDir sets OLLAMA_MODELS, e.g. to share created models between
// servers; by default each server has its own empty store.
func WithModelsDir(dir string) Option { return func(o *options) { o.modelsDir = dir } }

// WithEnv adds KEY=VALUE settings (e.g. "OLLAMA_NUM_PARALLEL=2"); they come
// after, so override, the ones Start sets.
func WithEnv(kv ...string) Option { return func(o *options) { o.env = append(o.env, kv...) } }

// Server is one running `ollama serve`. Its process (and the runners it
// spawns) live in their own process group, which Close ends.
type Server struct {
	t         testing.TB
	cmd       *exec.Cmd
	addr      string
	base      *url.URL
	client    *api.Client
	transport *http.Transport
	logPath   string

	exited  chan struct{} // closed once cmd.Wait returned
	waitErr error         // written before exited is closed

	closeOnce sync.Once
}

// Start runs `bin serve` on a free 127.0.0.1 port with a temporary home and
// model store, waits until it answers, and registers Close with t.Cleanup.
// It fails the test if the server does not come up.
func Start(ctx context.Context, t testing.TB, bin string, opts ...Option) *Server {
	t.Helper()
	o := options{startTimeout: DefaultStartTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.startTimeout <= 0 {
		t.Fatalf("realollama: start timeout %v must be positive", o.startTimeout)
	}
	dir := t.TempDir()
	if o.modelsDir == "" {
		o.modelsDir = filepath.Join(dir, "models")
	}
	home := filepath.Join(dir, "home")
	for _, d := range []string{o.modelsDir, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("realollama: %v", err)
		}
	}
	var err error
	for attempt := range startAttempts {
		var s *Server
		s, err = start(ctx, t, bin, o, home, filepath.Join(dir, fmt.Sprintf("serve-%d.log", attempt)))
		if err == nil {
			t.Cleanup(s.Close)
			return s
		}
		if !errors.Is(err, errExited) {
			break
		}
	}
	t.Fatalf("realollama: start %s: %v", bin, err)
	return nil
}

func start(ctx context.Context, t testing.TB, bin string, o options, home, logPath string) (*Server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	defer logf.Close() // the child has its own descriptor

	// Not exec.CommandContext: the process must outlive ctx until Close.
	cmd := exec.Command(bin, "serve")
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"OLLAMA_HOST=" + addr,
		"OLLAMA_MODELS=" + o.modelsDir,
		"OLLAMA_NO_CLOUD=1",
	}, o.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}

	transport := &http.Transport{
		Proxy:               nil, // loopback only, whatever HTTP_PROXY says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 8,
	}
	base := &url.URL{Scheme: "http", Host: addr}
	s := &Server{
		t:         t,
		cmd:       cmd,
		addr:      addr,
		base:      base,
		client:    api.NewClient(base, &http.Client{Transport: transport}),
		transport: transport,
		logPath:   logPath,
		exited:    make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, o.startTimeout); err != nil {
		s.Close()
		return nil, fmt.Errorf("%w\n%s", err, s.logTail())
	}
	return s, nil
}

// freeLoopbackAddr asks the kernel for a free port; ollama binds it right
// after, and Start retries if another process got there first.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("probe free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		_, err := s.client.Version(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%w: %v", errExited, s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("wait for ollama on %s: %w (last error: %v)", s.addr, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// URL is the server's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.base.String() }

// Addr is the server's host:port, the form OLLAMA_HOST takes.
func (s *Server) Addr() string { return s.addr }

// Client is an Ollama API client for this server.
func (s *Server) Client() *api.Client { return s.client }

// Logs returns what the server has written to stdout and stderr so far.
func (s *Server) Logs() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(read ollama log: %v)", err)
	}
	return string(b)
}

func (s *Server) logTail() string {
	l := s.Logs()
	if len(l) > logTailBytes {
		l = "…" + l[len(l)-logTailBytes:]
	}
	return "ollama serve log:\n" + l
}

// Create uploads the GGUF file at ggufPath as a blob and creates model name
// from it, with the chat template and parameters testnet/internal/gguf models need.
func (s *Server) Create(ctx context.Context, name, ggufPath string) error {
	ctx, cancel := context.WithTimeout(ctx, CreateTimeout)
	defer cancel()
	digest, err := fileDigest(ggufPath)
	if err != nil {
		return fmt.Errorf("create model %s: %w", name, err)
	}
	f, err := os.Open(ggufPath)
	if err != nil {
		return fmt.Errorf("create model %s: %w", name, err)
	}
	defer f.Close()
	if err := s.client.CreateBlob(ctx, digest, f); err != nil {
		return fmt.Errorf("create model %s: upload blob: %w", name, err)
	}
	stream := false
	req := &api.CreateRequest{
		Model:      name,
		Stream:     &stream,
		Files:      map[string]string{filepath.Base(ggufPath): digest},
		Template:   gguf.ChatTemplate,
		Parameters: gguf.Parameters(),
	}
	var status string
	if err := s.client.Create(ctx, req, func(p api.ProgressResponse) error {
		status = p.Status
		return nil
	}); err != nil {
		return fmt.Errorf("create model %s: %w", name, err)
	}
	if status != "success" {
		return fmt.Errorf("create model %s: final status %q", name, status)
	}
	return nil
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("digest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("digest %s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Close stops the server and every process in its group (the model
// runners too): SIGTERM, then SIGKILL after a grace period. If the test
// failed, it logs the tail of the server's output. Safe to call twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		pgid := s.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(stopGrace):
		}
		// Runners may outlive the leader; nothing in the group may survive.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
		s.transport.CloseIdleConnections()
		if s.t.Failed() {
			s.t.Logf("realollama %s: %s", s.addr, s.logTail())
		}
	})
}
