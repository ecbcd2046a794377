package gateway

// POST /hooks/{provisioning|deprovisioning|pre_approval|request_validation}:
// the inline access hooks (Lumos contract). Checks, in order: known kind
// (404), POST (405), the shared secret in the configured header compared in
// constant time (401), the body limit (413); then the Dispatcher validates
// (400 naming the field), routes (404 naming kind, app and permissions; 409
// when the permissions route to different plugins), runs the plugin and the
// Responder maps its decision to the caller's literals.

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/gateway/internal/admin"
	"github.com/hookgate/hookgate/gateway/internal/oktaapi"
	"github.com/hookgate/hookgate/gateway/internal/work"
	"github.com/hookgate/hookgate/sdk/abi"
	"github.com/hookgate/hookgate/store"
)

// HookHandler serves /hooks/{kind}. Create it with NewHookHandler and set
// its Serve method as Server.Hooks.
type HookHandler struct {
	d       *hook.Dispatcher
	header  string
	secret  [sha256.Size]byte
	maxBody int
	log     *slog.Logger
}

// NewHookHandler builds the handler from the [hooks] config (auth header,
// resolved secret, body limit) over a dispatcher.
func NewHookHandler(cfg *config.Config, d *hook.Dispatcher, logger *slog.Logger) *HookHandler {
	if logger == nil {
		logger = slog.Default()
	}
	return &HookHandler{
		d:       d,
		header:  cfg.Hooks.AuthHeader,
		secret:  sha256.Sum256([]byte(cfg.Hooks.Secret)),
		maxBody: cfg.Hooks.MaxBodyBytes,
		log:     logger.With("component", "hooks"),
	}
}

// hookError is the JSON body of a refused hook request. Field, Kind, AppID
// and Permissions are set where they help the caller fix the request.
type hookError struct {
	Error       string   `json:"error"`
	Field       string   `json:"field,omitempty"`
	Kind        string   `json:"kind,omitempty"`
	AppID       string   `json:"app_id,omitempty"`
	InstanceID  string   `json:"instance_id,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
	Plugin      string   `json:"plugin,omitempty"`
}

func writeHookError(ctx *fasthttp.RequestCtx, status int, e hookError) {
	b, _ := json.Marshal(e)
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// Serve handles one request under /hooks/.
func (h *HookHandler) Serve(ctx *fasthttp.RequestCtx) {
	kind, ok := kindOf(ctx.Path()[len("/hooks/"):])
	if !ok {
		writeHookError(ctx, fasthttp.StatusNotFound, hookError{
			Error: fmt.Sprintf("unknown hook kind %q: POST to /hooks/provisioning, /hooks/deprovisioning, /hooks/pre_approval or /hooks/request_validation", kind),
		})
		return
	}
	if !ctx.IsPost() {
		admin.MethodNotAllowed(ctx, "POST")
		return
	}
	if !secretMatches(ctx.Request.Header.Peek(h.header), &h.secret) {
		writeHookError(ctx, fasthttp.StatusUnauthorized, hookError{
			Error: fmt.Sprintf("missing or wrong credentials in the %s header", h.header),
		})
		return
	}
	bp := readBody(ctx, h.maxBody)
	if bp == nil {
		return // 413 written
	}
	defer releaseBody(bp)

	out, err := h.d.Dispatch(requestContext{ctx}, kind, hook.TrimBOM(*bp), "lumos")
	if err != nil {
		var (
			be *hook.BadRequestError
			nr *hook.NoRouteError
			rc *hook.RouteConflictError
			nl *hook.PluginNotReadyError
		)
		switch {
		case errors.As(err, &nl):
			ctx.Response.Header.Set("Retry-After", "1")
			writeHookError(ctx, fasthttp.StatusServiceUnavailable, hookError{Error: nl.Error(), Kind: kind, Plugin: nl.Plugin})
		case errors.As(err, &be):
			writeHookError(ctx, fasthttp.StatusBadRequest, hookError{Error: "invalid request body: " + be.Error(), Field: be.Field, Kind: kind})
		case errors.As(err, &nr):
			writeHookError(ctx, fasthttp.StatusNotFound, hookError{Error: nr.Error(), Kind: nr.Kind, AppID: nr.AppID,
				InstanceID: nr.InstanceID, Permissions: nr.Permissions})
		case errors.As(err, &rc):
			writeHookError(ctx, fasthttp.StatusConflict, hookError{Error: rc.Error(), Kind: rc.Kind, AppID: rc.AppID})
		default:
			writeHookError(ctx, fasthttp.StatusInternalServerError, hookError{Error: err.Error(), Kind: kind})
		}
		return
	}
	rep := h.d.Responder().Reply(kind, out)
	ctx.SetStatusCode(rep.Status)
	if rep.Status == fasthttp.StatusNoContent {
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(rep.Body)
}

// kindOf returns the known hook kind named by b, as the config.Kinds
// string (no allocation), or b as a string and false.
func kindOf(b []byte) (string, bool) {
	for _, k := range config.Kinds {
		if string(b) == k {
			return k, true
		}
	}
	return string(b), false
}

// EnableHooks serves the inline hooks through d: it makes d the current
// generation's dispatcher (its plugin calls are measured on /metrics), sets
// s.Hooks and turns on GET /v1/audit (d's audit log). Call it before Serve.
// After a reload, requests go to the new generation's dispatcher.
func (s *Server) EnableHooks(d *hook.Dispatcher) {
	s.m.instrument(d)
	s.gen.Store(s.gen.Load().withHooks(s, d))
	s.Hooks = s.serveHooks
	s.audit = d.Audit()
}

// serveHooks runs one hook request on the current generation, held until
// the answer is written so a reload cannot close its plugin mid-call.
func (s *Server) serveHooks(ctx *fasthttp.RequestCtx) {
	g := s.acquire()
	defer g.release()
	g.hooks.Serve(ctx)
}

// auditHandler serves GET /v1/audit?user=&kind=&plugin=&decision=&limit=&after=:
// audit records, newest first, including every decision made before the
// request; a full page carries the next page's Link like the other lists.
func (s *Server) serveAudit(ctx *fasthttp.RequestCtx, _ []string) {
	a := s.audit
	if a == nil {
		writeError(ctx, fasthttp.StatusNotFound, "auditing is disabled")
		return
	}
	q := ctx.QueryArgs()
	kind := string(q.Peek("kind"))
	if kind != "" && !abi.IsHookKind(kind) && kind != work.ItemOktaEvent && kind != oktaapi.AuditKindOktaAction { // okta_event: event plugin runs; okta_action: plugin actions on Okta
		writeError(ctx, fasthttp.StatusBadRequest, (&hook.UnknownKindError{Kind: kind}).Error())
		return
	}
	limit, ok := admin.PageLimit(ctx)
	if !ok {
		return
	}
	recs, err := a.List(store.AuditFilter{
		User: string(q.Peek("user")), Kind: kind, Limit: limit,
		Plugin: string(q.Peek("plugin")), Decision: string(q.Peek("decision")), After: string(q.Peek("after")),
	})
	next := ""
	if err == nil && len(recs) == limit {
		next = store.AuditCursor(&recs[len(recs)-1])
	}
	admin.WritePage(ctx, recs, next, limit, err)
}
