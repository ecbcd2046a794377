package admin

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// The router serves the first matching route with its parameters, answers
// 405 with Allow for a path served only by other methods, 404 for unknown
// paths, and leaves routes marked Off out entirely.
func TestRouterTable(t *testing.T) {
	var got []string
	h := func(name string) Handler {
		return func(ctx *fasthttp.RequestCtx, p []string) {
			got = append(got, name+"("+strings.Join(p, ",")+")")
			ctx.SetStatusCode(fasthttp.StatusOK)
		}
	}
	r := NewRouter([]Route{
		{Method: "GET", Pattern: "/v1/dlq", Handler: h("list")},
		{Method: "GET", Pattern: "/v1/dlq/{id}", Handler: h("show")},
		{Method: "POST", Pattern: "/v1/dlq/{id}/replay", Handler: h("replay")},
		{Method: "DELETE", Pattern: "/v1/dlq/{id}", Handler: h("drop")},
		{Method: "GET", Pattern: "/v1/cluster", Handler: h("cluster"), Off: true},
	})
	do := func(method, path string) (int, string, string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(path)
		r.Serve(&ctx)
		return ctx.Response.StatusCode(), string(ctx.Response.Header.Peek("Allow")), string(ctx.Response.Body())
	}
	for _, c := range []struct {
		method, path string
		code         int
		allow, call  string
	}{
		{"GET", "/v1/dlq", 200, "", "list()"},
		{"GET", "/v1/dlq/d-1", 200, "", "show(d-1)"},
		{"DELETE", "/v1/dlq/d-1/", 200, "", "drop(d-1)"},
		{"POST", "/v1/dlq/d-2/replay", 200, "", "replay(d-2)"},
		{"PUT", "/v1/dlq/d-1", 405, "GET, DELETE", ""},
		{"GET", "/v1/dlq/d-1/replay", 405, "POST", ""},
		{"GET", "/v1/dlq/d-1/replay/x", 404, "", ""},
		{"GET", "/v1/cluster", 404, "", ""},
	} {
		got = nil
		code, allow, body := do(c.method, c.path)
		call := strings.Join(got, " ")
		if code != c.code || allow != c.allow || call != c.call {
			t.Errorf("%s %s: %d allow=%q call=%q body=%s, want %d allow=%q call=%q", c.method, c.path, code, allow, call, body, c.code, c.allow, c.call)
		}
		if code >= 400 && !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("%s %s: error body %q is not JSON {\"error\": …}", c.method, c.path, body)
		}
	}
}
