package admin

import (
	"bytes"
	"strings"

	"github.com/valyala/fasthttp"
)

// Handler serves one admin API route. params holds the values of the
// pattern's {placeholders}, in order. Authentication has already passed.
type Handler func(ctx *fasthttp.RequestCtx, params []string)

// Route is one row of the admin route table.
type Route struct {
	Method  string
	Pattern string // like "/v1/grants/{id}/revoke"
	Handler Handler
	// Off leaves the route out: its part is not in this server (no
	// cluster, no pipeline, ...), so the path answers 404 like any other
	// unknown one.
	Off bool
}

// route is a Route with its pattern split on "/" ("{...}" marks a
// parameter).
type route struct {
	Route
	segs []string
}

// Router serves /v1/: the first route whose pattern and method match the
// path. A path that matches no pattern is 404; one that matches only with
// other methods is 405 listing them. It does not authenticate: the caller
// has (the bearer token, or a console session for the console's
// in-process calls).
type Router struct {
	routes []route
}

// NewRouter builds the router over table, in order, leaving out the
// routes marked Off.
func NewRouter(table []Route) *Router {
	r := &Router{}
	for _, rt := range table {
		if rt.Off {
			continue
		}
		r.routes = append(r.routes, route{Route: rt, segs: strings.Split(strings.Trim(rt.Pattern, "/"), "/")})
	}
	return r
}

// Serve runs the request's route.
func (r *Router) Serve(ctx *fasthttp.RequestCtx) {
	path := bytes.Trim(ctx.Path(), "/")
	var allow []string
	for i := range r.routes {
		rt := &r.routes[i]
		params, ok := matchPattern(rt.segs, path)
		if !ok {
			continue
		}
		if string(ctx.Method()) != rt.Method {
			allow = append(allow, rt.Method)
			continue
		}
		rt.Handler(ctx, params)
		return
	}
	if len(allow) > 0 {
		MethodNotAllowed(ctx, strings.Join(allow, ", "))
		return
	}
	WriteError(ctx, fasthttp.StatusNotFound, "no such admin endpoint: "+string(ctx.Path()))
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
