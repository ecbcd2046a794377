package gateway_test

// Full profiles end to end against the stand-in org: a sync over the admin
// API, then profiles, types, timestamps and admin roles readable through
// the admin API and by a real plugin (examples/attribute-preapproval), the
// attr filter, a background refresh after user.account.update_profile that
// the event hook's 200 does not wait for, and the explained refusal of an
// Okta action on a Super Administrator.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/api"
	"github.com/hookgate/hookgate/gateway/internal/oktaapi"
	"github.com/hookgate/hookgate/gateway/okta/oktatest"
)

func profileOrg(t *testing.T) *oktatest.Server {
	t.Helper()
	// hookgate's credentials hold a custom admin role, not Super Administrator.
	org := oktatest.New(oktatest.Options{APIToken: orgToken, Roles: []oktatest.Role{{ID: "ra9", Type: "CUSTOM", Label: "Group manager"}}})
	t.Cleanup(org.Close)
	org.AddSchemaAttr(oktatest.SchemaAttr{Name: "isContractor", Title: "Contractor", Type: "boolean"})
	org.AddSchemaAttr(oktatest.SchemaAttr{Name: "clearance", Title: "Clearance", Type: "integer"})
	org.AddUser(oktatest.User{ID: "00ualice", Login: "alice.nguyen@example.com", FirstName: "Alice", LastName: "Nguyen",
		Activated: time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC), TypeID: "otyEmployee",
		Attrs: map[string]any{"department": "Engineering", "title": "SRE", "employeeType": "Employee", "isContractor": false, "clearance": 3},
		Roles: []oktatest.Role{{ID: "ra1", Type: "SUPER_ADMIN", Label: "Super Administrator"}}})
	org.AddUser(oktatest.User{ID: "00ubob", Login: "bob.smith@example.com", FirstName: "Bob", LastName: "Smith",
		Attrs: map[string]any{"department": "Engineering", "employeeType": "Contractor", "isContractor": true, "clearance": 3}})
	org.AddUser(oktatest.User{ID: "00ucarol", Login: "carol.diaz@example.com", FirstName: "Carol", LastName: "Diaz",
		Attrs: map[string]any{"department": "Sales", "isContractor": false, "clearance": 3}})
	org.AddGroup(oktatest.Group{ID: "00geng", Name: "engineering", Description: "All engineers"})
	org.AddGroup(oktatest.Group{ID: "00gawsapp", Name: "aws-app-users", Type: "APP_GROUP"})
	for _, u := range []string{"00ualice", "00ubob", "00ucarol"} {
		org.AddMember("00geng", u)
	}
	return org
}

const profileRoutes = `
[[plugin]]
name = "attribute-preapproval"
path = "{{wasm}}/attribute-preapproval.wasm"
capabilities = ["log", "config", "identity"]
config = { group = "engineering", value = "Engineering", min_clearance = "2" }

[[route]]
kind = "pre_approval"
app_id = "prod-db"
plugin = "attribute-preapproval"

[[plugin]]
name = "okta-actor"
path = "{{wasm}}/oktaplugin.wasm"
capabilities = ["okta"]
okta_groups = ["engineering"]

[[route]]
kind = "provisioning"
app_id = "aws"
plugin = "okta-actor"
`

func TestProfilesEndToEnd(t *testing.T) {
	org := profileOrg(t)
	ts := startOktaServer(t, profileRoutes, newOrgClient(t, org, nil))
	if code, _, b := ts.do("POST", "/v1/okta/sync", nil, "Authorization", "Bearer "+testAdminToken); code != http.StatusAccepted {
		t.Fatalf("POST /v1/okta/sync: %d %s", code, b)
	}
	var st api.SyncStatus
	eventually(t, "the sync to finish", func() bool { st = ts.syncStatus(); return st.State != api.SyncRunning })
	if st.State != api.SyncDone || st.Summary.CustomAttributes != 2 || st.Summary.Admins != 1 {
		t.Fatalf("sync %+v", st)
	}

	// The admin API: every attribute with its type, user type, timestamps, roles.
	var alice map[string]any
	if code, _ := ts.get("/v1/users/alice.nguyen@example.com", &alice); code != 200 {
		t.Fatalf("GET alice: %d", code)
	}
	prof, _ := alice["profile"].(map[string]any)
	types, _ := alice["profileTypes"].(map[string]any)
	if prof["department"] != "Engineering" || prof["clearance"] != float64(3) || prof["isContractor"] != false || prof["title"] != "SRE" ||
		types["clearance"] != "integer" || types["isContractor"] != "boolean" {
		t.Errorf("alice profile %v types %v", prof, types)
	}
	if alice["type"] != "otyEmployee" || alice["activated"] != "2026-01-06T09:00:00.000Z" || alice["created"] == "" || alice["lastUpdated"] == "" {
		t.Errorf("alice type/timestamps: %v %v %v %v", alice["type"], alice["created"], alice["activated"], alice["lastUpdated"])
	}
	roles, _ := json.Marshal(alice["adminRoles"])
	if string(roles) != `[{"label":"Super Administrator","type":"SUPER_ADMIN"}]` {
		t.Errorf("alice adminRoles %s", roles)
	}
	if g := ts.group("00gawsapp"); g == nil || g.Type != "APP_GROUP" || string(g.Profile["name"]) != `"aws-app-users"` {
		t.Errorf("app group %+v", g)
	}
	var list []map[string]any
	if code, _ := ts.get("/v1/users?attr.department=Engineering", &list); code != 200 || len(list) != 2 {
		t.Errorf("attr.department=Engineering: %d users (%v)", len(list), list)
	}
	if code, _ := ts.get("/v1/users?attr.isContractor=true&limit=1", &list); code != 200 || len(list) != 1 || list[0]["id"] != "00ubob" {
		t.Errorf("attr.isContractor=true: %v", list)
	}
	if code, _, _ := ts.do("GET", "/v1/users?attr.a=1&attr.b=2", nil, "Authorization", "Bearer "+testAdminToken); code != http.StatusBadRequest {
		t.Errorf("two attr filters: %d, want 400", code)
	}

	// A real plugin decides on a custom attribute and a group together.
	pre := func(email string) hookReply {
		t.Helper()
		code, _, b := ts.do("POST", "/hooks/pre_approval", hookBody("prod-db", "0oaProdDb", email, "report", "readonly"),
			"Authorization", "test-hook-secret", "Content-Type", "application/json")
		var r hookReply
		if err := json.Unmarshal(b, &r); err != nil || code != 200 {
			t.Fatalf("pre_approval %s: %d %s", email, code, b)
		}
		return r
	}
	if r := pre("alice.nguyen@example.com"); r.Response != "APPROVED" {
		t.Errorf("alice: %+v", r)
	}
	if r := pre("bob.smith@example.com"); r.Response != "NOT_APPROVED" || !strings.Contains(r.Message, "contractor") {
		t.Errorf("bob: %+v", r)
	}
	if r := pre("carol.diaz@example.com"); r.Response != "NOT_APPROVED" || !strings.Contains(r.Message, "Sales") {
		t.Errorf("carol: %+v", r)
	}

	// Carol moves to Engineering in Okta. The event hook answers 200 while
	// the background lookup it starts is still waiting for Okta.
	org.UpdateUser("00ucarol", func(u *oktatest.User) { u.Attrs["department"] = "Engineering" })
	release := org.HoldUserReads()
	defer release()
	ev := oktatest.Event("user.account.update_profile", time.Now(), oktatest.Target{ID: "00ucarol", Type: "User",
		AlternateID: "carol.diaz@example.com", DisplayName: "Carol Diaz"})
	env, _ := json.Marshal(map[string]any{"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
		"eventId": "profile-e2e", "eventTime": time.Now().UTC().Format(time.RFC3339), "contentType": "application/json",
		"data": map[string]any{"events": []json.RawMessage{ev}}})
	ts.postOkta(env) // 200 with the lookup not done
	eventually(t, "the lookup to be in flight", func() bool { return org.Held() == 1 })
	if u := ts.user("00ucarol"); string(u.Profile["department"]) != `"Sales"` {
		t.Fatalf("carol changed before the lookup answered: %s", u.Profile["department"])
	}
	release()
	eventually(t, "the refreshed department", func() bool {
		return string(ts.user("00ucarol").Profile["department"]) == `"Engineering"`
	})
	if r := pre("carol.diaz@example.com"); r.Response != "APPROVED" {
		t.Errorf("carol after the refresh: %+v", r)
	}
	var stats map[string]float64
	if code, _ := ts.get("/v1/okta/refresh", &stats); code != 200 || stats["done"] < 1 || stats["failed"] != 0 {
		t.Errorf("GET /v1/okta/refresh: %d %v", code, stats)
	}

	// An Okta action on a Super Administrator with a custom admin role:
	// Okta's 403, explained, and audited.
	rep := provisionWith(ts.testServer, "alice.nguyen@example.com", "remove:engineering")
	if rep.Response != "NO_PROVISIONING_ACTION" || !strings.Contains(rep.Message, "E0000006") ||
		!strings.Contains(rep.Message, "is a Super Administrator") || !strings.Contains(rep.Message, "CUSTOM (Group manager)") ||
		!strings.Contains(rep.Message, "give hookgate's integration user (API token) or API service app (OAuth) the Super Administrator role") {
		t.Errorf("action on a super admin: %+v", rep)
	}
	recs := ts.audit(oktaapi.AuditKindOktaAction)
	if len(recs) != 1 || recs[0].Decision != "error" || !strings.Contains(recs[0].Error, "Super Administrator") {
		t.Errorf("audit %+v", recs)
	}
	if !org.IsMember("00geng", "00ualice") {
		t.Error("the refused action changed Okta")
	}
	// The same action on a user without the role goes through.
	if rep := provisionWith(ts.testServer, "bob.smith@example.com", "remove:engineering"); rep.Response != "PROVISIONED_USER" {
		t.Errorf("action on bob: %+v", rep)
	}
}
