// Package api holds the JSON documents of hookgate's /v1 admin API (and
// GET /readyz): the gateway writes them, the operator console
// (gateway/console) and the CLI (cmd/hookgate) read them, all through
// these types, so the three cannot drift apart. It holds types only; the
// handlers and the route table are in package gateway (routes.go).
package api

import (
	"encoding/json"
	"time"

	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/store"
	"github.com/hookgate/hookgate/store/cluster"
)

// ClusterStatus is the answer of GET /v1/cluster (with [cluster]).
type ClusterStatus = cluster.Status

// Readiness is the answer of GET /readyz (200 when Status is "ready",
// 503 with the Problems otherwise).
type Readiness struct {
	Status     string   `json:"status"`
	Generation uint64   `json:"generation"`
	Problems   []string `json:"problems,omitempty"`
}

// Stats is the answer of GET /v1/stats.
type Stats struct {
	// StartedAt is when this process started: the per-minute figures
	// restart with it.
	StartedAt time.Time `json:"started_at"`
	// Generation is the configuration generation serving requests.
	Generation uint64 `json:"generation"`
	// LastOktaDelivery is when the last Okta event hook delivery was
	// acknowledged by this process (null: none since start).
	LastOktaDelivery *time.Time `json:"last_okta_delivery"`
	// LastApplied is the newest published time of an applied Okta event
	// (null: none ever), from the store.
	LastApplied *time.Time       `json:"last_applied_published"`
	Queue       store.QueueStats `json:"queue"`
	Grants      map[string]int   `json:"grants"`
	// Minutes are the last 60 minutes, oldest first, the current one last.
	Minutes []MinuteStats `json:"minutes"`
}

// MinuteStats is one minute of GET /v1/stats: counts since the minute
// began, plugin call latency in milliseconds.
type MinuteStats struct {
	Start          time.Time `json:"start"`
	EventsAccepted int64     `json:"okta_events_accepted"`
	EventsRejected int64     `json:"okta_events_rejected"`
	HookSuccess    int64     `json:"hook_success"`
	HookFailure    int64     `json:"hook_failure"`
	HookError      int64     `json:"hook_error"`
	PluginCalls    int64     `json:"plugin_calls"`
	PluginMeanMs   float64   `json:"plugin_mean_ms"`
	PluginMaxMs    float64   `json:"plugin_max_ms"`
}

// PluginStats is one plugin of GET /v1/plugins.
type PluginStats struct {
	Name string `json:"name"`
	// Pool: configured size and instances by state.
	PoolSize  int    `json:"pool_size"`
	Idle      int    `json:"idle"`
	InUse     int    `json:"in_use"`
	Replacing int    `json:"replacing"`
	Waiting   int    `json:"waiting"`
	Replaced  uint64 `json:"replaced"`
	// Calls are the call counts by outcome since start (the
	// hookgate_plugin_calls_total counter summed over kinds).
	Calls map[string]uint64 `json:"calls"`
	// P50Ms and P99Ms estimate the call latency quantiles from the
	// hookgate_plugin_call_seconds histogram (linear within a bucket);
	// null before the first call.
	P50Ms *float64 `json:"p50_ms"`
	P99Ms *float64 `json:"p99_ms"`
	// LastErrors are the latest failed calls (error outcomes, and Okta
	// event runs that decided failure), newest first.
	LastErrors []PluginError `json:"last_errors"`
}

// PluginError is one failed plugin call as GET /v1/plugins shows it.
type PluginError struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Outcome string    `json:"outcome"`
	Error   string    `json:"error"`
}

// Sync states reported by GET /v1/okta/sync.
const (
	SyncIdle    = "idle"
	SyncRunning = "running"
	SyncDone    = "done"
	SyncFailed  = "failed"
)

// SyncStatus is the JSON of GET /v1/okta/sync (and of the 202 answer to
// POST): the state of the last sync this process ran and its progress.
type SyncStatus struct {
	State string `json:"state"`
	// Phase, Done and Total are the sync's progress (okta.Progress).
	Phase      string            `json:"phase,omitempty"`
	Done       int               `json:"done"`
	Total      int               `json:"total"`
	StartedAt  *time.Time        `json:"started_at,omitempty"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
	Summary    *okta.SyncSummary `json:"summary,omitempty"`
	Error      string            `json:"error,omitempty"`
	// AppUsers reports whether this sync also reads every app's user
	// assignments (requested with app_users=true, or the gateway's sync
	// options).
	AppUsers bool `json:"app_users,omitempty"`
}

// CatchUpStatus is the JSON of GET /v1/okta/catchup: the last System Log
// catch-up run.
type CatchUpStatus struct {
	// State is never (no run yet), ok or failed.
	State      string              `json:"state"`
	StartedAt  *time.Time          `json:"started_at,omitempty"`
	FinishedAt *time.Time          `json:"finished_at,omitempty"`
	Result     *okta.CatchUpResult `json:"result,omitempty"`
	Error      string              `json:"error,omitempty"`
	// Interval is okta.catchup_interval (0: only at start-up).
	Interval string `json:"interval"`
}

// QueueItem is a queue item or dead letter as GET /v1/queue and
// /v1/dlq list it (the payload only for one item or dead letter).
type QueueItem struct {
	ID         string          `json:"id"`
	Kind       string          `json:"kind"`
	Plugin     string          `json:"plugin,omitempty"`
	Ref        string          `json:"ref,omitempty"`
	EventType  string          `json:"event_type,omitempty"`
	Key        string          `json:"key"`
	Attempts   int             `json:"attempts"`
	LastError  string          `json:"last_error,omitempty"`
	EnqueuedAt time.Time       `json:"enqueued_at"`
	NextAt     *time.Time      `json:"next_at,omitempty"`
	InFlight   bool            `json:"in_flight,omitempty"`
	DeadAt     *time.Time      `json:"dead_at,omitempty"`
	ReplayOf   string          `json:"replay_of,omitempty"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}
