package gateway

import "github.com/hookgate/hookgate/gateway/internal/work"

// routes is the /v1 admin API: every route, in the order they are tried
// (the first whose pattern and method match serves; a path that matches
// only with other methods answers 405 listing them). Every route runs
// behind the admin bearer token (or a console session). A route marked off
// belongs to a part this server does not have, and its path answers 404
// like any unknown one. An endpoint is added with one line here.
func (s *Server) routes() []adminRoute {
	var (
		worker *work.Worker
		grants *work.Grants
	)
	if s.work != nil {
		worker, grants = s.work.Worker, s.work.Grants
	}
	q := queueAPI{st: s.st, w: worker, log: s.log.With("component", "queue")}
	g := grantsAPI{st: s.st, g: grants}
	o := s.okta
	noWork, noOkta := s.work == nil, s.okta == nil
	return []adminRoute{
		// Identity state (admin.go).
		{method: "GET", pattern: "/v1/users", h: s.listUsers},
		{method: "GET", pattern: "/v1/users/{ref}", h: s.getUser},
		{method: "GET", pattern: "/v1/groups", h: s.listGroups},
		{method: "GET", pattern: "/v1/groups/{id}", h: s.getGroup},
		{method: "GET", pattern: "/v1/apps", h: s.listApps},
		{method: "GET", pattern: "/v1/apps/{id}", h: s.getApp},
		// Okta events (admin.go).
		{method: "GET", pattern: "/v1/events/rejected", h: s.listRejected},
		{method: "GET", pattern: "/v1/events", h: s.listEvents},
		// Figures for the console (stats_api.go).
		{method: "GET", pattern: "/v1/stats", h: s.serveStats},
		{method: "GET", pattern: "/v1/plugins", h: s.servePlugins},
		// Raft membership (cluster.go), with [cluster].
		{method: "GET", pattern: "/v1/cluster", h: s.getCluster, off: s.cluster == nil},
		{method: "POST", pattern: "/v1/cluster/join", h: s.postClusterJoin, off: s.cluster == nil},
		{method: "POST", pattern: "/v1/cluster/remove", h: s.postClusterRemove, off: s.cluster == nil},
		// Okta Management API (okta_api.go).
		{method: "POST", pattern: "/v1/okta/sync", h: o.postSync, off: noOkta},
		{method: "GET", pattern: "/v1/okta/sync", h: o.getSync, off: noOkta},
		{method: "GET", pattern: "/v1/okta/catchup", h: o.getCatchUp, off: noOkta},
		{method: "GET", pattern: "/v1/okta/refresh", h: o.getRefresh, off: noOkta},
		// Audit log of hook calls, event plugin runs and plugin actions
		// (hooks.go), with the inline hooks.
		{method: "GET", pattern: "/v1/audit", h: s.serveAudit, off: s.Hooks == nil},
		// Durable work (work_api.go): dead letters, the queue, grants.
		{method: "GET", pattern: "/v1/dlq", h: q.serveDLQList, off: noWork},
		{method: "GET", pattern: "/v1/dlq/{id}", h: q.serveDLQShow, off: noWork},
		{method: "POST", pattern: "/v1/dlq/{id}/replay", h: q.serveDLQReplay, off: noWork},
		{method: "DELETE", pattern: "/v1/dlq/{id}", h: q.serveDLQDrop, off: noWork},
		{method: "GET", pattern: "/v1/queue", h: q.serveQueueList, off: noWork},
		{method: "GET", pattern: "/v1/grants", h: g.serveList, off: noWork},
		{method: "POST", pattern: "/v1/grants/{id}/revoke", h: g.serveRevoke, off: noWork},
		// Live reload (generation.go).
		{method: "POST", pattern: "/v1/reload", h: s.serveReload, off: !s.reloadOn},
	}
}
