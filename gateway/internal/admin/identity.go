package admin

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/store"
)

// Identity serves the identity state and the Okta events of the store:
// /v1/users, /v1/groups, /v1/apps (lists with ?q= search, one by id) and
// /v1/events (and /v1/events/rejected).
type Identity struct{ st *store.Store }

// NewIdentity returns the identity handlers over st.
func NewIdentity(st *store.Store) Identity { return Identity{st: st} }

// GetUser serves GET /v1/users/{ref}: one user by id, login or email.
func (s Identity) GetUser(ctx *fasthttp.RequestCtx, p []string) {
	u, err := s.st.LookupUser(p[0])
	writeLookup(ctx, "user", p[0], u, err)
}

// GetGroup serves GET /v1/groups/{id}.
func (s Identity) GetGroup(ctx *fasthttp.RequestCtx, p []string) {
	g, err := s.st.Group(p[0])
	writeLookup(ctx, "group", p[0], g, err)
}

// GetApp serves GET /v1/apps/{id}.
func (s Identity) GetApp(ctx *fasthttp.RequestCtx, p []string) {
	a, err := s.st.App(p[0])
	writeLookup(ctx, "app", p[0], a, err)
}

// ListUsers serves GET /v1/users: every live user in id order; with ?q=
// those whose id, login, email or name starts with q (store.SearchUsers);
// with ?attr.<name>=<value> the users whose profile attribute equals value
// exactly (strings by text, other types by their JSON text, arrays when one
// string element equals it). At most one attr filter, not combined with q;
// it scans the user records (no attribute is indexed). ListGroups and
// ListApps search groups (id, name) and apps (id, name, label) with ?q=.
func (s Identity) ListUsers(ctx *fasthttp.RequestCtx, _ []string) {
	limit, ok := PageLimit(ctx)
	if !ok {
		return
	}
	var name, value string
	n := 0
	bad := ""
	for k, v := range ctx.QueryArgs().All() {
		if a, ok := strings.CutPrefix(string(k), "attr."); ok {
			n++
			name, value = a, string(v)
			if a == "" {
				bad = "attr.: the attribute name is missing (want attr.<name>=<value>)"
			}
		}
	}
	switch {
	case bad != "":
		WriteError(ctx, fasthttp.StatusBadRequest, bad)
		return
	case n > 1:
		WriteError(ctx, fasthttp.StatusBadRequest, "at most one attr.<name>=<value> filter")
		return
	}
	q, after := ctx.QueryArgs().Peek("q"), string(ctx.QueryArgs().Peek("after"))
	if len(q) > 0 {
		if n > 0 {
			WriteError(ctx, fasthttp.StatusBadRequest, "q= and attr.<name>= cannot be combined")
			return
		}
		items, next, err := s.st.SearchUsers(string(q), after, limit)
		WritePage(ctx, items, next, limit, err)
		return
	}
	if n == 0 {
		items, next, err := s.st.ListUsers(after, limit)
		WritePage(ctx, items, next, limit, err)
		return
	}
	items, next, err := s.st.ListUsersWithAttr(name, value, after, limit)
	if err == nil && next != "" {
		ctx.Response.Header.Set("Link", "<"+string(ctx.Path())+"?limit="+strconv.Itoa(limit)+
			"&attr."+url.QueryEscape(name)+"="+url.QueryEscape(value)+"&after="+url.QueryEscape(next)+`>; rel="next"`)
		WriteJSON(ctx, nonNil(items))
		return
	}
	WritePage(ctx, items, next, limit, err)
}

// ListGroups serves GET /v1/groups (see ListUsers).
func (s Identity) ListGroups(ctx *fasthttp.RequestCtx, _ []string) {
	searchOrList(ctx, s.st.SearchGroups, s.st.ListGroups)
}

// ListApps serves GET /v1/apps (see ListUsers).
func (s Identity) ListApps(ctx *fasthttp.RequestCtx, _ []string) {
	searchOrList(ctx, s.st.SearchApps, s.st.ListApps)
}

// searchOrList answers one page of search(q) when the query has q=, else
// of list, after the query's after= cursor and within its limit.
func searchOrList[T any](ctx *fasthttp.RequestCtx,
	search func(q, after string, limit int) ([]T, string, error),
	list func(after string, limit int) ([]T, string, error)) {
	limit, ok := PageLimit(ctx)
	if !ok {
		return
	}
	q, after := ctx.QueryArgs().Peek("q"), string(ctx.QueryArgs().Peek("after"))
	var items []T
	var next string
	var err error
	if len(q) > 0 {
		items, next, err = search(string(q), after, limit)
	} else {
		items, next, err = list(after, limit)
	}
	WritePage(ctx, items, next, limit, err)
}

// ListEvents serves GET /v1/events: accepted events, one per uuid, newest
// published first, unknown types included, each with published exactly as
// Okta sent it. Query: limit (1..1000, default 200), after (the cursor of
// the Link rel="next" header, which carries the other parameters too),
// type (exact, or a prefix ending in ".*"), user (an id, login or email,
// matched against the actor and the targets; a user the store knows also
// matches by its id, login and email), since and until (RFC 3339, since <=
// published < until).
func (s Identity) ListEvents(ctx *fasthttp.RequestCtx, _ []string) {
	limit, ok := PageLimit(ctx)
	if !ok {
		return
	}
	args := ctx.QueryArgs()
	q := store.EventQuery{
		After: string(args.Peek("after")),
		Limit: limit,
		Type:  string(args.Peek("type")),
	}
	for _, tb := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		raw := args.Peek(tb.name)
		if len(raw) == 0 {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, string(raw))
		if err != nil {
			WriteError(ctx, fasthttp.StatusBadRequest, tb.name+": want an RFC 3339 time, got "+strconv.Quote(string(raw)))
			return
		}
		*tb.dst = t
	}
	if ref := string(args.Peek("user")); ref != "" {
		q.Refs = []string{ref}
		if u, err := s.st.LookupUser(ref); err == nil {
			q.Refs = append(q.Refs, u.ID, u.Login, u.Email)
		}
	}
	evs, next, err := s.st.EventPage(q)
	switch {
	case errors.Is(err, store.ErrBadCursor):
		WriteError(ctx, fasthttp.StatusBadRequest, "after: not a cursor this endpoint returned: "+strconv.Quote(q.After))
		return
	case err != nil:
		WriteError(ctx, fasthttp.StatusInternalServerError, "list events: "+err.Error())
		return
	}
	if next != "" {
		v := url.Values{}
		for k, val := range args.All() {
			if key := string(k); key != "after" {
				v.Add(key, string(val))
			}
		}
		v.Set("limit", strconv.Itoa(limit))
		v.Set("after", next)
		ctx.Response.Header.Set("Link", "<"+string(ctx.Path())+"?"+v.Encode()+`>; rel="next"`)
	}
	WriteJSON(ctx, nonNil(evs))
}

// ListRejected serves GET /v1/events/rejected: malformed events kept aside
// with their reason.
func (s Identity) ListRejected(ctx *fasthttp.RequestCtx, _ []string) {
	limit, ok := PageLimit(ctx)
	if !ok {
		return
	}
	evs, err := s.st.RejectedEvents(limit)
	if err != nil {
		WriteError(ctx, fasthttp.StatusInternalServerError, "list rejected events: "+err.Error())
		return
	}
	WriteJSON(ctx, nonNil(evs))
}
