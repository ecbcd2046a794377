package gateway

// Fast start. Compiling a plugin takes seconds on a cold cache, so the
// listener does not wait for it: `hookgate serve` opens the port at once
// with a generation whose plugins are placeholders (StartupDeciders), Okta
// deliveries are accepted and committed meanwhile (their [[on_event]] work
// is enqueued as always; the queue workers start once the plugins are
// ready), an inline hook routed to a plugin that is still loading gets a
// 503 JSON error (PluginNotReadyError), and /readyz lists what is still
// loading. LoadPlugins compiles the plugins in parallel and reports each
// one as it becomes ready (WithLoaded); InstallPlugins swaps the loaded set
// in like a reload would.

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/hookgate/hookgate/gateway/hook"
)

// loadState tracks the plugins being loaded at start-up, for /readyz.
type loadState struct {
	mu      sync.Mutex
	started time.Time
	pending map[string]bool // name → still loading
	done    bool
}

// StartLoading marks every [[plugin]] of the start-up config as loading:
// /readyz reports each until PluginLoaded or InstallPlugins, and Reload is
// refused meanwhile (the start-up set is not installed yet). Call it
// before Serve when the plugins load in the background.
func (s *Server) StartLoading() {
	ls := &loadState{started: time.Now(), pending: map[string]bool{}}
	for _, p := range s.cfg.Plugin {
		ls.pending[p.Name] = true
	}
	s.loading.Store(ls)
}

// PluginLoaded records that the named plugin compiled and its pool is
// filled (readiness shows the rest). Safe for concurrent use.
func (s *Server) PluginLoaded(name string) {
	if ls := s.loading.Load(); ls != nil {
		ls.mu.Lock()
		delete(ls.pending, name)
		ls.mu.Unlock()
	}
}

// stillLoading returns the start-up plugins not loaded yet, sorted, and
// whether loading is still under way.
func (s *Server) stillLoading() ([]string, bool) {
	ls := s.loading.Load()
	if ls == nil {
		return nil, false
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.done {
		return nil, false
	}
	names := make([]string, 0, len(ls.pending))
	for n := range ls.pending {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, true
}

// InstallPlugins makes ps, loaded from the start-up config, the current
// generation's plugins (after StartLoading): the inline hooks stop
// answering 503 and queue items run on them. The server owns ps from now
// on. It fails (and leaves ps to the caller) when called twice or without
// hooks enabled.
func (s *Server) InstallPlugins(ps *hook.PluginSet) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	ls := s.loading.Load()
	if ls == nil {
		return errors.New("gateway: InstallPlugins without StartLoading")
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.done {
		return errors.New("gateway: start-up plugins are installed already")
	}
	old := s.gen.Load()
	if old.Dispatcher == nil {
		return errors.New("gateway: InstallPlugins before EnableHooks")
	}
	do := HookOptions(old.Config)
	do.Plugins, do.Audit, do.Recorder, do.Logger = ps.Deciders(), old.Dispatcher.Audit(), old.Dispatcher.Recorder(), s.log
	d := hook.NewDispatcher(do)
	s.m.instrument(d)
	g := newGeneration(old.Config, old.Seq).withHooks(s, d)
	g.plugins = ps
	s.gen.Store(g)
	ls.done = true
	clear(ls.pending)
	s.log.Info("plugins ready", "plugins", len(g.loaded), "since_start", time.Since(ls.started).Round(time.Millisecond))
	return nil
}

// errStillLoading refuses a reload while the start-up plugins load.
var errStillLoading = &ReloadError{Err: errors.New("the start-up plugins are still loading; reload once GET /readyz is ready")}
