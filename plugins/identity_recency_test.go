package plugins

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hookgate/hookgate/store"
)

// TestIdentityNewestLoginHolder: when two user ids claim one login (the
// older holder's rename or delete was missed, or arrives late), a plugin's
// lookups by login and by email (the SDK's user_get) and its IsMember all
// resolve to the newest holder, in both arrival orders, with and without
// the older holder's delete.
func TestIdentityNewestLoginHolder(t *testing.T) {
	const login = "pat@example.com"
	at := func(min int) store.Stamp {
		return store.Stamp{Published: time.Date(2026, 3, 3, 9, min, 0, 0, time.UTC), UUID: "s"}
	}
	// The stale holder has the lower id, which key order used to return.
	older := []store.IdentityChange{
		store.TouchUser(store.UserFacts{ID: "00u1old", Login: login, Email: login}, at(1)),
		store.CreateGroup(store.GroupFacts{ID: "00gadmins", Name: "admins"}, at(1)),
		store.SetMembership("00gadmins", "00u1old", true, at(1)),
	}
	newer := []store.IdentityChange{
		store.TouchUser(store.UserFacts{ID: "00u9new", Login: login}, at(5)),
		store.CreateGroup(store.GroupFacts{ID: "00gstaff", Name: "staff"}, at(5)),
		store.SetMembership("00gstaff", "00u9new", true, at(5)),
	}
	del := []store.IdentityChange{store.DeleteUser("00u1old", at(3), false)}
	orders := map[string][][]store.IdentityChange{
		"older first":          {older, newer},
		"newer first":          {newer, older},
		"older, delete, newer": {older, del, newer},
		"newer, older, delete": {newer, older, del},
		"delete, newer, older": {del, newer, older},
		"newer, delete, older": {newer, del, older},
	}
	// One plugin load; each order gets its own store behind it.
	ident := &swapIdentity{}
	h := newHost(t, HostOptions{Identity: ident})
	p := load(t, h, kitchenConfig("recency"))
	for name, ops := range orders {
		t.Run(name, func(t *testing.T) {
			st := openStore(t)
			for _, op := range ops {
				if err := st.ApplyIdentity(op...); err != nil {
					t.Fatal(err)
				}
			}
			ident.Store = st
			run := func(action string) Decision {
				t.Helper()
				res, err := p.Call(context.Background(), "pre_approval", request(action, login))
				if err != nil {
					t.Fatal(err)
				}
				return res.Decision
			}
			for _, action := range []string{"user:" + login, "useremail:" + login, "useremail:PAT@example.com"} {
				d := run(action)
				var u store.User
				if err := json.Unmarshal([]byte(d.Message), &u); err != nil || u.ID != "00u9new" {
					t.Fatalf("%s: %+v (%v), want 00u9new", action, d, err)
				}
			}
			if d := run("member:staff"); !d.Success {
				t.Fatalf("newest holder not in staff: %+v", d)
			}
			if d := run("member:admins"); d.Success {
				t.Fatalf("the stale holder's group answered: %+v", d)
			}
		})
	}
}

// swapIdentity is the store a test currently points the plugin at.
type swapIdentity struct{ *store.Store }
