package main

// The AssemblyScript SDK's Okta actions end to end: the as-kitchen test
// plugin (built from source with the SDK's pinned compiler) served by a
// real `hookgate serve` whose Okta org is the oktatest stand-in. Each of
// the SDK's okta.* wrappers must reach Okta as exactly the one Management
// API call it names, with the right ids; refusals (group or app outside
// the plugin's okta_groups / okta_apps, no "okta" capability) must reach
// the plugin as lastError codes and messages, send nothing to Okta, and
// leave audit records.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktatest"
)

// adminGet GETs path on p with the admin token and decodes the JSON answer.
func adminGet(t *testing.T, p *proc, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", p.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, b)
	}
}

type auditRec struct {
	Kind, Plugin, User, Decision, Message, Error, Via string
}

func TestASOktaActions(t *testing.T) {
	t.Parallel()
	asd := buildASExamples(t)
	org := oktatest.New(oktatest.Options{APIToken: orgToken})
	defer org.Close()
	org.SeedFixtureOrg()
	// Eve has a full profile (custom attributes with schema types, a user
	// type, admin roles) for the SDK's flat user record version 2.
	org.AddSchemaAttr(oktatest.SchemaAttr{Name: "isContractor", Title: "Contractor", Type: "boolean"})
	org.AddSchemaAttr(oktatest.SchemaAttr{Name: "clearance", Title: "Clearance", Type: "integer"})
	org.AddUser(oktatest.User{ID: "00ueve", Status: "ACTIVE", Login: "eve.adams@example.com", FirstName: "Eve", LastName: "Adams",
		Activated: time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC), TypeID: "otyEmployee",
		Attrs: map[string]any{"department": "R&D \"Ops\"", "isContractor": true, "clearance": 3, "projects": []string{"atlas", "zeus"}, "manager": nil},
		Roles: []oktatest.Role{{ID: "ra1", Type: "SUPER_ADMIN", Label: "Super Administrator"}, {ID: "ra2", Type: "CUSTOM", Label: "Help desk lite"}}})
	kitchen := filepath.Join(asd, "as-kitchen.wasm")
	cfg := writeConfig(t, fmt.Sprintf(`
[okta]
org_url = %q
api_token_env = %q

[hooks]
secret_env = "HOOKGATE_HOOK_SECRET"
[plugins]
cache_dir = %q
pool_size = 1

[[plugin]]
name = "scoped"
path = %q
capabilities = ["log", "okta"]
okta_groups = ["Platform-Team"]
okta_apps = ["slack"]

[[plugin]]
name = "nocap"
path = %[4]q
capabilities = ["log", "identity"]

[[plugin]]
name = "reader"
path = %[4]q
capabilities = ["log", "identity"]

[[route]]
kind = "pre_approval"
plugin = "reader"
[[route]]
kind = "provisioning"
plugin = "scoped"
[[route]]
kind = "provisioning"
app_id = "aws"
permission = "nocap"
plugin = "nocap"
`, org.URL, orgTokenEnv, filepath.Join(t.TempDir(), "cache"), kitchen))
	p := startServe(t, cfg, filepath.Join(t.TempDir(), "data"), orgTokenEnv+"="+orgToken)
	waitReady(t, p)

	// The identity store learns the org (the host resolves references
	// through it): POST /v1/okta/sync, then wait for it to finish.
	req, _ := http.NewRequest("POST", p.url+"/v1/okta/sync", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/okta/sync: %v %v\n%s", err, resp, p.log())
	}
	resp.Body.Close()
	deadline := time.Now().Add(time.Minute) // a hang guard
	for {
		var st struct{ State, Error string }
		adminGet(t, p, "/v1/okta/sync", &st)
		if st.State == "done" {
			break
		}
		if st.State != "running" || time.Now().After(deadline) {
			t.Fatalf("sync: %+v\n%s", st, p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}

	client := &http.Client{Timeout: 20 * time.Second}
	post := func(kind, email, comment, permission string) (string, string) {
		t.Helper()
		body := `{"application":{"app_id":"aws","instance_id":"0oauAvkhqZlFVNOUV5d7","user_friendly_label":"AWS"},` +
			`"permissions":[{"label":"L","value":"` + permission + `","type":"PERMISSION","source":"OKTA"}],` +
			`"target_user":{"email":"` + email + `","given_name":"A","family_name":"N"},"access_length":null,` +
			`"request_comment":"` + comment + `","request_task_url":"","custom_fields":null}`
		req, _ := http.NewRequest("POST", p.url+"/hooks/"+kind, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "x")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct{ Response, Message string }
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &r); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", comment, resp.StatusCode, b)
		}
		return r.Response, r.Message
	}
	hook := func(comment, permission string) (string, string) {
		t.Helper()
		return post("provisioning", "alice.nguyen@example.com", comment, permission)
	}

	// The full profile as the plugin reads it (lookupUser: flat user
	// record version 2 from this host). Attribute text is the host's JSON
	// (& as \u0026), which profile.string decodes.
	lit, msg := post("pre_approval", "eve.adams@example.com", "profile", "admin")
	for _, want := range []string{"type=otyEmployee ", "activated=2026-01-06T09:00:00", `department=R&D "Ops" `, "clearance=3.0 ", "contractor=yes ", "super=yes ",
		"roles=CUSTOM/Help desk lite,SUPER_ADMIN/Super Administrator ", `clearance:integer=3 `, `department:string="R\u0026D \"Ops\"" `,
		`isContractor:boolean=true `, `projects:array=["atlas","zeus"]`, `login:string="eve.adams@example.com"`} {
		if lit != "APPROVED" || !strings.Contains(msg, want) {
			t.Errorf("eve's profile as the AS plugin read it: %s %q, want APPROVED containing %q", lit, msg, want)
		}
	}
	if strings.Contains(msg, "manager") {
		t.Errorf("eve's profile holds the null attribute manager: %q", msg)
	}
	// A group's type and profile (lookupGroup, JSON) after the sync.
	if lit, msg := post("pre_approval", "alice.nguyen@example.com", "group", "admin"); lit != "APPROVED" ||
		!strings.Contains(msg, oktatest.OncallID+" oncall-engineers 2 members, type=OKTA_GROUP description=Engineers on the pager rota profile=description,name") {
		t.Errorf("oncall-engineers as the AS plugin read it: %s %q, want its type and profile", lit, msg)
	}
	// Alice has no custom attributes and no admin role.
	if lit, msg := post("pre_approval", "alice.nguyen@example.com", "profile", "admin"); lit != "APPROVED" || !strings.Contains(msg, "super=no roles= attrs=") {
		t.Errorf("alice's profile: %s %q, want no roles", lit, msg)
	}
	// calls runs one hook and returns the Okta calls it caused.
	calls := func(comment, permission string) (string, string, []oktatest.Action) {
		t.Helper()
		n := len(org.Actions())
		lit, msg := hook(comment, permission)
		return lit, msg, org.Actions()[n:]
	}

	const (
		alice, bob, dave     = oktatest.AliceID, oktatest.BobID, oktatest.DaveID
		platform, slack, aws = oktatest.PlatformID, oktatest.SlackID, oktatest.AWSID
	)
	// Every wrapper, in an order where each call changes the org, with its
	// references given by email, login, name or id.
	for _, c := range []struct {
		comment string
		want    oktatest.Action
		msg     string // the gateway's message, as the plugin read it from the result
		changed func() bool
	}{
		{"addUserToGroup:alice.nguyen@example.com:platform-team",
			oktatest.Action{Method: "PUT", Kind: "add_group_member", Group: platform, User: alice, Status: 204},
			"ok add_user_to_group user=" + alice + " group=" + platform + " app=: added alice.nguyen@example.com (" + alice + ") to group platform-team (" + platform + ")",
			func() bool { return org.IsMember(platform, alice) }},
		{"removeUserFromGroup:" + bob + ":" + platform,
			oktatest.Action{Method: "DELETE", Kind: "remove_group_member", Group: platform, User: bob, Status: 204},
			"ok remove_user_from_group user=" + bob + " group=" + platform + " app=: removed bob.okafor@example.com (" + bob + ") from group platform-team (" + platform + ")",
			func() bool { return !org.IsMember(platform, bob) }},
		{"unassignAppFromGroup:" + slack + ":platform-team",
			oktatest.Action{Method: "DELETE", Kind: "unassign_app_group", Group: platform, App: slack, Status: 204},
			"ok unassign_app_from_group user= group=" + platform + " app=" + slack + ": unassigned app Slack (" + slack + ") from group platform-team (" + platform + ")",
			func() bool { return !org.GroupHasApp(slack, platform) }},
		{"assignAppToGroup:" + slack + ":platform-team",
			oktatest.Action{Method: "PUT", Kind: "assign_app_group", Group: platform, App: slack, Status: 200},
			"ok assign_app_to_group user= group=" + platform + " app=" + slack + ": assigned app Slack (" + slack + ") to group platform-team (" + platform + ")",
			func() bool { return org.GroupHasApp(slack, platform) }},
		{"assignUserToApp:alice.nguyen@example.com:" + slack,
			oktatest.Action{Method: "POST", Kind: "assign_app_user", User: alice, App: slack, Status: 200},
			"ok assign_user_to_app user=" + alice + " group= app=" + slack + ": assigned app Slack (" + slack + ") to alice.nguyen@example.com (" + alice + ")",
			func() bool { return org.UserHasApp(slack, alice) }},
		{"unassignUserFromApp:dave.kim@example.com:" + slack,
			oktatest.Action{Method: "DELETE", Kind: "unassign_app_user", User: dave, App: slack, Status: 204},
			"ok unassign_user_from_app user=" + dave + " group= app=" + slack + ": unassigned app Slack (" + slack + ") from dave.kim@example.com (" + dave + ")",
			func() bool { return !org.UserHasApp(slack, dave) }},
	} {
		lit, msg, got := calls(c.comment, "admin")
		if lit != "PROVISIONED_USER" || msg != c.msg {
			t.Errorf("%s: %s %q, want PROVISIONED_USER %q", c.comment, lit, msg, c.msg)
		}
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: Okta received %+v, want exactly %+v", c.comment, got, c.want)
		}
		if !c.changed() {
			t.Errorf("%s: the org did not change", c.comment)
		}
	}

	// Refusals: the plugin sees the code and message through lastError,
	// and nothing reaches Okta.
	for _, c := range []struct{ comment, permission, msg string }{
		{"addUserToGroup:dave.kim@example.com:oncall-engineers", "admin",
			"err -4 hookgate okta_action: add_user_to_group: outside the plugin's okta scope: group oncall-engineers (" + oktatest.OncallID + `) is not in the plugin's okta_groups ["Platform-Team"]`},
		{"assignUserToApp:alice.nguyen@example.com:" + aws, "admin",
			"err -4 hookgate okta_action: assign_user_to_app: outside the plugin's okta scope: app AWS (" + aws + `) is not in the plugin's okta_apps ["slack"]`},
		{"addUserToGroup:nobody@example.com:platform-team", "admin",
			`err -1 hookgate okta_action: add_user_to_group: user "nobody@example.com": `},
		{"addUserToGroup:bob.okafor@example.com:platform-team", "nocap",
			`err -2 hookgate okta_action: capability "okta" not granted to plugin "nocap"`},
	} {
		lit, msg, got := calls(c.comment, c.permission)
		if lit != "NO_PROVISIONING_ACTION" || !strings.HasPrefix(msg, c.msg) {
			t.Errorf("%s (%s): %s %q, want NO_PROVISIONING_ACTION starting %q", c.comment, c.permission, lit, msg, c.msg)
		}
		if len(got) != 0 {
			t.Errorf("%s (%s): Okta received %+v, want nothing", c.comment, c.permission, got)
		}
	}
	if org.IsMember(oktatest.OncallID, dave) || org.UserHasApp(aws, alice) || org.IsMember(platform, bob) {
		t.Error("a refused action changed the org")
	}

	// The audit: one okta_action record per attempt that reached the
	// gateway's Okta side (six successes, three refusals; the capability
	// refusal stops in the plugin host), and the hook's own record for the
	// plugin without the capability. Written in the background: poll.
	var recs []auditRec
	deadline = time.Now().Add(time.Minute)
	for {
		adminGet(t, p, "/v1/audit?kind=okta_action&limit=100", &recs)
		if len(recs) >= 9 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var ok, refused []string
	for _, r := range recs {
		if r.Plugin != "scoped" || r.Via != "plugin" {
			t.Errorf("okta_action record %+v, want plugin scoped via plugin", r)
		}
		switch r.Decision {
		case "success":
			ok = append(ok, r.Message)
		case "error":
			refused = append(refused, r.Error)
		}
	}
	if len(ok) != 6 || len(refused) != 3 || len(recs) != 9 {
		t.Errorf("okta_action audit: %d successes, %d errors of %d records, want 6, 3 of 9: %+v", len(ok), len(refused), len(recs), recs)
	}
	if s := strings.Join(refused, "\n"); !strings.Contains(s, "is not in the plugin's okta_groups") || !strings.Contains(s, "is not in the plugin's okta_apps") {
		t.Errorf("okta_action audit errors %q, want both scope refusals", refused)
	}
	var prov []auditRec
	adminGet(t, p, "/v1/audit?kind=provisioning&limit=100", &prov)
	found := false
	for _, r := range prov {
		found = found || (r.Plugin == "nocap" && strings.Contains(r.Message, `capability "okta" not granted`))
	}
	if !found {
		t.Errorf("no provisioning audit record of plugin nocap's capability refusal in %+v", prov)
	}
}
