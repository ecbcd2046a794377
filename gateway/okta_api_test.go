package gateway_test

// Tests of the Okta Management API side of a running gateway against the
// oktatest stand-in org: sync over the admin API, System Log catch-up
// through the event hook's path (dedupe, [[on_event]] plugin runs), and
// plugin actions on Okta with their audit records.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/gateway/api"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/gateway/internal/oktaapi"
	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/gateway/okta/oktatest"
	"github.com/hookgate/hookgate/store"
)

func init() {
	// Built by buildWasm with the other test plugins.
	hookPlugins["oktaplugin"] = "./testdata/oktaplugin"
}

const orgToken = "oktatest-ssws-token"

// oktaServer is a full gateway (hooks, pipeline) with the Okta API wired
// as `hookgate serve` wires it.
type oktaServer struct {
	*testServer
	API   *oktaapi.API
	Audit *store.AuditLog
	// runAPI starts API.Run (catch-up now and every interval); it is
	// stopped at cleanup.
	runAPI func()
}

// newOrgClient is an SSWS client for org whose waits cost nothing.
func newOrgClient(t testing.TB, org *oktatest.Server, hc *http.Client) *okta.Client {
	t.Helper()
	c, err := okta.NewClient(okta.ClientConfig{
		OrgURL: org.URL, APIToken: orgToken, HTTPClient: hc,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sleep:  func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startOktaServer serves toml ({{wasm}} is the test plugin directory) with
// client as the Okta client (nil: no org configured).
func startOktaServer(t testing.TB, toml string, client *okta.Client) *oktaServer {
	t.Helper()
	cfg := testConfig(t, withWasm(t, toml, "pool_size = 1\n"))
	quiet := debugLogger()
	st := openTestStore(t, cfg, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	audit := store.NewAuditLog(st, store.AuditOptions{Logger: quiet})
	// As `hookgate serve`: the plugins get the Okta API part's actions, so
	// they load after Build and are installed over the placeholders.
	srv := buildFull(t, gateway.Options{Config: cfg, Store: st, Logger: quiet, Audit: audit, Okta: gateway.OktaOptions{Client: client}})
	oktaAPI := srv.Okta()
	ps, err := hook.LoadPlugins(ctx, gateway.PluginOptions(cfg), st, quiet, hook.WithOktaActions(oktaAPI))
	if err != nil {
		t.Fatalf("plugins: %v", err)
	}
	srv.StartLoading()
	if err := srv.InstallPlugins(ps); err != nil {
		t.Fatalf("install plugins: %v", err)
	}
	url, served := serveLoopback(t, srv)
	piped := make(chan error, 1)
	go func() { piped <- srv.RunWork(ctx) }()
	var runs sync.WaitGroup
	t.Cleanup(func() {
		shutdown(t, srv)
		<-served
		cancel()
		if err := <-piped; err != nil {
			t.Errorf("pipeline: %v", err)
		}
		runs.Wait()
		oktaAPI.Close()
		_ = audit.Close()
		_ = ps.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &oktaServer{
		testServer: newTestServer(t, url, srv, st, cfg),
		API:        oktaAPI, Audit: audit,
		runAPI: func() {
			runs.Add(1)
			go func() {
				defer runs.Done()
				if err := oktaAPI.Run(ctx); err != nil {
					t.Errorf("okta api run: %v", err)
				}
			}()
		},
	}
}

// syncStatus reads GET /v1/okta/sync.
func (ts *oktaServer) syncStatus() api.SyncStatus {
	ts.t.Helper()
	var st api.SyncStatus
	if code := ts.admin("GET", "/v1/okta/sync", &st); code != http.StatusOK {
		ts.t.Fatalf("GET /v1/okta/sync: %d", code)
	}
	return st
}

// gate is a transport that holds every request until opened.
type gate struct {
	open chan struct{}
	n    chan struct{} // one value per request that reached the gate
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case g.n <- struct{}{}:
	default:
	}
	select {
	case <-g.open:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestOktaSyncOverAdminAPI(t *testing.T) {
	org := oktatest.New(oktatest.Options{APIToken: orgToken, PageSize: 1})
	defer org.Close()
	org.SeedFixtureOrg()
	g := &gate{open: make(chan struct{}), n: make(chan struct{}, 1)}
	ts := startOktaServer(t, "", newOrgClient(t, org, &http.Client{Transport: g, Timeout: 30 * time.Second}))

	if st := ts.syncStatus(); st.State != api.SyncIdle {
		t.Fatalf("before any sync: %+v, want idle", st)
	}
	code, _, b := ts.do("POST", "/v1/okta/sync", nil, "Authorization", "Bearer "+testAdminToken)
	var started api.SyncStatus
	if err := json.Unmarshal(b, &started); err != nil || code != http.StatusAccepted || started.State != api.SyncRunning || started.StartedAt == nil {
		t.Fatalf("POST /v1/okta/sync = %d %s, want 202 running with started_at", code, b)
	}
	<-g.n // the sync is blocked on its first Okta request: still running
	code, _, b = ts.do("POST", "/v1/okta/sync", nil, "Authorization", "Bearer "+testAdminToken)
	if code != http.StatusConflict || !strings.Contains(string(b), "already running") {
		t.Errorf("second POST while running = %d %s, want 409 already running", code, b)
	}
	if code, _, _ := ts.do("POST", "/v1/okta/sync", nil); code != http.StatusUnauthorized {
		t.Errorf("POST without the admin token = %d, want 401", code)
	}
	close(g.open)

	var st api.SyncStatus
	eventually(t, "the sync to finish", func() bool { st = ts.syncStatus(); return st.State != api.SyncRunning })
	if st.State != api.SyncDone || st.Summary == nil || st.FinishedAt == nil || st.Error != "" {
		t.Fatalf("final status %+v, want done with a summary", st)
	}
	if s := st.Summary; s.Users != 4 || s.Groups != 2 || s.Memberships != 4 || s.Apps != 2 || s.AppGroups != 2 {
		t.Errorf("summary %+v, want 4 users, 2 groups, 4 memberships, 2 apps, 2 app-group assignments", *s)
	}

	// The store holds the org, readable through the admin API.
	oncall := ts.group(oktatest.OncallID)
	if oncall == nil || oncall.Name != "oncall-engineers" || !slices.Equal(sorted(oncall.Members...), sorted(oktatest.AliceID, oktatest.CarolID)) ||
		!slices.Equal(oncall.Apps, []string{oktatest.AWSID}) {
		t.Errorf("oncall-engineers = %+v, want alice and carol with AWS", oncall)
	}
	bob := ts.user("bob.okafor@example.com")
	if bob == nil || bob.DisplayName != "Bob Okafor" || status(bob) != "ACTIVE" || !slices.Equal(bob.Groups, []string{oktatest.PlatformID}) {
		t.Errorf("bob = %+v, want ACTIVE Bob Okafor in platform-team", bob)
	}
	if carol := ts.user(oktatest.CarolID); carol == nil || status(carol) != "DEPROVISIONED" {
		t.Errorf("carol = %+v, want DEPROVISIONED (read by the filtered listing)", carol)
	}

	// A second sync (allowed once the first is done) picks up a change in
	// Okta. (Removals are stamped with Okta's second-granular Date, so one
	// within the same second as the first sync would tie; the okta package
	// tests cover removal.)
	org.AddMember(oktatest.OncallID, oktatest.DaveID)
	if code, _, b := ts.do("POST", "/v1/okta/sync", nil, "Authorization", "Bearer "+testAdminToken); code != http.StatusAccepted {
		t.Fatalf("second sync: %d %s", code, b)
	}
	eventually(t, "the second sync", func() bool { st = ts.syncStatus(); return st.State != api.SyncRunning })
	if st.State != api.SyncDone || st.Summary.Memberships != 5 {
		t.Errorf("second sync %+v, want done with 5 memberships", st)
	}
	if g := ts.group(oktatest.OncallID); g == nil || !slices.Contains(g.Members, oktatest.DaveID) {
		t.Errorf("oncall after dave joined = %+v, want dave in it", g)
	}
}

func TestOktaAPIWithoutOrg(t *testing.T) {
	ts := startOktaServer(t, `
[[plugin]]
name = "okta-actor"
path = "{{wasm}}/oktaplugin.wasm"
capabilities = ["okta"]

[[route]]
kind = "provisioning"
plugin = "okta-actor"
`, nil)
	for _, m := range []string{"POST", "GET"} {
		code, _, b := ts.do(m, "/v1/okta/sync", nil, "Authorization", "Bearer "+testAdminToken)
		if code != http.StatusServiceUnavailable || !strings.Contains(string(b), "okta.org_url") {
			t.Errorf("%s /v1/okta/sync without an org = %d %s, want 503 naming okta.org_url", m, code, b)
		}
	}
	// A plugin action is refused with a clear reason (and audited).
	rep := provisionWith(ts.testServer, "alice.nguyen@example.com", "add:oncall-engineers")
	if rep.Response != "NO_PROVISIONING_ACTION" || !strings.Contains(rep.Message, "no Okta org is configured") {
		t.Errorf("plugin action without an org: %+v, want a failure saying no Okta org is configured", rep)
	}
	recs := ts.audit(oktaapi.AuditKindOktaAction)
	if len(recs) != 1 || recs[0].Decision != "error" || !strings.Contains(recs[0].Error, "no Okta org is configured") {
		t.Errorf("okta_action audit = %+v, want one error record", recs)
	}
}

// provisionWith posts a provisioning hook for email with request_comment
// and returns the decoded answer.
func provisionWith(ts *testServer, email, comment string) hookReply {
	ts.t.Helper()
	code, _, b := ts.do("POST", "/hooks/provisioning", hookBody("aws", "0oauAvkhqZlFVNOUV5d7", email, comment, "admin"),
		"Authorization", "test-hook-secret", "Content-Type", "application/json")
	var r hookReply
	if err := json.Unmarshal(b, &r); err != nil || code != http.StatusOK {
		ts.t.Fatalf("POST /hooks/provisioning = %d %s", code, b)
	}
	return r
}

// hookAs posts a provisioning hook for email with request_comment and one
// permission (which picks the route), returning the decoded answer.
func hookAs(ts *testServer, email, comment, permission string) hookReply {
	ts.t.Helper()
	code, _, b := ts.do("POST", "/hooks/provisioning", hookBody("aws", "0oauAvkhqZlFVNOUV5d7", email, comment, permission),
		"Authorization", "test-hook-secret", "Content-Type", "application/json")
	var r hookReply
	if err := json.Unmarshal(b, &r); err != nil || code != http.StatusOK {
		ts.t.Fatalf("POST /hooks/provisioning = %d %s", code, b)
	}
	return r
}

func TestPluginOktaActions(t *testing.T) {
	org := oktatest.New(oktatest.Options{APIToken: orgToken})
	defer org.Close()
	org.SeedFixtureOrg()
	org.Fail429(1, true) // the action goes through the client's rate-limit handling
	ts := startOktaServer(t, `
[[plugin]]
name = "okta-actor"
path = "{{wasm}}/oktaplugin.wasm"
capabilities = ["okta"]
okta_groups = ["Platform-Team"]
okta_apps = ["slack"]

[[plugin]]
name = "okta-all"
path = "{{wasm}}/oktaplugin.wasm"
capabilities = ["okta"]
okta_groups = ["*"]

[[plugin]]
name = "okta-none"
path = "{{wasm}}/oktaplugin.wasm"
capabilities = ["okta"]

[[route]]
kind = "provisioning"
app_id = "aws"
permission = "all"
plugin = "okta-all"

[[route]]
kind = "provisioning"
app_id = "aws"
permission = "none"
plugin = "okta-none"

[[plugin]]
name = "no-okta"
path = "{{wasm}}/oktaplugin.wasm"
capabilities = ["identity"]

[[route]]
kind = "provisioning"
app_id = "aws"
plugin = "okta-actor"

[[route]]
kind = "provisioning"
app_id = "aws"
permission = "nocap"
plugin = "no-okta"
`, newOrgClient(t, org, nil))
	// The identity store knows the org (refs are resolved through it).
	if _, err := okta.Sync(context.Background(), ts.API.Client(), ts.Store, okta.SyncOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
		t.Fatal(err)
	}
	before := len(org.Actions())

	// Alice, by email, into platform-team, by name.
	rep := provisionWith(ts.testServer, "alice.nguyen@example.com", "add:platform-team")
	if rep.Response != "PROVISIONED_USER" {
		t.Fatalf("add to group: %+v, want PROVISIONED_USER", rep)
	}
	acts := org.Actions()[before:]
	want := oktatest.Action{Method: "PUT", Kind: "add_group_member", Group: oktatest.PlatformID, User: oktatest.AliceID}
	if n := len(acts); n == 0 || acts[n-1].Method != want.Method || acts[n-1].Kind != want.Kind || acts[n-1].Group != want.Group || acts[n-1].User != want.User || acts[n-1].Status/100 != 2 {
		t.Fatalf("org recorded %+v, want a successful %+v (after one 429)", acts, want)
	}
	if !org.IsMember(oktatest.PlatformID, oktatest.AliceID) {
		t.Error("alice is not in platform-team in the org")
	}
	recs := ts.audit(oktaapi.AuditKindOktaAction)
	if len(recs) != 1 || recs[0].Plugin != "okta-actor" || recs[0].Decision != "success" || recs[0].Via != "plugin" ||
		!strings.Contains(recs[0].Message, "added alice.nguyen@example.com ("+oktatest.AliceID+") to group platform-team ("+oktatest.PlatformID+")") {
		t.Errorf("okta_action audit = %+v, want one success record naming alice and platform-team", recs)
	}

	// Unknown group: not found, nothing sent to Okta.
	n := len(org.Actions())
	rep = provisionWith(ts.testServer, "alice.nguyen@example.com", "add:no-such-group")
	if rep.Response != "NO_PROVISIONING_ACTION" || !strings.Contains(rep.Message, `group "no-such-group"`) || len(org.Actions()) != n {
		t.Errorf("unknown group: %+v (org actions %d→%d), want a failure naming the group and no call", rep, n, len(org.Actions()))
	}

	// Outside okta_groups: refused before Okta is called, and audited.
	n = len(org.Actions())
	rep = provisionWith(ts.testServer, "dave.kim@example.com", "add:oncall-engineers")
	if rep.Response != "NO_PROVISIONING_ACTION" || !strings.Contains(rep.Message, `group oncall-engineers (`+oktatest.OncallID+`) is not in the plugin's okta_groups ["Platform-Team"]`) ||
		len(org.Actions()) != n || org.IsMember(oktatest.OncallID, oktatest.DaveID) {
		t.Errorf("group outside okta_groups: %+v (org actions %d→%d), want a failure naming the group and the list, and no call", rep, n, len(org.Actions()))
	}
	recs = ts.audit(oktaapi.AuditKindOktaAction)
	if len(recs) < 3 || recs[0].Plugin != "okta-actor" || recs[0].Decision != "error" || !strings.Contains(recs[0].Error, "is not in the plugin's okta_groups") {
		t.Errorf("okta_action audit = %+v, want the out-of-scope refusal recorded (newest first)", recs)
	}
	// Apps: okta_apps names Slack (by name), not AWS.
	rep = provisionWith(ts.testServer, "alice.nguyen@example.com", "assign:"+oktatest.AWSID)
	if rep.Response != "NO_PROVISIONING_ACTION" || !strings.Contains(rep.Message, `app AWS (`+oktatest.AWSID+`) is not in the plugin's okta_apps ["slack"]`) ||
		len(org.Actions()) != n || org.UserHasApp(oktatest.AWSID, oktatest.AliceID) {
		t.Errorf("app outside okta_apps: %+v, want a refusal naming the app and no call", rep)
	}
	rep = provisionWith(ts.testServer, "alice.nguyen@example.com", "assign:"+oktatest.SlackID)
	if rep.Response != "PROVISIONED_USER" || !org.UserHasApp(oktatest.SlackID, oktatest.AliceID) {
		t.Errorf("app inside okta_apps: %+v, want alice assigned to Slack", rep)
	}
	n = len(org.Actions())
	// An empty scope allows nothing; ["*"] allows every group.
	rep = hookAs(ts.testServer, "dave.kim@example.com", "add:oncall-engineers", "none")
	if rep.Response != "NO_PROVISIONING_ACTION" || !strings.Contains(rep.Message, "okta_groups []") || len(org.Actions()) != n {
		t.Errorf("empty okta_groups: %+v, want a refusal and no call", rep)
	}
	rep = hookAs(ts.testServer, "dave.kim@example.com", "add:oncall-engineers", "all")
	if rep.Response != "PROVISIONED_USER" || !org.IsMember(oktatest.OncallID, oktatest.DaveID) {
		t.Errorf("okta_groups [\"*\"]: %+v, want dave added to oncall-engineers", rep)
	}
	n = len(org.Actions())

	// Without the capability: the usual capability error, nothing sent.
	code, _, b := ts.do("POST", "/hooks/provisioning", hookBody("aws", "0oauAvkhqZlFVNOUV5d7", "bob.okafor@example.com", "add:oncall-engineers", "nocap"),
		"Authorization", "test-hook-secret", "Content-Type", "application/json")
	if code != http.StatusOK || !strings.Contains(string(b), `capability \"okta\" not granted to plugin \"no-okta\"`) {
		t.Errorf("plugin without the okta capability = %d %s, want a failure naming the capability", code, b)
	}
	if len(org.Actions()) != n || org.IsMember(oktatest.OncallID, oktatest.BobID) {
		t.Error("an action without the capability reached Okta")
	}
}

func TestOktaCatchUpThroughEventPath(t *testing.T) {
	org := oktatest.New(oktatest.Options{APIToken: orgToken, PageSize: 2})
	defer org.Close()
	ts := startOktaServer(t, `
[[plugin]]
name = "watcher"
path = "{{wasm}}/oktaplugin.wasm"

[[on_event]]
types = ["group.user_membership.add"]
plugin = "watcher"

[queue]
initial_backoff = "5ms"
max_backoff = "20ms"
`, newOrgClient(t, org, nil))

	base := time.Now().Add(-20 * time.Minute).UTC().Truncate(time.Millisecond)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	delivered := []json.RawMessage{
		oktatest.Event("group.lifecycle.create", at(0), oktatest.GroupTarget(oktatest.Oncall)),
		oktatest.Event("user.lifecycle.create", at(1), oktatest.UserTarget(oktatest.Alice)),
	}
	missedAdd := oktatest.Event("group.user_membership.add", at(3), oktatest.UserTarget(oktatest.Bob), oktatest.GroupTarget(oktatest.Oncall))
	missed := []json.RawMessage{
		oktatest.Event("user.lifecycle.create", at(2), oktatest.UserTarget(oktatest.Bob)),
		missedAdd,
		oktatest.Event("group.application_assignment.add", at(4), oktatest.GroupTarget(oktatest.Oncall), oktatest.AppTarget(oktatest.AWS)),
	}
	// The hook delivered only the first events.
	env, _ := json.Marshal(map[string]any{
		"eventType": "com.okta.event_hook", "eventId": "delivered-1", "eventTime": at(1).Format(time.RFC3339),
		"data": map[string]any{"events": delivered},
	})
	ts.postOkta(env)
	if err := org.AddLogEvents(append(append([]json.RawMessage{}, delivered...), missed...)...); err != nil {
		t.Fatal(err)
	}
	if ts.user(oktatest.BobID) != nil {
		t.Fatal("bob known before catch-up")
	}

	ts.runAPI() // start-up catch-up, in the background

	var cu api.CatchUpStatus
	eventually(t, "the start-up catch-up", func() bool {
		ts.admin("GET", "/v1/okta/catchup", &cu)
		return cu.State != "never"
	})
	if cu.State != "ok" || cu.Result == nil || cu.Result.Accepted != len(missed) || cu.Result.Duplicates != len(delivered) {
		t.Fatalf("catch-up status %+v, want ok with %d accepted and %d duplicates", cu, len(missed), len(delivered))
	}
	// Events the hook never delivered are in the store.
	bob := ts.user("bob.okafor@example.com")
	if bob == nil || !slices.Equal(bob.Groups, []string{oktatest.OncallID}) {
		t.Errorf("bob = %+v, want known and in oncall-engineers", bob)
	}
	if g := ts.group(oktatest.OncallID); g == nil || !slices.Equal(g.Apps, []string{oktatest.AWSID}) {
		t.Errorf("oncall = %+v, want AWS assigned", g)
	}
	// ...and went through the same pipeline: the [[on_event]] plugin ran.
	var uuid struct{ UUID string }
	_ = json.Unmarshal(missedAdd, &uuid)
	eventually(t, "the event plugin to run for the caught-up event", func() bool {
		for _, r := range ts.audit("okta_event") {
			if r.Plugin == "watcher" && strings.Contains(r.Message, "saw group.user_membership.add "+uuid.UUID) {
				return true
			}
		}
		return false
	})
	if n := len(ts.audit("okta_event")); n != 1 {
		t.Errorf("%d event plugin runs, want 1 (only the missed membership add matches)", n)
	}
}
