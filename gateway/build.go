package gateway

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/gateway/internal/oktaapi"
	"github.com/hookgate/hookgate/gateway/internal/work"
	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/store"
	"github.com/hookgate/hookgate/store/cluster"
)

// Options are Build's inputs: what `hookgate serve` has opened before the
// gateway is assembled.
type Options struct {
	// Config is the validated start-up config.
	Config *config.Config
	// Store is the open store (replicated when Cluster is set).
	Store *store.Store
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Audit receives the records of hook calls, event plugin runs and
	// plugin actions on Okta (nil: none).
	Audit *store.AuditLog
	// Cluster is this node's Raft membership (nil: a single node).
	Cluster *cluster.Node
	// Okta tunes the Okta Management API part; Okta.Client defaults to
	// the one built from Config.Okta when an org is configured.
	Okta OktaOptions
	// Deciders are the plugins the first generation decides with. Nil:
	// placeholders for every [[plugin]] (hook.StartupDeciders) answer 503
	// until InstallPlugins (call StartLoading before Serve).
	Deciders map[string]hook.Decider
	// Reload, when set, enables Reload and POST /v1/reload.
	Reload *ReloadOptions
}

// OktaOptions tune the Okta Management API part (see oktaapi.Options).
type OktaOptions struct {
	Client  *okta.Client
	Sync    okta.SyncOptions
	Refresh okta.RefresherOptions
}

// Build is the composition root: it assembles the whole gateway from its
// parts, each given what it needs, in this order:
//
//  1. the server (New): generation 1 of the config, metrics, the console;
//  2. the cluster membership, when there is one (EnableCluster);
//  3. the Okta Management API part (oktaapi.New): catch-up ingests through
//     the server, and users first seen in an event are looked up through it;
//  4. the durable work (work.New): the queue worker, [[on_event]] plugin
//     runs (the Okta ingest path plans them) and time-boxed grants, whose
//     expiry deprovisions through the current generation's dispatcher;
//  5. the inline hooks (hook.NewDispatcher, EnableHooks), recording grants
//     through the work's Grants;
//  6. live reload (EnableReload), when asked for.
//
// The /v1 API over these parts is the route table (routes.go). Then call
// Serve, RunWork (on the cluster leader only) and Okta().Run.
func Build(o Options) (*Server, error) {
	s := New(o.Config, o.Store, o.Logger)
	if o.Cluster != nil {
		s.EnableCluster(o.Cluster)
	}
	oo := oktaapi.Options{
		Okta: o.Config.Okta, OnEvent: o.Config.OnEvent, Store: o.Store, Gateway: oktaGateway{s: s}, Client: o.Okta.Client, Audit: o.Audit,
		Sync: o.Okta.Sync, Refresh: o.Okta.Refresh, Logger: s.log,
	}
	if o.Cluster != nil {
		oo.Leader = o.Cluster // syncs run on the leader
	}
	oktaAPI, err := oktaapi.New(oo)
	if err != nil {
		return nil, err
	}
	s.okta = oktaAPI
	deciders := o.Deciders
	if deciders == nil {
		deciders = hook.StartupDeciders(o.Config.Plugin)
	}
	s.work = work.New(work.Options{
		Store: o.Store, Queue: o.Config.Queue, Grants: o.Config.Grants, // [queue], [grants]
		Hooks: currentDispatcher{s: s}, Live: liveWork{s: s, fallback: deciders},
		Audit: o.Audit, Logger: s.log,
	})
	s.m.reg.MustRegister(s.work.Collector())
	do := HookOptions(o.Config)
	do.Plugins, do.Audit, do.Recorder, do.Logger = deciders, o.Audit, s.work.Grants, s.log
	s.EnableHooks(hook.NewDispatcher(do))
	if o.Reload != nil {
		s.EnableReload(*o.Reload)
	}
	return s, nil
}

// HookOptions maps gateway.toml onto hook.NewDispatcher's options: the
// [[route]] and [responses.<kind>] tables, hooks.timeout and
// hooks.durable_audit. The caller adds Plugins, Audit, Recorder and Logger.
func HookOptions(cfg *config.Config) hook.DispatcherOptions {
	return hook.DispatcherOptions{
		Routes: cfg.Route, Responses: cfg.Responses,
		Timeout: cfg.Hooks.Timeout.Duration, DurableAudit: cfg.Hooks.DurableAudit,
	}
}

// PluginOptions maps gateway.toml onto hook.LoadPlugins' options:
// [plugins].cache_dir and the [[plugin]] tables (filled with the
// [plugins] defaults by config.Load).
func PluginOptions(cfg *config.Config) hook.PluginsOptions {
	return hook.PluginsOptions{CacheDir: cfg.Plugins.CacheDir, Plugins: cfg.Plugin}
}

// Okta returns the Okta Management API part (Build; nil for a bare New
// server). It implements plugins.OktaActions for the plugin host.
func (s *Server) Okta() *oktaapi.API { return s.okta }

// RunWork drains the queue and scans grant expiries until ctx ends (Build;
// a bare New server has no work and returns at once). Items still running
// are left leased and run again after the next start.
func (s *Server) RunWork(ctx context.Context) error {
	if s.work == nil {
		return nil
	}
	return s.work.Run(ctx)
}

// currentDispatcher dispatches on the current generation's dispatcher,
// holding the generation for the call (expired grants are deprovisioned by
// whatever a reload installed).
type currentDispatcher struct{ s *Server }

// Dispatch runs one hook on the current generation.
func (c currentDispatcher) Dispatch(ctx context.Context, kind string, raw []byte, via string) (hook.Outcome, error) {
	g := c.s.acquire()
	defer g.release()
	if g.Dispatcher == nil {
		return hook.Outcome{Kind: kind}, fmt.Errorf("%s: inline hooks are not enabled on this server", kind)
	}
	return g.Dispatcher.Dispatch(ctx, kind, raw, via)
}

// liveWork is work.Live over the current generation: its [[on_event]]
// subscriptions and its dispatcher's plugins (fallback before there is
// one).
type liveWork struct {
	s        *Server
	fallback map[string]hook.Decider
}

// Subscriptions returns the current generation's [[on_event]] tables.
func (l liveWork) Subscriptions() []config.OnEvent { return l.s.gen.Load().Config.OnEvent }

// AcquirePlugins holds the current generation until release.
func (l liveWork) AcquirePlugins() (map[string]hook.Decider, func()) {
	g := l.s.acquire()
	if g.Dispatcher == nil {
		return l.fallback, g.release
	}
	return g.Dispatcher.Plugins(), g.release
}
