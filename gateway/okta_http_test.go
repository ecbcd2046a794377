package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktagen"
	"github.com/hookgate/hookgate/store"
)

// The fictional org of ../shared/fixtures/okta/README.md.
const (
	alice   = "00uq2bQsGEKuDyxue5d7"
	bob     = "00uaYtXZpfwTv6JxN5d7"
	carol   = "00u9sDa0whxJ5GtFS5d7"
	dave    = "00uRjPeukKKQ9vu1W5d7"
	oncall  = "00g9I8I2YXF3R9IKb5d7"
	platEng = "00gQtX8kNb9Q26jxr5d7"
	aws     = "0oauAvkhqZlFVNOUV5d7"
	slack   = "0oa0X4Cu5cOdbijP45d7"
)

// fixtureChecks is the state change each fixture must cause when applied
// alone to an empty store, as the fixture README's table says, checked
// through the admin API.
var fixtureChecks = map[string]func(t *testing.T, ts *testServer){
	"group.lifecycle.create.json": func(t *testing.T, ts *testServer) {
		g := ts.group(oncall)
		if g == nil || g.Name != "oncall-engineers" {
			t.Errorf("oncall group = %+v, want it named oncall-engineers", g)
		}
	},
	"group.lifecycle.delete.json": func(t *testing.T, ts *testServer) {
		if g := ts.group(platEng); g != nil {
			t.Errorf("deleted platform-team still readable: %+v", g)
		}
	},
	"group.profile.update.json": func(t *testing.T, ts *testServer) {
		if g := ts.group(platEng); g == nil || g.Name != "platform-engineering" {
			t.Errorf("group %s = %+v, want name platform-engineering", platEng, g)
		}
	},
	"group.user_membership.add.json": func(t *testing.T, ts *testServer) {
		g, u := ts.group(oncall), ts.user(alice)
		if g == nil || !has(g.Members, alice) {
			t.Errorf("oncall = %+v, want alice a member", g)
		}
		if u == nil || !has(u.Groups, oncall) || u.Login != "alice.nguyen@example.com" || u.Status != nil {
			t.Errorf("alice = %+v (status %s), want a stub (status null) in oncall", u, status(u))
		}
	},
	"group.user_membership.remove.json": func(t *testing.T, ts *testServer) {
		g, u := ts.group(oncall), ts.user(bob)
		if g == nil || u == nil {
			t.Fatalf("group %+v / bob %+v: both must exist as stubs", g, u)
		}
		if has(g.Members, bob) || has(u.Groups, oncall) {
			t.Errorf("bob still in oncall: group %+v, user %+v", g, u)
		}
	},
	"group.application_assignment.add.json": func(t *testing.T, ts *testServer) {
		g, a := ts.group(oncall), ts.app(aws)
		if g == nil || !has(g.Apps, aws) || a == nil || !has(a.Groups, oncall) {
			t.Errorf("AWS not assigned to oncall: group %+v, app %+v", g, a)
		}
		// An event gives the label (the AppInstance's alternateId, here the
		// fixture's "amazon_aws"), never the API name (only the sync does).
		if a != nil && (a.Name != "" || a.Label != "amazon_aws") {
			t.Errorf("app = %+v, want no name, label amazon_aws", a)
		}
	},
	"group.application_assignment.remove.json": func(t *testing.T, ts *testServer) {
		if g := ts.group(platEng); g != nil && has(g.Apps, slack) {
			t.Errorf("Slack still assigned to platform-team: %+v", g)
		}
		if a := ts.app(slack); a != nil && has(a.Groups, platEng) {
			t.Errorf("Slack still lists platform-team: %+v", a)
		}
	},
	"group.application_assignment.update.json": func(t *testing.T, ts *testServer) {
		g, a := ts.group(oncall), ts.app(aws)
		if g == nil || !has(g.Apps, aws) || a == nil || !has(a.Groups, oncall) {
			t.Errorf("AWS not assigned to oncall after update: group %+v, app %+v", g, a)
		}
	},
	"user.lifecycle.create.json": func(t *testing.T, ts *testServer) {
		if u := ts.user(dave); status(u) != "STAGED" {
			t.Errorf("dave = %+v status %s, want STAGED", u, status(u))
		}
	},
	"user.lifecycle.activate.json": func(t *testing.T, ts *testServer) {
		if u := ts.user(dave); status(u) != "ACTIVE" {
			t.Errorf("dave status %s, want ACTIVE", status(u))
		}
	},
	"user.lifecycle.deactivate.json": func(t *testing.T, ts *testServer) {
		if u := ts.user(carol); status(u) != "DEPROVISIONED" {
			t.Errorf("carol status %s, want DEPROVISIONED", status(u))
		}
	},
	"user.lifecycle.suspend.json": func(t *testing.T, ts *testServer) {
		if u := ts.user(bob); status(u) != "SUSPENDED" {
			t.Errorf("bob status %s, want SUSPENDED", status(u))
		}
	},
	"user.lifecycle.unsuspend.json": func(t *testing.T, ts *testServer) {
		if u := ts.user(bob); status(u) != "ACTIVE" {
			t.Errorf("bob status %s, want ACTIVE", status(u))
		}
	},
	"user.lifecycle.delete.initiated.json": func(t *testing.T, ts *testServer) {
		if u := ts.user(carol); u != nil {
			t.Errorf("deleted carol still readable: %+v", u)
		}
	},
	"user.account.update_profile.json": func(t *testing.T, ts *testServer) {
		if u := ts.user(alice); u == nil || u.DisplayName != "Alice Nguyen-Park" {
			t.Errorf("alice = %+v, want displayName Alice Nguyen-Park", u)
		}
	},
	"application.user_membership.add.json": func(t *testing.T, ts *testServer) {
		u, a := ts.user(dave), ts.app(slack)
		if u == nil || !has(u.Apps, slack) || a == nil || !has(a.Users, dave) {
			t.Errorf("dave not directly assigned to Slack: user %+v, app %+v", u, a)
		}
	},
	"application.user_membership.remove.json": func(t *testing.T, ts *testServer) {
		if u := ts.user(alice); u != nil && has(u.Apps, slack) {
			t.Errorf("alice still assigned to Slack: %+v", u)
		}
		if a := ts.app(slack); a != nil && has(a.Users, alice) {
			t.Errorf("Slack still lists alice: %+v", a)
		}
	},
	"batch.json":        checkBatchStory,
	"unknown_type.json": checkUnknownType,
}

// checkBatchStory is the end state of batch.json's story.
func checkBatchStory(t *testing.T, ts *testServer) {
	t.Helper()
	for id, want := range map[string]string{alice: "ACTIVE", bob: "ACTIVE", carol: "DEPROVISIONED"} {
		if u := ts.user(id); status(u) != want {
			t.Errorf("user %s status %s, want %s", id, status(u), want)
		}
	}
	g := ts.group(oncall)
	if g == nil {
		t.Fatal("oncall-engineers missing")
	}
	if g.Name != "oncall-engineers" || !slices.Equal(g.Members, sorted(alice, carol)) || !slices.Equal(g.Apps, []string{aws}) {
		t.Errorf("oncall = %+v, want members {alice, carol} sorted and apps [AWS]", g)
	}
	if u := ts.user("alice.nguyen@example.com"); u == nil || u.ID != alice || !slices.Equal(u.Groups, []string{oncall}) {
		t.Errorf("alice by login = %+v, want groups [oncall]", u)
	}
	if u := ts.user(bob); u == nil || len(u.Groups) != 0 {
		t.Errorf("bob = %+v, want no groups", u)
	}
	if a := ts.app(aws); a == nil || !slices.Equal(a.Groups, []string{oncall}) {
		t.Errorf("AWS = %+v, want groups [oncall]", a)
	}
	var evs []map[string]any
	if code, _ := ts.get("/v1/events?limit=1000", &evs); code != 200 || len(evs) != 13 {
		t.Errorf("/v1/events: %d, %d events, want 13", code, len(evs))
	}
}

func checkUnknownType(t *testing.T, ts *testServer) {
	t.Helper()
	var evs []map[string]any
	ts.get("/v1/events?type=user.session.start", &evs)
	if len(evs) != 1 || !strings.Contains(mustJSON(t, evs), "c0e9ea32") {
		t.Errorf("unknown type not kept for plugins: %s", mustJSON(t, evs))
	}
	var users, groups []map[string]any
	ts.get("/v1/users", &users)
	ts.get("/v1/groups", &groups)
	if len(users)+len(groups) != 0 {
		t.Errorf("unknown type changed state: users %v groups %v", users, groups)
	}
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFixtures posts every fixture, each alone to an empty store, over real
// HTTP and checks the state change its README row describes. A fixture
// without a check fails, so a new fixture cannot be skipped silently.
func TestFixtures(t *testing.T) {
	dir := fixturesDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s (%v)", dir, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			check, ok := fixtureChecks[name]
			if !ok {
				t.Fatalf("fixture %s has no check: add one from the fixture README", name)
			}
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ts := startServer(t, "")
			ts.postOkta(body)
			check(t, ts)
		})
	}
}

// TestDuplicateDelivery: Okta's retry (same envelope) and a later batch
// re-carrying an old event under a new eventId add nothing.
func TestDuplicateDelivery(t *testing.T) {
	ts := startServer(t, "")
	body := fixture(t, "batch.json")
	ts.postOkta(body)
	ts.postOkta(body)
	evs := fixtureEvents(t, "batch.json")
	ts.postOkta(wrap(t, "another-envelope-id", evs[0], evs[7]))
	checkBatchStory(t, ts)
	var all []map[string]any
	ts.get("/v1/events?limit=1000", &all)
	if len(all) != 13 {
		t.Errorf("%d events after 3 deliveries of the same 13, want 13", len(all))
	}
}

// TestUserFirstSeenAsTarget: a membership add for users and a group nobody
// told us about creates them at once, with what the targets say.
func TestUserFirstSeenAsTarget(t *testing.T) {
	ts := startServer(t, "")
	ts.postOkta(fixture(t, "group.user_membership.add.json"))
	u := ts.user("alice.nguyen@example.com")
	if u == nil {
		t.Fatal("alice not readable by login")
	}
	if u.ID != alice || u.Login != "alice.nguyen@example.com" || u.DisplayName != "Alice Nguyen" || u.Status != nil {
		t.Errorf("alice = %+v (status %s), want id, login, displayName from the target and status null", u, status(u))
	}
	if !slices.Equal(u.Groups, []string{oncall}) {
		t.Errorf("alice groups %v, want [oncall]", u.Groups)
	}
	// The raw JSON says null, not "" or absent.
	_, _, raw := ts.do("GET", "/v1/users/"+alice, nil, "Authorization", "Bearer "+testAdminToken)
	mustContain(t, raw, `"status":null`)
	if g := ts.group(oncall); g == nil || g.Name != "oncall-engineers" {
		t.Errorf("group stub = %+v", g)
	}
}

// TestGroupDeletedWithMembers: deleting a group hides it and its edges
// from every read; an older add arriving late does not resurrect it.
func TestGroupDeletedWithMembers(t *testing.T) {
	ts := startServer(t, "")
	ts.postOkta(fixture(t, "batch.json"))
	del := fixtureEvents(t, "group.lifecycle.delete.json")[0]
	ts.postOkta(wrap(t, "e-del", withEvent(del, "del-oncall-1", "2026-03-03T11:00:00.000Z", "UserGroup", oncall, "oncall-engineers")))
	if g := ts.group(oncall); g != nil {
		t.Fatalf("deleted group readable: %+v", g)
	}
	for _, id := range []string{alice, carol} {
		if u := ts.user(id); u == nil || has(u.Groups, oncall) {
			t.Errorf("user %s = %+v: want it still there without the deleted group", id, u)
		}
	}
	if a := ts.app(aws); a != nil && has(a.Groups, oncall) {
		t.Errorf("AWS still assigned to the deleted group: %+v", a)
	}
	var groups []store.Group
	ts.get("/v1/groups", &groups)
	if len(groups) != 0 {
		t.Errorf("/v1/groups lists %+v after the delete", groups)
	}
	// A membership add published before the delete, delivered late.
	add := fixtureEvents(t, "group.user_membership.add.json")[0]
	ts.postOkta(wrap(t, "e-late", withEvent(add, "late-add-1", "2026-03-03T10:30:00.000Z", "", "", "")))
	if g := ts.group(oncall); g != nil {
		t.Errorf("late older add resurrected the group: %+v", g)
	}
	if u := ts.user(alice); u == nil || has(u.Groups, oncall) {
		t.Errorf("alice = %+v after late add: want no membership in the deleted group", u)
	}
}

// TestMalformedEventInBatch: one bad event is kept aside with a reason; the
// rest of the batch is applied and the delivery still gets its 200.
func TestMalformedEventInBatch(t *testing.T) {
	ts := startServer(t, "")
	evs := fixtureEvents(t, "batch.json")
	bad := map[string]any{"uuid": "bad-event-1", "eventType": "group.user_membership.add",
		"published": "not a time", "target": []any{}}
	batch := append(append([]map[string]any{}, evs[:6]...), bad)
	batch = append(batch, evs[6:]...)
	ts.postOkta(wrap(t, "e-bad", batch...))
	checkBatchStory(t, ts)
	var rejected []map[string]any
	if code, _ := ts.get("/v1/events/rejected", &rejected); code != 200 {
		t.Fatalf("/v1/events/rejected: %d", code)
	}
	if len(rejected) != 1 || !strings.Contains(mustJSON(t, rejected), "bad-event-1") {
		t.Fatalf("rejected = %s, want the one bad event", mustJSON(t, rejected))
	}
	if reason, _ := rejected[0]["reason"].(string); reason == "" {
		t.Errorf("rejected event has no reason: %v", rejected[0])
	}
}

// TestMalformedBodies: not JSON, not an envelope → 400 with a JSON error,
// nothing applied.
func TestMalformedBodies(t *testing.T) {
	ts := startServer(t, "")
	for name, body := range map[string]string{
		"not json":       `{"eventType":`,
		"not an object":  `[1,2,3]`,
		"wrong type":     `{"eventType":"something.else","data":{"events":[]}}`,
		"events missing": `{"eventType":"com.okta.event_hook","eventId":"x"}`,
		"empty":          ``,
	} {
		code, _, b := ts.do("POST", "/events/okta", []byte(body), "Authorization", testOktaSecret)
		var e struct{ Error string }
		if code != http.StatusBadRequest || json.Unmarshal(b, &e) != nil || e.Error == "" {
			t.Errorf("%s: got %d %q, want 400 with a JSON error", name, code, b)
		}
	}
	var users []any
	ts.get("/v1/users", &users)
	if len(users) != 0 {
		t.Errorf("malformed bodies applied something: %v", users)
	}
}

// TestOktaAuth: both header styles; wrong or missing auth is 401 and
// applies nothing.
func TestOktaAuth(t *testing.T) {
	body := fixture(t, "group.user_membership.add.json")
	cases := []struct {
		name    string
		toml    string
		headers []string
		want    int
	}{
		{"authorization ok", "", []string{"Authorization", testOktaSecret}, 200},
		{"authorization wrong", "", []string{"Authorization", testOktaSecret + "x"}, 401},
		{"authorization prefix only", "", []string{"Authorization", testOktaSecret[:5]}, 401},
		{"authorization missing", "", nil, 401},
		{"authorization in the wrong header", "", []string{"X-API-Key", testOktaSecret}, 401},
		{"x-api-key ok", "[okta]\nauth_header = \"X-API-Key\"\n", []string{"X-API-Key", testOktaSecret}, 200},
		{"x-api-key lower-case header name", "[okta]\nauth_header = \"X-API-Key\"\n", []string{"x-api-key", testOktaSecret}, 200},
		{"x-api-key wrong", "[okta]\nauth_header = \"X-API-Key\"\n", []string{"X-API-Key", "nope"}, 401},
		{"x-api-key missing", "[okta]\nauth_header = \"X-API-Key\"\n", []string{"Authorization", testOktaSecret}, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := startServer(t, c.toml)
			code, _, b := ts.do("POST", "/events/okta", body, c.headers...)
			if code != c.want {
				t.Fatalf("got %d %q, want %d", code, b, c.want)
			}
			applied := ts.user(alice) != nil
			if applied != (c.want == 200) {
				t.Errorf("status %d but applied=%v", code, applied)
			}
			if code == 401 {
				var e struct{ Error string }
				if json.Unmarshal(b, &e) != nil || e.Error == "" {
					t.Errorf("401 body %q is not a JSON error", b)
				}
			}
		})
	}
}

// TestOversizedBody: over okta.max_body_bytes is a real 413 JSON the client
// reads (not a reset connection), with a known length and chunked, below
// and above the server-wide fasthttp limit; nothing is applied.
func TestOversizedBody(t *testing.T) {
	ts := startServer(t, "[okta]\nmax_body_bytes = 100000\n")
	small := fixture(t, "group.user_membership.add.json")
	pad := func(n int) []byte {
		// A valid envelope padded with whitespace to n bytes.
		b := bytes.TrimSpace(small)
		return append(b[:len(b)-1:len(b)-1], append(bytes.Repeat([]byte(" "), n-len(b)), '}')...)
	}
	for _, c := range []struct {
		name    string
		size    int
		chunked bool
	}{
		{"just over the okta limit", 100001, false},
		{"over the server-wide limit", 5 << 20, false},
		{"chunked over the okta limit", 300000, true},
		{"chunked over the server-wide limit", 5 << 20, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := pad(c.size)
			var r io.Reader = bytes.NewReader(body)
			if c.chunked {
				r = io.MultiReader(r) // hides the length: net/http sends it chunked
			}
			req, _ := http.NewRequest("POST", ts.URL+"/events/okta", r)
			req.Header.Set("Authorization", testOktaSecret)
			resp, err := ts.client.Do(req)
			if err != nil {
				t.Fatalf("client saw no response (connection dropped?): %v", err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("read 413 body: %v", err)
			}
			var e struct{ Error string }
			if resp.StatusCode != http.StatusRequestEntityTooLarge || json.Unmarshal(b, &e) != nil || e.Error == "" {
				t.Fatalf("got %d %q, want 413 with a JSON error", resp.StatusCode, b)
			}
		})
	}
	if u := ts.user(alice); u != nil {
		t.Errorf("an oversized delivery was applied: %+v", u)
	}
	// Exactly at the limit is fine.
	ts.postOkta(pad(100000))
	if ts.user(alice) == nil {
		t.Error("a delivery of exactly max_body_bytes was not applied")
	}
}

// TestVerification: the one-time GET challenge.
func TestVerification(t *testing.T) {
	ts := startServer(t, "")
	const challenge = "q3Yk1hR8mT0vWb5ZsN2xP7cE4uLjA9dG<&>"
	code, h, b := ts.do("GET", "/events/okta", nil, "Authorization", testOktaSecret,
		"x-okta-verification-challenge", challenge)
	var v map[string]string
	if code != 200 || json.Unmarshal(b, &v) != nil || v["verification"] != challenge || len(v) != 1 {
		t.Fatalf("good verification: %d %q, want 200 {\"verification\": %q}", code, b, challenge)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	mustContain(t, b, challenge) // byte-exact, no \u003c escaping

	code, _, b = ts.do("GET", "/events/okta", nil, "Authorization", "wrong", "X-Okta-Verification-Challenge", challenge)
	if code != 401 || bytes.Contains(b, []byte("q3Yk1")) {
		t.Errorf("bad auth: %d %q, want 401 without echo", code, b)
	}
	code, _, b = ts.do("GET", "/events/okta", nil, "X-Okta-Verification-Challenge", challenge)
	if code != 401 {
		t.Errorf("missing auth: %d %q, want 401", code, b)
	}
	code, _, b = ts.do("GET", "/events/okta", nil, "Authorization", testOktaSecret)
	if code != 400 {
		t.Errorf("missing challenge: %d %q, want 400", code, b)
	}
	code, h, _ = ts.do("PUT", "/events/okta", nil, "Authorization", testOktaSecret)
	if code != 405 || h.Get("Allow") == "" {
		t.Errorf("PUT: %d, Allow %q, want 405 with Allow", code, h.Get("Allow"))
	}
}

// TestOktaPathFromConfig: the hook path is whatever okta.path says.
func TestOktaPathFromConfig(t *testing.T) {
	ts := startServer(t, "[okta]\npath = \"/custom/okta-hook\"\n")
	ts.postOkta(fixture(t, "group.lifecycle.create.json"))
	if ts.group(oncall) == nil {
		t.Fatal("delivery on the configured path was not applied")
	}
	if code, _, _ := ts.do("POST", "/events/okta", fixture(t, "batch.json"), "Authorization", testOktaSecret); code != 404 {
		t.Errorf("default path still served: %d", code)
	}
}

// TestConcurrentDeliveries: many senders at once, every acknowledged event
// readable at once (and Badger conflicts on the shared group are retried).
func TestConcurrentDeliveries(t *testing.T) {
	ts := startServer(t, "")
	const senders, batches, per = 8, 5, 10
	errs := make(chan error, senders)
	for s := 0; s < senders; s++ {
		go func() {
			for b := 0; b < batches; b++ {
				evs := make([]oktagen.Event, per)
				for i := range evs {
					n := (s*batches+b)*per + i
					evs[i] = oktagen.MembershipAdd(oktagen.UUID(1, n), time.Date(2026, 3, 3, 9, 0, 0, n*1e6, time.UTC), n, 1)
				}
				req, _ := http.NewRequest("POST", ts.URL+"/events/okta", bytes.NewReader(oktagen.Envelope(fmt.Sprint(s, b), evs...)))
				req.Header.Set("Authorization", testOktaSecret)
				resp, err := ts.client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d", resp.StatusCode)
					return
				}
			}
			errs <- nil
		}()
	}
	for s := 0; s < senders; s++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	g := ts.group(oktagen.GroupID(1))
	if g == nil || len(g.Members) != senders*batches*per {
		n := -1
		if g != nil {
			n = len(g.Members)
		}
		t.Fatalf("group has %d members, want %d", n, senders*batches*per)
	}
}

// TestHealthAndUnknownPaths covers the small endpoints.
func TestHealthAndUnknownPaths(t *testing.T) {
	ts := startServer(t, "")
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/nope": 404, "/hooks/provisioning": 404} {
		code, _, b := ts.do("GET", path, nil)
		if code != want {
			t.Errorf("GET %s: %d %q, want %d", path, code, b, want)
		}
	}
	ts.postOkta(fixture(t, "batch.json"))
	_, _, m := ts.do("GET", "/metrics", nil)
	if got := metricSum(t, m, "hookgate_okta_events_total", "result", "accepted"); got != 13 {
		t.Errorf("hookgate_okta_events_total{result=\"accepted\"} summed over types = %v, want 13", got)
	}
	// The listener is real TCP on loopback.
	if _, _, err := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://")); err != nil {
		t.Error(err)
	}
}

// TestOktaBodyWithBOM: a delivery whose JSON starts with a UTF-8 byte
// order mark (RFC 8259 lets parsers ignore it) is applied like any other,
// not refused with "invalid character 'ï'".
func TestOktaBodyWithBOM(t *testing.T) {
	ts := startServer(t, "")
	ts.postOkta(append([]byte("\xEF\xBB\xBF"), fixture(t, "batch.json")...))
	checkBatchStory(t, ts)
}
