package gateway

import (
	"bytes"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/store"
)

// Admin API paging limits.
const (
	defaultPageLimit = 200
	maxPageLimit     = 1000
)

// AdminHandler serves one admin API route. params holds the values of the
// pattern's {placeholders}, in order. Authentication has already passed.
type AdminHandler func(ctx *fasthttp.RequestCtx, params []string)

// adminRoute is one row of the admin routing table.
type adminRoute struct {
	method  string
	pattern string
	h       AdminHandler
	// off leaves the route out: its part is not in this server (no
	// cluster, no pipeline, ...), so the path answers 404 like any other
	// unknown one.
	off  bool
	segs []string // pattern split on "/", "{...}" marks a parameter
}

// adminRouter serves /v1/: bearer auth, then the first route whose pattern
// matches the path. A path that matches no pattern is 404; one that matches
// only with another method is 405.
type adminRouter struct {
	s      *Server
	routes []adminRoute
}

// newAdminRouter builds the router over the route table (routes.go),
// leaving out the routes marked off.
func newAdminRouter(s *Server, table []adminRoute) *adminRouter {
	r := &adminRouter{s: s}
	for _, rt := range table {
		if rt.off {
			continue
		}
		rt.segs = strings.Split(strings.Trim(rt.pattern, "/"), "/")
		r.routes = append(r.routes, rt)
	}
	return r
}

// adminRoutes returns the admin router, built from the route table on
// first use (after the server's parts are in place: Build, or the Enable
// calls before Serve).
func (s *Server) adminRoutes() *adminRouter {
	s.adminOnce.Do(func() { s.admin = newAdminRouter(s, s.routes()) })
	return s.admin
}

func (r *adminRouter) serve(ctx *fasthttp.RequestCtx) {
	if !r.s.adminAuthorized(ctx) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="hookgate"`)
		writeError(ctx, fasthttp.StatusUnauthorized, "missing or wrong admin bearer token (Authorization: Bearer $"+r.s.gen.Load().Config.Admin.TokenEnv+")")
		return
	}
	r.route(ctx)
}

// route runs the request's route; authentication has already passed (the
// bearer token, or a console session for the console's in-process calls).
func (r *adminRouter) route(ctx *fasthttp.RequestCtx) {
	path := bytes.Trim(ctx.Path(), "/")
	var allow []string
	for i := range r.routes {
		rt := &r.routes[i]
		params, ok := matchPattern(rt.segs, path)
		if !ok {
			continue
		}
		if string(ctx.Method()) != rt.method {
			allow = append(allow, rt.method)
			continue
		}
		rt.h(ctx, params)
		return
	}
	if len(allow) > 0 {
		methodNotAllowed(ctx, strings.Join(allow, ", "))
		return
	}
	writeError(ctx, fasthttp.StatusNotFound, "no such admin endpoint: "+string(ctx.Path()))
}

// matchPattern matches path segments (fasthttp has already decoded and
// normalized the path) against a pattern's segments.
func matchPattern(segs []string, path []byte) ([]string, bool) {
	var params []string
	for i, seg := range segs {
		if len(path) == 0 {
			return nil, false
		}
		part := path
		rest := []byte(nil)
		if j := bytes.IndexByte(path, '/'); j >= 0 {
			part, rest = path[:j], path[j+1:]
		}
		if strings.HasPrefix(seg, "{") {
			params = append(params, string(part))
		} else if string(part) != seg {
			return nil, false
		}
		path = rest
		if i == len(segs)-1 && len(path) != 0 {
			return nil, false
		}
	}
	return params, true
}

// adminAuthorized checks "Authorization: Bearer <token>" in constant time.
func (s *Server) adminAuthorized(ctx *fasthttp.RequestCtx) bool {
	h := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(string(h[:len(scheme)]), scheme) {
		return false
	}
	return secretMatches(h[len(scheme):], &s.gen.Load().adminToken)
}

// writeLookup answers a single-object read: 404 JSON for store.ErrNotFound,
// 500 for any other error.
func writeLookup[T any](ctx *fasthttp.RequestCtx, kind, ref string, v *T, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(ctx, fasthttp.StatusNotFound, kind+" "+strconv.Quote(ref)+" not found")
	case err != nil:
		writeError(ctx, fasthttp.StatusInternalServerError, "read "+kind+" "+strconv.Quote(ref)+": "+err.Error())
	default:
		writeJSON(ctx, v)
	}
}

func (s *Server) getUser(ctx *fasthttp.RequestCtx, p []string) {
	u, err := s.st.LookupUser(p[0])
	writeLookup(ctx, "user", p[0], u, err)
}

func (s *Server) getGroup(ctx *fasthttp.RequestCtx, p []string) {
	g, err := s.st.Group(p[0])
	writeLookup(ctx, "group", p[0], g, err)
}

func (s *Server) getApp(ctx *fasthttp.RequestCtx, p []string) {
	a, err := s.st.App(p[0])
	writeLookup(ctx, "app", p[0], a, err)
}

// pageLimit parses ?limit= (default 200, 1..1000). It answers 400 itself
// and returns ok=false on a bad value.
func pageLimit(ctx *fasthttp.RequestCtx) (int, bool) {
	raw := ctx.QueryArgs().Peek("limit")
	if len(raw) == 0 {
		return defaultPageLimit, true
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 1 || n > maxPageLimit {
		writeError(ctx, fasthttp.StatusBadRequest,
			"limit: want an integer from 1 to "+strconv.Itoa(maxPageLimit)+", got "+strconv.Quote(string(raw)))
		return 0, false
	}
	return n, true
}

// writePage answers a list endpoint: a JSON array (never null) and, when
// there is a next page, an Okta-style `Link: <...>; rel="next"` header.
func writePage[T any](ctx *fasthttp.RequestCtx, items []T, next string, limit int, err error) {
	if err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, "list "+string(ctx.Path())+": "+err.Error())
		return
	}
	if next != "" {
		// The next page keeps the request's filters (?q=, ?user=, ...).
		var filters strings.Builder
		for k, v := range ctx.QueryArgs().All() {
			if string(k) != "limit" && string(k) != "after" {
				filters.WriteString("&" + url.QueryEscape(string(k)) + "=" + url.QueryEscape(string(v)))
			}
		}
		ctx.Response.Header.Set("Link", "<"+string(ctx.Path())+"?limit="+strconv.Itoa(limit)+filters.String()+
			"&after="+url.QueryEscape(next)+`>; rel="next"`)
	}
	writeJSON(ctx, nonNil(items))
}

// listUsers serves GET /v1/users: every live user in id order; with ?q=
// those whose id, login, email or name starts with q (store.SearchUsers);
// with ?attr.<name>=<value> the users whose profile attribute equals value
// exactly (strings by text, other types by their JSON text, arrays when one
// string element equals it). At most one attr filter, not combined with q;
// it scans the user records (no attribute is indexed). listGroups and
// listApps search groups (id, name) and apps (id, name, label) with ?q=.
func (s *Server) listUsers(ctx *fasthttp.RequestCtx, _ []string) {
	limit, ok := pageLimit(ctx)
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
		writeError(ctx, fasthttp.StatusBadRequest, bad)
		return
	case n > 1:
		writeError(ctx, fasthttp.StatusBadRequest, "at most one attr.<name>=<value> filter")
		return
	}
	q, after := ctx.QueryArgs().Peek("q"), string(ctx.QueryArgs().Peek("after"))
	if len(q) > 0 {
		if n > 0 {
			writeError(ctx, fasthttp.StatusBadRequest, "q= and attr.<name>= cannot be combined")
			return
		}
		items, next, err := s.st.SearchUsers(string(q), after, limit)
		writePage(ctx, items, next, limit, err)
		return
	}
	if n == 0 {
		items, next, err := s.st.ListUsers(after, limit)
		writePage(ctx, items, next, limit, err)
		return
	}
	items, next, err := s.st.ListUsersWithAttr(name, value, after, limit)
	if err == nil && next != "" {
		ctx.Response.Header.Set("Link", "<"+string(ctx.Path())+"?limit="+strconv.Itoa(limit)+
			"&attr."+url.QueryEscape(name)+"="+url.QueryEscape(value)+"&after="+url.QueryEscape(next)+`>; rel="next"`)
		writeJSON(ctx, nonNil(items))
		return
	}
	writePage(ctx, items, next, limit, err)
}

func (s *Server) listGroups(ctx *fasthttp.RequestCtx, _ []string) {
	limit, ok := pageLimit(ctx)
	if !ok {
		return
	}
	q, after := ctx.QueryArgs().Peek("q"), string(ctx.QueryArgs().Peek("after"))
	if len(q) > 0 {
		items, next, err := s.st.SearchGroups(string(q), after, limit)
		writePage(ctx, items, next, limit, err)
		return
	}
	items, next, err := s.st.ListGroups(after, limit)
	writePage(ctx, items, next, limit, err)
}

func (s *Server) listApps(ctx *fasthttp.RequestCtx, _ []string) {
	limit, ok := pageLimit(ctx)
	if !ok {
		return
	}
	q, after := ctx.QueryArgs().Peek("q"), string(ctx.QueryArgs().Peek("after"))
	if len(q) > 0 {
		items, next, err := s.st.SearchApps(string(q), after, limit)
		writePage(ctx, items, next, limit, err)
		return
	}
	items, next, err := s.st.ListApps(after, limit)
	writePage(ctx, items, next, limit, err)
}

// listEvents serves GET /v1/events: accepted events, one per uuid, newest
// published first, unknown types included, each with published exactly as
// Okta sent it. Query: limit (1..1000, default 200), after (the cursor of
// the Link rel="next" header, which carries the other parameters too),
// type (exact, or a prefix ending in ".*"), user (an id, login or email,
// matched against the actor and the targets; a user the store knows also
// matches by its id, login and email), since and until (RFC 3339, since <=
// published < until).
func (s *Server) listEvents(ctx *fasthttp.RequestCtx, _ []string) {
	limit, ok := pageLimit(ctx)
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
			writeError(ctx, fasthttp.StatusBadRequest, tb.name+": want an RFC 3339 time, got "+strconv.Quote(string(raw)))
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
		writeError(ctx, fasthttp.StatusBadRequest, "after: not a cursor this endpoint returned: "+strconv.Quote(q.After))
		return
	case err != nil:
		writeError(ctx, fasthttp.StatusInternalServerError, "list events: "+err.Error())
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
	writeJSON(ctx, nonNil(evs))
}

// listRejected serves GET /v1/events/rejected: malformed events kept aside
// with their reason.
func (s *Server) listRejected(ctx *fasthttp.RequestCtx, _ []string) {
	limit, ok := pageLimit(ctx)
	if !ok {
		return
	}
	evs, err := s.st.RejectedEvents(limit)
	if err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, "list rejected events: "+err.Error())
		return
	}
	writeJSON(ctx, nonNil(evs))
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
