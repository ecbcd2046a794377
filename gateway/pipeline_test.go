package gateway_test

// End-to-end tests of the two headline stories: Okta events drive plugins
// through the durable queue, and time-boxed grants deprovision themselves.
// Everything is real: the fasthttp gateway on 127.0.0.1:0, Badger in
// t.TempDir(), the example plugins compiled to .wasm, and local stand-in
// HTTP APIs that record what they received.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/gateway/internal/work"
	"github.com/hookgate/hookgate/store"
)

// exampleWasm returns the .wasm build of examples/<name> (buildWasm builds
// every example once per test binary).
func exampleWasm(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(buildWasm(t), name+".wasm")
}

// --- stand-in downstream APIs ---

// received is one request a stand-in API got.
type received struct {
	At           time.Time
	Method, Path string
	Body         map[string]any
	Status       int
}

// standIn is a local HTTP API that records every request and answers
// with whatever fail says (0: 200).
type standIn struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
	// fail returns the status to answer a request with (0 = 200).
	fail func(r received) int
	// notify, when set, is called with every request after it is recorded.
	notify func(r received)
}

func newStandIn(t testing.TB) *standIn {
	s := &standIn{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec := received{At: time.Now(), Method: r.Method, Path: r.URL.Path}
		_ = json.Unmarshal(b, &rec.Body)
		s.mu.Lock()
		status := 200
		if s.fail != nil {
			if st := s.fail(rec); st != 0 {
				status = st
			}
		}
		rec.Status = status
		s.reqs = append(s.reqs, rec)
		notify := s.notify
		s.mu.Unlock()
		if notify != nil {
			notify(rec)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"status":%d}`, status)
	}))
	t.Cleanup(s.Close)
	return s
}

// setFail replaces the failure rule.
func (s *standIn) setFail(f func(received) int) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

// requests returns a copy of what was received so far.
func (s *standIn) requests() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.reqs...)
}

// ok counts 2xx answers.
func (s *standIn) ok() int {
	n := 0
	for _, r := range s.requests() {
		if r.Status/100 == 2 {
			n++
		}
	}
	return n
}

func (s *standIn) hostPort() string { return strings.TrimPrefix(s.URL, "http://") }

// --- the full gateway: server + plugins + dispatcher + pipeline ---

type fullServer struct {
	*testServer
	Plugins *hook.PluginSet
}

// startFull serves toml (plugin paths absolute) with the inline hooks and
// the event pipeline wired as `hookgate serve` wires them.
func startFull(t testing.TB, toml string) *fullServer {
	t.Helper()
	cfg := testConfig(t, toml)
	quiet := debugLogger()
	st := openTestStore(t, cfg, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	ps, err := hook.LoadPlugins(ctx, gateway.PluginOptions(cfg), st, quiet)
	if err != nil {
		t.Fatalf("plugins: %v", err)
	}
	audit := store.NewAuditLog(st, store.AuditOptions{Logger: quiet})
	srv := buildFull(t, gateway.Options{Config: cfg, Store: st, Logger: quiet, Audit: audit, Deciders: ps.Deciders()})
	url, served := serveLoopback(t, srv)
	piped := make(chan error, 1)
	go func() { piped <- srv.RunWork(ctx) }()
	t.Cleanup(func() {
		shutdown(t, srv)
		<-served
		cancel()
		if err := <-piped; err != nil {
			t.Errorf("pipeline: %v", err)
		}
		_ = audit.Close()
		_ = ps.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &fullServer{testServer: newTestServer(t, url, srv, st, cfg), Plugins: ps}
}

// buildFull assembles the whole gateway (inline hooks, event pipeline,
// Okta API part) with gateway.Build, as `hookgate serve` does.
func buildFull(t testing.TB, o gateway.Options) *gateway.Server {
	t.Helper()
	srv, err := gateway.Build(o)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return srv
}

// pipelineTOML is the test config: terminate-revoke subscribed to the
// lifecycle events with the given downstream systems, aws-grant routed for
// app aws (optionally with an api_url), tiny backoff, fast grant scans.
func pipelineTOML(t testing.TB, systems map[string]*standIn, awsAPI *standIn, maxAttempts int) string {
	t.Helper()
	var names, cfg, hosts []string
	for name, s := range systems {
		names = append(names, name)
		cfg = append(cfg, fmt.Sprintf("%s_url = %q", name, s.URL+"/"+name+"/users/{user_id}/revoke"))
		hosts = append(hosts, fmt.Sprintf("%q", s.hostPort()))
	}
	trWasm := exampleWasm(t, "terminate-revoke")
	awsCfg, awsHosts, awsCaps := "", "", `["log", "config", "kv"]`
	if awsAPI != nil {
		awsCfg = fmt.Sprintf("api_url = %q", awsAPI.URL+"/aws/grants")
		awsHosts = fmt.Sprintf("allowed_hosts = [%q]", awsAPI.hostPort())
		awsCaps = `["log", "config", "kv", "http"]`
	}
	return fmt.Sprintf(`
[plugins]
# Shared across tests: each plugin is compiled once per test binary.
cache_dir = %q
pool_size = 2

[queue]
workers = 4
max_attempts = %d
initial_backoff = "5ms"
max_backoff = "40ms"

[grants]
scan_interval = "50ms"

[[plugin]]
name = "terminate-revoke"
path = %q
capabilities = ["log", "config", "kv", "identity", "http"]
allowed_hosts = [%s]
config = { systems = %q, %s }

[[plugin]]
name = "aws-grant"
path = %q
capabilities = %s
%s
config = { %s }

[[route]]
kind = "provisioning"
app_id = "aws"
plugin = "aws-grant"

[[route]]
kind = "deprovisioning"
app_id = "aws"
plugin = "aws-grant"

[[on_event]]
types = ["user.lifecycle.deactivate", "user.lifecycle.suspend", "user.lifecycle.delete.initiated"]
plugin = "terminate-revoke"
`, filepath.Join(buildWasm(t), "cache"), maxAttempts, trWasm, strings.Join(hosts, ", "), strings.Join(names, ","), strings.Join(cfg, ", "),
		exampleWasm(t, "aws-grant"), awsCaps, awsHosts, awsCfg)
}

// --- helpers ---

// eventually polls cond every 10ms until it holds or a generous deadline
// passes (no timing is asserted; the deadline only stops a hung test).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 30*time.Second, what, cond)
}

// eventuallyWithin is eventually with its own bound, for waits that include
// plugin compilation (slow on a loaded machine, never a hang).
func eventuallyWithin(t testing.TB, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// userEvent is a LogEvent about one user.
func userEvent(uuid, typ, userID, login string, published time.Time) map[string]any {
	return map[string]any{
		"uuid": uuid, "published": published.UTC().Format(time.RFC3339Nano), "eventType": typ, "version": "0",
		"displayMessage": typ, "severity": "INFO",
		"actor":   map[string]any{"id": "00uadmin", "type": "User", "alternateId": "admin@example.com", "displayName": "Admin"},
		"outcome": map[string]any{"result": "SUCCESS"},
		"target":  []any{map[string]any{"id": userID, "type": "User", "alternateId": login, "displayName": login}},
	}
}

// membershipEvent is a group.user_membership.add LogEvent.
func membershipEvent(uuid, userID, login, groupID string, published time.Time) map[string]any {
	ev := userEvent(uuid, "group.user_membership.add", userID, login, published)
	ev["target"] = append(ev["target"].([]any), map[string]any{"id": groupID, "type": "UserGroup", "alternateId": "unknown", "displayName": "group " + groupID})
	return ev
}

// envelopeOf wraps LogEvents in an Okta event hook delivery.
func envelopeOf(events ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{
		"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
		"source": "https://example.okta.com/api/v1/eventHooks/x", "eventId": fmt.Sprintf("env-%d", time.Now().UnixNano()),
		"eventTime": time.Now().UTC().Format(time.RFC3339), "contentType": "application/json",
		"data": map[string]any{"events": events},
	})
	return b
}

// admin sends an admin API request and decodes a 200 JSON answer into out.
func (ts *testServer) admin(method, path string, out any) int {
	ts.t.Helper()
	code, _, b := ts.do(method, path, nil, "Authorization", "Bearer "+testAdminToken)
	if code == http.StatusOK && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			ts.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return code
}

func (ts *testServer) queueLen() int {
	var items []map[string]any
	if code := ts.admin("GET", "/v1/queue", &items); code != 200 {
		ts.t.Fatalf("GET /v1/queue: %d", code)
	}
	return len(items)
}

type dlqEntry struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Plugin    string `json:"plugin"`
	Ref       string `json:"ref"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

func (ts *testServer) dlq() []dlqEntry {
	var out []dlqEntry
	if code := ts.admin("GET", "/v1/dlq", &out); code != 200 {
		ts.t.Fatalf("GET /v1/dlq: %d", code)
	}
	return out
}

type grantEntry struct {
	ID          string    `json:"id"`
	User        string    `json:"user"`
	App         string    `json:"app"`
	Permissions []string  `json:"permissions"`
	Plugin      string    `json:"plugin"`
	State       string    `json:"state"`
	GrantedAt   time.Time `json:"granted_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	LastError   string    `json:"last_error"`
}

func (ts *testServer) grants(query string) []grantEntry {
	var out []grantEntry
	if code := ts.admin("GET", "/v1/grants"+query, &out); code != 200 {
		ts.t.Fatalf("GET /v1/grants%s: %d", query, code)
	}
	return out
}

type auditEntry struct {
	Kind     string `json:"kind"`
	Plugin   string `json:"plugin"`
	Decision string `json:"decision"`
	Message  string `json:"message"`
	Via      string `json:"via"`
	Error    string `json:"error"`
}

func (ts *testServer) audit(kind string) []auditEntry {
	var out []auditEntry
	if code := ts.admin("GET", "/v1/audit?kind="+kind+"&limit=1000", &out); code != 200 {
		ts.t.Fatalf("GET /v1/audit: %d", code)
	}
	return out
}

// provision posts the Lumos provisioning fixture with access_length secs.
func (ts *testServer) provision(accessLength int) {
	ts.t.Helper()
	var req map[string]any
	if err := json.Unmarshal(lumosFixture(ts.t, "provisioning.json"), &req); err != nil {
		ts.t.Fatal(err)
	}
	req["access_length"] = accessLength
	body, _ := json.Marshal(req)
	code, _, b := ts.do("POST", "/hooks/provisioning", body, "Authorization", "test-hook-secret", "Content-Type", "application/json")
	if code != 200 || !bytes.Contains(b, []byte("PROVISIONED_USER")) {
		ts.t.Fatalf("provisioning: %d %s", code, b)
	}
}

func lumosFixture(t testing.TB, name string) []byte {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "shared", "fixtures", "lumos", name))
		if err == nil {
			return b
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("shared/fixtures/lumos/%s not found above the package directory", name)
		}
		dir = parent
	}
}

// --- story 1: terminated means revoked, everywhere ---

func TestTerminateRevokesEverywhere(t *testing.T) {
	t.Parallel()
	zendesk, slack := newStandIn(t), newStandIn(t)
	ts := startFull(t, pipelineTOML(t, map[string]*standIn{"zendesk": zendesk, "slack": slack}, nil, 5))
	deactivate := fixture(t, "user.lifecycle.deactivate.json")
	ts.postOkta(deactivate)

	eventually(t, "both downstream APIs to receive the revocation", func() bool {
		return zendesk.ok() == 1 && slack.ok() == 1
	})
	for name, s := range map[string]*standIn{"zendesk": zendesk, "slack": slack} {
		r := s.requests()[0]
		if r.Method != "POST" || r.Path != "/"+name+"/users/00u9sDa0whxJ5GtFS5d7/revoke" ||
			r.Body["user_id"] != "00u9sDa0whxJ5GtFS5d7" || r.Body["reason"] != "user.lifecycle.deactivate" {
			t.Errorf("%s received %+v", name, r)
		}
	}
	eventually(t, "the queue to drain", func() bool { return ts.queueLen() == 0 })
	recs := ts.audit("okta_event")
	if len(recs) != 1 || recs[0].Decision != "success" || recs[0].Plugin != "terminate-revoke" ||
		!strings.Contains(recs[0].Message, "event plugin terminate-revoke ran for event 12f31fe2-723d-1169-ba06-5691fde2cfd3") ||
		!strings.Contains(recs[0].Message, "revoked") || !strings.Contains(recs[0].Message, "zendesk") {
		t.Fatalf("audit = %+v", recs)
	}

	// Okta delivers the same event again: nothing is enqueued, nothing runs.
	ts.postOkta(deactivate)
	if n := ts.queueLen(); n != 0 {
		t.Fatalf("duplicate delivery enqueued %d items", n)
	}
	// A later, different event for another user proves the worker is still
	// draining; by the time it ran, a duplicate run would have too.
	ts.postOkta(envelopeOf(userEvent("later-1", "user.lifecycle.suspend", "00uother", "other@example.com", time.Now())))
	eventually(t, "the later event to run", func() bool { return zendesk.ok() == 2 && ts.queueLen() == 0 })
	for _, r := range zendesk.requests()[1:] {
		if r.Body["user_id"] != "00uother" {
			t.Fatalf("duplicate delivery ran again: %+v", r)
		}
	}
	if n := len(ts.audit("okta_event")); n != 2 {
		t.Fatalf("%d event plugin runs audited, want 2", n)
	}
	_, _, m := ts.do("GET", "/metrics", nil)
	for _, want := range []string{`hookgate_queue_items{state="pending"} 0`, `hookgate_queue_runs_total{outcome="success"} 2`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, m)
		}
	}
}

// --- story 2: access for a while, removed on its own ---

func TestGrantExpiresAndIsRevoked(t *testing.T) {
	t.Parallel()
	aws := newStandIn(t)
	ts := startFull(t, pipelineTOML(t, nil, aws, 5))
	ts.provision(2)

	gs := ts.grants("?user=alice.nguyen@example.com&app=aws")
	if len(gs) != 1 || gs[0].State != "active" || gs[0].Plugin != "aws-grant" ||
		len(gs[0].Permissions) != 1 || gs[0].Permissions[0] != "arn:aws:iam::123456789012:role/oncall-breakglass" {
		t.Fatalf("grants after provisioning = %+v", gs)
	}
	if d := gs[0].ExpiresAt.Sub(gs[0].GrantedAt); d != 2*time.Second {
		t.Fatalf("expiry %s after grant, want 2s", d)
	}
	eventually(t, "the grant to be revoked", func() bool {
		g := ts.grants("?state=revoked")
		return len(g) == 1 && g[0].ID == gs[0].ID
	})
	reqs := aws.requests()
	if len(reqs) != 2 || reqs[0].Body["action"] != "grant" || reqs[1].Body["action"] != "revoke" ||
		reqs[1].Body["user"] != "alice.nguyen@example.com" {
		t.Fatalf("aws stand-in received %+v", reqs)
	}
	var deprov []auditEntry
	for _, r := range ts.audit("deprovisioning") {
		if r.Via == work.ViaGrantExpiry {
			deprov = append(deprov, r)
		}
	}
	if len(deprov) != 1 || deprov[0].Decision != "success" {
		t.Fatalf("deprovisioning audit = %+v", deprov)
	}
	if g := ts.grants("?state=active"); len(g) != 0 {
		t.Fatalf("still active: %+v", g)
	}
}

func TestGrantAdminRevoke(t *testing.T) {
	t.Parallel()
	ts := startFull(t, pipelineTOML(t, nil, nil, 5))
	ts.provision(3600)
	gs := ts.grants("")
	if len(gs) != 1 || gs[0].State != "active" {
		t.Fatalf("grants = %+v", gs)
	}
	var g grantEntry
	if code := ts.admin("POST", "/v1/grants/"+gs[0].ID+"/revoke", &g); code != 200 || g.State != "revoked" {
		t.Fatalf("revoke: %d %+v", code, g)
	}
	if code := ts.admin("POST", "/v1/grants/nope/revoke", nil); code != 404 {
		t.Fatalf("revoke of a missing grant: %d", code)
	}
	if code := ts.admin("GET", "/v1/grants?state=bogus", nil); code != 400 {
		t.Fatalf("bad state filter: %d", code)
	}
}

// TestGrantAccessLengthBounds: an access_length past 10 years (here the
// value that used to overflow time.Duration into an expiry in 1734) is a
// 400 naming the field, the plugin does not run and no grant is written;
// exactly 10 years is a grant expiring 10 years on.
func TestGrantAccessLengthBounds(t *testing.T) {
	t.Parallel()
	aws := newStandIn(t)
	ts := startFull(t, pipelineTOML(t, nil, aws, 5))
	var req map[string]any
	if err := json.Unmarshal(lumosFixture(t, "provisioning.json"), &req); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{9223372037, hook.MaxAccessLength + 1, 1 << 62, -1} {
		req["access_length"] = n
		body, _ := json.Marshal(req)
		code, _, b := ts.do("POST", "/hooks/provisioning", body, "Authorization", "test-hook-secret", "Content-Type", "application/json")
		var r struct{ Field, Error string }
		_ = json.Unmarshal(b, &r)
		if code != 400 || r.Field != "access_length" || !strings.Contains(r.Error, "access_length") {
			t.Errorf("access_length %d: %d %s, want 400 naming access_length", n, code, b)
		}
	}
	if gs := ts.grants(""); len(gs) != 0 {
		t.Fatalf("grants written for refused requests: %+v", gs)
	}
	if n := len(aws.requests()); n != 0 {
		t.Fatalf("the plugin ran %d times for refused requests", n)
	}
	ts.provision(hook.MaxAccessLength)
	gs := ts.grants("")
	if len(gs) != 1 || gs[0].ExpiresAt.Sub(gs[0].GrantedAt) != hook.MaxAccessLength*time.Second || gs[0].ExpiresAt.Year() < time.Now().Year()+9 {
		t.Fatalf("grant for 10 years = %+v", gs)
	}
}

// --- failing downstream: retries, dead letter, replay, one effect ---

func TestFailingDownstreamRetriesThenDeadLetterThenReplay(t *testing.T) {
	t.Parallel()
	zendesk := newStandIn(t)
	zendesk.setFail(func(received) int { return 503 })
	ts := startFull(t, pipelineTOML(t, map[string]*standIn{"zendesk": zendesk}, nil, 3))
	ts.postOkta(fixture(t, "user.lifecycle.deactivate.json"))

	eventually(t, "the event to be dead-lettered", func() bool { return len(ts.dlq()) == 1 })
	dl := ts.dlq()[0]
	if dl.Kind != "okta_event" || dl.Plugin != "terminate-revoke" || dl.Attempts != 3 ||
		dl.Ref != "12f31fe2-723d-1169-ba06-5691fde2cfd3" || !strings.Contains(dl.LastError, "HTTP 503") {
		t.Fatalf("dead letter = %+v", dl)
	}
	if n := len(zendesk.requests()); n != 3 {
		t.Fatalf("downstream got %d attempts, want 3 (max_attempts)", n)
	}
	var shown map[string]any
	if code := ts.admin("GET", "/v1/dlq/"+dl.ID, &shown); code != 200 || shown["payload"] == nil {
		t.Fatalf("show: %d %v", code, shown)
	}
	if code := ts.admin("GET", "/v1/dlq/nope", nil); code != 404 {
		t.Fatalf("show missing: %d", code)
	}
	if ts.queueLen() != 0 || zendesk.ok() != 0 {
		t.Fatal("dead letter still queued or downstream succeeded")
	}

	// The downstream is fixed; the operator replays.
	zendesk.setFail(nil)
	if code := ts.admin("POST", "/v1/dlq/"+dl.ID+"/replay", nil); code != 200 {
		t.Fatalf("replay: %d", code)
	}
	eventually(t, "the replayed event to run", func() bool { return zendesk.ok() == 1 && ts.queueLen() == 0 })
	if n := len(ts.dlq()); n != 0 {
		t.Fatalf("dlq has %d after a successful replay", n)
	}
	if code := ts.admin("POST", "/v1/dlq/"+dl.ID+"/replay", nil); code != 404 {
		t.Fatalf("second replay: %d, want 404", code)
	}
	if n := zendesk.ok(); n != 1 {
		t.Fatalf("%d successful revocations, want exactly 1", n)
	}
}

func TestFailingDeprovisioningMarksGrantFailedThenReplayRevokes(t *testing.T) {
	t.Parallel()
	aws := newStandIn(t)
	aws.setFail(func(r received) int {
		if r.Body["action"] == "revoke" {
			return 500
		}
		return 0
	})
	ts := startFull(t, pipelineTOML(t, nil, aws, 2))
	ts.provision(1)
	eventually(t, "the grant to fail", func() bool { return len(ts.grants("?state=failed")) == 1 })
	g := ts.grants("?state=failed")[0]
	if !strings.Contains(g.LastError, "HTTP 500") {
		t.Fatalf("failed grant = %+v", g)
	}
	dls := ts.dlq()
	if len(dls) != 1 || dls[0].Kind != "deprovision-grant" || dls[0].Ref != g.ID {
		t.Fatalf("dlq = %+v", dls)
	}
	aws.setFail(nil)
	if code := ts.admin("POST", "/v1/dlq/"+dls[0].ID+"/replay", nil); code != 200 {
		t.Fatalf("replay: %d", code)
	}
	eventually(t, "the grant to be revoked", func() bool { return len(ts.grants("?state=revoked")) == 1 })
	revokes := 0
	for _, r := range aws.requests() {
		if r.Body["action"] == "revoke" && r.Status == 200 {
			revokes++
		}
	}
	if revokes != 1 {
		t.Fatalf("%d successful revocations, want 1", revokes)
	}
}

// --- ordering ---

func TestPerUserOrdering(t *testing.T) {
	t.Parallel()
	zendesk := newStandIn(t)
	// The first attempt of each user's first event fails: with per-user
	// ordering, that user's later events must wait for its retry.
	failedOnce := map[string]bool{}
	zendesk.setFail(func(r received) int {
		id, _ := r.Body["event_uuid"].(string)
		if strings.HasSuffix(id, "-0") && !failedOnce[id] {
			failedOnce[id] = true
			return 500
		}
		return 0
	})
	ts := startFull(t, pipelineTOML(t, map[string]*standIn{"zendesk": zendesk}, nil, 10))
	types := []string{"user.lifecycle.suspend", "user.lifecycle.deactivate", "user.lifecycle.delete.initiated"}
	users := []string{"00ua", "00ub", "00uc", "00ud"}
	var events []map[string]any
	base := time.Now()
	for i, typ := range types {
		for _, u := range users {
			events = append(events, userEvent(fmt.Sprintf("%s-%d", u, i), typ, u, u+"@example.com", base.Add(time.Duration(i)*time.Millisecond)))
		}
	}
	ts.postOkta(envelopeOf(events...))
	eventually(t, "every event to run", func() bool { return zendesk.ok() == len(events) && ts.queueLen() == 0 })

	next := map[string]int{}
	for _, r := range zendesk.requests() {
		if r.Status != 200 {
			continue
		}
		u, id := r.Body["user_id"].(string), r.Body["event_uuid"].(string)
		if want := fmt.Sprintf("%s-%d", u, next[u]); id != want {
			t.Fatalf("user %s: ran %s, want %s next (order %+v)", u, id, want, zendesk.requests())
		}
		next[u]++
	}
}
