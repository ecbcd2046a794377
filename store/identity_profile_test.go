package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

func attrs(kv ...string) ProfileFacts {
	p := ProfileFacts{Attrs: map[string]json.RawMessage{}}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Attrs[kv[i]] = json.RawMessage(kv[i+1])
	}
	return p
}

func TestUserProfileTypesAndLWW(t *testing.T) {
	s := openTest(t)
	p := attrs("login", `"alice@example.com"`, "email", `"alice@example.com"`, "firstName", `"Alice"`,
		"department", `"Engineering"`, "isContractor", `false`, "level", `7`, "weight", `1.5`,
		"tags", `["oncall", "sre"]`, "manager", `{"id":"00umgr"}`, "costCenter", `null`)
	p.Types = map[string]string{"level": AttrInteger}
	write(t, s, func(tx *writeTx) error {
		if err := tx.SetUserProfile("00ualice", p, st(10)); err != nil {
			return err
		}
		return tx.TouchUser(UserFacts{ID: "00ualice", Type: "oty1", Created: "2026-01-05T10:00:00.000Z", LastUpdated: "2026-03-03T09:10:00.000Z"}, st(10))
	})
	u := mustUser(t, s, "alice@example.com")
	wantTypes := map[string]string{
		"login": "string", "email": "string", "firstName": "string", "department": "string",
		"isContractor": "boolean", "level": "integer", "weight": "number", "tags": "array", "manager": "object",
	}
	if !reflect.DeepEqual(u.ProfileTypes, wantTypes) {
		t.Fatalf("types = %v", u.ProfileTypes)
	}
	if string(u.Profile["tags"]) != `["oncall","sre"]` || string(u.Profile["department"]) != `"Engineering"` {
		t.Fatalf("profile = %s", mustJSON(u.Profile))
	}
	if _, ok := u.Profile["costCenter"]; ok {
		t.Fatal("a null attribute is kept")
	}
	if u.Type != "oty1" || u.Created != "2026-01-05T10:00:00.000Z" || u.LastUpdated == "" {
		t.Fatalf("type/timestamps: %+v", u)
	}

	// An older full profile (a lookup that started before) changes nothing
	// and removes nothing.
	write(t, s, func(tx *writeTx) error {
		return tx.SetUserProfile("00ualice", attrs("department", `"Sales"`), st(5))
	})
	u = mustUser(t, s, "00ualice")
	if string(u.Profile["department"]) != `"Engineering"` || u.Profile["tags"] == nil {
		t.Fatalf("older profile won: %s", mustJSON(u.Profile))
	}
	// A newer one replaces and removes what it lacks (Okta omits nulls).
	write(t, s, func(tx *writeTx) error {
		return tx.SetUserProfile("00ualice", attrs("department", `"Sales"`, "level", `8`), st(20))
	})
	u = mustUser(t, s, "00ualice")
	if string(u.Profile["department"]) != `"Sales"` || u.Profile["tags"] != nil || u.ProfileTypes["level"] != "number" {
		t.Fatalf("newer profile: %s %v", mustJSON(u.Profile), u.ProfileTypes)
	}
	// Base fields are not removed by a profile without them, and an event's
	// newer displayName beats an older lookup.
	if u.Login != "alice@example.com" {
		t.Fatalf("login lost: %+v", u)
	}
	write(t, s, func(tx *writeTx) error {
		return tx.TouchUser(UserFacts{ID: "00ualice", DisplayName: "Alice Event"}, st(30))
	})
	write(t, s, func(tx *writeTx) error {
		return tx.SetUserProfile("00ualice", attrs("displayName", `"Alice Lookup"`, "department", `"Sales"`), st(25))
	})
	if u = mustUser(t, s, "00ualice"); u.DisplayName != "Alice Event" || string(u.Profile["displayName"]) != `"Alice Event"` {
		t.Fatalf("older lookup beat a newer event: %+v", u)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestAdminRolesOutOfOrder(t *testing.T) {
	super := AdminRole{Type: "SUPER_ADMIN", Label: "Super Administrator"}
	custom := AdminRole{Type: "CUSTOM", Label: "Help desk lite"}
	type op struct {
		role    AdminRole
		present bool
		at      int
	}
	ops := []op{{super, true, 1}, {custom, true, 2}, {super, false, 3}, {custom, false, 4}, {custom, true, 5}}
	want := []AdminRole{custom}
	perms := [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}, {3, 4, 0, 2, 1}}
	for _, perm := range perms {
		s := openTest(t)
		for _, i := range perm {
			o := ops[i]
			write(t, s, func(tx *writeTx) error { return tx.SetUserRole("00ubob", o.role, o.present, st(o.at)) })
		}
		u := mustUser(t, s, "00ubob")
		if !reflect.DeepEqual(u.AdminRoles, want) || u.IsSuperAdmin() {
			t.Fatalf("order %v: roles %v", perm, u.AdminRoles)
		}
	}
	// A listing replaces the set where it is newer.
	s := openTest(t)
	write(t, s, func(tx *writeTx) error { return tx.SetUserRole("00ubob", custom, true, st(10)) })
	write(t, s, func(tx *writeTx) error { return tx.SetUserRoles("00ubob", []AdminRole{super}, st(5)) })
	if u := mustUser(t, s, "00ubob"); len(u.AdminRoles) != 2 {
		t.Fatalf("older listing removed a newer grant: %v", u.AdminRoles)
	}
	write(t, s, func(tx *writeTx) error { return tx.SetUserRoles("00ubob", []AdminRole{super}, st(20)) })
	if u := mustUser(t, s, "00ubob"); !reflect.DeepEqual(u.AdminRoles, []AdminRole{super}) || !u.IsSuperAdmin() {
		t.Fatalf("listing: %v", u.AdminRoles)
	}
}

func TestGroupTypeAndProfile(t *testing.T) {
	s := openTest(t)
	write(t, s, func(tx *writeTx) error {
		if err := tx.CreateGroup(GroupFacts{ID: "00gaws", Name: "aws-admins", Type: "APP_GROUP"}, st(1)); err != nil {
			return err
		}
		return tx.SetGroupProfile("00gaws", attrs("name", `"aws-admins"`, "samlRole", `"Admin"`), st(1))
	})
	g := mustGroup(t, s, "00gaws")
	if g.Type != "APP_GROUP" || string(g.Profile["samlRole"]) != `"Admin"` {
		t.Fatalf("group = %+v", g)
	}
}

func TestListUsersWithAttr(t *testing.T) {
	s := openTest(t)
	write(t, s, func(tx *writeTx) error {
		for i, dep := range []string{`"Engineering"`, `"Sales"`, `"Engineering"`, `"Engineering"`} {
			id := "00u" + string(rune('a'+i))
			if err := tx.SetUserProfile(id, attrs("login", `"`+id+`@x"`, "department", dep, "tags", `["a","b"]`, "level", `3`), st(1)); err != nil {
				return err
			}
		}
		return tx.DeleteUser("00ud", st(2))
	})
	us, next, err := s.ListUsersWithAttr("department", "Engineering", "", 1)
	if err != nil || len(us) != 1 || us[0].ID != "00ua" || next != "00ua" {
		t.Fatalf("page 1: %v %q %v", us, next, err)
	}
	us, next, err = s.ListUsersWithAttr("department", "Engineering", next, 1)
	if err != nil || len(us) != 1 || us[0].ID != "00uc" || next != "" {
		t.Fatalf("page 2 (the deleted user is skipped): %v %q %v", us, next, err)
	}
	for _, c := range []struct {
		name, value string
		n           int
	}{{"tags", "b", 3}, {"level", "3", 3}, {"login", "00ub@x", 1}, {"department", "engineering", 0}, {"nope", "x", 0}} {
		us, _, err := s.ListUsersWithAttr(c.name, c.value, "", 0)
		if err != nil || len(us) != c.n {
			t.Errorf("%s=%s: %d users, want %d (%v)", c.name, c.value, len(us), c.n, err)
		}
	}
}
