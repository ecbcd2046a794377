package okta

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktatest"
	"github.com/hookgate/hookgate/store"
)

// The testdata/events samples (see their README for where each shape
// comes from).
const (
	leeID    = "00u5lcHan0Test0U1d7x"
	leeLogin = "lee.chan@example.com"
	oidcApp  = "0oa7wfLabel0TestA5d7"
)

// sample reads testdata/events/<typ>.json and sets its uuid and published
// (minute min after 2026-03-03T09:00Z).
func sample(t *testing.T, file, uuid string, min int) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", file+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	ev["uuid"] = uuid
	ev["published"] = time.Date(2026, 3, 3, 9, min, 0, 0, time.UTC).Format("2006-01-02T15:04:05.000Z")
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ingestOrders applies each event in its own delivery, in both orders, to a
// fresh store and runs check on each result.
func ingestOrders(t *testing.T, evs [2]json.RawMessage, check func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, order := range [][2]int{{0, 1}, {1, 0}} {
		s := fxStore(t)
		for _, i := range order {
			res := fxIngest(t, s, fxEnvelope(t, "d", evs[i]))
			if res.Accepted != 1 || res.Rejected != 0 {
				t.Fatalf("order %v: event %d: %+v", order, i, res)
			}
		}
		check(t, s)
	}
}

// TestNewStatusEventsConverge: each user status event Okta logs sets the
// status of Okta's user model, and converges with an older deactivate and
// a newer activate in either arrival order.
func TestNewStatusEventsConverge(t *testing.T) {
	lee := fxUserT(leeID, leeLogin)
	for typ, want := range map[string]string{
		"user.lifecycle.reactivate":           "PROVISIONED",
		"user.account.lock":                   "LOCKED_OUT",
		"user.account.unlock":                 "ACTIVE",
		"user.account.unlock_by_admin":        "ACTIVE",
		"user.account.expire_password":        "PASSWORD_EXPIRED",
		"user.lifecycle.password_mass_expiry": "PASSWORD_EXPIRED",
		"user.account.reset_password":         "RECOVERY",
	} {
		t.Run(typ, func(t *testing.T) {
			ev := sample(t, typ, "e-"+typ, 20)
			older := fxEvent(t, "e-older-deactivate", "user.lifecycle.deactivate", 10, lee)
			ingestOrders(t, [2]json.RawMessage{older, ev}, func(t *testing.T, s *store.Store) {
				u := wantUser(t, s, leeID, want)
				if u.Login != leeLogin {
					t.Fatalf("login %q", u.Login)
				}
			})
			newer := fxEvent(t, "e-newer-activate", "user.lifecycle.activate", 30, lee)
			ingestOrders(t, [2]json.RawMessage{ev, newer}, func(t *testing.T, s *store.Store) {
				wantUser(t, s, leeID, "ACTIVE")
			})
		})
	}
}

// TestLockNeedsItsOutcome: a user.account.lock whose outcome is a plain
// failure (not LOCKED_OUT) changes nothing; a lock without a User target
// or User actor is rejected.
func TestLockNeedsItsOutcome(t *testing.T) {
	s := fxStore(t)
	fxIngest(t, s, fxEnvelope(t, "a", fxEvent(t, "act", "user.lifecycle.activate", 1, fxUserT(leeID, leeLogin))))
	var ev map[string]any
	_ = json.Unmarshal(sample(t, "user.account.lock", "lock-failed", 5), &ev)
	ev["outcome"] = map[string]any{"result": "FAILURE", "reason": "INVALID_CREDENTIALS"}
	b, _ := json.Marshal(ev)
	fxIngest(t, s, fxEnvelope(t, "b", b))
	wantUser(t, s, leeID, "ACTIVE")

	ev["uuid"] = "lock-system"
	ev["outcome"] = map[string]any{"result": "FAILURE", "reason": "LOCKED_OUT"}
	ev["actor"] = map[string]any{"id": "0oa1okta000system0d7", "type": "SystemPrincipal"}
	b, _ = json.Marshal(ev)
	if res := fxIngest(t, s, fxEnvelope(t, "c", b)); res.Rejected != 1 {
		t.Fatalf("lock without a user: %+v, want rejected", res)
	}
	wantUser(t, s, leeID, "ACTIVE")
}

func TestDeleteCompletedConverges(t *testing.T) {
	lee := fxUserT(leeID, leeLogin)
	older := fxEvent(t, "act", "user.lifecycle.activate", 10, lee)
	ev := sample(t, "user.lifecycle.delete.completed", "del", 20)
	ingestOrders(t, [2]json.RawMessage{older, ev}, func(t *testing.T, s *store.Store) {
		wantNoUser(t, s, leeID)
	})
	// initiated then completed, either order: gone.
	ini := fxEvent(t, "ini", "user.lifecycle.delete.initiated", 15, lee)
	ingestOrders(t, [2]json.RawMessage{ini, ev}, func(t *testing.T, s *store.Store) {
		wantNoUser(t, s, leeID)
	})
}

// TestAppMembershipUpdateKeepsFacts: update and change_username say the
// assignment exists and carry the user's name in the app; the newest one
// wins, a newer remove wins over them, and the app gets its label (not
// its catalog display name) from the AppInstance target.
func TestAppMembershipUpdateKeepsFacts(t *testing.T) {
	lee := fxUserT(leeID, leeLogin)
	app := Target{ID: oidcApp, Type: TargetAppInstance, AlternateID: "TestWEbApp01", DisplayName: "OpenID Connect Client"}
	appUser := Target{ID: "0ua7wfAsgn0TestU5d7x", Type: TargetAppUser, AlternateID: "lee.old"}
	olderAdd := fxEvent(t, "add", "application.user_membership.add", 10, appUser, app, lee)
	olderRemove := fxEvent(t, "rm", "application.user_membership.remove", 10, appUser, app, lee)
	for _, typ := range []string{"application.user_membership.update", "application.user_membership.change_username"} {
		t.Run(typ, func(t *testing.T) {
			ev := sample(t, typ, "e-"+typ, 20)
			wantName := map[string]string{
				"application.user_membership.update":          leeLogin,
				"application.user_membership.change_username": "lchan",
			}[typ]
			for _, older := range []json.RawMessage{olderAdd, olderRemove} {
				ingestOrders(t, [2]json.RawMessage{older, ev}, func(t *testing.T, s *store.Store) {
					a := wantApp(t, s, oidcApp, "", "TestWEbApp01", none(), []string{leeID})
					if a.UserNames[leeID] != wantName {
						t.Fatalf("app username %q, want %q", a.UserNames[leeID], wantName)
					}
				})
			}
			newerRemove := fxEvent(t, "rm2", "application.user_membership.remove", 30, appUser, app, lee)
			ingestOrders(t, [2]json.RawMessage{ev, newerRemove}, func(t *testing.T, s *store.Store) {
				wantApp(t, s, oidcApp, "", "TestWEbApp01", none(), none())
			})
		})
	}
}

// TestAdminConsoleAppUserUnknown: the Admin Console's AppUser alternateId
// "unknown" is no login: without a User target nothing is attached to a
// user whose login happens to be "unknown".
func TestAdminConsoleAppUserUnknown(t *testing.T) {
	s := fxStore(t)
	fxIngest(t, s, fxEnvelope(t, "u", fxEvent(t, "c", "user.lifecycle.create", 1, fxUserT("00uUnknownLogin0001x", "unknown"))))
	var ev map[string]any
	_ = json.Unmarshal(sample(t, "application.user_membership.add.admin_console", "ac", 5), &ev)
	fxIngest(t, s, fxEnvelope(t, "a", mustJSON(t, ev)))
	wantApp(t, s, "0oa7saasure0TestA5d7", "", "Okta Admin Console", none(), []string{leeID})

	// The same event without its User target.
	ev["uuid"] = "ac2"
	ev["target"] = ev["target"].([]any)[:2]
	ev["published"] = "2026-03-03T09:06:00.000Z"
	fxIngest(t, s, fxEnvelope(t, "b", mustJSON(t, ev)))
	a := wantApp(t, s, "0oa7saasure0TestA5d7", "", "Okta Admin Console", none(), []string{leeID})
	if len(a.Users) != 1 {
		t.Fatalf("users %v: the login \"unknown\" was matched", a.Users)
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAppNameFromSyncLabelFromEvents: an app-assignment event and a sync
// page for the same app, in both orders, end with Okta's API name and
// label; the event never overwrites the synced name with its label.
func TestAppNameFromSyncLabelFromEvents(t *testing.T) {
	for _, eventFirst := range []bool{true, false} {
		srv := oktatest.New(oktatest.Options{APIToken: "00Tz-test-token"})
		srv.AddGroup(oktatest.Group{ID: "00gEng0000000000001x", Name: "eng"})
		srv.AddApp(oktatest.App{ID: oidcApp, Name: "oidc_client", Label: "TestWEbApp01"})
		srv.AssignGroup(oidcApp, "00gEng0000000000001x")
		c, err := NewClient(ClientConfig{OrgURL: srv.URL, APIToken: "00Tz-test-token"})
		if err != nil {
			t.Fatal(err)
		}
		s := fxStore(t)
		app := Target{ID: oidcApp, Type: TargetAppInstance, AlternateID: "TestWEbApp01", DisplayName: "OpenID Connect Client"}
		grp := fxGroupT("00gEng0000000000001x", "eng")
		// Published well after the sync's pages (they are stamped now) or
		// well before, so each order is also each stamp order.
		at := time.Now().Add(-time.Hour)
		if eventFirst {
			at = time.Now().Add(time.Hour)
		}
		ev := mustJSON(t, map[string]any{
			"uuid": "ga", "eventType": "group.application_assignment.add",
			"published": at.UTC().Format("2006-01-02T15:04:05.000Z"),
			"outcome":   map[string]any{"result": "SUCCESS"}, "target": []Target{grp, app},
		})
		if eventFirst {
			fxIngest(t, s, fxEnvelope(t, "e", ev))
		}
		if _, err := Sync(context.Background(), c, s, SyncOptions{}); err != nil {
			t.Fatal(err)
		}
		if !eventFirst {
			fxIngest(t, s, fxEnvelope(t, "e", ev))
		}
		wantApp(t, s, oidcApp, "oidc_client", "TestWEbApp01", []string{"00gEng0000000000001x"}, nil)
		srv.Close()
	}
}

// TestRenameMovesLogin: user.account.update_profile giving B the login A
// had (A's rename was missed) moves the login to B in both arrival orders,
// over HTTP-shaped deliveries through Ingest; the read cache follows.
func TestRenameMovesLogin(t *testing.T) {
	const a, b = "00u1aaaa000000000001", "00u9bbbb000000000001"
	create := fxEvent(t, "ca", "user.lifecycle.create", 1, fxUserT(a, "x@example.com"))
	createB := fxEvent(t, "cb", "user.lifecycle.create", 2, fxUserT(b, "y@example.com"))
	rename := fxEvent(t, "rn", "user.account.update_profile", 3, fxUserT(b, "x@example.com"))
	for _, order := range [][]json.RawMessage{{create, createB, rename}, {rename, createB, create}, {createB, rename, create}} {
		s := fxStore(t)
		for _, ev := range order {
			fxIngest(t, s, fxEnvelope(t, "d", ev))
			_, _ = s.LookupUser("x@example.com") // the read cache holds each intermediate answer
		}
		u, err := s.LookupUser("x@example.com")
		if err != nil || u.ID != b {
			t.Fatalf("x@example.com = %v, %v; want %s", u, err, b)
		}
		if ok, _ := s.IsMember("y@example.com", "nobody"); ok {
			t.Fatal("member of nothing")
		}
		if _, err := s.UserByLogin("y@example.com"); err == nil {
			t.Fatal("y@example.com still resolves after B's rename")
		}
	}
}
