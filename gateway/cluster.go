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
// report the node not ready while it knows no leader, lags behind, has
// another store key than the leader or stopped applying the log
// (cluster.Node.Readiness).
// Call it before Serve.
func (s *Server) EnableCluster(n *cluster.Node) {
	s.cluster = n
	s.m.reg.MustRegister(n.Collector())
}

// getCluster serves GET /v1/cluster.
func (s *Server) getCluster(ctx *fasthttp.RequestCtx, _ []string) {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	writeJSON(ctx, s.cluster.Status(c))
}

// postClusterJoin serves POST /v1/cluster/join?id=&raft_addr=.
func (s *Server) postClusterJoin(ctx *fasthttp.RequestCtx, _ []string) {
	q := ctx.QueryArgs()
	if err := s.cluster.Join(string(q.Peek("id")), string(q.Peek("raft_addr"))); err != nil {
		writeError(ctx, fasthttp.StatusServiceUnavailable, err.Error())
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// postClusterRemove serves POST /v1/cluster/remove?id=.
func (s *Server) postClusterRemove(ctx *fasthttp.RequestCtx, _ []string) {
	if err := s.cluster.Remove(string(ctx.QueryArgs().Peek("id"))); err != nil {
		writeError(ctx, fasthttp.StatusServiceUnavailable, err.Error())
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
