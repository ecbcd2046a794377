package hook

// PluginSet loads every [[plugin]] of the config into one wazero host and
// hands them to the Dispatcher (inline hooks) and the event worker (on_event)
// as Deciders.

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/hookgate/hookgate/plugins"
	"github.com/hookgate/hookgate/store"
)

// PluginSet is the loaded plugins of one config.
type PluginSet struct {
	host   *plugins.Host
	byName map[string]*plugins.Plugin
}

// LoadOption adjusts how LoadPlugins loads (the plugin host it creates,
// progress reports).
type LoadOption func(*loadOptions)

type loadOptions struct {
	host   plugins.HostOptions
	loaded func(name string, took time.Duration)
}

// WithOktaActions backs the okta_action host function (capability "okta")
// with a, normally the gateway's Okta API part (srv.Okta()). Without it
// plugins calling okta_action get ERR_UNAVAILABLE ("no Okta org is
// configured").
func WithOktaActions(a plugins.OktaActions) LoadOption {
	return func(o *loadOptions) { o.host.Okta = a }
}

// WithLoaded calls f (from the loading goroutine) each time one plugin has
// compiled and filled its pool; Server.PluginLoaded fits.
func WithLoaded(f func(name string, took time.Duration)) LoadOption {
	return func(o *loadOptions) { o.loaded = f }
}

// PluginsOptions are the parts of gateway.toml LoadPlugins reads.
type PluginsOptions struct {
	// CacheDir is [plugins].cache_dir: where wazero keeps its compilation
	// cache. Empty: no cache.
	CacheDir string
	// Plugins are the [[plugin]] tables, in file order, each already
	// filled with the [plugins] defaults (gateway/config does that).
	Plugins []plugins.Config
}

// LoadPlugins creates the host (compilation cache in o.CacheDir,
// identity and kv backed by st) and loads every plugin of o.Plugins,
// compiling them in parallel (up to one per CPU). st may be nil (no
// identity or kv). On error nothing stays loaded; the error names the
// first plugin of the list that failed.
func LoadPlugins(ctx context.Context, o PluginsOptions, st *store.Store, logger *slog.Logger, options ...LoadOption) (*PluginSet, error) {
	var lo loadOptions
	lo.host = plugins.HostOptions{CacheDir: o.CacheDir, Logger: logger}
	if st != nil {
		lo.host.Identity, lo.host.KV = st, st
	}
	for _, opt := range options {
		opt(&lo)
	}
	h, err := plugins.NewHost(ctx, lo.host)
	if err != nil {
		return nil, err
	}
	ps := &PluginSet{host: h, byName: make(map[string]*plugins.Plugin, len(o.Plugins))}
	loaded := make([]*plugins.Plugin, len(o.Plugins))
	errs := make([]error, len(o.Plugins))
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, pc := range o.Plugins {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			loaded[i], errs[i] = h.Load(ctx, pc)
			if errs[i] == nil && lo.loaded != nil {
				lo.loaded(pc.Name, time.Since(start))
			}
		})
	}
	wg.Wait()
	for i, pc := range o.Plugins {
		if errs[i] != nil {
			_ = h.Close()
			return nil, fmt.Errorf("load [[plugin]] %q: %w", pc.Name, errs[i])
		}
		ps.byName[pc.Name] = loaded[i]
	}
	return ps, nil
}

// Plugin returns the named plugin or nil.
func (ps *PluginSet) Plugin(name string) *plugins.Plugin { return ps.byName[name] }

// Deciders returns the plugins as the Dispatcher's and event worker's
// Decider map.
func (ps *PluginSet) Deciders() map[string]Decider {
	m := make(map[string]Decider, len(ps.byName))
	for name, p := range ps.byName {
		m[name] = PluginDecider{P: p}
	}
	return m
}

// Close closes every plugin and the host.
func (ps *PluginSet) Close() error { return ps.host.Close() }

// PluginDecider adapts a loaded plugin to Decider.
type PluginDecider struct{ P *plugins.Plugin }

// Decide calls the plugin and returns its typed decision. An inline hook
// request is handed over parsed too, so a plugin that accepts flat input
// (every Go plugin built with the sdk) does not parse JSON itself.
func (d PluginDecider) Decide(ctx context.Context, kind string, raw []byte, req *HookRequest) (Decision, error) {
	res, err := d.P.CallInput(ctx, kind, PluginInput(raw, req))
	var logs []string
	if res != nil {
		logs = logSummary(res.Logs)
	}
	if err != nil {
		return Decision{Logs: logs}, err
	}
	return Decision{Success: res.Decision.Success, Message: res.Decision.Message, Logs: logs}, nil
}

// Audit log summaries: at most this many lines, each cut to this length.
const (
	maxSummaryLines = 5
	maxSummaryLine  = 200
)

// logSummary is what an audit record keeps of a call's log lines: the
// first maxSummaryLines as "LEVEL message" (cut to maxSummaryLine bytes),
// then "… N more lines" when there were more. Nil without lines.
func logSummary(lines []plugins.LogLine) []string {
	if len(lines) == 0 {
		return nil
	}
	out := make([]string, 0, min(len(lines), maxSummaryLines)+1)
	for _, l := range lines[:min(len(lines), maxSummaryLines)] {
		m := l.Message
		if len(m) > maxSummaryLine {
			m = strings.ToValidUTF8(m[:maxSummaryLine], "") + "…"
		}
		out = append(out, l.Level.String()+" "+m)
	}
	if n := len(lines) - maxSummaryLines; n > 0 {
		out = append(out, fmt.Sprintf("… %d more lines", n))
	}
	return out
}

// PluginInput is the plugin input the gateway makes of a call: the raw
// JSON and, for an inline hook (req not nil), the request it parsed, which
// plugins with flat input read instead of the JSON (see plugins.Input).
// hookgate plugin test uses it to run plugins exactly as the gateway does.
func PluginInput(raw []byte, req *HookRequest) plugins.Input {
	return plugins.Input{Raw: raw, Request: req}
}
