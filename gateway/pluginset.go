package gateway

// PluginSet loads every [[plugin]] of the config into one wazero host and
// hands them to the Dispatcher (inline hooks) and the event worker (on_event)
// as Deciders.

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/plugins"
	"github.com/hookgate/hookgate/store"
)

// PluginSet is the loaded plugins of one config.
type PluginSet struct {
	host   *plugins.Host
	byName map[string]*plugins.Plugin
}

// LoadOption adjusts the plugin host LoadPlugins creates.
type LoadOption func(*plugins.HostOptions)

// WithOktaActions backs the okta_action host function (capability "okta")
// with a, normally the server's *OktaAPI. Without it plugins calling
// okta_action get ERR_UNAVAILABLE ("no Okta org is configured").
func WithOktaActions(a plugins.OktaActions) LoadOption {
	return func(o *plugins.HostOptions) { o.Okta = a }
}

// LoadPlugins creates the host (compilation cache in [plugins].cache_dir,
// identity and kv backed by st) and loads every [[plugin]]. st may be nil
// (no identity or kv). On error nothing stays loaded.
func LoadPlugins(ctx context.Context, cfg *config.Config, st *store.Store, logger *slog.Logger, options ...LoadOption) (*PluginSet, error) {
	opts := plugins.HostOptions{CacheDir: cfg.Plugins.CacheDir, Logger: logger}
	if st != nil {
		opts.Identity, opts.KV = st, st
	}
	for _, o := range options {
		o(&opts)
	}
	h, err := plugins.NewHost(ctx, opts)
	if err != nil {
		return nil, err
	}
	ps := &PluginSet{host: h, byName: make(map[string]*plugins.Plugin, len(cfg.Plugin))}
	for _, pc := range cfg.Plugin {
		p, err := h.Load(ctx, pc)
		if err != nil {
			_ = h.Close()
			return nil, fmt.Errorf("load [[plugin]] %q: %w", pc.Name, err)
		}
		ps.byName[pc.Name] = p
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

// Decide calls the plugin and returns its typed decision.
func (d PluginDecider) Decide(ctx context.Context, kind string, raw []byte) (Decision, error) {
	res, err := d.P.Call(ctx, kind, raw)
	if err != nil {
		return Decision{}, err
	}
	return Decision{Success: res.Decision.Success, Message: res.Decision.Message}, nil
}
