package hook

// The Dispatcher is the one path every inline hook decision takes, whoever
// asks: POST /hooks/{kind} (via "lumos"), the grant scheduler when a
// time-boxed grant expires ("grant-expiry"), the CLI ("cli"). It parses and
// validates the body, routes it, calls the plugin within the hooks budget,
// writes the audit record and tells the SuccessRecorder about successful
// decisions.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookgate/hookgate/sdk/abi"
	"github.com/hookgate/hookgate/store"
)

// Errors Dispatch returns for requests it refuses before any plugin runs.
// The concrete errors (*BadRequestError, *NoRouteError,
// *RouteConflictError, *UnknownKindError) say more; match with errors.Is.
var (
	ErrBadRequest    = errors.New("bad request")
	ErrNoRoute       = errors.New("no route")
	ErrRouteConflict = errors.New("permissions route to different plugins")
	ErrUnknownKind   = errors.New("unknown hook kind")
)

// UnknownKindError is a kind that is not one of abi.HookKinds.
type UnknownKindError struct{ Kind string }

func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("unknown hook kind %q (known: provisioning, deprovisioning, pre_approval, request_validation)", e.Kind)
}

// Is makes errors.Is(err, ErrUnknownKind) true.
func (e *UnknownKindError) Is(target error) bool { return target == ErrUnknownKind }

// Decision is a plugin's typed answer: success or failure plus an optional
// message for the requester (abi.Decision's fields, plus the call's logs).
type Decision struct {
	Success bool
	Message string
	// Logs summarizes the plugin's log lines of this call (see
	// logSummary); the audit record keeps it. Set also when the call failed.
	Logs []string
}

// Decider is what the Dispatcher needs from a loaded plugin: run one hook
// of kind on the raw request body. req is that body as the Dispatcher
// parsed and validated it (nil for kinds that are not inline hooks), so a
// Decider need not parse it again. An error means the plugin could not
// decide (trap, timeout, memory limit, bad output) and is never shown to
// the caller; it already names the plugin (plugins.Plugin's errors do), so
// the dispatcher logs and audits it as is.
type Decider interface {
	Decide(ctx context.Context, kind string, raw []byte, req *HookRequest) (Decision, error)
}

// Outcome is the result of one dispatched hook.
type Outcome struct {
	Kind   string
	Plugin string
	AppID  string
	// Success is the plugin's decision; false also when Err is set.
	Success bool
	// Message is the plugin's message to the requester ("" when Err is set).
	Message string
	// Err is why the plugin could not decide (logged and audited only).
	Err error
	// Duration is the time from Dispatch's start to the decision.
	Duration time.Duration
	// Logs summarizes what the plugin logged (Decision.Logs).
	Logs []string
}

// SuccessRecorder is told about every successful plugin decision (not
// failures or errors), synchronously, before the caller is answered. The
// grant scheduler records time-boxed grants here. An error turns the
// outcome into a failure: access that cannot be time-boxed must not be
// reported as granted silently. raw may be a pooled request buffer: copy
// it to keep it beyond the call. req is the body as the Dispatcher parsed
// it (never parse it again).
type SuccessRecorder interface {
	OnSuccess(kind string, req *HookRequest, raw []byte, out Outcome) error
}

// Dispatcher runs inline hooks. Create it with NewDispatcher. It is safe
// for concurrent use.
type Dispatcher struct {
	recorder SuccessRecorder

	router  *Router
	resp    *Responder
	plugins map[string]Decider
	audit   *store.AuditLog
	durable bool // hooks.durable_audit: wait for the audit commit
	timeout time.Duration
	log     *slog.Logger
}

// DispatcherOptions are NewDispatcher's inputs.
type DispatcherOptions struct {
	// Routes are the [[route]] tables (already checked by gateway/config:
	// no duplicates, every plugin named exists).
	Routes []Route
	// Responses are the [responses.<kind>] tables; a kind missing here, or
	// a literal left empty, takes DefaultResponses'.
	Responses map[string]*Responses
	// Timeout is hooks.timeout: the budget of one call, plugin included.
	// Zero: DefaultHookTimeout.
	Timeout time.Duration
	// DurableAudit is hooks.durable_audit: the reply waits until the
	// call's audit record is committed.
	DurableAudit bool
	// Plugins maps [[plugin]] names to loaded plugins. A route naming a
	// plugin missing here answers with the failure literal (and logs why).
	Plugins map[string]Decider
	// Audit receives one record per call; nil disables auditing.
	Audit *store.AuditLog
	// Recorder, when set, is told about every successful decision (the
	// grant scheduler).
	Recorder SuccessRecorder
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// NewDispatcher builds the routing table and response table from o.
func NewDispatcher(o DispatcherOptions) *Dispatcher {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	// hooks.timeout is checked by config.Load; hand-built options may
	// leave it zero.
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultHookTimeout
	}
	return &Dispatcher{
		recorder: o.Recorder,
		router:   NewRouter(o.Routes),
		resp:     NewResponder(o.Responses),
		plugins:  o.Plugins,
		audit:    o.Audit,
		durable:  o.DurableAudit,
		timeout:  timeout,
		log:      o.Logger.With("component", "hooks"),
	}
}

// Responder returns the response table the dispatcher's callers map
// outcomes with.
func (d *Dispatcher) Responder() *Responder { return d.resp }

// Audit returns the audit log (nil when auditing is off).
func (d *Dispatcher) Audit() *store.AuditLog { return d.audit }

// Recorder returns the SuccessRecorder the dispatcher was built with (a
// reload builds the next dispatcher with the same one).
func (d *Dispatcher) Recorder() SuccessRecorder { return d.recorder }

// Plugins returns the deciders by [[plugin]] name (read-only).
func (d *Dispatcher) Plugins() map[string]Decider { return d.plugins }

// WrapPlugins replaces every decider with wrap(name, decider) (the
// gateway's metrics count and time each call this way). Call it before
// the first Dispatch.
func (d *Dispatcher) WrapPlugins(wrap func(name string, dec Decider) Decider) {
	wrapped := make(map[string]Decider, len(d.plugins))
	for name, dec := range d.plugins {
		wrapped[name] = wrap(name, dec)
	}
	d.plugins = wrapped
}

func knownKind(kind string) bool { return abi.IsHookKind(kind) }

// Dispatch runs one inline hook of kind with body raw. via records who
// asked ("lumos", "grant-expiry", "cli"...). The error is only for requests
// refused before a plugin ran (ErrUnknownKind, ErrBadRequest, ErrNoRoute,
// ErrRouteConflict, ErrPluginNotReady while the plugin loads at start-up); a plugin that fails, traps or times out yields
// Outcome.Success=false with Err set. The plugin runs with a deadline of
// hooks.timeout (at most 14 s, inside Lumos' 15 s budget) unless ctx ends
// sooner.
func (d *Dispatcher) Dispatch(ctx context.Context, kind string, raw []byte, via string) (Outcome, error) {
	start := time.Now()
	out := Outcome{Kind: kind}
	if !knownKind(kind) {
		return out, &UnknownKindError{Kind: kind}
	}
	req, err := ParseHookRequest(raw)
	if err != nil {
		d.record(start, kind, nil, nil, "", "bad_request", "", "", err, via, time.Since(start), nil)
		return out, err
	}
	out.AppID = req.Application.AppID
	perms := req.PermissionValues() // read-only from here: routed, then kept by the audit record
	m, err := d.router.Resolve(kind, req.Application.AppID, req.Application.InstanceID, perms)
	if err != nil {
		dec := "no_route"
		if errors.Is(err, ErrRouteConflict) {
			dec = "conflict"
		}
		d.record(start, kind, req, perms, "", dec, "", "", err, via, time.Since(start), nil)
		return out, err
	}
	out.Plugin = m.Plugin

	p := d.plugins[m.Plugin]
	if p != nil && starting(p) {
		// Start-up: the plugin is still compiling. Nothing runs; the
		// caller is told to retry (503).
		err := &PluginNotReadyError{Kind: kind, Plugin: m.Plugin}
		d.record(start, kind, req, perms, m.Plugin, "not_ready", "", "", err, via, time.Since(start), nil)
		return out, err
	}
	if p == nil {
		out.Err = fmt.Errorf("plugin %q is routed but not loaded", m.Plugin)
	} else {
		cctx, cancel := context.WithTimeout(ctx, d.timeout)
		dec, err := p.Decide(cctx, kind, raw, req)
		cancel()
		out.Logs = dec.Logs
		if err != nil {
			out.Err = err
		} else {
			out.Success, out.Message = dec.Success, dec.Message
		}
	}
	if out.Success && out.Err == nil && d.recorder != nil {
		if err := d.recorder.OnSuccess(kind, req, raw, out); err != nil {
			out.Success, out.Message = false, ""
			out.Err = fmt.Errorf("plugin %q succeeded but its result could not be recorded: %w", m.Plugin, err)
		}
	}
	out.Duration = time.Since(start)

	decision := "failure"
	switch {
	case out.Err != nil:
		decision = "error"
		d.log.Warn("hook plugin failed", "kind", kind, "plugin", m.Plugin, "app", out.AppID,
			"user", req.TargetUser.Email, "via", via, "err", out.Err, "duration", out.Duration)
	case out.Success:
		decision = "success"
	}
	if d.log.Enabled(ctx, slog.LevelDebug) {
		d.log.Debug("hook decided", "kind", kind, "plugin", m.Plugin, "route", m.Level, "app", out.AppID,
			"user", req.TargetUser.Email, "decision", decision, "via", via, "duration", out.Duration)
	}
	rep := d.resp.Reply(kind, out)
	d.record(start, kind, req, perms, m.Plugin, decision, rep.Literal, out.Message, out.Err, via, out.Duration, out.Logs)
	if d.durable && d.audit != nil {
		if err := d.audit.Flush(); err != nil {
			d.log.Error("audit record not committed before the reply", "kind", kind, "plugin", m.Plugin, "err", err)
		}
	}
	return out, nil
}

// record queues the audit record of one call; perms are req's permission
// values (shared with the record, not copied).
func (d *Dispatcher) record(start time.Time, kind string, req *HookRequest, perms []string, plugin, decision, literal, msg string, err error, via string, dur time.Duration, logs []string) {
	if d.audit == nil {
		return
	}
	rec := store.AuditRecord{
		Time:     start,
		Kind:     kind,
		Plugin:   plugin,
		Decision: decision,
		Response: literal,
		Duration: dur,
		Via:      via,
	}
	if req != nil {
		rec.AppID = req.Application.AppID
		rec.InstanceID = req.Application.InstanceID
		rec.Permissions = perms
		rec.User = req.TargetUser.Email
	}
	rec.Message = msg
	if err != nil {
		rec.Error = err.Error()
	}
	rec.Logs = logs
	if err := d.audit.Record(rec); err != nil {
		d.log.Error("audit record dropped", "kind", kind, "err", err)
	}
}
