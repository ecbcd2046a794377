package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/store"
)

// Admin API paging limits.
const (
	defaultPageLimit = 200
	maxPageLimit     = 1000
)

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error string `json:"error"`
}

// WriteError answers status with {"error": msg}.
func WriteError(ctx *fasthttp.RequestCtx, status int, msg string) {
	b, _ := json.Marshal(errorBody{Error: msg})
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// WriteJSON answers 200 with v encoded as JSON.
func WriteJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(ctx, fasthttp.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// MethodNotAllowed answers 405 with an Allow header.
func MethodNotAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set("Allow", allow)
	WriteError(ctx, fasthttp.StatusMethodNotAllowed,
		fmt.Sprintf("method %s not allowed here (allowed: %s)", ctx.Method(), allow))
}

// PageLimit parses ?limit= (default 200, 1..1000). It answers 400 itself
// and returns ok=false on a bad value.
func PageLimit(ctx *fasthttp.RequestCtx) (int, bool) {
	raw := ctx.QueryArgs().Peek("limit")
	if len(raw) == 0 {
		return defaultPageLimit, true
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 1 || n > maxPageLimit {
		WriteError(ctx, fasthttp.StatusBadRequest,
			"limit: want an integer from 1 to "+strconv.Itoa(maxPageLimit)+", got "+strconv.Quote(string(raw)))
		return 0, false
	}
	return n, true
}

// WritePage answers a list endpoint: a JSON array (never null) and, when
// there is a next page, an Okta-style `Link: <...>; rel="next"` header.
func WritePage[T any](ctx *fasthttp.RequestCtx, items []T, next string, limit int, err error) {
	if err != nil {
		WriteError(ctx, fasthttp.StatusInternalServerError, "list "+string(ctx.Path())+": "+err.Error())
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
	WriteJSON(ctx, nonNil(items))
}

// writeLookup answers a single-object read: 404 JSON for store.ErrNotFound,
// 500 for any other error.
func writeLookup[T any](ctx *fasthttp.RequestCtx, kind, ref string, v *T, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		WriteError(ctx, fasthttp.StatusNotFound, kind+" "+strconv.Quote(ref)+" not found")
	case err != nil:
		WriteError(ctx, fasthttp.StatusInternalServerError, "read "+kind+" "+strconv.Quote(ref)+": "+err.Error())
	default:
		WriteJSON(ctx, v)
	}
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
