package work

import (
	"strings"
	"time"

	"github.com/hookgate/hookgate/internal/duration"
)

// This file holds the option structs durable work reads; gateway/config
// decodes gateway.toml into them (config.OnEvent, config.Queue and
// config.Grants are aliases of these, and config fills their defaults) and
// the composition root (package gateway) hands them to New.

// OnEvent is one [[on_event]] table: it subscribes a plugin to Okta event
// types.
type OnEvent struct {
	// Types are exact event types or prefix patterns ending in ".*" ("group.*").
	Types []string `toml:"types"`
	// Group and App optionally restrict to events whose targets include this
	// group / app (id or name).
	Group  string `toml:"group"`
	App    string `toml:"app"`
	Plugin string `toml:"plugin"`
}

// Matches reports whether eventType matches one of the subscription's patterns.
func (o *OnEvent) Matches(eventType string) bool {
	for _, t := range o.Types {
		if t == "*" || t == eventType {
			return true
		}
		if p, ok := strings.CutSuffix(t, "*"); ok && strings.HasPrefix(eventType, p) {
			return true
		}
	}
	return false
}

// QueueOptions is the [queue] table: the event plugin worker pool.
type QueueOptions struct {
	// Workers is queue.workers: workers drain the queue concurrently
	// (per-user order is kept). Default 4.
	Workers int `toml:"workers"`
	// MaxAttempts is queue.max_attempts: attempts before an item is
	// dead-lettered. Default 8.
	MaxAttempts int `toml:"max_attempts"`
	// InitialBackoff and MaxBackoff are queue.initial_backoff and
	// queue.max_backoff: they shape the exponential retry delay.
	// Defaults 1s and 5m.
	InitialBackoff duration.Duration `toml:"initial_backoff"`
	MaxBackoff     duration.Duration `toml:"max_backoff"`
}

// DefaultGrantScanInterval is grants.scan_interval's default.
const DefaultGrantScanInterval = time.Second

// GrantOptions is the [grants] table: the time-boxed grant scheduler.
type GrantOptions struct {
	// ScanInterval is grants.scan_interval: how often the expiry index is
	// scanned. Default 1s (DefaultGrantScanInterval).
	ScanInterval duration.Duration `toml:"scan_interval"`
}
