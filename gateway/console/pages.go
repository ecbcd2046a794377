package console

import (
	"bytes"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/api"
	"github.com/hookgate/hookgate/store"
)

// pageSize is the rows per table page.
const pageSize = 50

// get routes a signed-in GET.
func (c *Console) get(ctx *fasthttp.RequestCtx, s *session, rest string) {
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	q := func(k string) string { return string(ctx.QueryArgs().Peek(k)) }
	switch {
	case rest == "":
		c.overview(ctx, s)
	case rest == "users":
		c.users(ctx, s, q("q"), q("after"))
	case len(parts) == 2 && parts[0] == "users":
		c.user(ctx, s, parts[1])
	case rest == "groups":
		c.groups(ctx, s, q("q"), q("after"))
	case len(parts) == 2 && parts[0] == "groups":
		c.group(ctx, s, parts[1], atoiDefault(q("page"), 0))
	case rest == "apps":
		c.apps(ctx, s, q("q"), q("after"))
	case len(parts) == 2 && parts[0] == "apps":
		c.app(ctx, s, parts[1], atoiDefault(q("page"), 0))
	case rest == "events":
		c.events(ctx, s, q("type"), q("user"), q("after"))
	case rest == "audit":
		c.audit(ctx, s, q("user"), q("kind"), q("plugin"), q("decision"), q("after"))
	case rest == "dlq":
		c.dlq(ctx, s, q("after"), q("qafter"))
	case len(parts) == 2 && parts[0] == "dlq":
		c.deadLetter(ctx, s, parts[1])
	case len(parts) == 3 && parts[0] == "dlq" && parts[2] == "drop":
		c.confirmDrop(ctx, s, parts[1])
	case rest == "grants":
		c.grants(ctx, s, q("state"), q("user"), atoiDefault(q("page"), 0))
	case rest == "plugins":
		c.plugins(ctx, s)
	case rest == "okta":
		c.okta(ctx, s)
	default:
		c.fail(ctx, s, fasthttp.StatusNotFound, "no such console page: "+string(ctx.Path()))
	}
}

// post routes a signed-in POST whose CSRF token checked out. Every action
// ends in a redirect (post/redirect/get) with its outcome as a flash.
func (c *Console) post(ctx *fasthttp.RequestCtx, s *session, rest string) {
	parts := strings.Split(rest, "/")
	switch {
	case rest == "logout":
		c.logout(ctx, s)
	case len(parts) == 3 && parts[0] == "dlq" && parts[2] == "replay":
		id := parts[1]
		var it api.QueueItem
		if _, err := c.call(fasthttp.MethodPost, "/v1/dlq/"+seg(id)+"/replay", nil, nil, &it); err != nil {
			s.setFlash(false, "Replay of dead letter "+id+" failed: "+errMsg(err))
		} else {
			s.setFlash(true, "Dead letter "+id+" replayed as queue item "+it.ID+".")
			c.log.Info("console: dead letter replayed", "dead_letter", id, "item", it.ID)
		}
		ctx.Redirect("/ui/dlq", fasthttp.StatusSeeOther)
	case len(parts) == 3 && parts[0] == "dlq" && parts[2] == "drop":
		id := parts[1]
		if _, err := c.call(fasthttp.MethodDelete, "/v1/dlq/"+seg(id), nil, nil, nil); err != nil {
			s.setFlash(false, "Drop of dead letter "+id+" failed: "+errMsg(err))
		} else {
			s.setFlash(true, "Dead letter "+id+" dropped.")
			c.log.Warn("console: dead letter dropped", "dead_letter", id)
		}
		ctx.Redirect("/ui/dlq", fasthttp.StatusSeeOther)
	case len(parts) == 3 && parts[0] == "grants" && parts[2] == "revoke":
		id := parts[1]
		var g store.Grant
		if _, err := c.call(fasthttp.MethodPost, "/v1/grants/"+seg(id)+"/revoke", nil, nil, &g); err != nil {
			s.setFlash(false, "Revoking grant "+id+" failed: "+errMsg(err))
		} else {
			s.setFlash(true, "Grant "+id+" ("+g.User+" on "+g.App+") is "+g.State+".")
			c.log.Info("console: grant revoked", "grant", id)
		}
		ctx.Redirect(safeNext(string(ctx.PostArgs().Peek("back"))), fasthttp.StatusSeeOther)
	case rest == "reload":
		var rep struct {
			Status     string   `json:"status"`
			Generation uint64   `json:"generation"`
			Plugins    []string `json:"plugins"`
			Error      string   `json:"error"`
		}
		res, err := c.call(fasthttp.MethodPost, "/v1/reload", nil, nil, &rep)
		switch {
		case res.Status == fasthttp.StatusUnprocessableEntity:
			_ = json.Unmarshal(res.Body, &rep)
			s.setFlash(false, "Reload refused; generation "+strconv.FormatUint(rep.Generation, 10)+" keeps serving: "+rep.Error)
		case err != nil:
			s.setFlash(false, "Reload failed: "+errMsg(err))
		default:
			s.setFlash(true, "Reloaded: generation "+strconv.FormatUint(rep.Generation, 10)+" serves "+
				strconv.Itoa(len(rep.Plugins))+" plugins.")
		}
		ctx.Redirect("/ui/plugins", fasthttp.StatusSeeOther)
	case rest == "okta/sync":
		args := url.Values{}
		if len(ctx.PostArgs().Peek("app_users")) > 0 {
			args.Set("app_users", "true")
		}
		if _, err := c.call(fasthttp.MethodPost, "/v1/okta/sync", args, nil, nil); err != nil {
			s.setFlash(false, "Sync not started: "+errMsg(err))
		} else {
			s.setFlash(true, "Okta sync started.")
		}
		ctx.Redirect("/ui/okta", fasthttp.StatusSeeOther)
	default:
		c.fail(ctx, s, fasthttp.StatusNotFound, "no such console action: "+string(ctx.Path()))
	}
}

func errMsg(err error) string {
	if ae, ok := err.(*apiError); ok {
		return ae.Msg
	}
	return err.Error()
}

// kv is a label and a value for key/value tables.
type kv struct {
	K string
	V string
}

// flattenDoc lists the fields of an API document (a sync summary, a
// catch-up result) as flatten does its JSON object.
func flattenDoc(v any) []kv {
	var m map[string]any
	if b, err := json.Marshal(v); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return flatten(m)
}

// flatten lists a JSON object's scalar fields in key order.
func flatten(m map[string]any) []kv {
	out := []kv{}
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any, []any:
			b, _ := json.Marshal(x)
			out = append(out, kv{k, string(b)})
		case nil:
			out = append(out, kv{k, "—"})
		case float64:
			out = append(out, kv{k, strconv.FormatFloat(x, 'f', -1, 64)})
		default:
			b, _ := json.Marshal(x)
			out = append(out, kv{k, strings.Trim(string(b), `"`)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

// profileRows lists profile attributes by name: strings as their text,
// other values as their JSON.
func profileRows(p map[string]json.RawMessage) []kv {
	out := make([]kv, 0, len(p))
	for k, raw := range p {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			out = append(out, kv{k, str})
			continue
		}
		out = append(out, kv{k, string(raw)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

// pretty indents JSON for a <pre>.
func pretty(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

// --- overview ---

type overviewData struct {
	Ready      api.Readiness
	ReadyOK    bool
	Stats      api.Stats
	CatchUp    *api.CatchUpStatus
	Sync       *api.SyncStatus
	Cluster    *api.ClusterStatus
	Charts     []chart
	Totals     api.MinuteStats // sums over the hour
	StatsError string
}

func (overviewData) title() (string, string) { return "Overview", "overview" }

func (c *Console) overview(ctx *fasthttp.RequestCtx, s *session) {
	var d overviewData
	res, _ := c.getJSON("/readyz", nil, &d.Ready)
	if res.Status == fasthttp.StatusServiceUnavailable {
		_ = json.Unmarshal(res.Body, &d.Ready)
	}
	d.ReadyOK = res.Status == fasthttp.StatusOK
	if _, err := c.getJSON("/v1/stats", nil, &d.Stats); err != nil {
		d.StatsError = errMsg(err)
	}
	var cu api.CatchUpStatus
	if _, err := c.getJSON("/v1/okta/catchup", nil, &cu); err == nil {
		d.CatchUp = &cu
	}
	var ss api.SyncStatus
	if _, err := c.getJSON("/v1/okta/sync", nil, &ss); err == nil {
		d.Sync = &ss
	}
	var cl api.ClusterStatus
	if _, err := c.getJSON("/v1/cluster", nil, &cl); err == nil {
		d.Cluster = &cl
	}
	for _, m := range d.Stats.Minutes {
		d.Totals.EventsAccepted += m.EventsAccepted
		d.Totals.EventsRejected += m.EventsRejected
		d.Totals.HookSuccess += m.HookSuccess
		d.Totals.HookFailure += m.HookFailure
		d.Totals.HookError += m.HookError
		d.Totals.PluginCalls += m.PluginCalls
		d.Totals.PluginMaxMs = max(d.Totals.PluginMaxMs, m.PluginMaxMs)
	}
	d.Charts = overviewCharts(d.Stats.Minutes)
	c.render(ctx, s, "overview", d)
}

// --- identity ---

type listData[T any] struct {
	Kind    string // users, groups, apps
	Q       string
	Items   []T
	NextURL string
	Paged   bool // not the first page
}

func (d listData[T]) title() (string, string) {
	return strings.ToUpper(d.Kind[:1]) + d.Kind[1:], d.Kind
}

// listPage reads one page of /v1/<kind>?q=&after=.
func listPage[T any](c *Console, kind, q, after string) (listData[T], error) {
	d := listData[T]{Kind: kind, Q: q, Paged: after != ""}
	args := url.Values{"limit": {strconv.Itoa(pageSize)}}
	if q != "" {
		args.Set("q", q)
	}
	if after != "" {
		args.Set("after", after)
	}
	res, err := c.getJSON("/v1/"+kind, args, &d.Items)
	if err != nil {
		return d, err
	}
	if res.Next != "" {
		d.NextURL = pageURL("/ui/"+kind, "q", q, "after", res.Next)
	}
	return d, nil
}

func (c *Console) users(ctx *fasthttp.RequestCtx, s *session, q, after string) {
	d, err := listPage[store.User](c, "users", q, after)
	if err != nil {
		c.failAPI(ctx, s, err)
		return
	}
	c.render(ctx, s, "users", d)
}

func (c *Console) groups(ctx *fasthttp.RequestCtx, s *session, q, after string) {
	d, err := listPage[store.Group](c, "groups", q, after)
	if err != nil {
		c.failAPI(ctx, s, err)
		return
	}
	c.render(ctx, s, "groups", d)
}

func (c *Console) apps(ctx *fasthttp.RequestCtx, s *session, q, after string) {
	d, err := listPage[store.App](c, "apps", q, after)
	if err != nil {
		c.failAPI(ctx, s, err)
		return
	}
	c.render(ctx, s, "apps", d)
}

// ref is an id with the name to show for it.
type ref struct {
	ID, Name, Extra string
	Missing         bool // not (or no longer) in the store
}

func (c *Console) groupRef(id string) ref {
	var g store.Group
	if _, err := c.getJSON("/v1/groups/"+seg(id), nil, &g); err != nil {
		return ref{ID: id, Name: id, Missing: true}
	}
	return ref{ID: id, Name: g.Name, Extra: g.Description}
}

func (c *Console) appRef(id string) ref {
	var a store.App
	if _, err := c.getJSON("/v1/apps/"+seg(id), nil, &a); err != nil {
		return ref{ID: id, Name: id, Missing: true}
	}
	name := a.Label
	if name == "" {
		name = a.Name
	}
	if name == "" {
		name = id
	}
	return ref{ID: id, Name: name, Extra: a.Name}
}

func (c *Console) userRef(id string) ref {
	var u store.User
	if _, err := c.getJSON("/v1/users/"+seg(id), nil, &u); err != nil {
		return ref{ID: id, Name: id, Missing: true}
	}
	name := u.DisplayName
	if name == "" {
		name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	if name == "" {
		name = u.Login
	}
	return ref{ID: id, Name: name, Extra: u.Login}
}

type userData struct {
	User    store.User
	Groups  []ref
	Apps    []ref
	Events  []eventRow
	Audit   []store.AuditRecord
	Grants  []store.Grant
	Back    string
	Who     string // email, else login: what hook audit records name
	Profile []kv   // every profile attribute, by name
}

func (d userData) title() (string, string) {
	n := d.User.DisplayName
	if n == "" {
		n = d.User.Login
	}
	return "User " + n, "users"
}

func (c *Console) user(ctx *fasthttp.RequestCtx, s *session, id string) {
	var d userData
	if _, err := c.getJSON("/v1/users/"+seg(id), nil, &d.User); err != nil {
		c.failAPI(ctx, s, err)
		return
	}
	u := &d.User
	for _, g := range u.Groups {
		d.Groups = append(d.Groups, c.groupRef(g))
	}
	for _, a := range u.Apps {
		d.Apps = append(d.Apps, c.appRef(a))
	}
	d.Events = c.userEvents(u, 20)
	d.Audit = c.userAudit(u, 20)
	_, _ = c.getJSON("/v1/grants", url.Values{"user": {u.ID}}, &d.Grants)
	if len(d.Grants) > pageSize {
		d.Grants = d.Grants[:pageSize]
	}
	d.Profile = profileRows(u.Profile)
	d.Back = "/ui/users/" + seg(u.ID)
	d.Who = u.Email
	if d.Who == "" {
		d.Who = u.Login
	}
	c.render(ctx, s, "user", d)
}

// userAudit merges the audit records filed under the user's email, login
// and id (hooks record the requested email, event plugins the Okta id),
// newest first.
func (c *Console) userAudit(u *store.User, limit int) []store.AuditRecord {
	seen := map[string]bool{}
	var out []store.AuditRecord
	for _, who := range []string{u.Email, u.Login, u.ID} {
		if who == "" || seen["who:"+strings.ToLower(who)] {
			continue
		}
		seen["who:"+strings.ToLower(who)] = true
		var recs []store.AuditRecord
		if _, err := c.getJSON("/v1/audit", url.Values{"user": {who}, "limit": {strconv.Itoa(limit)}}, &recs); err != nil {
			continue
		}
		for _, r := range recs {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// eventRow is an accepted Okta event as the tables show it.
type eventRow struct {
	store.EventRecord
	Actor   string
	Targets []ref
	Message string
	Outcome string
	Pretty  string
}

// logEvent is the part of a System Log event the tables show.
type logEvent struct {
	Actor struct {
		ID          string `json:"id"`
		AlternateID string `json:"alternateId"`
		DisplayName string `json:"displayName"`
	} `json:"actor"`
	Target []struct {
		ID          string `json:"id"`
		Type        string `json:"type"`
		AlternateID string `json:"alternateId"`
		DisplayName string `json:"displayName"`
	} `json:"target"`
	DisplayMessage string `json:"displayMessage"`
	Outcome        struct {
		Result string `json:"result"`
	} `json:"outcome"`
}

func toRow(ev store.EventRecord) eventRow {
	r := eventRow{EventRecord: ev, Pretty: pretty(ev.Raw)}
	var le logEvent
	_ = json.Unmarshal(ev.Raw, &le)
	r.Actor = le.Actor.AlternateID
	if r.Actor == "" {
		r.Actor = le.Actor.DisplayName
	}
	for _, t := range le.Target {
		name := t.DisplayName
		if name == "" {
			name = t.AlternateID
		}
		r.Targets = append(r.Targets, ref{ID: t.ID, Name: name, Extra: t.Type})
	}
	r.Message = le.DisplayMessage
	r.Outcome = le.Outcome.Result
	return r
}

// userEvents returns the newest events that name the user (the events
// API's user= filter: actor or target by id, login or email).
func (c *Console) userEvents(u *store.User, limit int) []eventRow {
	var evs []store.EventRecord
	if _, err := c.getJSON("/v1/events", url.Values{"user": {u.ID}, "limit": {strconv.Itoa(limit)}}, &evs); err != nil {
		return nil
	}
	out := make([]eventRow, 0, len(evs))
	for _, ev := range evs {
		out = append(out, toRow(ev))
	}
	return out
}

type groupData struct {
	Group   store.Group
	Profile []kv
	Members []ref
	Apps    []ref
	Pager   pager
}

func (d groupData) title() (string, string) { return "Group " + d.Group.Name, "groups" }

// pager pages a list held whole (member ids, dead letters, grants).
type pager struct {
	Page, Pages, Total int
	PrevURL, NextURL   string
}

// paginate returns the bounds of page n of total rows and its pager;
// link builds the URL of another page.
func paginate(total, n int, link func(page int) string) (lo, hi int, p pager) {
	pages := max(1, (total+pageSize-1)/pageSize)
	n = min(n, pages-1)
	lo, hi = n*pageSize, min(total, (n+1)*pageSize)
	p = pager{Page: n + 1, Pages: pages, Total: total}
	if n > 0 {
		p.PrevURL = link(n - 1)
	}
	if n+1 < pages {
		p.NextURL = link(n + 1)
	}
	return lo, hi, p
}

func (c *Console) group(ctx *fasthttp.RequestCtx, s *session, id string, pg int) {
	var d groupData
	if _, err := c.getJSON("/v1/groups/"+seg(id), nil, &d.Group); err != nil {
		c.failAPI(ctx, s, err)
		return
	}
	d.Profile = profileRows(d.Group.Profile)
	lo, hi, p := paginate(len(d.Group.Members), pg, func(n int) string {
		return pageURL("/ui/groups/"+seg(id), "page", strconv.Itoa(n))
	})
	d.Pager = p
	for _, m := range d.Group.Members[lo:hi] {
		d.Members = append(d.Members, c.userRef(m))
	}
	for _, a := range d.Group.Apps {
		d.Apps = append(d.Apps, c.appRef(a))
	}
	c.render(ctx, s, "group", d)
}

type appData struct {
	App    store.App
	Name   string
	Groups []ref
	Users  []ref
	Pager  pager
}

func (d appData) title() (string, string) { return "App " + d.Name, "apps" }

func (c *Console) app(ctx *fasthttp.RequestCtx, s *session, id string, pg int) {
	var d appData
	if _, err := c.getJSON("/v1/apps/"+seg(id), nil, &d.App); err != nil {
		c.failAPI(ctx, s, err)
		return
	}
	d.Name = c.appRef(id).Name
	for _, g := range d.App.Groups {
		d.Groups = append(d.Groups, c.groupRef(g))
	}
	lo, hi, p := paginate(len(d.App.Users), pg, func(n int) string {
		return pageURL("/ui/apps/"+seg(id), "page", strconv.Itoa(n))
	})
	d.Pager = p
	for _, u := range d.App.Users[lo:hi] {
		d.Users = append(d.Users, c.userRef(u))
	}
	c.render(ctx, s, "app", d)
}

// --- events ---

type eventsData struct {
	Type, User string
	Events     []eventRow
	Rejected   []rejectedRow
	NextURL    string
	Paged      bool
	Error      string
}

type rejectedRow struct {
	store.Rejected
	Pretty string
}

func (eventsData) title() (string, string) { return "Events", "events" }

func (c *Console) events(ctx *fasthttp.RequestCtx, s *session, typ, user, after string) {
	d := eventsData{Type: typ, User: user, Paged: after != ""}
	args := url.Values{"limit": {strconv.Itoa(pageSize)}}
	for k, v := range map[string]string{"type": typ, "user": user, "after": after} {
		if v != "" {
			args.Set(k, v)
		}
	}
	var evs []store.EventRecord
	res, err := c.getJSON("/v1/events", args, &evs)
	if err != nil {
		d.Error = errMsg(err)
	}
	for _, ev := range evs {
		d.Events = append(d.Events, toRow(ev))
	}
	if res.Next != "" {
		d.NextURL = pageURL("/ui/events", "type", typ, "user", user, "after", res.Next)
	}
	if after == "" {
		var rej []store.Rejected
		_, _ = c.getJSON("/v1/events/rejected", url.Values{"limit": {"20"}}, &rej)
		for _, r := range rej {
			d.Rejected = append(d.Rejected, rejectedRow{Rejected: r, Pretty: pretty(r.Raw)})
		}
	}
	c.render(ctx, s, "events", d)
}

// --- audit ---

type auditData struct {
	User, Kind, Plugin, Decision string
	Records                      []store.AuditRecord
	NextURL                      string
	Paged                        bool
	Error                        string
	Kinds, Decisions             []string
}

func (auditData) title() (string, string) { return "Audit", "audit" }

// Filter choices on the audit page.
var (
	auditKinds     = []string{"provisioning", "deprovisioning", "pre_approval", "request_validation", "okta_event", "okta_action"}
	auditDecisions = []string{"success", "failure", "error", "no_route", "conflict", "bad_request"}
)

func (c *Console) audit(ctx *fasthttp.RequestCtx, s *session, user, kind, plugin, decision, after string) {
	d := auditData{User: user, Kind: kind, Plugin: plugin, Decision: decision, Paged: after != "",
		Kinds: auditKinds, Decisions: auditDecisions}
	args := url.Values{"limit": {strconv.Itoa(pageSize)}}
	for k, v := range map[string]string{"user": user, "kind": kind, "plugin": plugin, "decision": decision, "after": after} {
		if v != "" {
			args.Set(k, v)
		}
	}
	res, err := c.getJSON("/v1/audit", args, &d.Records)
	if err != nil {
		d.Error = errMsg(err)
	}
	if res.Next != "" {
		d.NextURL = pageURL("/ui/audit", "user", user, "kind", kind, "plugin", plugin, "decision", decision, "after", res.Next)
	}
	c.render(ctx, s, "audit", d)
}

// --- dead letters and queue ---

type dlqData struct {
	Dead, Queue           []api.QueueItem
	DeadTotal, QueueTotal int
	DeadNext, QueueNext   string // next page URLs
	DeadFirst, QueueFirst string // first page URLs, when not on it
	Error                 string
}

func (dlqData) title() (string, string) { return "Dead letters and queue", "dlq" }

// dlq shows a page of dead letters and a page of the queue, each paged
// with the API's own cursor (after= for dead letters, qafter= for the
// queue), the totals from /v1/stats.
func (c *Console) dlq(ctx *fasthttp.RequestCtx, s *session, after, qafter string) {
	var d dlqData
	page := func(p, after string, out *[]api.QueueItem) string {
		args := url.Values{"limit": {strconv.Itoa(pageSize)}}
		if after != "" {
			args.Set("after", after)
		}
		res, err := c.getJSON(p, args, out)
		if err != nil && d.Error == "" {
			d.Error = errMsg(err)
		}
		return res.Next
	}
	if next := page("/v1/dlq", after, &d.Dead); next != "" {
		d.DeadNext = pageURL("/ui/dlq", "after", next, "qafter", qafter)
	}
	if next := page("/v1/queue", qafter, &d.Queue); next != "" {
		d.QueueNext = pageURL("/ui/dlq", "after", after, "qafter", next)
	}
	if after != "" {
		d.DeadFirst = pageURL("/ui/dlq", "qafter", qafter)
	}
	if qafter != "" {
		d.QueueFirst = pageURL("/ui/dlq", "after", after)
	}
	var st api.Stats
	if _, err := c.getJSON("/v1/stats", nil, &st); err == nil {
		d.DeadTotal, d.QueueTotal = st.Queue.Dead, st.Queue.Pending+st.Queue.InFlight
	} else {
		d.DeadTotal, d.QueueTotal = len(d.Dead), len(d.Queue)
	}
	c.render(ctx, s, "dlq", d)
}

type deadLetterData struct {
	Item   api.QueueItem
	Pretty string
}

func (d deadLetterData) title() (string, string) { return "Dead letter " + d.Item.ID, "dlq" }

func (c *Console) deadLetter(ctx *fasthttp.RequestCtx, s *session, id string) {
	var d deadLetterData
	if _, err := c.getJSON("/v1/dlq/"+seg(id), nil, &d.Item); err != nil {
		c.failAPI(ctx, s, err)
		return
	}
	d.Pretty = pretty(d.Item.Payload)
	c.render(ctx, s, "deadletter", d)
}

type confirmData struct {
	Question string
	Detail   []kv
	Action   string
	Button   string
	Cancel   string
}

func (confirmData) title() (string, string) { return "Confirm", "dlq" }

func (c *Console) confirmDrop(ctx *fasthttp.RequestCtx, s *session, id string) {
	var it api.QueueItem
	if _, err := c.getJSON("/v1/dlq/"+seg(id), nil, &it); err != nil {
		c.failAPI(ctx, s, err)
		return
	}
	c.render(ctx, s, "confirm", confirmData{
		Question: "Drop dead letter " + id + " for good? Its work will never run.",
		Detail: []kv{{"Plugin", it.Plugin}, {"Event", it.EventType + " " + it.Ref}, {"Attempts", strconv.Itoa(it.Attempts)},
			{"Last error", it.LastError}},
		Action: "/ui/dlq/" + seg(id) + "/drop",
		Button: "Drop it",
		Cancel: "/ui/dlq",
	})
}

// --- grants ---

type grantsData struct {
	State, User string
	Grants      []store.Grant
	Pager       pager
	Back        string
	Error       string
	States      []string
}

func (grantsData) title() (string, string) { return "Grants", "grants" }

func (c *Console) grants(ctx *fasthttp.RequestCtx, s *session, state, user string, pg int) {
	d := grantsData{State: state, User: user, States: []string{store.GrantActive, store.GrantRevoked, store.GrantFailed}}
	args := url.Values{}
	if state != "" {
		args.Set("state", state)
	}
	if user != "" {
		args.Set("user", user)
	}
	var all []store.Grant
	if _, err := c.getJSON("/v1/grants", args, &all); err != nil {
		d.Error = errMsg(err)
	}
	lo, hi, p := paginate(len(all), pg, func(n int) string {
		return pageURL("/ui/grants", "state", state, "user", user, "page", strconv.Itoa(n))
	})
	d.Grants, d.Pager = all[lo:hi], p
	d.Back = pageURL("/ui/grants", "state", state, "user", user)
	c.render(ctx, s, "grants", d)
}

// --- plugins ---

type pluginsData struct {
	Plugins  []api.PluginStats
	Outcomes []string
	Error    string
}

func (pluginsData) title() (string, string) { return "Plugins", "plugins" }

func (c *Console) plugins(ctx *fasthttp.RequestCtx, s *session) {
	var d pluginsData
	if _, err := c.getJSON("/v1/plugins", nil, &d.Plugins); err != nil {
		d.Error = errMsg(err)
	}
	seen := map[string]bool{}
	for _, p := range d.Plugins {
		for o := range p.Calls {
			if !seen[o] {
				seen[o] = true
				d.Outcomes = append(d.Outcomes, o)
			}
		}
	}
	sort.Slice(d.Outcomes, func(i, j int) bool {
		// success and failure first, then the error outcomes by name.
		rank := func(s string) string {
			switch s {
			case "success":
				return "0"
			case "failure":
				return "1"
			}
			return "2" + s
		}
		return rank(d.Outcomes[i]) < rank(d.Outcomes[j])
	})
	c.render(ctx, s, "plugins", d)
}

// --- okta ---

type oktaData struct {
	Configured bool
	Message    string
	Sync       api.SyncStatus
	Summary    []kv
	CatchUp    api.CatchUpStatus
	Result     []kv
	Percent    int
}

func (oktaData) title() (string, string) { return "Okta", "okta" }

func (c *Console) okta(ctx *fasthttp.RequestCtx, s *session) {
	var d oktaData
	_, err := c.getJSON("/v1/okta/sync", nil, &d.Sync)
	switch {
	case unavailable(err):
		d.Message = errMsg(err)
	case err != nil:
		c.failAPI(ctx, s, err)
		return
	default:
		d.Configured = true
		_, _ = c.getJSON("/v1/okta/catchup", nil, &d.CatchUp)
		d.Summary = flattenDoc(d.Sync.Summary)
		d.Result = flattenDoc(d.CatchUp.Result)
		if d.Sync.Total > 0 {
			d.Percent = min(100, d.Sync.Done*100/d.Sync.Total)
		}
	}
	c.render(ctx, s, "okta", d)
}
