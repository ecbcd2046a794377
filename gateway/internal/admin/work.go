package admin

// Admin API for the durable work (gateway/internal/work): the queue, its
// dead letters and the time-boxed grants:
//
//	GET    /v1/dlq               dead letters, oldest first (no payloads);
//	                             ?limit=&after= pages with a Link rel="next"
//	GET    /v1/dlq/{id}          one dead letter with its payload
//	POST   /v1/dlq/{id}/replay   requeue it (attempts reset); 200 with the new item
//	DELETE /v1/dlq/{id}          drop it for good
//	GET    /v1/queue             queued items (pending and in flight), no payloads;
//	                             paged like /v1/dlq
//	GET    /v1/grants            time-boxed grants (?user=&app=&state=)
//	POST   /v1/grants/{id}/revoke  deprovision it now
//
// Nothing is deleted without an explicit DELETE.

import (
	"errors"
	"log/slog"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/api"
	"github.com/hookgate/hookgate/gateway/internal/work"
	"github.com/hookgate/hookgate/store"
)

func itemView(it *store.QueueItem, withPayload bool) api.QueueItem {
	v := api.QueueItem{
		ID: it.ID, Kind: it.Kind, Plugin: it.Plugin, Ref: it.Ref, EventType: it.EventType, Key: it.Key,
		Attempts: it.Attempts, LastError: it.LastError, EnqueuedAt: it.EnqueuedAt,
		InFlight: it.LeaseOwner != "", ReplayOf: it.ReplayOf,
	}
	if withPayload {
		v.Payload = it.Payload
	}
	return v
}

func deadView(d *store.DeadLetter, withPayload bool) api.QueueItem {
	v := itemView(&d.QueueItem, withPayload)
	v.InFlight = false
	at := d.DeadAt
	v.DeadAt = &at
	return v
}

// Queue serves /v1/dlq and /v1/queue over the store, waking the worker
// after a replay.
type Queue struct {
	st  *store.Store
	w   *work.Worker
	log *slog.Logger
}

// NewQueue returns the queue and dead-letter handlers; w is woken after a
// replay.
func NewQueue(st *store.Store, w *work.Worker, log *slog.Logger) Queue {
	return Queue{st: st, w: w, log: log}
}

// paged reports whether a list request asked for a page (?limit= or
// ?after=); without either the list is answered whole, as before.
func paged(ctx *fasthttp.RequestCtx) bool {
	q := ctx.QueryArgs()
	return q.Has("limit") || q.Has("after")
}

// pageOrAll answers a list of the work: a page (with a Link rel="next")
// when the request asked for one (?limit= or ?after=), else the whole list,
// each entry shown through view.
func pageOrAll[T any](ctx *fasthttp.RequestCtx, page func(after string, limit int) ([]T, string, error),
	all func(limit int) ([]T, error), view func(*T) api.QueueItem) {
	var list []T
	var next string
	var err error
	limit := 0
	if paged(ctx) {
		var ok bool
		if limit, ok = PageLimit(ctx); !ok {
			return
		}
		list, next, err = page(string(ctx.QueryArgs().Peek("after")), limit)
	} else {
		list, err = all(0)
	}
	if err != nil {
		WriteError(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	out := make([]api.QueueItem, len(list))
	for i := range list {
		out[i] = view(&list[i])
	}
	WritePage(ctx, out, next, limit, nil)
}

// ListDeadLetters serves GET /v1/dlq: dead letters, oldest first, without
// their payloads.
func (w Queue) ListDeadLetters(ctx *fasthttp.RequestCtx, _ []string) {
	pageOrAll(ctx, w.st.DeadLetterPage, w.st.DeadLetters, func(d *store.DeadLetter) api.QueueItem {
		return deadView(d, false)
	})
}

// ShowDeadLetter serves GET /v1/dlq/{id}: one dead letter with its payload.
func (w Queue) ShowDeadLetter(ctx *fasthttp.RequestCtx, p []string) {
	d, err := w.st.DeadLetter(p[0])
	if err != nil {
		dlqError(ctx, p[0], err)
		return
	}
	WriteJSON(ctx, deadView(d, true))
}

// ReplayDeadLetter serves POST /v1/dlq/{id}/replay: the dead letter is
// queued again with its attempts reset, and the worker is woken.
func (w Queue) ReplayDeadLetter(ctx *fasthttp.RequestCtx, p []string) {
	it, err := w.st.ReplayDeadLetter(p[0])
	if err != nil {
		dlqError(ctx, p[0], err)
		return
	}
	w.log.Info("dead letter replayed", "dead_letter", p[0], "item", it.ID, "kind", it.Kind, "plugin", it.Plugin)
	w.w.Kick()
	WriteJSON(ctx, itemView(it, false))
}

// DropDeadLetter serves DELETE /v1/dlq/{id}: the dead letter is dropped
// for good.
func (w Queue) DropDeadLetter(ctx *fasthttp.RequestCtx, p []string) {
	if err := w.st.DropDeadLetter(p[0]); err != nil {
		dlqError(ctx, p[0], err)
		return
	}
	w.log.Warn("dead letter dropped", "dead_letter", p[0])
	WriteJSON(ctx, map[string]string{"dropped": p[0]})
}

// ListQueue serves GET /v1/queue: pending and in-flight items, without
// their payloads, each with its next attempt time when it has one.
func (w Queue) ListQueue(ctx *fasthttp.RequestCtx, _ []string) {
	pageOrAll(ctx, w.st.QueuePage, w.st.QueueItems, func(it *store.QueueItem) api.QueueItem {
		v := itemView(it, false)
		if !it.NextAt.IsZero() {
			at := it.NextAt
			v.NextAt = &at
		}
		return v
	})
}

func dlqError(ctx *fasthttp.RequestCtx, id string, err error) {
	if errors.Is(err, store.ErrNotFound) {
		WriteError(ctx, fasthttp.StatusNotFound, "no dead letter "+id)
		return
	}
	WriteError(ctx, fasthttp.StatusInternalServerError, err.Error())
}

// Grants serves /v1/grants.
type Grants struct {
	st *store.Store
	g  *work.Grants
}

// NewGrants returns the grant handlers; g revokes.
func NewGrants(st *store.Store, g *work.Grants) Grants { return Grants{st: st, g: g} }

// grantView is a grant as the admin API lists it: the stored grant
// without its request body (Request is omitempty, so the JSON leaves it out).
func grantView(g *store.Grant) store.Grant {
	v := *g
	v.Request = nil
	return v
}

// List serves GET /v1/grants: time-boxed grants, filtered by ?user=,
// ?app= and ?state=, without their request bodies.
func (g Grants) List(ctx *fasthttp.RequestCtx, _ []string) {
	a := ctx.QueryArgs()
	f := store.GrantFilter{User: string(a.Peek("user")), App: string(a.Peek("app")), State: string(a.Peek("state"))}
	switch f.State {
	case "", store.GrantActive, store.GrantRevoked, store.GrantFailed:
	default:
		WriteError(ctx, fasthttp.StatusBadRequest, "state: want active, revoked or failed, got "+f.State)
		return
	}
	list, err := g.st.ListGrants(f)
	if err != nil {
		WriteError(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	out := make([]store.Grant, len(list))
	for i := range list {
		out[i] = grantView(&list[i])
	}
	WriteJSON(ctx, out)
}

// Revoke serves POST /v1/grants/{id}/revoke: the grant is deprovisioned
// now (502 when the deprovisioning hook fails).
func (g Grants) Revoke(ctx *fasthttp.RequestCtx, p []string) {
	gr, err := g.g.Revoke(ctx, p[0])
	switch {
	case errors.Is(err, store.ErrNotFound):
		WriteError(ctx, fasthttp.StatusNotFound, "no grant "+p[0])
	case err != nil:
		WriteError(ctx, fasthttp.StatusBadGateway, err.Error())
	default:
		WriteJSON(ctx, grantView(gr))
	}
}
