package gateway

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/internal/admin"
)

// adminRoutes returns the /v1 router, built from the route table
// (routes.go) on first use, after the server's parts are in place (Build,
// or the Enable calls before Serve).
func (s *Server) adminRoutes() *admin.Router {
	s.adminOnce.Do(func() { s.admin = admin.NewRouter(s.routes()) })
	return s.admin
}

// serveAdmin serves /v1/: the admin bearer token, then the route table.
func (s *Server) serveAdmin(ctx *fasthttp.RequestCtx) {
	if !s.adminAuthorized(ctx) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="hookgate"`)
		writeError(ctx, fasthttp.StatusUnauthorized, "missing or wrong admin bearer token (Authorization: Bearer $"+s.gen.Load().Config.Admin.TokenEnv+")")
		return
	}
	s.adminRoutes().Serve(ctx)
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
