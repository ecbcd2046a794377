package work

// Okta events drive [[on_event]] plugins. For every event not seen before,
// Events.PlanWork (okta.Ingest's Work) plans one queue item per matching
// subscription, which the store enqueues in the transaction that applies
// the Okta batch if the event is newly accepted there; the worker pool
// runs them later with kind "okta_event".
// An acknowledged event therefore never loses its plugin run, and a
// duplicate delivery (not newly accepted) enqueues nothing.

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/store"
)

// ViaOktaEvent is the audit "via" of event plugin runs.
const ViaOktaEvent = "okta-event"

// EventTarget is one target of an Okta event (id, type, alternateId,
// displayName).
type EventTarget struct {
	ID, Type, AlternateID, DisplayName string
}

// EventInfo is what subscription matching needs from one Okta event, plus
// the raw LogEvent JSON handed to the plugin.
type EventInfo struct {
	UUID      string
	EventType string
	Targets   []EventTarget
	Raw       []byte
}

// target returns the first target of Okta type typ.
func (e *EventInfo) target(typ string) *EventTarget {
	for i := range e.Targets {
		if e.Targets[i].Type == typ {
			return &e.Targets[i]
		}
	}
	return nil
}

// OrderKey is the queue ordering key: the User target's id, else the
// UserGroup target's id, else the event uuid. Events about one user run in
// the order they were accepted.
func (e *EventInfo) OrderKey() string {
	if t := e.target("User"); t != nil && t.ID != "" {
		return "u-" + safeKey(t.ID)
	}
	if t := e.target("UserGroup"); t != nil && t.ID != "" {
		return "g-" + safeKey(t.ID)
	}
	return "e-" + safeKey(e.UUID)
}

func safeKey(s string) string { return strings.ReplaceAll(s, "/", "_") }

// Live supplies what a reload changes: the [[on_event]] subscriptions and
// the plugins in effect now. The gateway implements it over its current
// generation, so a reload takes effect for the next event and the next
// queue item.
type Live interface {
	// Subscriptions returns the [[on_event]] tables in effect now.
	Subscriptions() []OnEvent
	// AcquirePlugins returns the plugins in effect now, held (not closed by
	// a reload) until release is called.
	AcquirePlugins() (plugins map[string]hook.Decider, release func())
}

// Fixed is a Live that never changes (tests and tools without reloads).
type Fixed struct {
	OnEvent []OnEvent
	Plugins map[string]hook.Decider
}

// Subscriptions returns f.OnEvent.
func (f Fixed) Subscriptions() []OnEvent { return f.OnEvent }

// AcquirePlugins returns f.Plugins.
func (f Fixed) AcquirePlugins() (map[string]hook.Decider, func()) { return f.Plugins, func() {} }

// Events enqueues and runs [[on_event]] plugin work.
type Events struct {
	live  Live
	st    *store.Store
	audit *store.AuditLog
	log   *slog.Logger
}

// subscriptions are the [[on_event]] tables in effect now.
func (e *Events) subscriptions() []OnEvent { return e.live.Subscriptions() }

// NewEvents registers the okta_event queue handler on w. live supplies the
// subscriptions and the plugins (the same Deciders the Dispatcher uses);
// audit may be nil.
func NewEvents(st *store.Store, w *Worker, live Live, audit *store.AuditLog, logger *slog.Logger) *Events {
	if logger == nil {
		logger = slog.Default()
	}
	e := &Events{live: live, st: st, audit: audit, log: logger.With("component", "events")}
	w.Handle(ItemOktaEvent, QueueHandler{Run: e.run})
	return e
}

// Subscribed reports whether any subscription matches eventType (cheap;
// lets the ingest path skip building an EventInfo).
func (e *Events) Subscribed(eventType string) bool {
	subs := e.subscriptions()
	for i := range subs {
		if subs[i].Matches(eventType) {
			return true
		}
	}
	return false
}

// PlanWork is okta.IngestOptions.Work: the plugin work
// the subscriptions ask for, for an event not seen before.
func (e *Events) PlanWork(ev *okta.LogEvent) ([]store.QueueItem, error) {
	if !e.Subscribed(ev.EventType) {
		return nil, nil
	}
	info := EventInfo{UUID: ev.UUID, EventType: ev.EventType, Raw: ev.Raw, Targets: make([]EventTarget, len(ev.Target))}
	for i, t := range ev.Target {
		info.Targets[i] = EventTarget{ID: t.ID, Type: t.Type, AlternateID: t.AlternateID, DisplayName: t.DisplayName}
	}
	return e.Plan(&info), nil
}

// Plan returns one queue item per subscription matching ev.
func (e *Events) Plan(ev *EventInfo) []store.QueueItem {
	var items []store.QueueItem
	var planned []string
	subs := e.subscriptions()
	for i := range subs {
		s := &subs[i]
		if !s.Matches(ev.EventType) || slices.Contains(planned, s.Plugin) {
			continue
		}
		if s.Group != "" && !e.matchGroup(ev, s.Group) {
			continue
		}
		if s.App != "" && !e.matchApp(ev, s.App) {
			continue
		}
		planned = append(planned, s.Plugin)
		items = append(items, store.QueueItem{
			Kind: ItemOktaEvent, Key: ev.OrderKey(), Plugin: s.Plugin,
			Ref: ev.UUID, EventType: ev.EventType, Payload: ev.Raw,
		})
	}
	return items
}

// matchGroup: a UserGroup target is the group (id or name), or the User
// target is a member of it.
func (e *Events) matchGroup(ev *EventInfo, group string) bool {
	for _, t := range ev.Targets {
		if t.Type == "UserGroup" && (t.ID == group || strings.EqualFold(t.DisplayName, group)) {
			return true
		}
	}
	if u := ev.target("User"); u != nil {
		ok, err := e.st.IsMember(u.ID, group)
		return err == nil && ok
	}
	return false
}

// matchApp: an AppInstance target is the app (id, name or label), or the
// User target is assigned to it directly or through a group.
func (e *Events) matchApp(ev *EventInfo, app string) bool {
	for _, t := range ev.Targets {
		if t.Type == "AppInstance" && (t.ID == app || strings.EqualFold(t.AlternateID, app) || strings.EqualFold(t.DisplayName, app)) {
			return true
		}
	}
	ut := ev.target("User")
	if ut == nil {
		return false
	}
	u, err := e.st.UserByID(ut.ID)
	if err != nil {
		return false
	}
	apps := slices.Clone(u.Apps)
	for _, gid := range u.Groups {
		if g, err := e.st.Group(gid); err == nil {
			apps = append(apps, g.Apps...)
		}
	}
	for _, id := range apps {
		if id == app {
			return true
		}
		if a, err := e.st.App(id); err == nil && (strings.EqualFold(a.Name, app) || strings.EqualFold(a.Label, app)) {
			return true
		}
	}
	return false
}

// run is the okta_event queue handler: the plugin's Failure decision or
// error makes the worker retry.
func (e *Events) run(ctx context.Context, it *store.QueueItem) (string, error) {
	start := time.Now()
	// Run on the plugins in effect now, held until done so a reload does
	// not close the plugin under this call.
	plugins, release := e.live.AcquirePlugins()
	defer release()
	p := plugins[it.Plugin]
	var dec hook.Decision
	var err error
	if p == nil {
		err = fmt.Errorf("plugin %q is subscribed but not loaded", it.Plugin)
	} else {
		dec, err = p.Decide(ctx, ItemOktaEvent, it.Payload, nil)
	}
	msg := ""
	decision := "success"
	switch {
	case err != nil:
		decision = "error"
		err = fmt.Errorf("event plugin %s for event %s (%s), attempt %d: %w", it.Plugin, it.Ref, it.EventType, it.Attempts, err)
	case !dec.Success:
		decision = "failure"
		err = fmt.Errorf("event plugin %s for event %s (%s), attempt %d: failed: %s", it.Plugin, it.Ref, it.EventType, it.Attempts, dec.Message)
	default:
		msg = fmt.Sprintf("event plugin %s ran for event %s (%s): %s", it.Plugin, it.Ref, it.EventType, dec.Message)
	}
	e.record(it, start, decision, msg, dec.Message, err, dec.Logs)
	return msg, err
}

func (e *Events) record(it *store.QueueItem, start time.Time, decision, msg, pluginMsg string, err error, logs []string) {
	if e.audit == nil {
		return
	}
	rec := store.AuditRecord{
		Time: start, Kind: ItemOktaEvent, Plugin: it.Plugin, Decision: decision,
		Message: msg, Duration: time.Since(start), Via: ViaOktaEvent,
		User: strings.TrimPrefix(it.Key, "u-"), AppID: it.EventType, Logs: logs,
	}
	if msg == "" {
		rec.Message = pluginMsg
	}
	if err != nil {
		rec.Error = err.Error()
	}
	if aerr := e.audit.Record(rec); aerr != nil {
		e.log.Error("audit record dropped", "kind", ItemOktaEvent, "err", aerr)
	}
}
