package gateway

import (
	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/console"
)

// newConsole builds the operator console (/ui/). It reads and acts only
// through consoleAPI, so it sees exactly what the admin API answers.
func (s *Server) newConsole() *console.Console {
	c, err := console.New(console.Options{
		API: s.consoleAPI,
		CheckToken: func(tok []byte) bool {
			return secretMatches(tok, &s.gen.Load().adminToken)
		},
		Logger: s.log.With("component", "console"),
	})
	if err != nil {
		// The templates are embedded and parsed by the console's tests:
		// failing here is a build defect, not a runtime condition.
		panic(err)
	}
	return c
}

// consoleAPI serves the console's in-process calls: the /v1 admin routes
// (the console's session stands in for the bearer token) and /readyz.
func (s *Server) consoleAPI(ctx *fasthttp.RequestCtx) {
	switch p := ctx.Path(); {
	case hasPrefix(p, "/v1/"):
		s.adminRoutes().Serve(ctx)
	case string(p) == "/readyz":
		s.serveReady(ctx)
	default:
		writeError(ctx, fasthttp.StatusNotFound, "no such endpoint: "+string(p))
	}
}
