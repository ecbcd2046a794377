package gateway

import (
	"github.com/hookgate/hookgate/gateway/internal/admin"
	"github.com/hookgate/hookgate/gateway/internal/work"
)

// routes is the /v1 admin API: every route, in the order they are tried
// (the first whose pattern and method match serves; a path that matches
// only with other methods answers 405 listing them). Every route runs
// behind the admin bearer token (or a console session). A route marked off
// belongs to a part this server does not have, and its path answers 404
// like any unknown one. An endpoint is added with one line here.
func (s *Server) routes() []admin.Route {
	var (
		worker *work.Worker
		grants *work.Grants
	)
	if s.work != nil {
		worker, grants = s.work.Worker, s.work.Grants
	}
	id := admin.NewIdentity(s.st)
	q := admin.NewQueue(s.st, worker, s.log.With("component", "queue"))
	g := admin.NewGrants(s.st, grants)
	o := s.okta
	noWork, noOkta := s.work == nil, s.okta == nil
	return []admin.Route{
		// Identity state (internal/admin/identity.go).
		{Method: "GET", Pattern: "/v1/users", Handler: id.ListUsers},
		{Method: "GET", Pattern: "/v1/users/{ref}", Handler: id.GetUser},
		{Method: "GET", Pattern: "/v1/groups", Handler: id.ListGroups},
		{Method: "GET", Pattern: "/v1/groups/{id}", Handler: id.GetGroup},
		{Method: "GET", Pattern: "/v1/apps", Handler: id.ListApps},
		{Method: "GET", Pattern: "/v1/apps/{id}", Handler: id.GetApp},
		// Okta events (internal/admin/identity.go).
		{Method: "GET", Pattern: "/v1/events/rejected", Handler: id.ListRejected},
		{Method: "GET", Pattern: "/v1/events", Handler: id.ListEvents},
		// Figures for the console (stats_api.go).
		{Method: "GET", Pattern: "/v1/stats", Handler: s.serveStats},
		{Method: "GET", Pattern: "/v1/plugins", Handler: s.servePlugins},
		// Raft membership (cluster.go), with [cluster].
		{Method: "GET", Pattern: "/v1/cluster", Handler: s.getCluster, Off: s.cluster == nil},
		{Method: "POST", Pattern: "/v1/cluster/join", Handler: s.postClusterJoin, Off: s.cluster == nil},
		{Method: "POST", Pattern: "/v1/cluster/remove", Handler: s.postClusterRemove, Off: s.cluster == nil},
		// Okta Management API (internal/oktaapi).
		{Method: "POST", Pattern: "/v1/okta/sync", Handler: o.PostSync, Off: noOkta},
		{Method: "GET", Pattern: "/v1/okta/sync", Handler: o.GetSync, Off: noOkta},
		{Method: "GET", Pattern: "/v1/okta/catchup", Handler: o.GetCatchUp, Off: noOkta},
		{Method: "GET", Pattern: "/v1/okta/refresh", Handler: o.GetRefresh, Off: noOkta},
		// Audit log of hook calls, event plugin runs and plugin actions
		// (hooks.go), with the inline hooks.
		{Method: "GET", Pattern: "/v1/audit", Handler: s.serveAudit, Off: s.Hooks == nil},
		// Durable work (internal/admin/work.go): dead letters, the queue, grants.
		{Method: "GET", Pattern: "/v1/dlq", Handler: q.ListDeadLetters, Off: noWork},
		{Method: "GET", Pattern: "/v1/dlq/{id}", Handler: q.ShowDeadLetter, Off: noWork},
		{Method: "POST", Pattern: "/v1/dlq/{id}/replay", Handler: q.ReplayDeadLetter, Off: noWork},
		{Method: "DELETE", Pattern: "/v1/dlq/{id}", Handler: q.DropDeadLetter, Off: noWork},
		{Method: "GET", Pattern: "/v1/queue", Handler: q.ListQueue, Off: noWork},
		{Method: "GET", Pattern: "/v1/grants", Handler: g.List, Off: noWork},
		{Method: "POST", Pattern: "/v1/grants/{id}/revoke", Handler: g.Revoke, Off: noWork},
		// Live reload (generation.go).
		{Method: "POST", Pattern: "/v1/reload", Handler: s.serveReload, Off: !s.reloadOn},
	}
}
