package hook

// Start-up placeholders: `hookgate serve` opens its port before the plugins
// compile, with a Dispatcher over StartupDeciders; a hook routed to a plugin
// still loading is refused with a *PluginNotReadyError (the HTTP edge
// answers 503) until the gateway installs the loaded set.

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookgate/hookgate/plugins"
)

// ErrPluginNotReady matches (errors.Is) a *PluginNotReadyError.
var ErrPluginNotReady = errors.New("plugin not ready")

// PluginNotReadyError is an inline hook routed to a plugin that is still
// being compiled at start-up. The hook endpoint answers it with 503 and
// Retry-After; nothing ran and no decision was made.
type PluginNotReadyError struct {
	Kind   string
	Plugin string
}

func (e *PluginNotReadyError) Error() string {
	return fmt.Sprintf("plugin %q is still loading (the gateway is starting up); retry shortly, GET /readyz says what is still loading", e.Plugin)
}

// Is makes errors.Is(err, ErrPluginNotReady) true.
func (e *PluginNotReadyError) Is(target error) bool { return target == ErrPluginNotReady }

// startingDecider stands in for a plugin that is still being loaded.
type startingDecider struct{ name string }

// Decide refuses: the plugin is not loaded yet.
func (d startingDecider) Decide(_ context.Context, kind string, _ []byte, _ *HookRequest) (Decision, error) {
	return Decision{}, &PluginNotReadyError{Kind: kind, Plugin: d.name}
}

// StartupDeciders returns a placeholder Decider for every plugin of list
// (the [[plugin]] tables): a Dispatcher built over them answers each routed
// hook with a *PluginNotReadyError until InstallPlugins replaces them.
func StartupDeciders(list []plugins.Config) map[string]Decider {
	m := make(map[string]Decider, len(list))
	for _, p := range list {
		m[p.Name] = startingDecider{name: p.Name}
	}
	return m
}

// starting reports whether dec is a start-up placeholder, seen through
// wrappers that have an Unwrap() Decider method (the gateway's metrics).
func starting(dec Decider) bool {
	for {
		switch v := dec.(type) {
		case startingDecider:
			return true
		case interface{ Unwrap() Decider }:
			dec = v.Unwrap()
		default:
			return false
		}
	}
}
