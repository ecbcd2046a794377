package gateway

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/store/cluster"
)

// EnableCluster serves GET /v1/cluster (leader, term and every node's
// state, applied index and last contact), POST /v1/cluster/join?id=&raft_addr=
// and POST /v1/cluster/remove?id= (passed to the leader over the cluster's
// mutual TLS), adds the node's Raft metrics to /metrics, and makes /readyz
// report the node not ready while it knows no leader or lags behind.
// Call it before Serve.
func (s *Server) EnableCluster(n *cluster.Node) {
	s.cluster = n
	s.m.reg.MustRegister(n.Collector())
	s.HandleAdmin("GET", "/v1/cluster", func(ctx *fasthttp.RequestCtx, _ []string) {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		writeJSON(ctx, n.Status(c))
	})
	s.HandleAdmin("POST", "/v1/cluster/join", func(ctx *fasthttp.RequestCtx, _ []string) {
		q := ctx.QueryArgs()
		if err := n.Join(string(q.Peek("id")), string(q.Peek("raft_addr"))); err != nil {
			writeError(ctx, fasthttp.StatusServiceUnavailable, err.Error())
			return
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	})
	s.HandleAdmin("POST", "/v1/cluster/remove", func(ctx *fasthttp.RequestCtx, _ []string) {
		if err := n.Remove(string(ctx.QueryArgs().Peek("id"))); err != nil {
			writeError(ctx, fasthttp.StatusServiceUnavailable, err.Error())
			return
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	})
}
