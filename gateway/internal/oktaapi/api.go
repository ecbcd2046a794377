package oktaapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/api"
	"github.com/hookgate/hookgate/gateway/internal/admin"
	"github.com/hookgate/hookgate/gateway/internal/work"
	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/plugins"
	"github.com/hookgate/hookgate/store"
	"github.com/hookgate/hookgate/store/cluster"
)

// AuditKindOktaAction is the audit record kind of plugin actions on Okta
// (GET /v1/audit?kind=okta_action).
const AuditKindOktaAction = "okta_action"

// SyncRequest is what the caller of one sync may choose
// (POST /v1/okta/sync?app_users=true): it adds to the API's SyncOptions.
type SyncRequest struct {
	// AppUsers also reads every app's user assignments (one listing per
	// app), as `hookgate okta sync --app-users` does.
	AppUsers bool
}

// ErrSyncRunning is returned by StartSync while a sync runs.
var ErrSyncRunning = errors.New("an Okta sync is already running")

// Gateway is what the API needs from the gateway it runs in.
type Gateway interface {
	// IngestCatchUp ingests one System Log page as the Okta event hook
	// does (dedupe, apply, [[on_event]] work enqueued in the same commit,
	// worker wake-up, metrics).
	IngestCatchUp(*okta.Batch) (okta.IngestResult, error)
	// Subscriptions returns the [[on_event]] tables in effect now.
	Subscriptions() []work.OnEvent
}

// Options are New's inputs.
type Options struct {
	// Okta is the [okta] table (with [okta.oauth]), already validated by
	// gateway/config: the client is built from it when Client is nil;
	// okta.catchup_interval paces Run; okta.event_retention is the
	// retention of events ingested without a Gateway.
	Okta okta.Options
	// OnEvent are the [[on_event]] tables whose exact event types
	// catch-up also reads, when there is no Gateway (with one, its
	// Subscriptions are followed across reloads).
	OnEvent []work.OnEvent
	Store   *store.Store
	// Gateway: catch-up ingests through the event hook's own path (dedupe,
	// [[on_event]] enqueue, worker wake-up) and follows the reloaded
	// [[on_event]] types. Nil: catch-up ingests with okta.Ingest alone.
	Gateway Gateway
	// Client talks to Okta. Nil: built from Okta when okta.org_url
	// (or HOOKGATE_OKTA_ORG_URL) is set; without an org the Management API
	// features answer that Okta is not configured.
	Client *okta.Client
	// Audit receives one record per plugin action (nil: none).
	Audit *store.AuditLog
	// Sync tunes the syncs this API runs (Progress is set by the API).
	Sync okta.SyncOptions
	// Refresh tunes the background user lookups (update_profile events,
	// users first seen in an event).
	Refresh okta.RefresherOptions
	// Leader, in a cluster, runs syncs on the leader only: POST and GET
	// /v1/okta/sync on a follower are answered by the leader's API
	// (*cluster.Node; nil: a single node).
	Leader LeaderCaller
	Logger *slog.Logger
}

// LeaderCaller runs named calls on the cluster's leader (*cluster.Node).
type LeaderCaller interface {
	IsLeader() bool
	HandleLeaderCall(name string, f cluster.LeaderFunc)
	CallLeader(ctx context.Context, name string, body []byte) (int, []byte, error)
}

// The leader calls of the Okta API (body: the request's query string).
const (
	callSyncStart  = "okta.sync.start"
	callSyncStatus = "okta.sync.status"
)

// API runs the Okta Management API features inside the gateway. It
// implements plugins.OktaActions for the plugin host. Create it with
// New before Serve, Run it for catch-up, Close it before closing
// the store.
type API struct {
	oktaO   okta.Options
	onEvent []work.OnEvent
	st      *store.Store
	gw      Gateway
	client  *okta.Client
	audit   *store.AuditLog
	log     *slog.Logger
	syncO   okta.SyncOptions
	leader  LeaderCaller // nil: a single node

	// work serialises syncs and catch-ups: both write identity state and
	// catch-up's watermark should not move under a running sync.
	work chan struct{}

	ctx    context.Context // ends at Close: stops a running sync
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	sync    api.SyncStatus
	catchUp api.CatchUpStatus

	// refresh looks users up in the background (nil without an org).
	refresh *okta.Refresher
}

// New builds the Okta client from the config when none is given
// (an error names what is missing when okta.org_url is set but the
// credentials are not usable). Its /v1/okta/ handlers are in the route
// table (routes.go).
func New(o Options) (*API, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := o.Client
	if c == nil && o.Okta.OrgURL != "" {
		var err error
		c, err = okta.NewClientFromConfig(o.Okta)
		if err != nil {
			return nil, fmt.Errorf("okta.org_url is set (%s) but the Management API client cannot be built: %w", o.Okta.OrgURL, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &API{
		oktaO: o.Okta, onEvent: o.OnEvent, st: o.Store, gw: o.Gateway, client: c, audit: o.Audit, log: o.Logger, syncO: o.Sync, leader: o.Leader,
		work: make(chan struct{}, 1), ctx: ctx, cancel: cancel,
		sync:    api.SyncStatus{State: api.SyncIdle},
		catchUp: api.CatchUpStatus{State: "never", Interval: o.Okta.CatchupInterval.String()},
	}
	if a.syncO.Logger == nil {
		a.syncO.Logger = o.Logger
	}
	if a.leader != nil {
		a.leader.HandleLeaderCall(callSyncStart, func(_ context.Context, q []byte) (int, []byte) { return a.local(a.startSync, q) })
		a.leader.HandleLeaderCall(callSyncStatus, func(_ context.Context, q []byte) (int, []byte) { return a.local(a.syncStatus, q) })
	}
	if c != nil {
		ro := o.Refresh
		if ro.Logger == nil {
			ro.Logger = o.Logger
		}
		a.refresh = okta.NewRefresher(c, o.Store, ro)
		a.refresh.Start(ctx)
	}
	return a, nil
}

// LookUp reads users first seen in an event from the Management API in
// the background (nothing without an org, or on a nil API). It never
// blocks.
func (a *API) LookUp(userIDs []string) {
	if a != nil && a.refresh != nil {
		a.refresh.Enqueue(userIDs...)
	}
}

// Configured reports whether an Okta org is configured (a client exists).
func (a *API) Configured() bool { return a.client != nil }

// Client returns the Okta client, nil when no org is configured.
func (a *API) Client() *okta.Client { return a.client }

// notConfigured is the message of every Management API feature without an
// org.
func notConfigured() string {
	return "the Okta Management API is not configured: set okta.org_url (or HOOKGATE_OKTA_ORG_URL) and HOOKGATE_OKTA_API_TOKEN (okta.api_token_env), or [okta.oauth]"
}

// acquire takes the work slot, or fails when ctx ends first.
func (a *API) acquire(ctx context.Context) error {
	select {
	case a.work <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (a *API) release() { <-a.work }

// --- sync ---

// StartSync starts a full sync in the background and returns its status
// ("running"). It fails with ErrSyncRunning while one runs and with
// plugins.ErrOktaNotConfigured without an org.
func (a *API) StartSync() (api.SyncStatus, error) { return a.StartSyncWith(SyncRequest{}) }

// StartSyncWith is StartSync with the caller's choices (POST
// /v1/okta/sync's query).
func (a *API) StartSyncWith(req SyncRequest) (api.SyncStatus, error) {
	if a.client == nil {
		return api.SyncStatus{}, plugins.ErrOktaNotConfigured
	}
	a.mu.Lock()
	if a.sync.State == api.SyncRunning {
		st := a.sync
		a.mu.Unlock()
		return st, ErrSyncRunning
	}
	if a.ctx.Err() != nil {
		a.mu.Unlock()
		return api.SyncStatus{}, errors.New("the gateway is shutting down")
	}
	now := time.Now().UTC()
	opts := a.syncO
	opts.AppUsers = opts.AppUsers || req.AppUsers
	a.sync = api.SyncStatus{State: api.SyncRunning, Phase: "starting", StartedAt: &now, AppUsers: opts.AppUsers}
	st := a.sync
	a.wg.Add(1)
	a.mu.Unlock()
	go func() {
		defer a.wg.Done()
		a.runSync(opts)
	}()
	return st, nil
}

func (a *API) runSync(opts okta.SyncOptions) {
	opts.Progress = func(p okta.Progress) {
		a.mu.Lock()
		a.sync.Phase, a.sync.Done, a.sync.Total = p.Phase, p.Done, p.Total
		a.mu.Unlock()
	}
	var sum okta.SyncSummary
	err := a.acquire(a.ctx)
	if err == nil {
		a.log.Info("okta sync started", "org", a.client.OrgURL())
		sum, err = okta.Sync(a.ctx, a.client, a.st, opts)
		a.release()
	}
	now := time.Now().UTC()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sync.FinishedAt = &now
	if err != nil {
		a.sync.State, a.sync.Error = api.SyncFailed, err.Error()
		if !sum.Started.IsZero() {
			a.sync.Summary = &sum
		}
		a.log.Error("okta sync failed", "err", err)
		return
	}
	a.sync.State, a.sync.Summary = api.SyncDone, &sum
}

// SyncStatus returns the state of the last sync.
func (a *API) SyncStatus() api.SyncStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sync
}

// local runs handler h of this node's API on query q for a leader call
// from another node, returning what it answered.
func (a *API) local(h func(ctx *fasthttp.RequestCtx), q []byte) (int, []byte) {
	var rc fasthttp.RequestCtx
	rc.Request.SetRequestURI("/?" + string(q))
	h(&rc)
	return rc.Response.StatusCode(), append([]byte(nil), rc.Response.Body()...)
}

// onLeader answers ctx with call's answer from the cluster's leader when
// this node does not lead (true), and does nothing on a single node or
// the leader (false).
func (a *API) onLeader(ctx *fasthttp.RequestCtx, call string) bool {
	if a.leader == nil || a.leader.IsLeader() {
		return false
	}
	code, body, err := a.leader.CallLeader(ctx, call, ctx.QueryArgs().QueryString())
	if err != nil {
		admin.WriteError(ctx, http.StatusServiceUnavailable, fmt.Sprintf("Okta syncs run on the cluster's leader: %v", err))
		return true
	}
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
	return true
}

// PostSync serves POST /v1/okta/sync[?app_users=true]: 202 with the
// running status, 400 for a bad app_users value, 409 while one runs, 503
// without an org. In a cluster the leader runs it (a follower passes the
// request on and relays the answer).
func (a *API) PostSync(ctx *fasthttp.RequestCtx, _ []string) {
	if !a.onLeader(ctx, callSyncStart) {
		a.startSync(ctx)
	}
}

func (a *API) startSync(ctx *fasthttp.RequestCtx) {
	var req SyncRequest
	if v := ctx.QueryArgs().Peek("app_users"); v != nil {
		b, err := strconv.ParseBool(string(v))
		if err != nil {
			admin.WriteError(ctx, http.StatusBadRequest, fmt.Sprintf("app_users=%q: want true or false", v))
			return
		}
		req.AppUsers = b
	}
	st, err := a.StartSyncWith(req)
	switch {
	case errors.Is(err, plugins.ErrOktaNotConfigured):
		admin.WriteError(ctx, http.StatusServiceUnavailable, notConfigured())
		return
	case errors.Is(err, ErrSyncRunning):
		admin.WriteError(ctx, http.StatusConflict, fmt.Sprintf("%v (started %s, phase %s): follow it at GET /v1/okta/sync", err, st.StartedAt.Format(time.RFC3339), st.Phase))
		return
	case err != nil:
		admin.WriteError(ctx, http.StatusServiceUnavailable, err.Error())
		return
	}
	admin.WriteJSON(ctx, st)
	ctx.SetStatusCode(http.StatusAccepted)
}

// GetSync serves GET /v1/okta/sync (the leader's, in a cluster).
func (a *API) GetSync(ctx *fasthttp.RequestCtx, _ []string) {
	if !a.onLeader(ctx, callSyncStatus) {
		a.syncStatus(ctx)
	}
}

func (a *API) syncStatus(ctx *fasthttp.RequestCtx) {
	if a.client == nil {
		admin.WriteError(ctx, http.StatusServiceUnavailable, notConfigured())
		return
	}
	admin.WriteJSON(ctx, a.SyncStatus())
}

// --- catch-up ---

// CatchUp runs one System Log catch-up now (waiting for a running sync to
// finish), ingesting through the server's event path, and logs the counts.
func (a *API) CatchUp(ctx context.Context) (okta.CatchUpResult, error) {
	if a.client == nil {
		return okta.CatchUpResult{}, plugins.ErrOktaNotConfigured
	}
	if err := a.acquire(ctx); err != nil {
		return okta.CatchUpResult{}, err
	}
	defer a.release()
	started := time.Now().UTC()
	opts := okta.CatchUpOptions{ExtraTypes: a.extraTypes(), Logger: a.log}
	if a.gw != nil {
		opts.Ingest = a.gw.IngestCatchUp
	} else {
		retention := a.oktaO.EventRetention.Duration
		opts.Ingest = func(b *okta.Batch) (okta.IngestResult, error) {
			return okta.Ingest(a.st, b, okta.IngestOptions{Retention: retention})
		}
	}
	res, err := okta.CatchUp(ctx, a.client, a.st, opts)
	finished := time.Now().UTC()
	a.mu.Lock()
	a.catchUp.StartedAt, a.catchUp.FinishedAt, a.catchUp.Result = &started, &finished, &res
	if err != nil {
		a.catchUp.State, a.catchUp.Error = "failed", err.Error()
	} else {
		a.catchUp.State, a.catchUp.Error = "ok", ""
	}
	a.mu.Unlock()
	switch {
	case err != nil:
		a.log.Error("okta catch-up failed", "err", err, "accepted", res.Accepted, "duplicates", res.Duplicates)
	case res.Skipped != "":
		a.log.Info("okta catch-up skipped", "reason", res.Skipped)
	}
	return res, err
}

// extraTypes are the exact event types [[on_event]] subscribes to beyond
// the modelled ones, so their plugins also run for missed events. Prefix
// patterns ("group.*") cannot be expressed in the System Log's eq filter;
// the modelled types they cover are read anyway. The subscriptions are
// the server's current ones (a reload may change them).
func (a *API) extraTypes() []string {
	subs := a.onEvent
	if a.gw != nil {
		subs = a.gw.Subscriptions() // [[on_event]] is live: follow reloads
	}
	var out []string
	for _, o := range subs {
		for _, t := range o.Types {
			if !strings.HasSuffix(t, "*") {
				out = append(out, t)
			}
		}
	}
	return out
}

// GetCatchUp serves GET /v1/okta/catchup.
func (a *API) GetCatchUp(ctx *fasthttp.RequestCtx, _ []string) {
	if a.client == nil {
		admin.WriteError(ctx, http.StatusServiceUnavailable, notConfigured())
		return
	}
	a.mu.Lock()
	st := a.catchUp
	a.mu.Unlock()
	admin.WriteJSON(ctx, st)
}

// Run catches up with the System Log once right away and then every
// okta.catchup_interval (0: only once) until ctx ends; it returns after
// Close, so a running sync has stopped too. Without an org it waits for
// ctx and returns.
func (a *API) Run(ctx context.Context) error {
	defer a.Close()
	return a.RunCatchUp(ctx)
}

// RunCatchUp is Run without the Close at the end, for work started once
// per leadership in a cluster: the API stays usable (syncs can start) when
// this node leads again. Call Close at shutdown.
func (a *API) RunCatchUp(ctx context.Context) error {
	if a.client == nil {
		<-ctx.Done()
		return nil
	}
	_, _ = a.CatchUp(ctx)
	iv := a.oktaO.CatchupInterval.Duration
	if iv <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_, _ = a.CatchUp(ctx)
		}
	}
}

// Close stops a running sync and waits for it. Call it before closing the
// store (Run calls it on return).
func (a *API) Close() {
	a.cancel()
	a.wg.Wait()
	if a.refresh != nil {
		a.refresh.Wait()
	}
}

// superAdminRefusal explains Okta's 403 for an action on a Super
// Administrator: only a Super Administrator may change another Super
// Administrator's group memberships and assignments, which custom (and
// other standard) admin roles cannot.
func (a *API) superAdminRefusal(ctx context.Context, user string) string {
	mine := "hookgate's admin roles could not be read"
	if roles, err := a.client.ListMyRoles(ctx); err == nil {
		var names []string
		for _, r := range roles {
			if r.Type == "SUPER_ADMIN" {
				return user + " is a Super Administrator in Okta and hookgate's credentials hold SUPER_ADMIN, yet Okta refused; check the role's resource set and the org's admin settings"
			}
			n := r.Type
			if r.Label != "" {
				n += " (" + r.Label + ")"
			}
			names = append(names, n)
		}
		mine = "hookgate's credentials hold " + strings.Join(names, ", ")
		if len(names) == 0 {
			mine = "hookgate's credentials hold no admin role"
		}
	}
	return user + " is a Super Administrator in Okta, and Okta lets only a Super Administrator change a Super Administrator's group memberships and app assignments (a custom admin role cannot); " +
		mine + ". Fix: give hookgate's integration user (API token) or API service app (OAuth) the Super Administrator role, or leave Super Administrators to a person"
}

// GetRefresh serves GET /v1/okta/refresh: the background lookups'
// counters (503 without an org).
func (a *API) GetRefresh(ctx *fasthttp.RequestCtx, _ []string) {
	if a.refresh == nil {
		admin.WriteError(ctx, fasthttp.StatusServiceUnavailable, notConfigured())
		return
	}
	admin.WriteJSON(ctx, a.refresh.Stats())
}

// Refresher returns the background user lookups (nil without an org).
func (a *API) Refresher() *okta.Refresher { return a.refresh }

// --- plugin actions ---

// OktaAction performs a plugin's action on Okta (plugins.OktaActions):
// references are resolved through the identity store, the call goes
// through the gateway's Okta client and every attempt leaves an audit
// record of kind okta_action.
func (a *API) OktaAction(ctx context.Context, plugin string, req plugins.OktaActionRequest) (*plugins.OktaActionResult, error) {
	start := time.Now()
	rec := store.AuditRecord{Time: start.UTC(), Kind: AuditKindOktaAction, Plugin: plugin, User: req.User, AppID: req.App, Via: "plugin"}
	res, err := a.oktaAction(ctx, req, &rec)
	rec.Duration = time.Since(start)
	if err != nil {
		rec.Decision, rec.Error = "error", err.Error()
		rec.Message = req.Action + " failed"
	} else {
		rec.Decision, rec.Message = "success", res.Message
	}
	if a.audit != nil {
		if aerr := a.audit.Record(rec); aerr != nil {
			a.log.Error("okta action: audit record not written", "plugin", plugin, "action", req.Action, "err", aerr)
		}
	}
	lvl := slog.LevelInfo
	if err != nil {
		lvl = slog.LevelWarn
	}
	a.log.Log(ctx, lvl, "okta action", "plugin", plugin, "action", req.Action, "user", req.User, "group", req.Group, "app", req.App, "message", rec.Message, "err", err)
	return res, err
}

func (a *API) oktaAction(ctx context.Context, req plugins.OktaActionRequest, rec *store.AuditRecord) (*plugins.OktaActionResult, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", plugins.ErrOktaInvalid, err)
	}
	if a.client == nil {
		return nil, plugins.ErrOktaNotConfigured
	}
	res := &plugins.OktaActionResult{Action: req.Action}
	var userName, groupName, appName string
	var target *store.User
	if req.User != "" {
		u, err := a.st.LookupUser(req.User)
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", req.User, err)
		}
		target = u
		res.UserID, userName = u.ID, u.Login
		if userName == "" {
			userName = u.ID
		}
		rec.User = userName
	}
	if req.Group != "" {
		g, err := a.st.LookupGroup(req.Group)
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", req.Group, err)
		}
		res.GroupID, groupName = g.ID, g.Name
		rec.Permissions = []string{g.Name}
		if !req.Scope.AllowsGroup(g.ID, g.Name) {
			return nil, fmt.Errorf("%w: group %s (%s) is not in the plugin's okta_groups %q (list it by id or name, or [\"*\"] for all groups)", plugins.ErrOktaOutOfScope, g.Name, g.ID, req.Scope.OktaGroups)
		}
	}
	if req.App != "" {
		app, err := a.st.App(req.App)
		if err != nil {
			return nil, fmt.Errorf("app %q (an Okta app id): %w", req.App, err)
		}
		res.AppID, appName = app.ID, app.Label
		if appName == "" {
			appName = app.Name
		}
		rec.AppID = app.ID
		if !req.Scope.AllowsApp(app.ID, app.Name, app.Label) {
			return nil, fmt.Errorf("%w: app %s (%s) is not in the plugin's okta_apps %q (list it by id, name or label, or [\"*\"] for all apps)", plugins.ErrOktaOutOfScope, appName, app.ID, req.Scope.OktaApps)
		}
	}
	// The message names each end as "name (id)".
	user := userName + " (" + res.UserID + ")"
	group := "group " + groupName + " (" + res.GroupID + ")"
	app := "app " + appName + " (" + res.AppID + ")"
	var err error
	switch req.Action {
	case plugins.OktaAddUserToGroup:
		err = a.client.AddUserToGroup(ctx, res.GroupID, res.UserID)
		res.Message = "added " + user + " to " + group
	case plugins.OktaRemoveUserFromGroup:
		err = a.client.RemoveUserFromGroup(ctx, res.GroupID, res.UserID)
		res.Message = "removed " + user + " from " + group
	case plugins.OktaAssignAppToGroup:
		err = a.client.AssignAppToGroup(ctx, res.AppID, res.GroupID)
		res.Message = "assigned " + app + " to " + group
	case plugins.OktaUnassignAppFromGroup:
		err = a.client.UnassignAppFromGroup(ctx, res.AppID, res.GroupID)
		res.Message = "unassigned " + app + " from " + group
	case plugins.OktaAssignUserToApp:
		err = a.client.AssignUserToApp(ctx, res.AppID, res.UserID)
		res.Message = "assigned " + app + " to " + user
	case plugins.OktaUnassignUserFromApp:
		err = a.client.UnassignUserFromApp(ctx, res.AppID, res.UserID)
		res.Message = "unassigned " + app + " from " + user
	}
	if err != nil {
		switch {
		case okta.IsNotFound(err):
			return nil, fmt.Errorf("%w in Okta: %v", store.ErrNotFound, err)
		case okta.IsStatus(err, http.StatusForbidden) && target != nil && target.IsSuperAdmin():
			return nil, fmt.Errorf("%w: %v: %s", plugins.ErrOktaDenied, err, a.superAdminRefusal(ctx, userName))
		case okta.IsStatus(err, http.StatusForbidden), okta.IsStatus(err, http.StatusUnauthorized):
			return nil, fmt.Errorf("%w: %v (check the admin role and scopes with `hookgate okta check`)", plugins.ErrOktaDenied, err)
		case okta.IsStatus(err, http.StatusBadRequest):
			return nil, fmt.Errorf("%w: %v", plugins.ErrOktaInvalid, err)
		}
		return nil, err
	}
	return res, nil
}
