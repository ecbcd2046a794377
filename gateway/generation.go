package gateway

// Live reload. Everything the gateway builds from gateway.toml that can
// change while it runs — the Okta and admin secrets and headers, the hook
// settings, the plugins (compiled, pools filled), the routes, the response
// tables and the [[on_event]] subscriptions — lives in one immutable
// Generation. The Server holds the current one behind an atomic pointer:
//
//   - A request (or a queue item) that may call a plugin acquires the
//     current generation (a reference count) and releases it when done, so
//     it finishes on the generation it started on.
//   - Reload builds the complete next generation off to the side (config
//     validated fully, secrets resolved from the environment, plugins
//     compiled and pools filled, routes and responses built). Any failure
//     refuses the reload with the reason and changes nothing. On success
//     one atomic store swaps it in; the old generation's plugins are closed
//     once its last holder released it.
//
// Reload fails closed: a change to any key it does not explicitly know how
// to apply (reloadable, reload_keys.go) makes it refuse with a message
// naming the keys and saying a restart is needed: a reload is all or
// nothing, never half applied.
//
// Where things go (for whoever adds features): per-request settings
// derived from gateway.toml belong in Generation (built in newGeneration /
// buildGeneration) and are read with s.gen.Load() (or s.acquire() when a
// plugin is called) and their keys are listed in reloadable; anything
// built once at start-up (the store, the audit log, the queue workers, an
// Okta API client) is assembled once by Build (build.go) from what
// cmd/hookgate/serve.go opened, and its keys need no listing: a change to
// them is refused.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/api"
	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/plugins"
)

// Generation is one complete, immutable assembly of what gateway.toml
// configures and a reload replaces. Requests hold it (reference counted)
// for their whole duration, so a reload never changes a request half way.
type Generation struct {
	// Seq numbers generations: 1 at start-up, +1 per successful reload.
	Seq uint64
	// Config is the validated config this generation was built from.
	Config *config.Config
	// Dispatcher runs the inline hooks (nil until EnableHooks).
	Dispatcher *hook.Dispatcher

	plugins *hook.PluginSet // owned: closed when the generation retires (nil: not owned)
	loaded  []*plugins.Plugin
	hooks   *HookHandler

	oktaPath   []byte
	oktaSecret [sha256.Size]byte
	adminToken [sha256.Size]byte

	refs atomic.Int64
}

// newGeneration derives the per-request settings of cfg.
func newGeneration(cfg *config.Config, seq uint64) *Generation {
	return &Generation{
		Seq:        seq,
		Config:     cfg,
		oktaPath:   []byte(cfg.Okta.Path),
		oktaSecret: sha256.Sum256([]byte(cfg.Okta.Secret)),
		adminToken: sha256.Sum256([]byte(cfg.Admin.Token)),
	}
}

// withHooks returns a copy of g serving inline hooks through d.
func (g *Generation) withHooks(s *Server, d *hook.Dispatcher) *Generation {
	n := newGeneration(g.Config, g.Seq)
	n.plugins = g.plugins
	n.Dispatcher = d
	n.hooks = NewHookHandler(g.Config, d, s.log)
	for _, dec := range d.Plugins() {
		if p := pluginOf(dec); p != nil {
			n.loaded = append(n.loaded, p)
		}
	}
	sort.Slice(n.loaded, func(i, j int) bool { return n.loaded[i].Name() < n.loaded[j].Name() })
	return n
}

// release ends a hold taken with Server.acquire.
func (g *Generation) release() { g.refs.Add(-1) }

// acquire returns the current generation, held until release. The re-check
// after the increment closes the race with a concurrent swap: a holder
// either is counted before the old generation's refs are watched (the
// swap happened after the Load) or backs off and takes the new one.
func (s *Server) acquire() *Generation {
	for {
		g := s.gen.Load()
		g.refs.Add(1)
		if s.gen.Load() == g {
			return g
		}
		g.refs.Add(-1)
	}
}

// Generation returns the generation serving new requests now (for tests
// and diagnostics; do not keep it across a call into a plugin).
func (s *Server) Generation() *Generation { return s.gen.Load() }

// ReloadOptions enable Reload (SIGHUP in `hookgate serve`, POST
// /v1/reload).
type ReloadOptions struct {
	// Load reads and fully validates gateway.toml again, with the same
	// command-line overrides as at start-up (config.Load).
	Load func() (*config.Config, error)
	// Plugins is the plugin set the current generation runs on. The server
	// owns it from now on: a reload closes it once no request holds it,
	// and ClosePlugins closes whichever set is current at shutdown.
	Plugins *hook.PluginSet
	// LoadPlugins loads the plugins of a new config; default
	// LoadPlugins(ctx, PluginOptions(cfg), store, logger). serve passes its load options
	// here (e.g. the Okta actions backend) so reloaded plugins get the
	// same host functions as at start-up.
	LoadPlugins func(ctx context.Context, cfg *config.Config) (*hook.PluginSet, error)
	// Applied, when set, runs after each successful reload with the new
	// config (serve adjusts the log level here).
	Applied func(*config.Config)
}

// EnableReload turns on Reload and POST /v1/reload on the admin API.
// Call it after EnableHooks and before Serve.
func (s *Server) EnableReload(o ReloadOptions) {
	s.reloadOpts = o
	g := s.gen.Load()
	if g.Dispatcher != nil {
		g = g.withHooks(s, g.Dispatcher)
	} else {
		g = newGeneration(g.Config, g.Seq)
	}
	g.plugins = o.Plugins
	s.gen.Store(g)
	s.reloadOn = true
}

// ReloadError is a refused reload. The running generation is unchanged.
type ReloadError struct {
	// RestartRequired is set when the new file changes a setting that only
	// takes effect at start-up.
	RestartRequired bool
	Err             error
}

func (e *ReloadError) Error() string { return "reload refused: " + e.Err.Error() }
func (e *ReloadError) Unwrap() error { return e.Err }

// ErrReloadDisabled is returned by Reload before EnableReload.
var ErrReloadDisabled = errors.New("reload is not enabled on this server")

// Reload re-reads gateway.toml and the plugins and swaps them in
// atomically; see the top of this file. A *ReloadError says why it was
// refused; the old generation then keeps serving unchanged. Reloads are
// serialized.
func (s *Server) Reload(ctx context.Context) (*Generation, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.reloadOpts.Load == nil {
		return nil, ErrReloadDisabled
	}
	if _, loading := s.stillLoading(); loading {
		return nil, errStillLoading
	}
	start := time.Now()
	g, err := s.buildNext(context.WithoutCancel(ctx))
	if err != nil {
		s.m.reloads[1].Inc()
		var re *ReloadError
		if !errors.As(err, &re) {
			err = &ReloadError{Err: err}
		}
		return nil, err
	}
	old := s.gen.Swap(g)
	s.m.reloads[0].Inc()
	s.retire(old)
	if s.reloadOpts.Applied != nil {
		s.reloadOpts.Applied(g.Config)
	}
	s.log.Info("configuration reloaded", "generation", g.Seq, "config", g.Config.Path,
		"plugins", len(g.loaded), "routes", len(g.Config.Route), "on_event", len(g.Config.OnEvent),
		"duration", time.Since(start))
	return g, nil
}

// buildNext builds the next generation off to the side.
func (s *Server) buildNext(ctx context.Context) (*Generation, error) {
	cfg, err := s.reloadOpts.Load()
	if err != nil {
		return nil, err
	}
	if err := restartOnly(s.cfg, cfg); err != nil {
		return nil, err
	}
	// A missing plugin file (the most common mistake) was refused by
	// Load, naming plugin[i] (name).path.
	old := s.gen.Load()
	load := s.reloadOpts.LoadPlugins
	if load == nil {
		load = func(ctx context.Context, cfg *config.Config) (*hook.PluginSet, error) {
			return hook.LoadPlugins(ctx, PluginOptions(cfg), s.st, s.log)
		}
	}
	ps, err := load(ctx, cfg)
	if err != nil {
		return nil, err
	}
	g := newGeneration(cfg, old.Seq+1)
	if old.Dispatcher != nil {
		// Successful provisioning records grants (the same recorder).
		do := HookOptions(cfg)
		do.Plugins, do.Audit, do.Recorder, do.Logger = ps.Deciders(), old.Dispatcher.Audit(), old.Dispatcher.Recorder(), s.log
		d := hook.NewDispatcher(do)
		s.m.instrument(d)
		g = g.withHooks(s, d)
	}
	g.plugins = ps
	return g, nil
}

// retire closes old's plugins once no request or queue item holds it.
// The wait is bounded by the longest call in flight (hooks.timeout).
func (s *Server) retire(old *Generation) {
	if old.plugins == nil {
		return
	}
	s.retiring.Go(func() {
		for old.refs.Load() > 0 {
			time.Sleep(5 * time.Millisecond)
		}
		if err := old.plugins.Close(); err != nil {
			s.log.Warn("closing the previous generation's plugins", "generation", old.Seq, "err", err)
		}
	})
}

// ClosePlugins waits for retired generations to close and closes the
// current generation's plugins. Call it after Shutdown, before the store
// closes.
func (s *Server) ClosePlugins() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	s.retiring.Wait()
	if g := s.gen.Load(); g.plugins != nil {
		return g.plugins.Close()
	}
	return nil
}

// reloadReply is the JSON answer of POST /v1/reload.
type reloadReply struct {
	Status          string   `json:"status"`
	Generation      uint64   `json:"generation"`
	Plugins         []string `json:"plugins,omitempty"`
	Error           string   `json:"error,omitempty"`
	RestartRequired bool     `json:"restart_required,omitempty"`
}

// serveReload is POST /v1/reload: 200 with the new generation, or 422
// with the reason (the running generation keeps serving).
func (s *Server) serveReload(ctx *fasthttp.RequestCtx, _ []string) {
	g, err := s.Reload(ctx)
	if err != nil {
		var re *ReloadError
		rep := reloadReply{Status: "refused", Generation: s.gen.Load().Seq, Error: err.Error()}
		if errors.As(err, &re) {
			rep.RestartRequired = re.RestartRequired
		}
		s.log.Error("reload refused; the running configuration keeps serving", "via", "POST /v1/reload", "err", err)
		writeJSON(ctx, rep)
		ctx.SetStatusCode(fasthttp.StatusUnprocessableEntity)
		return
	}
	rep := reloadReply{Status: "reloaded", Generation: g.Seq}
	for _, p := range g.loaded {
		rep.Plugins = append(rep.Plugins, p.Name())
	}
	writeJSON(ctx, rep)
}

// pluginOf returns the loaded plugin behind a Decider, or nil.
func pluginOf(d hook.Decider) *plugins.Plugin {
	switch v := d.(type) {
	case hook.PluginDecider:
		return v.P
	case *instrumentedDecider:
		return pluginOf(v.inner)
	}
	return nil
}

// readiness lists what keeps the server from being ready (nil: ready).
func (s *Server) readiness() []string {
	var problems []string
	if !s.ready.Load() {
		problems = append(problems, "not serving: starting up or shutting down")
	}
	if s.st == nil || s.st.Closed() {
		problems = append(problems, "store is closed")
	}
	if s.cluster != nil {
		problems = append(problems, s.cluster.Readiness()...)
	}
	if names, loading := s.stillLoading(); loading {
		for _, n := range names {
			problems = append(problems, fmt.Sprintf("plugin %s is still loading (compiling)", n))
		}
		if len(names) == 0 {
			problems = append(problems, "plugins loaded, being installed")
		}
		return problems
	}
	g := s.gen.Load()
	if g.Dispatcher != nil {
		for _, pc := range g.Config.Plugin {
			dec := g.Dispatcher.Plugins()[pc.Name]
			p := pluginOf(dec)
			if p == nil {
				problems = append(problems, fmt.Sprintf("plugin %s is not loaded", pc.Name))
				continue
			}
			// Pools are filled before a generation is installed; one that
			// has lost every instance (all crashed, being replaced) cannot
			// serve.
			if st := p.Stats(); st.Idle+st.InUse == 0 {
				problems = append(problems, fmt.Sprintf("plugin %s has no ready instance (pool of %d being refilled)", pc.Name, st.PoolSize))
			}
		}
	}
	return problems
}

// serveReady is GET /readyz.
func (s *Server) serveReady(ctx *fasthttp.RequestCtx) {
	problems := s.readiness()
	rep := api.Readiness{Status: "ready", Generation: s.gen.Load().Seq, Problems: problems}
	if len(problems) > 0 {
		rep.Status = "not ready"
	}
	writeJSON(ctx, rep)
	if len(problems) > 0 {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	}
}
