package hook

// Routing of inline hooks to plugins.
//
// A [[route]] matches a hook kind and, optionally, an application
// (application.app_id), an instance of it (application.instance_id) and a
// permission (permissions[].value). For one permission the most specific
// matching route wins, in this order:
//
//  1. app + instance + permission
//  2. app + permission             (permission-level route)
//  3. app + instance               (instance-narrowed app route)
//  4. app                          (app-level route)
//  5. kind only                    (the kind's default route)
//
// A request may carry several permissions. Each is routed on its own and
// they must all land on the same plugin: a plugin is never handed a
// permission it was not routed for. If they disagree the request is refused
// (409, naming each permission's plugin) and if any permission has no route
// at all the request is refused with 404 naming it. A request with no
// permissions is routed at app level (ranks 3 to 5).

import (
	"fmt"
	"sort"
	"strings"
)

// routeKey is the exact-match key of one route; empty fields are wildcards
// in the sense of the precedence list above.
type routeKey struct {
	kind, app, instance, perm string
}

// Router resolves (kind, app, instance, permissions) to a plugin name. It is
// built once from the config and is read-only afterwards, so it is safe for
// concurrent use.
type Router struct {
	routes map[routeKey]string
}

// NewRouter builds the routing table from cfg's [[route]] entries. The
// config loader has already rejected duplicates and unknown plugins.
func NewRouter(routes []Route) *Router {
	r := &Router{routes: make(map[routeKey]string, len(routes))}
	for _, rt := range routes {
		r.routes[routeKey{rt.Kind, rt.AppID, rt.InstanceID, rt.Permission}] = rt.Plugin
	}
	return r
}

// Match is the result of a successful Resolve.
type Match struct {
	// Plugin is the plugin every permission routed to.
	Plugin string
	// Level names the most specific route used: "app+instance+permission",
	// "app+permission", "app+instance", "app" or "default".
	Level string
}

// NoRouteError says no route matches; it names the kind, app and the
// permissions without a route. It is also an ErrNoRoute.
type NoRouteError struct {
	Kind, AppID, InstanceID string
	// Permissions lists the permission values that found no route (empty
	// when the request had none).
	Permissions []string
}

func (e *NoRouteError) Error() string {
	msg := fmt.Sprintf("no route for kind %q, app %q", e.Kind, e.AppID)
	if e.InstanceID != "" {
		msg += fmt.Sprintf(" (instance %q)", e.InstanceID)
	}
	if len(e.Permissions) > 0 {
		msg += fmt.Sprintf(", permission %s", quoteList(e.Permissions))
	}
	return msg + ": add a [[route]] in gateway.toml"
}

// Is makes errors.Is(err, ErrNoRoute) true.
func (e *NoRouteError) Is(target error) bool { return target == ErrNoRoute }

// RouteConflictError says the request's permissions route to different
// plugins. It is also an ErrRouteConflict.
type RouteConflictError struct {
	Kind, AppID string
	// ByPlugin maps each plugin to the permission values routed to it.
	ByPlugin map[string][]string
}

func (e *RouteConflictError) Error() string {
	names := make([]string, 0, len(e.ByPlugin))
	for p := range e.ByPlugin {
		names = append(names, p)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, p := range names {
		parts[i] = fmt.Sprintf("%s → plugin %q", quoteList(e.ByPlugin[p]), p)
	}
	return fmt.Sprintf("kind %q, app %q: the request's permissions route to different plugins (%s); send them in separate requests or add a route covering all of them",
		e.Kind, e.AppID, strings.Join(parts, "; "))
}

// Is makes errors.Is(err, ErrRouteConflict) true.
func (e *RouteConflictError) Is(target error) bool { return target == ErrRouteConflict }

func quoteList(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

var levelNames = [...]string{"app+instance+permission", "app+permission", "app+instance", "app", "default"}

// one resolves a single permission value (perm may be "" for "no
// permission", which skips ranks 1 and 2). It returns the plugin and the
// rank index into levelNames, or -1.
func (r *Router) one(kind, app, inst, perm string) (string, int) {
	if perm != "" {
		if inst != "" {
			if p, ok := r.routes[routeKey{kind, app, inst, perm}]; ok {
				return p, 0
			}
		}
		if p, ok := r.routes[routeKey{kind, app, "", perm}]; ok {
			return p, 1
		}
	}
	if inst != "" {
		if p, ok := r.routes[routeKey{kind, app, inst, ""}]; ok {
			return p, 2
		}
	}
	if p, ok := r.routes[routeKey{kind, app, "", ""}]; ok {
		return p, 3
	}
	if p, ok := r.routes[routeKey{kind, "", "", ""}]; ok {
		return p, 4
	}
	return "", -1
}

// Resolve routes a request; see the package comment of this file for the
// rules. The error is a *NoRouteError or a *RouteConflictError.
func (r *Router) Resolve(kind, app, inst string, perms []string) (Match, error) {
	if len(perms) == 0 {
		p, lvl := r.one(kind, app, inst, "")
		if lvl < 0 {
			return Match{}, &NoRouteError{Kind: kind, AppID: app, InstanceID: inst}
		}
		return Match{Plugin: p, Level: levelNames[lvl]}, nil
	}
	plugin, best := "", len(levelNames)
	conflict := false
	var missing []string
	for _, perm := range perms {
		p, lvl := r.one(kind, app, inst, perm)
		switch {
		case lvl < 0:
			missing = append(missing, perm)
			continue
		case plugin == "":
			plugin = p
		case p != plugin:
			conflict = true
		}
		best = min(best, lvl)
	}
	if len(missing) > 0 {
		return Match{}, &NoRouteError{Kind: kind, AppID: app, InstanceID: inst, Permissions: missing}
	}
	if conflict {
		by := map[string][]string{}
		for _, perm := range perms {
			p, _ := r.one(kind, app, inst, perm)
			by[p] = append(by[p], perm)
		}
		return Match{}, &RouteConflictError{Kind: kind, AppID: app, ByPlugin: by}
	}
	return Match{Plugin: plugin, Level: levelNames[best]}, nil
}
