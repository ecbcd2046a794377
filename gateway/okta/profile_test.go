package okta_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/gateway/okta/oktatest"
	"github.com/hookgate/hookgate/store"
)

// profileOrg is a stand-in org with custom attributes in its user schema,
// users carrying them, admin roles and an app group.
func profileOrg(t *testing.T, opts oktatest.Options) *oktatest.Server {
	t.Helper()
	if opts.APIToken == "" && opts.ClientID == "" {
		opts.APIToken = testToken
	}
	srv := newOrg(t, opts)
	srv.AddSchemaAttr(oktatest.SchemaAttr{Name: "isContractor", Title: "Contractor", Type: "boolean"})
	srv.AddSchemaAttr(oktatest.SchemaAttr{Name: "clearance", Title: "Clearance level", Type: "integer"})
	srv.AddSchemaAttr(oktatest.SchemaAttr{Name: "projects", Title: "Projects", Type: "array", ItemsType: "string"})
	act := time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC)
	srv.AddUser(oktatest.User{ID: "00ualice", Login: "alice@example.com", FirstName: "Alice", LastName: "Nguyen",
		Activated: act, TypeID: "otyEmployee",
		Attrs: map[string]any{"department": "Engineering", "title": "SRE", "employeeType": "Employee",
			"costCenter": "CC-100", "manager": "Grace Hopper", "isContractor": false, "clearance": 3,
			"projects": []string{"atlas", "zeus"}, "nickName": nil},
		Roles: []oktatest.Role{{ID: "ra1", Type: "SUPER_ADMIN", Label: "Super Administrator"}}})
	srv.AddUser(oktatest.User{ID: "00ubob", Login: "bob@example.com", FirstName: "Bob", LastName: "Ray",
		Attrs: map[string]any{"department": "Sales", "employeeType": "Contractor", "isContractor": true, "clearance": 1},
		Roles: []oktatest.Role{{ID: "ra2", Type: "CUSTOM", Label: "Help desk lite"}, {ID: "ra3", Type: "APP_ADMIN", Label: "Application Administrator"}}})
	srv.AddUser(oktatest.User{ID: "00ucarol", Login: "carol@example.com", FirstName: "Carol", LastName: "Kim"})
	srv.AddGroup(oktatest.Group{ID: "00gaws", Name: "aws-admins", Description: "AWS admins", Type: "APP_GROUP"})
	srv.AddGroup(oktatest.Group{ID: "00geng", Name: "engineering", Description: "All engineers"})
	srv.AddMember("00geng", "00ualice")
	return srv
}

func TestSyncFullProfilesRolesAndGroupTypes(t *testing.T) {
	srv := profileOrg(t, oktatest.Options{})
	st := openStore(t)
	// Carol held a role before the sync; Okta no longer lists her.
	if err := st.ApplyIdentity(store.SetUserRole("00ucarol", store.AdminRole{Type: "ORG_ADMIN", Label: "Organization Administrator"}, true,
		store.Stamp{Published: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})); err != nil {
		t.Fatal(err)
	}
	sum, err := okta.Sync(context.Background(), newSSWS(t, srv, nil), st, okta.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.CustomAttributes != 3 || sum.Admins != 2 || sum.SchemaSkipped != "" || sum.RolesSkipped != "" {
		t.Fatalf("summary %+v", sum)
	}
	a := user(t, st, "00ualice")
	for name, want := range map[string]string{
		"department": `"Engineering"`, "title": `"SRE"`, "employeeType": `"Employee"`, "costCenter": `"CC-100"`,
		"manager": `"Grace Hopper"`, "isContractor": `false`, "clearance": `3`, "projects": `["atlas","zeus"]`,
		"login": `"alice@example.com"`, "firstName": `"Alice"`,
	} {
		if got := string(a.Profile[name]); got != want {
			t.Errorf("alice %s = %s, want %s", name, got, want)
		}
	}
	if _, ok := a.Profile["nickName"]; ok {
		t.Error("a null attribute was stored")
	}
	for name, want := range map[string]string{"clearance": "integer", "isContractor": "boolean", "projects": "array", "department": "string"} {
		if a.ProfileTypes[name] != want {
			t.Errorf("type of %s = %q, want %q", name, a.ProfileTypes[name], want)
		}
	}
	if a.Type != "otyEmployee" || a.Activated != "2026-01-06T09:00:00.000Z" || a.Created == "" || a.LastUpdated == "" || a.StatusChanged == "" {
		t.Errorf("alice type/timestamps: %q %q %q %q %q", a.Type, a.Created, a.Activated, a.StatusChanged, a.LastUpdated)
	}
	if !a.IsSuperAdmin() || !reflect.DeepEqual(a.AdminRoles, []store.AdminRole{{Type: "SUPER_ADMIN", Label: "Super Administrator"}}) {
		t.Errorf("alice roles %v", a.AdminRoles)
	}
	b := user(t, st, "00ubob")
	if len(b.AdminRoles) != 2 || b.IsSuperAdmin() {
		t.Errorf("bob roles %v", b.AdminRoles)
	}
	if c := user(t, st, "00ucarol"); len(c.AdminRoles) != 0 {
		t.Errorf("carol kept a role Okta no longer lists: %v", c.AdminRoles)
	}
	g, err := st.Group("00gaws")
	if err != nil || g.Type != "APP_GROUP" || string(g.Profile["description"]) != `"AWS admins"` {
		t.Fatalf("group %+v %v", g, err)
	}
	if g, _ := st.Group("00geng"); g.Type != "OKTA_GROUP" {
		t.Errorf("engineering type %q", g.Type)
	}

	// The filter finds users by a custom attribute.
	us, _, err := st.ListUsersWithAttr("isContractor", "true", "", 0)
	if err != nil || len(us) != 1 || us[0].ID != "00ubob" {
		t.Fatalf("isContractor=true: %v %v", us, err)
	}

	// SkipProfiles keeps the old, fixed fields only.
	st2 := openStore(t)
	if _, err := okta.Sync(context.Background(), newSSWS(t, srv, nil), st2, okta.SyncOptions{SkipProfiles: true}); err != nil {
		t.Fatal(err)
	}
	if a := user(t, st2, "00ualice"); a.Profile["department"] != nil || len(a.AdminRoles) != 0 || a.Type != "" {
		t.Errorf("SkipProfiles stored %+v", a)
	}
}

func TestSyncWithoutSchemaAndRoleScopes(t *testing.T) {
	key := rsaKey(t)
	srv := profileOrg(t, oktatest.Options{ClientID: "0oahookgate", PublicKey: &key.PublicKey,
		Scopes: []string{"okta.users.read", "okta.groups.read", "okta.apps.read", "okta.logs.read"}})
	c, err := okta.NewClient(okta.ClientConfig{OrgURL: srv.URL, OAuth: &okta.OAuthConfig{ClientID: "0oahookgate", PrivateKey: key,
		Scopes: []string{"okta.users.read", "okta.groups.read", "okta.apps.read", "okta.logs.read"}}})
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	sum, err := okta.Sync(context.Background(), c, st, okta.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.SchemaSkipped == "" || sum.RolesSkipped == "" {
		t.Fatalf("summary %+v", sum)
	}
	a := user(t, st, "00ualice")
	// Without the schema, clearance is a number (its JSON type), not an integer.
	if a.ProfileTypes["clearance"] != "number" || string(a.Profile["department"]) != `"Engineering"` || len(a.AdminRoles) != 0 {
		t.Fatalf("alice %v %s %v", a.ProfileTypes, a.Profile["department"], a.AdminRoles)
	}
}

func privilegeEvent(eventType string, published time.Time, u oktatest.User, roleLabel string) json.RawMessage {
	return oktatest.Event(eventType, published, oktatest.UserTarget(u),
		oktatest.Target{ID: "ra" + roleLabel[:3], Type: "ROLE", AlternateID: "unknown", DisplayName: roleLabel})
}

func TestPrivilegeEventsConvergeOutOfOrder(t *testing.T) {
	dave := oktatest.User{ID: "00udave", Login: "dave@example.com", FirstName: "Dave", LastName: "Lee"}
	t0 := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	evs := []json.RawMessage{
		privilegeEvent("user.account.privilege.grant", t0, dave, "Super Administrator"),
		privilegeEvent("user.account.privilege.grant", t0.Add(time.Minute), dave, "Help desk lite"),
		privilegeEvent("user.account.privilege.revoke", t0.Add(2*time.Minute), dave, "Super Administrator"),
		privilegeEvent("user.account.privilege.revoke", t0.Add(3*time.Minute), dave, "Help desk lite"),
		privilegeEvent("user.account.privilege.grant", t0.Add(4*time.Minute), dave, "Help desk lite"),
	}
	want := []store.AdminRole{{Type: "CUSTOM", Label: "Help desk lite"}}
	for _, order := range [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 4, 0, 3, 1}} {
		st := openStore(t)
		for _, i := range order {
			deliver(t, st, evs[i])
		}
		d := user(t, st, "00udave")
		if !reflect.DeepEqual(d.AdminRoles, want) || d.IsSuperAdmin() {
			t.Fatalf("order %v: roles %v", order, d.AdminRoles)
		}
	}

	// Without a ROLE target, debugData.privilegeGranted names the role.
	var ev map[string]any
	_ = json.Unmarshal(oktatest.Event("user.account.privilege.grant", t0, oktatest.UserTarget(dave)), &ev)
	ev["debugContext"] = map[string]any{"debugData": map[string]any{"privilegeGranted": "Super Administrator, Report Administrator"}}
	raw, _ := json.Marshal(ev)
	st := openStore(t)
	deliver(t, st, raw)
	d := user(t, st, "00udave")
	if !d.IsSuperAdmin() || len(d.AdminRoles) != 2 {
		t.Fatalf("debugData roles: %v", d.AdminRoles)
	}
}

// waitFor polls cond with a generous bound that only catches a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startRefresher(t *testing.T, c *okta.Client, st *store.Store, opts okta.RefresherOptions) *okta.Refresher {
	t.Helper()
	r := okta.NewRefresher(c, st, opts)
	ctx, cancel := context.WithCancel(context.Background())
	r.Start(ctx)
	t.Cleanup(func() { cancel(); r.Wait() })
	return r
}

func TestRefreshAfterUpdateProfile(t *testing.T) {
	srv := profileOrg(t, oktatest.Options{})
	c := newSSWS(t, srv, nil)
	st := openStore(t)
	if _, err := okta.Sync(context.Background(), c, st, okta.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	r := startRefresher(t, c, st, okta.RefresherOptions{})

	// Alice moves to Platform in Okta; the event names the attribute only.
	srv.UpdateUser("00ualice", func(u *oktatest.User) { u.Attrs["department"] = "Platform" })
	alice := oktatest.User{ID: "00ualice", Login: "alice@example.com", FirstName: "Alice", LastName: "Nguyen"}
	res := deliver(t, st, oktatest.Event("user.account.update_profile", time.Now(), oktatest.UserTarget(alice)))
	if len(res.Lookups) != 1 || res.Lookups[0] != "00ualice" {
		t.Fatalf("lookups %v", res.Lookups)
	}
	r.Enqueue(res.Lookups...)
	r.Enqueue(res.Lookups...) // coalesced (or re-run once if already in flight)
	waitFor(t, "the refreshed department", func() bool {
		u, err := st.UserByID("00ualice")
		return err == nil && string(u.Profile["department"]) == `"Platform"`
	})

	// A user first seen in an event is looked up too.
	srv.AddUser(oktatest.User{ID: "00uerin", Login: "erin@example.com", FirstName: "Erin", LastName: "Ode",
		Attrs: map[string]any{"department": "Legal"}})
	erin := oktatest.User{ID: "00uerin", Login: "erin@example.com", FirstName: "Erin", LastName: "Ode"}
	res = deliver(t, st, oktatest.Event("group.user_membership.add", time.Now(), oktatest.UserTarget(erin),
		oktatest.GroupTarget(oktatest.Group{ID: "00geng", Name: "engineering"})))
	if len(res.Lookups) != 1 || res.Lookups[0] != "00uerin" {
		t.Fatalf("first-seen lookups %v", res.Lookups)
	}
	r.Enqueue(res.Lookups...)
	waitFor(t, "the first-seen user's profile", func() bool {
		u, err := st.UserByID("00uerin")
		return err == nil && string(u.Profile["department"]) == `"Legal"` && u.Created != ""
	})
	if s := r.Stats(); s.Failed != 0 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// A lookup answered before a later event commits after it: the event's
// values stay (register stamps), the lookup's other attributes land.
func TestRefreshOlderThanLaterEventLoses(t *testing.T) {
	srv := profileOrg(t, oktatest.Options{})
	c := newSSWS(t, srv, nil)
	st := openStore(t)
	r := startRefresher(t, c, st, okta.RefresherOptions{Workers: 1})

	srv.UpdateUser("00ualice", func(u *oktatest.User) { u.DisplayName = "Alice Stale"; u.Attrs["department"] = "Research" })
	release := srv.HoldUserReads()
	defer release()
	r.Enqueue("00ualice")
	waitFor(t, "the lookup to be answered and held", func() bool { return srv.Held() == 1 })

	// Meanwhile (a second later, so surely after the answer's Date) Okta
	// renames and suspends her, and those events are applied first.
	later := time.Now().Add(2 * time.Second)
	alice := oktatest.Target{ID: "00ualice", Type: "User", AlternateID: "alice@example.com", DisplayName: "Alice Fresh"}
	deliver(t, st,
		oktatest.Event("user.account.update_profile", later, alice),
		oktatest.Event("user.lifecycle.suspend", later, alice))
	release()
	waitFor(t, "the stale lookup to be written", func() bool { return r.Stats().Done == 1 })
	u := user(t, st, "00ualice")
	if u.DisplayName != "Alice Fresh" || u.Status == nil || *u.Status != "SUSPENDED" {
		t.Fatalf("the older lookup overwrote newer events: displayName %q status %s", u.DisplayName, mustJSON(u.Status))
	}
	if string(u.Profile["department"]) != `"Research"` {
		t.Fatalf("the lookup's attributes did not land: %s", u.Profile["department"])
	}
}

func TestRefreshRateLimitedIsDelayedNotDropped(t *testing.T) {
	srv := profileOrg(t, oktatest.Options{})
	c, err := okta.NewClient(okta.ClientConfig{OrgURL: srv.URL, APIToken: testToken, MaxAttempts: 1, InitialBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	r := startRefresher(t, c, st, okta.RefresherOptions{RetryDelay: 50 * time.Millisecond, MaxAttempts: 20})
	srv.Fail429(4, false)
	r.Enqueue("00ubob")
	waitFor(t, "the rate-limited lookup", func() bool {
		u, err := st.UserByID("00ubob")
		return err == nil && string(u.Profile["department"]) == `"Sales"`
	})
	if s := r.Stats(); s.Retried == 0 || s.Failed != 0 || s.Done != 1 {
		t.Fatalf("stats %+v: want retries, no failure, one lookup done", s)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
