package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/swarmllm/swarmllm/cms"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/collab"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/node/p2p"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// Version is this build's software version, reported in records and /api/version.
var Version = "0.1.0-dev"

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("node closed")

// Node is one running swarm member. Create it with New, serve with Run, stop with Close.
type Node struct {
	cfg     config.Config
	opts    options
	dirLock *os.File // held on --data-dir while the node lives
	log     *slog.Logger
	reg     *prometheus.Registry

	host   host.Host
	allow  *p2p.Allowlist // nil without --allow-peers
	scores *p2p.AppScores // the application part of gossip peer scores
	dht    *dht.IpfsDHT
	ps     *pubsub.PubSub
	mdns   mdns.Service
	conn   *connector
	apiLn  net.Listener
	apiSrv *http.Server

	backend *slm.Ollama
	monitor *slm.Monitor
	cloud   *slm.Cloud // nil when no cloud FM is configured

	storeMu     sync.Mutex // guards cms against the monitor's first callbacks
	cms         *cms.Store
	ranker      *cms.Ranker
	collab      *collab.Collab
	classifier  *router.Classifier
	selfDomains []string // normalized --domains
	rules       router.Rules
	budget      *router.Budget
	apiKeys     *nodeapi.Keyring
	reputation  *router.Reputation
	load        loadMeter
	metrics     *nodeMetrics
	// cloudDownUntil (unix ns) is when a failed cloud FM may be tried again.
	cloudDownUntil atomic.Int64

	ctx    context.Context // cancelled by Close: every goroutine the node starts watches it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Option configures a Node beyond its Config.
type Option func(*options)

type options struct {
	log            *slog.Logger
	reg            *prometheus.Registry
	healthInterval time.Duration
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithHealthInterval sets how often the model backend is probed (default 5 s).
func WithHealthInterval(d time.Duration) Option { return func(o *options) { o.healthInterval = d } }

// WithRegistry sets the Prometheus registry /metrics serves (default a fresh one,
// so several in-process nodes never collide).
func WithRegistry(r *prometheus.Registry) Option { return func(o *options) { o.reg = r } }

// New validates cfg, loads or creates the identity, and starts the libp2p host,
// DHT, gossipsub and the HTTP listener. The node answers peers at once; Run
// starts discovery and serves the HTTP API.
func New(cfg config.Config, opts ...Option) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	o := options{log: slog.Default(), healthInterval: 5 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.reg == nil {
		o.reg = prometheus.NewRegistry()
		o.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{cfg: cfg, log: o.log, reg: o.reg, opts: o, ctx: ctx, cancel: cancel}
	defer func() {
		if err != nil {
			_ = n.Close()
		}
	}()

	if n.dirLock, err = lockDataDir(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	key, err := loadOrCreateIdentity(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	hostOpts, err := n.hostOptions(key)
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	if err := checkListen(n.cfg.Listen); err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	n.host, err = libp2p.New(hostOpts...)
	if err != nil {
		return nil, fmt.Errorf("new node: start libp2p host: %w", err)
	}
	if n.allow != nil {
		n.allow.Start(n.host.Network())
	}
	n.log = n.log.With("node", n.host.ID().ShortString())

	n.dht, err = dht.New(n.host,
		dht.Mode(dht.ModeServer), // ModeAuto stays a client on a LAN and the DHT never forms
		dht.ProtocolPrefix(protocol.DHTProtocolPrefix),
		dht.NamespacedValidator(protocol.CapabilityNamespace, cms.Validator{}),
	)
	if err != nil {
		return nil, fmt.Errorf("new node: start DHT: %w", err)
	}
	n.ps, err = pubsub.NewGossipSub(ctx, n.host, n.gossipOptions(
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		// Without flood publish a message sent before the mesh forms (~1 s) is lost.
		pubsub.WithFloodPublish(true),
	)...)
	if err != nil {
		return nil, fmt.Errorf("new node: start gossipsub: %w", err)
	}

	if err := n.startModels(); err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	if err := n.startSwarm(); err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	n.apiLn, err = net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("new node: listen for HTTP API on %s: %w", cfg.APIAddr, err)
	}
	return n, nil
}

// ID is the node's peer id.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Host exposes the libp2p host (tests and tools dial through it).
func (n *Node) Host() host.Host { return n.host }

// Addrs are the node's full p2p multiaddrs (with /p2p/<id>), for --bootstrap.
func (n *Node) Addrs() []multiaddr.Multiaddr {
	addrs, _ := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()})
	return addrs
}

// APIAddr is the address the HTTP API listens on (useful with port 0).
func (n *Node) APIAddr() string { return n.apiLn.Addr().String() }

// Run starts discovery and the model monitor and serves the HTTP API until ctx
// is done or Close is called. It returns nil on a clean stop.
func (n *Node) Run(ctx context.Context) error {
	if n.ctx.Err() != nil {
		return ErrClosed
	}
	n.conn = newConnector(n.host, n.log)
	if len(n.cfg.Bootstrap) > 0 {
		addrs := make([]multiaddr.Multiaddr, 0, len(n.cfg.Bootstrap))
		for _, s := range n.cfg.Bootstrap {
			a, err := multiaddr.NewMultiaddr(s) // validated with the config
			if err == nil {
				addrs = append(addrs, a)
			}
		}
		n.conn.keepBootstrapped(addrs)
	}
	if n.cfg.MDNS {
		n.mdns = mdns.NewMdnsService(n.host, mdnsService, n.conn)
		if err := n.mdns.Start(); err != nil {
			return fmt.Errorf("run node: start mDNS: %w", err)
		}
	}
	n.log.Info("node running", "peer", n.host.ID(), "api", n.APIAddr(), "model", n.cfg.Model, "addrs", n.host.Addrs())

	serveErr := make(chan error, 1)
	n.apiSrv = nodeapi.NewHTTPServer(n.httpHandler())
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.apiSrv.Serve(n.apiLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	}()
	select {
	case <-ctx.Done():
		return nil
	case <-n.ctx.Done():
		return nil
	case err := <-serveErr:
		return fmt.Errorf("run node: serve HTTP API: %w", err)
	}
}

// Close stops everything the node started, in reverse order, and waits for its
// goroutines. Safe to call more than once and before Run.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		n.cancel()
		if n.apiSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			if err := n.apiSrv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop HTTP API: %w", err))
				_ = n.apiSrv.Close()
			}
			cancel()
		} else if n.apiLn != nil {
			_ = n.apiLn.Close()
		}
		if n.mdns != nil {
			if err := n.mdns.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stop mDNS: %w", err))
			}
		}
		if n.conn != nil {
			n.conn.Close()
		}
		n.wg.Wait()
		// Peers and queries stop reaching the model before the model's monitor goes.
		if n.collab != nil {
			if err := n.collab.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stop collaboration: %w", err))
			}
		}
		if n.cms != nil {
			if err := n.cms.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stop capability store: %w", err))
			}
		}
		if n.monitor != nil {
			_ = n.monitor.Close()
		}
		if n.dht != nil {
			if err := n.dht.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stop DHT: %w", err))
			}
		}
		if n.allow != nil {
			_ = n.allow.Close()
		}
		if n.host != nil {
			if err := n.host.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stop libp2p host: %w", err))
			}
		}
		if n.dirLock != nil {
			_ = n.dirLock.Close() // releases the lock
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// startModels builds the model clients, the routing state and the health monitor.
func (n *Node) startModels() error {
	var err error
	if n.metrics, err = newNodeMetrics(n.reg); err != nil {
		return err
	}
	for _, d := range n.cfg.Domains {
		n.selfDomains = append(n.selfDomains, cms.NormalizeDomain(d))
	}
	n.rules = n.cfg.Rules()
	if err := n.rules.Validate(); err != nil {
		return fmt.Errorf("routing rules: %w", err)
	}
	if n.classifier, err = router.NewClassifier(); err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	if n.apiKeys, err = n.cfg.LoadAPIKeys(); err != nil {
		return fmt.Errorf("API keys: %w", err)
	}
	if n.budget, err = router.NewBudget(n.cfg.BudgetOptions(n.apiKeys)...); err != nil {
		return fmt.Errorf("cloud budget: %w", err)
	}
	if n.reputation, err = router.NewReputation(); err != nil {
		return fmt.Errorf("reputation: %w", err)
	}
	if n.backend, err = slm.NewOllama(n.cfg.OllamaURL, n.cfg.Model); err != nil {
		return err
	}
	if n.cfg.CloudURL != "" {
		if n.cloud, err = slm.NewCloud(n.cfg.CloudURL, n.cfg.CloudModel, n.cfg.CloudAPIKey); err != nil {
			return err
		}
	}
	// The store does not exist yet when the first probe lands; changes after
	// it exists republish the record (model pulled, Ollama back, facts known).
	n.monitor, err = slm.NewMonitor(n.backend, slm.WithLogger(n.log), slm.WithInterval(n.opts.healthInterval), slm.WithOnChange(func(slm.Status) {
		if s := n.cmsStore(); s != nil {
			s.Changed()
		}
	}))
	return err
}

// startSwarm joins the CMS and collaboration protocols.
func (n *Node) startSwarm() error {
	var emb cms.Embedder = cms.LexicalEmbedder{}
	if n.cfg.EmbedModel != "" {
		e, err := slm.NewOllamaEmbedder(n.backend, n.cfg.EmbedModel)
		if err != nil {
			return err
		}
		emb = e
	}
	n.ranker = cms.NewRanker(emb)
	topic, err := n.ps.Join(protocol.TopicCMS)
	if err != nil {
		return fmt.Errorf("join %s: %w", protocol.TopicCMS, err)
	}
	store, err := cms.New(n.host, n.dht, topic, n, cms.WithEmbedder(emb), cms.WithRegisterer(n.reg), cms.WithLogger(n.log))
	if err != nil {
		return fmt.Errorf("start capability store: %w", err)
	}
	if err := n.ps.RegisterTopicValidator(protocol.TopicCMS, store.GossipValidator()); err != nil {
		_ = store.Close()
		return fmt.Errorf("register %s validator: %w", protocol.TopicCMS, err)
	}
	n.storeMu.Lock()
	n.cms = store
	n.storeMu.Unlock()
	n.collab, err = collab.New(n.host, n.ps, n,
		collab.WithLogger(n.log), collab.WithRegisterer(n.reg),
		collab.WithThresholds(n.rules.Thresholds), collab.WithReputation(n.reputation))
	if err != nil {
		return fmt.Errorf("start collaboration: %w", err)
	}
	return nil
}

// cmsStore is the store once it exists (the monitor's callback may fire first).
func (n *Node) cmsStore() *cms.Store {
	n.storeMu.Lock()
	defer n.storeMu.Unlock()
	return n.cms
}
