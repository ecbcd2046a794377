package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/store"
	"github.com/hookgate/hookgate/store/cluster"
)

// runServe is `hookgate serve`: load and validate the whole config (an
// unknown key, a bad value or a missing secret stops here, naming the key),
// open the store, serve until SIGINT/SIGTERM, then shut down gracefully:
// stop accepting, let requests in flight finish (bounded by
// server.shutdown_timeout), and only then close Badger.
func runServe(args []string, _, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	cfgPath := configFlag(fs)
	listen := fs.String("listen", "", "listen address, overrides server.listen (e.g. 127.0.0.1:9090)")
	data := fs.String("data", "", "Badger data directory, overrides server.data_dir")
	nodeID := fs.String("node-id", "", "cluster node id, overrides cluster.node_id (turns clustering on)")
	raftAddr := fs.String("raft-addr", "", "cluster Raft address host:port, overrides cluster.raft_addr")
	peers := fs.String("peers", "", "cluster voters id=host:port,... overrides cluster.peers")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	overrides := func() config.Overrides {
		return config.Overrides{Listen: *listen, DataDir: *data, NodeID: *nodeID, RaftAddr: *raftAddr, Peers: config.ParsePeers(*peers)}
	}
	cfg, err := config.Load(*cfgPath, overrides())
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, stderr)
	slog.SetDefault(logger)
	for _, w := range cfg.SecretWarnings() {
		logger.Warn("weak secret", "problem", w)
	}

	if err := os.MkdirAll(cfg.Server.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	st, err := store.Open(cfg.Server.DataDir, store.Options{Logger: logger, EncryptionKey: cfg.Store.EncryptionKey,
		// A cluster node's durable copy is its Raft log (see store.Options).
		NoSync: cfg.Cluster.Enabled()})
	if err != nil {
		return err
	}
	// Cluster (when [cluster] node_id or --node-id is set): every store
	// operation goes through the Raft log from here on.
	var node *cluster.Node
	if cfg.Cluster.Enabled() {
		if node, err = startCluster(cfg, st, logger); err != nil {
			_ = st.Close()
			return err
		}
	}
	closeStore := func() error {
		var err error
		if node != nil {
			err = node.Close()
		}
		return errors.Join(err, st.Close())
	}
	audit := store.NewAuditLog(st, store.AuditOptions{Logger: logger})
	// The gateway, assembled in one place (gateway.Build): the Okta
	// Management API part (when okta.org_url is set: /v1/okta/sync, System
	// Log catch-up, the okta_action host function for plugins), the event
	// pipeline ([[on_event]] plugin runs through the durable queue with
	// retries and dead letters, time-boxed grants revoked on expiry), the
	// inline hooks and live reload (SIGHUP, POST /v1/reload: gateway.toml
	// and the plugins are rebuilt off to the side and swapped in
	// atomically, or refused with the reason while this generation keeps
	// serving; settings built once here need a restart, see
	// gateway/reload_keys.go).
	//
	// Every [[plugin]] is compiled in the background (in parallel; seconds
	// each on a cold cache) while the listener already serves. Until a
	// hook's plugin is ready the hook answers 503 JSON, /readyz lists what
	// is still loading, and Okta deliveries are accepted and committed as
	// always (their [[on_event]] work waits in the queue: the workers start
	// once the plugins are installed).
	var srv *gateway.Server
	srv, err = gateway.Build(gateway.Options{
		Config: cfg, Store: st, Logger: logger, Audit: audit, Cluster: node,
		Reload: &gateway.ReloadOptions{
			Load: func() (*config.Config, error) {
				return config.Load(*cfgPath, overrides())
			},
			LoadPlugins: func(ctx context.Context, c *config.Config) (*hook.PluginSet, error) {
				return hook.LoadPlugins(ctx, gateway.PluginOptions(c), st, logger, hook.WithOktaActions(srv.Okta()))
			},
			Applied: func(c *config.Config) { setLogLevel(c.Log) },
		},
	})
	if err != nil {
		_ = audit.Close()
		_ = closeStore()
		return err
	}
	oktaAPI := srv.Okta()
	srv.StartLoading()
	// closeHooks runs after the server stopped and before the store closes.
	closeHooks := func() {
		_ = audit.Close()
		// The current generation's plugins (the installed start-up set or
		// a reloaded one).
		_ = srv.ClosePlugins()
	}
	ln, err := listenHTTP(cfg)
	if err != nil {
		closeHooks()
		_ = closeStore()
		return err
	}
	logger.Info("hookgate starting", "version", version, "config", cfg.Path, "data_dir", cfg.Server.DataDir)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			logger.Info("SIGHUP: reloading", "config", cfg.Path)
			if _, err := srv.Reload(context.Background()); err != nil {
				logger.Error("reload refused; the running configuration keeps serving", "via", "SIGHUP", "err", err)
			}
		}
	}()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	pipeCtx, stopPipe := context.WithCancel(context.Background())
	// System Log catch-up now (in the background) and every
	// okta.catchup_interval; stopped with the pipeline.
	// In a cluster both run on the leader only (below).
	oktaRan := make(chan error, 1)
	if node == nil {
		go func() { oktaRan <- oktaAPI.Run(pipeCtx) }()
	} else {
		oktaRan <- nil
	}

	logger.Info("loading plugins", "plugins", len(cfg.Plugin), "cache_dir", cfg.Plugins.CacheDir)
	type loadResult struct {
		ps  *hook.PluginSet
		err error
	}
	loadCtx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	loadedCh := make(chan loadResult, 1)
	go func() {
		ps, err := hook.LoadPlugins(loadCtx, gateway.PluginOptions(cfg), st, logger, hook.WithOktaActions(oktaAPI),
			hook.WithLoaded(func(name string, took time.Duration) {
				logger.Info("plugin ready", "plugin", name, "took", took.Round(time.Millisecond))
				srv.PluginLoaded(name)
			}))
		loadedCh <- loadResult{ps, err}
	}()

	var serveErr error
	var piped chan error // set once the pipeline runs
	shutdown := func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.Duration)
		serveErr = errors.Join(serveErr, srv.Shutdown(sctx))
		cancel()
		if err := <-served; err != nil {
			serveErr = errors.Join(serveErr, err)
		}
	}
wait:
	for {
		select {
		case serveErr = <-served:
			// The listener failed on its own; still close the store cleanly.
			break wait
		case <-ctx.Done():
			logger.Info("shutting down: finishing requests in flight", "timeout", cfg.Server.ShutdownTimeout.Duration)
			shutdown()
			break wait
		case r := <-loadedCh:
			loadedCh = nil
			if r.err == nil {
				r.err = srv.InstallPlugins(r.ps)
				if r.err != nil {
					_ = r.ps.Close()
				}
			}
			if r.err != nil {
				// A plugin that does not compile stops the gateway, as a
				// bad config does; what was acknowledged is committed.
				logger.Error("plugins failed to load; shutting down", "err", r.err)
				serveErr = r.err
				shutdown()
				break wait
			}
			piped = make(chan error, 1)
			if node == nil {
				go func() { piped <- srv.RunWork(pipeCtx) }()
				continue
			}
			// Cluster: queue workers, grant scheduler and System Log
			// catch-up run on the leader only, started each time this
			// node becomes leader (once per term) and stopped when it
			// loses leadership; a new leader's worker first releases the
			// leases of earlier runs (at least once overall).
			piped <- nil
			node.OnLeader(func(ctx context.Context) error {
				// The queue worker failing (its recovery or a claim could
				// not commit) ends both; the node runs them again while
				// it is still leader in this term.
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				var wg sync.WaitGroup
				var werr error
				wg.Go(func() {
					defer cancel()
					if werr = srv.RunWork(ctx); werr != nil {
						werr = fmt.Errorf("leader: event pipeline stopped: %w", werr)
					}
				})
				wg.Go(func() {
					if err := oktaAPI.RunCatchUp(ctx); err != nil {
						logger.Error("leader: Okta catch-up stopped", "err", err)
					}
				})
				wg.Wait()
				return werr
			})
		}
	}
	if loadedCh != nil {
		// Stopped while the plugins were still compiling.
		stopLoad()
		if r := <-loadedCh; r.ps != nil {
			_ = r.ps.Close()
		}
	}
	// Work still running is left leased and runs again after the next start.
	stopPipe()
	if node != nil {
		node.OnLeader(nil)
		oktaAPI.Close() // a running sync stops (Run does this on one node)
	}
	if piped != nil {
		if err := <-piped; err != nil {
			serveErr = errors.Join(serveErr, err)
		}
	}
	if err := <-oktaRan; err != nil { // a running sync stops here too
		serveErr = errors.Join(serveErr, err)
	}
	closeHooks()
	if err := closeStore(); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("close store: %w", err))
	}
	if serveErr != nil {
		return serveErr
	}
	logger.Info("stopped cleanly")
	return nil
}

// newLogger builds the slog logger for [log] level and format (validated by
// config.Load).
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	setLogLevel(c)
	opts := &slog.HandlerOptions{Level: logLevel}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logLevel is the level of the logger newLogger builds; a reload changes
// it (log.level is live, log.format needs a restart).
var logLevel = new(slog.LevelVar)

// setLogLevel applies [log] level (validated by config.Load).
func setLogLevel(c config.Log) {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	logLevel.Set(level)
}

// listenHTTP opens server.listen, serving HTTPS when [server]
// tls_cert_file and tls_key_file are set.
func listenHTTP(cfg *config.Config) (net.Listener, error) {
	var conf *tls.Config
	if cfg.Server.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.Server.TLSCertFile, cfg.Server.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("server.tls_cert_file / tls_key_file: %w", err)
		}
		conf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (server.listen / --listen): %w", cfg.Server.Listen, err)
	}
	if conf != nil {
		ln = tls.NewListener(ln, conf)
	}
	return ln, nil
}

// startCluster joins this node to its cluster ([cluster]) and routes the
// store's writes through the Raft log.
func startCluster(cfg *config.Config, st *store.Store, logger *slog.Logger) (*cluster.Node, error) {
	c := cfg.Cluster
	conf, err := cluster.LoadTLS(cluster.TLSFiles{CA: c.CAFile(), Cert: c.CertFile(), Key: c.KeyFile()})
	if err != nil {
		return nil, fmt.Errorf("cluster.tls_dir: %w", err)
	}
	var peers []cluster.Peer
	for _, p := range c.PeerList() {
		peers = append(peers, cluster.Peer{ID: p.ID, Addr: p.Addr})
	}
	node, err := cluster.Start(cluster.Options{
		NodeID: c.NodeID, RaftAddr: c.RaftAddr, Peers: peers,
		Dir: filepath.Join(cfg.Server.DataDir, "raft"), TLS: conf,
		HeartbeatTimeout: c.HeartbeatTimeout.Duration, ElectionTimeout: c.ElectionTimeout.Duration,
		LeaderLeaseTimeout: c.LeaderLeaseTimeout.Duration, ApplyTimeout: c.ApplyTimeout.Duration,
		SnapshotThreshold: uint64(c.SnapshotThreshold), SnapshotInterval: c.SnapshotInterval.Duration,
		TrailingLogs: uint64(c.TrailingLogs), MaxLag: uint64(c.MaxLag),
		State: st, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	st.SetWriter(cluster.Writer(node))
	logger.Info("cluster node started", "node", c.NodeID, "raft_addr", c.RaftAddr, "peers", len(peers))
	return node, nil
}
