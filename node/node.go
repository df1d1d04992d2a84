package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
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

	"github.com/swarmllm/swarmllm/cms"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/cmssync"
	"github.com/swarmllm/swarmllm/node/collab"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/node/internal/metrics"
	"github.com/swarmllm/swarmllm/node/knowledge"
	"github.com/swarmllm/swarmllm/node/p2p"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/node/spend"
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
	// unregister takes the node's metrics out of reg again, at Close.
	unregister func()

	host   host.Host
	allow  *p2p.Allowlist // nil without --allow-peers
	scores *p2p.AppScores // the application part of gossip peer scores
	dht    *dht.IpfsDHT
	ps     *pubsub.PubSub
	mdns   mdns.Service
	conn   *connector
	live   *p2p.Liveness // closes silent peers' connections, redials them
	apiLn  net.Listener
	apiSrv *http.Server

	model     *localModel
	cms       *cms.Store
	cmsSync   *cmssync.Service // the store's pulls and the serving of peers' pulls
	collab    *collab.Collab
	spend     *spend.Gossip // the swarm-wide cloud budget; nil without a swarm cap
	engine    *engine
	apiKeys   *nodeapi.Keyring
	activity  *activity           // what the dashboard shows of the node's queries
	trust     *router.TrackRecord // peers' track records, saved in --data-dir
	calib     *calibration        // the local model's confidence calibration, saved in --data-dir
	knowledge *knowledge.Index    // the --knowledge documents; nil without

	ctx    context.Context // cancelled by Close: every goroutine the node starts watches it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// runMu orders what Run starts (mDNS, the HTTP server's goroutine)
	// before Close stops it: Run and Close may be called from different goroutines.
	runMu     sync.Mutex
	closeOnce sync.Once
	closeErr  error
}

// Option configures a Node beyond its Config.
type Option func(*options)

type options struct {
	log            *slog.Logger
	reg            *prometheus.Registry
	healthInterval time.Duration
	budgetInterval time.Duration
	wrapHost       func(host.Host) host.Host
}

// WithHostWrapper wraps the libp2p host every part of the node uses (the
// DHT, gossipsub, the ask protocol), so a test can see every byte the node
// writes on its streams (the knowledge wire test).
func WithHostWrapper(f func(host.Host) host.Host) Option { return func(o *options) { o.wrapHost = f } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithHealthInterval sets how often the model backend is probed (default 5 s).
func WithHealthInterval(d time.Duration) Option { return func(o *options) { o.healthInterval = d } }

// WithBudgetInterval sets how often the node repeats its claim on the
// swarm-wide cloud budget (default spend.DefaultInterval); a node joining
// reserves nothing for three intervals.
func WithBudgetInterval(d time.Duration) Option { return func(o *options) { o.budgetInterval = d } }

// WithRegistry sets the Prometheus registry /metrics serves (default a fresh
// one). The node registers every area's metrics in it, the Go and process
// collectors included, so it must be this node's alone; Close unregisters them.
func WithRegistry(r *prometheus.Registry) Option { return func(o *options) { o.reg = r } }

// New validates cfg, loads or creates the identity, and starts the libp2p host,
// DHT, gossipsub and the HTTP listener. The node answers peers at once; Run
// starts discovery and serves the HTTP API.
func New(cfg config.Config, opts ...Option) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	o := options{log: slog.Default(), healthInterval: 5 * time.Second, budgetInterval: spend.DefaultInterval}
	for _, opt := range opts {
		opt(&o)
	}
	if o.reg == nil {
		o.reg = prometheus.NewRegistry()
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
	if o.wrapHost != nil {
		n.host = o.wrapHost(n.host)
	}
	if n.allow != nil {
		n.allow.Start(n.host.Network())
	}
	n.log = n.log.With("node", n.host.ID().ShortString())
	heard := p2p.NewHeard()
	live := p2p.DefaultLiveness()
	live.Heard = heard
	if n.live, err = p2p.NewLiveness(n.host, live, n.log); err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}

	n.dht, err = dht.New(n.host,
		dht.Mode(dht.ModeServer), // ModeAuto stays a client on a LAN and the DHT never forms
		dht.ProtocolPrefix(protocol.DHTProtocolPrefix),
		dht.NamespacedValidator(protocol.CapabilityNamespace, cms.Validator{}),
	)
	if err != nil {
		return nil, fmt.Errorf("new node: start DHT: %w", err)
	}
	if len(cfg.Relays) > 0 {
		if err := n.meetOtherSites(); err != nil {
			return nil, fmt.Errorf("new node: watch own addresses: %w", err)
		}
	}
	n.ps, err = pubsub.NewGossipSub(ctx, n.host, n.gossipOptions(
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		// Without flood publish a message sent before the mesh forms (~1 s) is lost.
		pubsub.WithFloodPublish(true),
		pubsub.WithRawTracer(heard.Tracer()), // gossip from a peer is proof of life
	)...)
	if err != nil {
		return nil, fmt.Errorf("new node: start gossipsub: %w", err)
	}

	if err := n.build(); err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	n.apiLn, err = net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("new node: listen for HTTP API on %s: %w", cfg.APIAddr, err)
	}
	n.apiLn = nodeapi.LimitConnsPerIP(n.apiLn, nodeapi.DefaultMaxConnsPerIP)
	api, err := n.newAPI()
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	// Built here, not in Run, so a Close racing Run never sees it half made.
	n.apiSrv = nodeapi.NewHTTPServer(api)
	// Every area's metrics, registered in one place, all or none.
	cs := append(metrics.Runtime(), n.engine.metrics.collectors()...)
	cs = append(cs, n.cms.Collectors()...)
	cs = append(cs, n.cmsSync.Collectors()...)
	cs = append(cs, n.collab.Collectors()...)
	if n.spend != nil {
		cs = append(cs, n.spend.Collectors()...)
	}
	cs = append(cs, api.Collectors()...)
	if n.unregister, err = metrics.Register(n.reg, cs...); err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	n.wg.Add(1)
	go n.saveTrustPeriodically()
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

// Run starts discovery and serves the HTTP API until ctx
// is done or Close is called. It returns nil on a clean stop.
func (n *Node) Run(ctx context.Context) error {
	n.runMu.Lock()
	if n.ctx.Err() != nil {
		n.runMu.Unlock()
		return ErrClosed
	}
	// A relay is a member too: staying connected to it is how a node behind
	// a NAT meets the other sites (the DHT and gossip run through it).
	if boot := append(slices.Clone(n.cfg.Bootstrap), n.cfg.Relays...); len(boot) > 0 {
		addrs := make([]multiaddr.Multiaddr, 0, len(boot))
		for _, s := range boot {
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
			n.runMu.Unlock()
			return fmt.Errorf("run node: start mDNS: %w", err)
		}
	}
	n.log.Info("node running", "peer", n.host.ID(), "api", n.APIAddr(), "model", n.cfg.Model, "addrs", n.host.Addrs())

	serveErr := make(chan error, 1)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.apiSrv.Serve(n.apiLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	}()
	n.runMu.Unlock()
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
		n.runMu.Lock() // a Run under way has started all it starts; later ones see ctx cancelled
		defer n.runMu.Unlock()
		if n.apiSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			if err := n.apiSrv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop HTTP API: %w", err))
				_ = n.apiSrv.Close()
			}
			cancel()
		}
		if n.apiLn != nil {
			_ = n.apiLn.Close() // Serve closes it too, but Run may never have run
		}
		if n.mdns != nil {
			if err := n.mdns.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stop mDNS: %w", err))
			}
		}
		if n.conn != nil {
			n.conn.Close()
		}
		if n.live != nil {
			_ = n.live.Close()
		}
		n.wg.Wait()
		if n.trust != nil {
			if err := saveTrackRecord(n.cfg.DataDir, n.trust); err != nil {
				errs = append(errs, err)
			}
		}
		if n.calib != nil {
			if err := n.calib.save(n.cfg.DataDir); err != nil {
				errs = append(errs, err)
			}
		}
		if n.spend != nil {
			_ = n.spend.Close() // says goodbye while the host still can
		}
		// Peers and queries stop reaching the model before the model's monitor goes.
		if n.collab != nil {
			if err := n.collab.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stop collaboration: %w", err))
			}
		}
		if n.knowledge != nil {
			_ = n.knowledge.Close() // before the store its changes republish through
		}
		if n.cmsSync != nil {
			_ = n.cmsSync.Close() // peers' pulls stop reading the store; its own pulls end
		}
		if n.cms != nil {
			if err := n.cms.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stop capability store: %w", err))
			}
		}
		if n.model != nil {
			_ = n.model.close()
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
		if n.unregister != nil {
			n.unregister() // the registry can take a node rebuilt in process
		}
		if n.dirLock != nil {
			_ = n.dirLock.Close() // releases the lock
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// build wires the parts on top of the host, DHT and gossipsub: the local
// model, the capability store (which describes the node through the model,
// and pulls and serves records through node/cmssync),
// collaboration (which answers peers with it), the query pipeline and the
// engine the HTTP API serves. The model's monitor starts once the store
// exists, so every change of the backend's health reaches the record.
func (n *Node) build() error {
	rules := n.cfg.Rules()
	if err := rules.Validate(); err != nil {
		return fmt.Errorf("routing rules: %w", err)
	}
	n.conn = newConnector(n.host, n.log) // Run starts it; /healthz asks it about peers
	var err error
	if n.apiKeys, err = n.cfg.LoadAPIKeys(); err != nil {
		return fmt.Errorf("API keys: %w", err)
	}
	if n.model, err = newLocalModel(n.cfg, rules.Thresholds.Weights, n.log, n.opts.healthInterval); err != nil {
		return err
	}
	var emb cms.Embedder = cms.LexicalEmbedder{}
	if n.cfg.EmbedModel != "" {
		if emb, err = slm.NewOllamaEmbedder(n.model.backend, n.cfg.EmbedModel); err != nil {
			return err
		}
	}
	// The index exists before the store, which reads it for the record;
	// its changes republish the record once the store is there.
	var store atomic.Pointer[cms.Store]
	if n.cfg.Knowledge != "" {
		idx, err := knowledge.New(n.cfg.Knowledge, n.cfg.DataDir, emb, knowledge.WithLogger(n.log),
			knowledge.WithOnChange(func() {
				if s := store.Load(); s != nil {
					s.Changed()
				}
			}))
		if err != nil {
			return fmt.Errorf("--knowledge: %w", err)
		}
		n.knowledge = idx
		n.model.docs = &documents{model: n.model, index: idx}
	}
	topic, err := n.ps.Join(protocol.TopicCMS)
	if err != nil {
		return fmt.Errorf("join %s: %w", protocol.TopicCMS, err)
	}
	// The store pulls the records it lacks through the service, which then
	// serves peers' pulls from the store: cms opens no streams itself.
	if n.cmsSync, err = cmssync.New(n.host, cmssync.WithLogger(n.log)); err != nil {
		return fmt.Errorf("start capability sync: %w", err)
	}
	if n.cms, err = cms.New(n.host, n.dht, topic, n.model, cms.WithEmbedder(emb), cms.WithLogger(n.log),
		cms.WithPuller(n.cmsSync)); err != nil {
		return fmt.Errorf("start capability store: %w", err)
	}
	n.cmsSync.Serve(n.cms)
	if err := n.ps.RegisterTopicValidator(protocol.TopicCMS, n.cms.GossipValidator()); err != nil {
		return fmt.Errorf("register %s validator: %w", protocol.TopicCMS, err)
	}
	store.Store(n.cms)
	if n.knowledge != nil {
		n.cms.Changed() // an index loaded before the store was there
	}
	// Changes republish the record (model pulled, Ollama back, facts known).
	n.model.start(n.cms.Changed)

	if n.trust, err = loadTrackRecord(n.cfg.DataDir, n.cfg.TrustParams(), n.log); err != nil {
		return err
	}
	if n.calib, err = loadCalibration(n.cfg.DataDir, n.log); err != nil {
		return err
	}
	if n.collab, err = collab.New(n.host, n.ps, n.model,
		collab.WithLogger(n.log),
		collab.WithThresholds(rules.Thresholds), collab.WithTrackRecord(n.trust),
		// The swarm's size as this node knows it: the records it holds and its own.
		collab.WithSwarmSize(func() int { return len(n.cms.Records()) + 1 })); err != nil {
		return fmt.Errorf("start collaboration: %w", err)
	}
	if n.cfg.SwarmCapped() {
		if n.spend, err = spend.New(n.host, n.ps, spend.WithLogger(n.log), spend.WithInterval(n.opts.budgetInterval),
			spend.WithBudget(n.cfg.SwarmBudgetOptions()...)); err != nil {
			return fmt.Errorf("start swarm budget: %w", err)
		}
	}
	p, err := n.newPipeline(rules, emb)
	if err != nil {
		return err
	}
	n.activity = newActivity(n.cfg, p.queries, p.budget, n.trust)
	n.engine = &engine{pipeline: p, model: n.model, host: n.host, store: n.cms,
		peerProblem: func() string { return n.conn.PeerProblem(n.cfg.MDNS) }}
	return nil
}

// newPipeline builds the query pipeline over this node's model, peers,
// collaboration and cloud FM.
func (n *Node) newPipeline(rules router.Rules, emb cms.Embedder) (*pipeline, error) {
	f, err := newFinder(n.host, n.cms, emb, n.trust, n.collab.Excluded, n.collab.PeerLoad, n.cfg.TopK, n.log)
	if err != nil {
		return nil, err
	}
	p := &pipeline{
		self: n.host.ID().String(), model: n.model, swarm: n.collab,
		peers: f, peerKnowledge: f,
		rules: rules, trust: n.trust, calib: n.calib, gossip: gossipScorer{scores: n.scores, trust: n.trust},
		askTimeout: n.cfg.AskTimeout, voteTimeout: n.cfg.VoteTimeout, log: n.log,
		peerPrivacy: router.PeerPrivacy(n.cfg.SwarmKey != "", router.PrivacyPolicy(n.cfg.PeerPrivacy)),
		piiModel:    n.cfg.PIIModel, piiTimeout: n.cfg.PIITimeout,
		streamer: n.model, prefixRule: n.cfg.PrefixRule(),
	}
	if n.model.docs != nil {
		p.knowledge = n.model.docs
	}
	for _, d := range n.cfg.Domains {
		p.selfDomains = append(p.selfDomains, cms.NormalizeDomain(d))
	}
	if p.queries, err = nodeapi.NewQueryLog(nodeapi.DefaultRecentQueries); err != nil {
		return nil, err
	}
	p.metrics = newNodeMetrics()
	if p.classifier, err = router.NewClassifier(); err != nil {
		return nil, fmt.Errorf("classifier: %w", err)
	}
	budget := n.cfg.BudgetOptions(n.apiKeys)
	if n.spend != nil {
		budget = append(budget, router.WithSwarm(n.spend.Budget()))
	}
	if p.budget, err = router.NewBudget(budget...); err != nil {
		return nil, fmt.Errorf("cloud budget: %w", err)
	}
	if p.cloudBreaker, err = router.NewBreaker(cloudCooldown, cloudMaxCooldown); err != nil {
		return nil, fmt.Errorf("cloud breaker: %w", err)
	}
	if n.cfg.CloudURL != "" {
		cloud, err := slm.NewCloud(n.cfg.CloudURL, n.cfg.CloudModel, n.cfg.CloudAPIKey,
			slm.WithCloudTimeouts(n.cfg.CloudConnectTimeout, n.cfg.CloudFirstByteTimeout))
		if err != nil {
			return nil, err
		}
		p.cloud = cloud
	}
	return p, nil
}

// newAPI is the HTTP API over the node's engine.
func (n *Node) newAPI() (*nodeapi.Server, error) {
	srv, err := nodeapi.NewServer(n.engine,
		nodeapi.WithGatherer(n.reg),
		nodeapi.WithLogger(n.log),
		nodeapi.WithVersion(Version),
		nodeapi.WithAskTimeout(n.cfg.LocalTimeout+n.cfg.RoundTimeout),
		nodeapi.WithListenAddr(n.APIAddr()),
		nodeapi.WithAllowedHosts(n.cfg.APIHosts...),
		nodeapi.WithCORSOrigins(n.cfg.CORSOrigins...),
		nodeapi.WithKeys(n.apiKeys),
		nodeapi.WithInsecure(n.cfg.APIInsecure),
		nodeapi.WithPolicyCeiling(n.cfg.Policy),
		nodeapi.WithBudget(n.engine.budget),
		nodeapi.WithActivity(n.activity),
	)
	if err != nil {
		return nil, fmt.Errorf("build HTTP API: %w", err)
	}
	return srv, nil
}

// Peers lists the connected peers with what their capability records say
// (the API's /swarm/v1/peers, for tests and tools in process).
func (n *Node) Peers(ctx context.Context) []nodeapi.PeerInfo { return n.engine.Peers(ctx) }

// Health says whether the node can answer and why not (the API's /healthz,
// for tests and tools in process).
func (n *Node) Health(ctx context.Context) nodeapi.Health { return n.engine.Health(ctx) }

// Records lists every capability record this node knows, its own first
// (the API's /swarm/v1/cms, for tests and tools in process).
func (n *Node) Records(ctx context.Context) []cms.RecordView { return n.engine.Records(ctx) }
