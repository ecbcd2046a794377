package okta

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hookgate/hookgate/store"
)

// state helpers: each fails the test with what it found.

func wantUser(t *testing.T, s *store.Store, id, status string) *store.User {
	t.Helper()
	u, err := s.UserByID(id)
	if err != nil {
		t.Fatalf("user %s: %v", id, err)
	}
	got := "<nil>"
	if u.Status != nil {
		got = *u.Status
	}
	if got != status {
		t.Fatalf("user %s status %s, want %s", id, got, status)
	}
	return u
}

func wantNoUser(t *testing.T, s *store.Store, id string) {
	t.Helper()
	if u, err := s.UserByID(id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user %s readable (%+v, %v), want not found", id, u, err)
	}
}

func wantGroup(t *testing.T, s *store.Store, id, name string, members, apps []string) *store.Group {
	t.Helper()
	g, err := s.Group(id)
	if err != nil {
		t.Fatalf("group %s: %v", id, err)
	}
	if name != "" && g.Name != name {
		t.Fatalf("group %s name %q, want %q", id, g.Name, name)
	}
	if members != nil && !reflect.DeepEqual(g.Members, members) {
		t.Fatalf("group %s members %v, want %v", id, g.Members, members)
	}
	if apps != nil && !reflect.DeepEqual(g.Apps, apps) {
		t.Fatalf("group %s apps %v, want %v", id, g.Apps, apps)
	}
	return g
}

func wantNoGroup(t *testing.T, s *store.Store, id string) {
	t.Helper()
	if g, err := s.Group(id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("group %s readable (%+v, %v), want not found", id, g, err)
	}
}

// wantApp checks an app record. Apps known from events alone have no API
// name and the AppInstance target's alternateId as their label (the team's
// fixtures put "amazon_aws" there; real events put the instance label).
func wantApp(t *testing.T, s *store.Store, id, name, label string, groups, users []string) *store.App {
	t.Helper()
	a, err := s.App(id)
	if err != nil {
		t.Fatalf("app %s: %v", id, err)
	}
	if a.Name != name || a.Label != label {
		t.Fatalf("app %s = %q/%q, want %q/%q", id, a.Name, a.Label, name, label)
	}
	if groups != nil && !reflect.DeepEqual(a.Groups, groups) {
		t.Fatalf("app %s groups %v, want %v", id, a.Groups, groups)
	}
	if users != nil && !reflect.DeepEqual(a.Users, users) {
		t.Fatalf("app %s users %v, want %v", id, a.Users, users)
	}
	return a
}

func none() []string { return []string{} }

// TestFixturesEachAlone applies every fixture to an empty store and checks
// the state change the fixture README's table gives for it.
func TestFixturesEachAlone(t *testing.T) {
	checks := map[string]func(t *testing.T, s *store.Store){
		"group.lifecycle.create.json": func(t *testing.T, s *store.Store) {
			wantGroup(t, s, fxOncall, "oncall-engineers", none(), none())
			if g, err := s.LookupGroup("Oncall-Engineers"); err != nil || g.ID != fxOncall {
				t.Fatalf("by name: %v %v", g, err)
			}
		},
		"group.lifecycle.delete.json": func(t *testing.T, s *store.Store) {
			wantNoGroup(t, s, fxPlatform)
			if _, err := s.LookupGroup("platform-team"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("deleted group by name: %v", err)
			}
			gs, _, err := s.ListGroups("", 0)
			if err != nil || len(gs) != 0 {
				t.Fatalf("groups listed: %+v %v", gs, err)
			}
		},
		"group.profile.update.json": func(t *testing.T, s *store.Store) {
			wantGroup(t, s, fxPlatform, "platform-engineering", none(), none())
		},
		"group.user_membership.add.json": func(t *testing.T, s *store.Store) {
			u := wantUser(t, s, fxAlice, "<nil>")
			if u.Login != "alice.nguyen@example.com" || u.DisplayName != "Alice Nguyen" || !reflect.DeepEqual(u.Groups, []string{fxOncall}) {
				t.Fatalf("alice stub %+v", u)
			}
			wantGroup(t, s, fxOncall, "oncall-engineers", []string{fxAlice}, none())
			if ok, err := s.IsMember("alice.nguyen@example.com", "oncall-engineers"); !ok || err != nil {
				t.Fatalf("IsMember: %v %v", ok, err)
			}
		},
		"group.user_membership.remove.json": func(t *testing.T, s *store.Store) {
			u := wantUser(t, s, fxBob, "<nil>")
			if len(u.Groups) != 0 || u.Login != "bob.okafor@example.com" {
				t.Fatalf("bob %+v", u)
			}
			wantGroup(t, s, fxOncall, "oncall-engineers", none(), none())
		},
		"group.application_assignment.add.json": func(t *testing.T, s *store.Store) {
			wantGroup(t, s, fxOncall, "oncall-engineers", none(), []string{fxAWS})
			wantApp(t, s, fxAWS, "", "amazon_aws", []string{fxOncall}, none())
		},
		"group.application_assignment.remove.json": func(t *testing.T, s *store.Store) {
			wantGroup(t, s, fxPlatform, "platform-team", none(), none())
			wantApp(t, s, fxSlack, "", "slack", none(), none())
		},
		"group.application_assignment.update.json": func(t *testing.T, s *store.Store) {
			wantGroup(t, s, fxOncall, "oncall-engineers", none(), []string{fxAWS})
			wantApp(t, s, fxAWS, "", "amazon_aws", []string{fxOncall}, none())
		},
		"user.lifecycle.create.json": func(t *testing.T, s *store.Store) {
			u := wantUser(t, s, fxDave, "STAGED")
			if u.Login != "dave.kim@example.com" || u.DisplayName != "Dave Kim" {
				t.Fatalf("dave %+v", u)
			}
		},
		"user.lifecycle.activate.json":   func(t *testing.T, s *store.Store) { wantUser(t, s, fxDave, "ACTIVE") },
		"user.lifecycle.deactivate.json": func(t *testing.T, s *store.Store) { wantUser(t, s, fxCarol, "DEPROVISIONED") },
		"user.lifecycle.suspend.json":    func(t *testing.T, s *store.Store) { wantUser(t, s, fxBob, "SUSPENDED") },
		"user.lifecycle.unsuspend.json":  func(t *testing.T, s *store.Store) { wantUser(t, s, fxBob, "ACTIVE") },
		"user.lifecycle.delete.initiated.json": func(t *testing.T, s *store.Store) {
			wantNoUser(t, s, fxCarol)
			if _, err := s.LookupUser("carol.diaz@example.com"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("deleted user by login: %v", err)
			}
		},
		"user.account.update_profile.json": func(t *testing.T, s *store.Store) {
			u := wantUser(t, s, fxAlice, "<nil>")
			if u.DisplayName != "Alice Nguyen-Park" {
				t.Fatalf("alice displayName %q", u.DisplayName)
			}
		},
		"application.user_membership.add.json": func(t *testing.T, s *store.Store) {
			u := wantUser(t, s, fxDave, "<nil>")
			if !reflect.DeepEqual(u.Apps, []string{fxSlack}) {
				t.Fatalf("dave apps %v", u.Apps)
			}
			wantApp(t, s, fxSlack, "", "slack", none(), []string{fxDave})
			// The AppUser id (0ua…) is not a user.
			us, _, _ := s.ListUsers("", 0)
			if len(us) != 1 {
				t.Fatalf("users %+v", us)
			}
		},
		"application.user_membership.remove.json": func(t *testing.T, s *store.Store) {
			u := wantUser(t, s, fxAlice, "<nil>")
			if len(u.Apps) != 0 {
				t.Fatalf("alice apps %v", u.Apps)
			}
			wantApp(t, s, fxSlack, "", "slack", none(), none())
		},
		"batch.json": func(t *testing.T, s *store.Store) { checkBatchFinal(t, s) },
		"unknown_type.json": func(t *testing.T, s *store.Store) {
			us, _, _ := s.ListUsers("", 0)
			gs, _, _ := s.ListGroups("", 0)
			as, _, _ := s.ListApps("", 0)
			if len(us)+len(gs)+len(as) != 0 {
				t.Fatalf("unknown type changed state: %v %v %v", us, gs, as)
			}
			evs, err := s.Events("user.session.start", 0)
			if err != nil || len(evs) != 1 {
				t.Fatalf("unknown event not kept: %v %v", evs, err)
			}
		},
	}
	for _, path := range fxFiles(t) {
		name := filepath.Base(path)
		check, ok := checks[name]
		if !ok {
			t.Errorf("fixture %s has no check: add one", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			s := fxStore(t)
			body := fxRead(t, name)
			res := fxIngest(t, s, body)
			b, _ := ParseEnvelope(body)
			if res.Accepted != len(b.Events) || res.Rejected != 0 || res.Duplicates != 0 || len(b.Events) == 0 {
				t.Fatalf("result %+v for %d events", res, len(b.Events))
			}
			evs, err := s.Events("", 1000)
			if err != nil || len(evs) != res.Accepted {
				t.Fatalf("event log %d entries (%v), want %d", len(evs), err, res.Accepted)
			}
			check(t, s)
		})
	}
}

// checkBatchFinal checks the state batch.json's story ends in.
func checkBatchFinal(t *testing.T, s *store.Store) {
	t.Helper()
	alice := wantUser(t, s, fxAlice, "ACTIVE")
	bob := wantUser(t, s, fxBob, "ACTIVE")
	carol := wantUser(t, s, fxCarol, "DEPROVISIONED")
	if !reflect.DeepEqual(alice.Groups, []string{fxOncall}) || len(bob.Groups) != 0 ||
		!reflect.DeepEqual(carol.Groups, []string{fxOncall}) {
		t.Fatalf("groups: alice %v bob %v carol %v", alice.Groups, bob.Groups, carol.Groups)
	}
	members := []string{fxAlice, fxCarol}
	slices.Sort(members)
	wantGroup(t, s, fxOncall, "oncall-engineers", members, []string{fxAWS})
	wantApp(t, s, fxAWS, "", "amazon_aws", []string{fxOncall}, none())
	if u, err := s.LookupUser("Carol.Diaz@example.com"); err != nil || u.ID != fxCarol {
		t.Fatalf("carol by login: %v %v", u, err)
	}
}

func TestBatchEndToEnd(t *testing.T) {
	s := fxStore(t)
	res := fxIngest(t, s, fxRead(t, "batch.json"))
	if res.Accepted != 13 || res.Types["user.lifecycle.create"] != 3 || res.Types["group.user_membership.add"] != 3 {
		t.Fatalf("result %+v", res)
	}
	checkBatchFinal(t, s)
	evs, err := s.Events("", 0)
	if err != nil || len(evs) != 13 || evs[0].Type != "user.lifecycle.deactivate" || evs[12].Type != "group.lifecycle.create" {
		t.Fatalf("events newest first: %d %v", len(evs), err)
	}
	last, err := s.LastAppliedPublished()
	if err != nil || last.Format("2006-01-02T15:04:05Z") != "2026-03-03T10:05:00Z" {
		t.Fatalf("last applied %v %v", last, err)
	}
	if got, _ := s.Events("group.user_membership.add", 0); len(got) != 3 {
		t.Fatalf("typed events %d", len(got))
	}
}

func TestDuplicateDelivery(t *testing.T) {
	s := fxStore(t)
	body := fxRead(t, "batch.json")
	fxIngest(t, s, body)
	res := fxIngest(t, s, body)
	if res.Accepted != 0 || res.Duplicates != 13 {
		t.Fatalf("redelivery %+v", res)
	}
	// Within one batch, and an old event re-carried under a new envelope id.
	e := fxEvent(t, "dup-1", "group.user_membership.add", 30, fxUserT(fxDave, "dave.kim@example.com"), fxGroupT(fxOncall, "oncall-engineers"))
	res = fxIngest(t, s, fxEnvelope(t, "env-x", e, e))
	if res.Accepted != 1 || res.Duplicates != 1 {
		t.Fatalf("in-batch duplicate %+v", res)
	}
	res = fxIngest(t, s, fxEnvelope(t, "env-y", e))
	if res.Accepted != 0 || res.Duplicates != 1 {
		t.Fatalf("re-carried %+v", res)
	}
	evs, _ := s.Events("", 1000)
	if len(evs) != 14 {
		t.Fatalf("event log has %d entries, want 14", len(evs))
	}
}

// permute calls fn with every ordering of 0..n-1.
func permute(n int, fn func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k == n {
			fn(slices.Clone(p))
			return
		}
		for i := k; i < n; i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}

// TestEdgeOrderPermutations delivers add/remove/add (and remove/add/remove)
// on one membership edge, one group-app edge and one app-user edge in every
// order, each event in its own batch; the latest published must win.
func TestEdgeOrderPermutations(t *testing.T) {
	alice := fxUserT(fxAlice, "alice.nguyen@example.com")
	grp := fxGroupT(fxOncall, "oncall-engineers")
	aws := fxAppT(fxAWS, "amazon_aws", "AWS")
	slack := fxAppT(fxSlack, "slack", "Slack")
	edges := []struct {
		name        string
		add, remove string
		targets     []Target
		present     func(s *store.Store) bool
	}{
		{"membership", "group.user_membership.add", "group.user_membership.remove", []Target{alice, grp},
			func(s *store.Store) bool { ok, _ := s.IsMember(fxAlice, fxOncall); return ok }},
		{"group-app", "group.application_assignment.add", "group.application_assignment.remove", []Target{grp, aws},
			func(s *store.Store) bool {
				a, _ := s.App(fxAWS)
				return a != nil && slices.Contains(a.Groups, fxOncall)
			}},
		{"app-user", "application.user_membership.add", "application.user_membership.remove",
			[]Target{{ID: "0uaAAAAAAAAAAAAAAAAA", Type: TargetAppUser, AlternateID: "alice.nguyen@example.com"}, slack, alice},
			func(s *store.Store) bool {
				u, _ := s.UserByID(fxAlice)
				return u != nil && slices.Contains(u.Apps, fxSlack)
			}},
	}
	for _, e := range edges {
		for _, seq := range [][]bool{{true, false, true}, {false, true, false}} {
			want := seq[2]
			permute(3, func(order []int) {
				s := fxStore(t)
				for _, i := range order {
					typ := e.remove
					if seq[i] {
						typ = e.add
					}
					fxIngest(t, s, fxEnvelope(t, "env", fxEvent(t, fmt.Sprintf("%s-%d", e.name, i), typ, i, e.targets...)))
				}
				if got := e.present(s); got != want {
					t.Fatalf("%s %v order %v: present=%v want %v", e.name, seq, order, got, want)
				}
				// Consistent from both ends.
				u, _ := s.UserByID(fxAlice)
				g, _ := s.Group(fxOncall)
				switch e.name {
				case "membership":
					if slices.Contains(g.Members, fxAlice) != want || slices.Contains(u.Groups, fxOncall) != want {
						t.Fatalf("%s order %v: ends disagree %v %v", e.name, order, g.Members, u.Groups)
					}
				case "group-app":
					if slices.Contains(g.Apps, fxAWS) != want {
						t.Fatalf("%s order %v: group apps %v", e.name, order, g.Apps)
					}
				case "app-user":
					a, _ := s.App(fxSlack)
					if slices.Contains(a.Users, fxAlice) != want {
						t.Fatalf("%s order %v: app users %v", e.name, order, a.Users)
					}
				}
			})
		}
	}
}

// batchEvents returns batch.json's events as separate raw messages.
func batchEvents(t *testing.T) []json.RawMessage {
	t.Helper()
	var env Envelope
	if err := json.Unmarshal(fxRead(t, "batch.json"), &env); err != nil {
		t.Fatal(err)
	}
	return env.Data.Events
}

// TestOutOfOrderBatch delivers batch.json's events one per delivery in
// reverse and in shuffled orders: the state must be the same.
func TestOutOfOrderBatch(t *testing.T) {
	evs := batchEvents(t)
	orders := [][]int{}
	rev := make([]int, len(evs))
	for i := range rev {
		rev[i] = len(evs) - 1 - i
	}
	orders = append(orders, rev)
	r := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		orders = append(orders, r.Perm(len(evs)))
	}
	for _, order := range orders {
		s := fxStore(t)
		for _, i := range order {
			fxIngest(t, s, fxEnvelope(t, fmt.Sprint("env", i), evs[i]))
		}
		checkBatchFinal(t, s)
	}
}

// TestUserStatusOutOfOrder: every order of create/activate/suspend/unsuspend/
// deactivate ends DEPROVISIONED (the latest), and a late create never
// resurrects a deleted user.
func TestUserStatusOutOfOrder(t *testing.T) {
	dave := fxUserT(fxDave, "dave.kim@example.com")
	types := []string{"user.lifecycle.create", "user.lifecycle.activate", "user.lifecycle.suspend",
		"user.lifecycle.unsuspend", "user.lifecycle.deactivate"}
	s := fxStore(t)
	n := 0
	permute(len(types), func(order []int) {
		n++
		id := fmt.Sprintf("00uPERM%013d", n)
		u := dave
		u.ID = id
		for _, i := range order {
			fxIngest(t, s, fxEnvelope(t, "env", fxEvent(t, fmt.Sprintf("%s-%d", id, i), types[i], i, u)))
		}
		wantUser(t, s, id, "DEPROVISIONED")
	})
	// Deleted at 09:10; an older activate arrives late.
	fxIngest(t, s, fxEnvelope(t, "d", fxEvent(t, "del", "user.lifecycle.delete.initiated", 10, dave)))
	fxIngest(t, s, fxEnvelope(t, "a", fxEvent(t, "act", "user.lifecycle.activate", 5, dave)))
	wantNoUser(t, s, fxDave)
	// A newer one does bring it back (LWW on the status register).
	fxIngest(t, s, fxEnvelope(t, "c", fxEvent(t, "recreate", "user.lifecycle.activate", 20, dave)))
	wantUser(t, s, fxDave, "ACTIVE")
}

func TestGroupDeletedWithMembers(t *testing.T) {
	s := fxStore(t)
	fxIngest(t, s, fxRead(t, "batch.json"))
	grp := fxGroupT(fxOncall, "oncall-engineers")
	// Deleted at 11:00 (minute 120 after 09:00).
	fxIngest(t, s, fxEnvelope(t, "del", fxEvent(t, "gdel", "group.lifecycle.delete", 120, grp)))
	wantNoGroup(t, s, fxOncall)
	for _, id := range []string{fxAlice, fxCarol} {
		if u := wantUser(t, s, id, map[string]string{fxAlice: "ACTIVE", fxCarol: "DEPROVISIONED"}[id]); len(u.Groups) != 0 {
			t.Fatalf("%s still in %v", id, u.Groups)
		}
	}
	wantApp(t, s, fxAWS, "", "amazon_aws", none(), none())
	// Late, older events: a membership add, an app assignment, the create.
	fxIngest(t, s, fxEnvelope(t, "late",
		fxEvent(t, "late-add", "group.user_membership.add", 110, fxUserT(fxDave, "dave.kim@example.com"), grp),
		fxEvent(t, "late-app", "group.application_assignment.add", 111, grp, fxAppT(fxSlack, "slack", "Slack")),
		fxEvent(t, "late-create", "group.lifecycle.create", 100, grp)))
	wantNoGroup(t, s, fxOncall)
	if ok, _ := s.IsMember(fxDave, fxOncall); ok {
		t.Fatal("late add resurrected membership")
	}
	if u, _ := s.UserByID(fxDave); u == nil || len(u.Groups) != 0 {
		t.Fatalf("dave %+v", u)
	}
	wantApp(t, s, fxSlack, "", "slack", none(), none())
}

func TestUserDeleted(t *testing.T) {
	s := fxStore(t)
	fxIngest(t, s, fxRead(t, "batch.json"))
	slack := fxAppT(fxSlack, "slack", "Slack")
	carol := fxUserT(fxCarol, "carol.diaz@example.com")
	fxIngest(t, s, fxEnvelope(t, "a", fxEvent(t, "c-slack", "application.user_membership.add", 100, carol, slack)))
	fxIngest(t, s, fxRead(t, "user.lifecycle.delete.initiated.json")) // 09:13, older than the batch!
	// The fixture's delete is older than batch.json's events, so carol stays.
	wantUser(t, s, fxCarol, "DEPROVISIONED")
	fxIngest(t, s, fxEnvelope(t, "d", fxEvent(t, "c-del", "user.lifecycle.delete.initiated", 130, carol)))
	wantNoUser(t, s, fxCarol)
	wantGroup(t, s, fxOncall, "", []string{fxAlice}, []string{fxAWS})
	wantApp(t, s, fxSlack, "", "slack", none(), none())
	us, _, err := s.ListUsers("", 0)
	if err != nil || len(us) != 2 {
		t.Fatalf("users %+v %v", us, err)
	}
}

func TestStubUserFirstSeenAsTarget(t *testing.T) {
	s := fxStore(t)
	fxIngest(t, s, fxRead(t, "group.user_membership.add.json"))
	u, err := s.LookupUser("ALICE.NGUYEN@example.com")
	if err != nil || u.ID != fxAlice || u.Status != nil {
		t.Fatalf("stub %+v %v", u, err)
	}
	b, _ := json.Marshal(u)
	if !strings.Contains(string(b), `"status":null`) || !strings.Contains(string(b), `"apps":[]`) {
		t.Fatalf("stub json %s", b)
	}
	// A later lifecycle event sets the status.
	fxIngest(t, s, fxEnvelope(t, "x", fxEvent(t, "a-act", "user.lifecycle.activate", 50, fxUserT(fxAlice, "alice.nguyen@example.com"))))
	wantUser(t, s, fxAlice, "ACTIVE")
}

func TestFailedOutcomeChangesNothing(t *testing.T) {
	s := fxStore(t)
	var ev map[string]any
	if err := json.Unmarshal(fxEvent(t, "f1", "group.user_membership.add", 1,
		fxUserT(fxAlice, "alice.nguyen@example.com"), fxGroupT(fxOncall, "oncall-engineers")), &ev); err != nil {
		t.Fatal(err)
	}
	ev["outcome"] = map[string]any{"result": "FAILURE", "reason": "nope"}
	raw, _ := json.Marshal(ev)
	// A failed event need not carry its targets.
	noTargets := fxEvent(t, "f2", "group.lifecycle.delete", 2)
	var m map[string]any
	_ = json.Unmarshal(noTargets, &m)
	m["outcome"] = map[string]any{"result": "DENY"}
	raw2, _ := json.Marshal(m)
	res := fxIngest(t, s, fxEnvelope(t, "f", raw, raw2))
	if res.Accepted != 2 || res.Rejected != 0 {
		t.Fatalf("result %+v", res)
	}
	us, _, _ := s.ListUsers("", 0)
	gs, _, _ := s.ListGroups("", 0)
	if len(us)+len(gs) != 0 {
		t.Fatalf("failed event changed state: %v %v", us, gs)
	}
	if evs, _ := s.Events("", 0); len(evs) != 2 {
		t.Fatalf("failed events not logged: %d", len(evs))
	}
}

func TestMalformedEventInsideBatch(t *testing.T) {
	s := fxStore(t)
	evs := batchEvents(t)
	bad := []json.RawMessage{
		json.RawMessage(`"not an object"`),
		json.RawMessage(`{"eventType":"user.lifecycle.activate","published":"2026-03-03T09:00:00.000Z"}`),
		json.RawMessage(`{"uuid":"b3","eventType":"user.lifecycle.activate","published":"yesterday"}`),
		json.RawMessage(`{"uuid":"b4","eventType":"group.user_membership.add","published":"2026-03-03T09:00:00Z","target":[{"id":"00g1","type":"UserGroup"}]}`),
		json.RawMessage(`{"uuid":"b5","published":"2026-03-03T09:00:00Z"}`),
		json.RawMessage(`null`),
		json.RawMessage(`{"uuid":"b7","eventType":"user.lifecycle.activate","published":"2026-03-03T09:00:00Z","target":[{"id":"a/b","type":"User"}]}`),
	}
	wantReasons := []string{"not a JSON object", "uuid: missing", `published "yesterday"`,
		"no User target for group.user_membership.add", "eventType: missing", "not a JSON object", `invalid id "a/b"`}
	all := append(slices.Clone(evs[:5]), bad...)
	all = append(all, evs[5:]...)
	body := fxEnvelope(t, "env-bad", all...)
	b, err := ParseEnvelope(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rejected) != len(bad) || len(b.Events) != 13 {
		t.Fatalf("parsed %d events, %d rejected", len(b.Events), len(b.Rejected))
	}
	for i, r := range b.Rejected {
		if r.Index != 5+i || !strings.Contains(r.Reason, wantReasons[i]) {
			t.Errorf("rejected[%d] = index %d reason %q, want index %d reason containing %q", i, r.Index, r.Reason, 5+i, wantReasons[i])
		}
	}
	res, err := Ingest(s, b, IngestOptions{})
	if err != nil || res.Accepted != 13 || res.Rejected != len(bad) {
		t.Fatalf("ingest %+v %v", res, err)
	}
	checkBatchFinal(t, s)
	rj, err := s.RejectedEvents(0)
	if err != nil || len(rj) != len(bad) {
		t.Fatalf("rejected kept: %d %v", len(rj), err)
	}
	if rj[0].Index != 5+len(bad)-1 || rj[0].EnvelopeID != "env-bad" || rj[0].Received.IsZero() || !json.Valid(rj[0].Raw) {
		t.Fatalf("newest rejected %+v", rj[0])
	}
}

func TestEnvelopeErrors(t *testing.T) {
	cases := []struct{ body, want string }{
		{``, "empty body"},
		{`{"eventType":`, "invalid JSON at offset"},
		{`{"a":1} x`, "invalid JSON at offset 9"},
		{`[1,2]`, "want a JSON object, got array"},
		{`{"eventType":"x","data":{"events":[]}}`, `eventType "x" is not com.okta.event_hook`},
		{`{"data":{"events":[]}}`, "eventType: missing"},
		{`{"eventType":"com.okta.event_hook"}`, "data.events: missing"},
		{`{"eventType":"com.okta.event_hook","data":{"events":null}}`, "data.events: missing"},
		{`{"eventType":"com.okta.event_hook","data":{"events":{}}}`, "data.events: want array, got object"},
		{`{"eventType":"com.okta.event_hook","data":[]}`, "data: want object, got array"},
		{`{"eventType":"com.okta.event_hook","eventId":5,"data":{"events":[]}}`, "eventId: want string, got number"},
	}
	for _, c := range cases {
		_, err := ParseEnvelope([]byte(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseEnvelope(%q) = %v, want error containing %q", c.body, err, c.want)
		}
	}
	b, err := ParseEnvelope([]byte(`{"eventType":"com.okta.event_hook","eventId":"e","data":{"events":[]}}`))
	if err != nil || len(b.Events) != 0 || b.EnvelopeID != "e" {
		t.Fatalf("empty batch: %+v %v", b, err)
	}
}

func TestTargetOfFindsByType(t *testing.T) {
	b, err := ParseEnvelope(fxRead(t, "application.user_membership.add.json"))
	if err != nil || len(b.Events) != 1 {
		t.Fatal(err)
	}
	ev := b.Events[0]
	if u := ev.TargetOf(TargetUser); u == nil || u.ID != fxDave {
		t.Fatalf("User target %+v", u)
	}
	if a := ev.TargetOf("appinstance"); a == nil || a.ID != fxSlack {
		t.Fatalf("AppInstance target %+v", a)
	}
	if ev.TargetOf("Nope") != nil {
		t.Fatal("found a missing type")
	}
	// Reordered targets apply the same.
	slices.Reverse(ev.Target)
	s := fxStore(t)
	if _, err := Ingest(s, b, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	wantApp(t, s, fxSlack, "", "slack", none(), []string{fxDave})
}

// TestAppUserFallback: without a User target the AppUser's alternateId
// (the login) names the user, when the user is known.
func TestAppUserFallback(t *testing.T) {
	s := fxStore(t)
	fxIngest(t, s, fxRead(t, "user.lifecycle.create.json")) // dave
	appUser := Target{ID: "0ua60RryuIBr8qniI5d7", Type: TargetAppUser, AlternateID: "DAVE.KIM@example.com"}
	fxIngest(t, s, fxEnvelope(t, "x",
		fxEvent(t, "fb1", "application.user_membership.add", 30, appUser, fxAppT(fxSlack, "slack", "Slack")),
		fxEvent(t, "fb2", "application.user_membership.add", 31, Target{ID: "0uaZZ", Type: TargetAppUser, AlternateID: "ghost@example.com"}, fxAppT(fxAWS, "amazon_aws", "AWS"))))
	wantApp(t, s, fxSlack, "", "slack", none(), []string{fxDave})
	wantApp(t, s, fxAWS, "", "amazon_aws", none(), none())
	if _, err := s.UserByID("0ua60RryuIBr8qniI5d7"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("AppUser id became a user")
	}
}

func TestWorkPlannedForNewEventsOnly(t *testing.T) {
	s := fxStore(t)
	body := fxRead(t, "batch.json")
	var mu sync.Mutex
	calls := 0
	opt := IngestOptions{Work: func(ev *LogEvent) ([]store.QueueItem, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return []store.QueueItem{{Kind: "test", Key: "e-" + ev.UUID, Ref: ev.UUID}}, nil
	}}
	b, _ := ParseEnvelope(body)
	if _, err := Ingest(s, b, opt); err != nil {
		t.Fatal(err)
	}
	if _, err := Ingest(s, b, opt); err != nil {
		t.Fatal(err)
	}
	if calls != 13 {
		t.Fatalf("Work ran %d times, want 13", calls)
	}
	if items, _ := s.QueueItems(0); len(items) != 13 {
		t.Fatalf("%d work items committed, want 13", len(items))
	}
	// A Work error fails the whole batch.
	e := fxEvent(t, "boom", "group.lifecycle.create", 40, fxGroupT("00gBOOM", "boom"))
	b2, _ := ParseEnvelope(fxEnvelope(t, "b", e))
	_, err := Ingest(s, b2, IngestOptions{Work: func(*LogEvent) ([]store.QueueItem, error) { return nil, errors.New("queue full") }})
	if err == nil || !strings.Contains(err.Error(), "queue full") {
		t.Fatalf("error %v", err)
	}
	wantNoGroup(t, s, "00gBOOM")
	if evs, _ := s.Events("group.lifecycle.create", 0); len(evs) != 1 {
		t.Fatalf("rolled back event logged: %d", len(evs))
	}
}

// TestConcurrentIngest: many overlapping deliveries at once; each uuid is
// accepted exactly once and the state is batch.json's.
func TestConcurrentIngest(t *testing.T) {
	s := fxStore(t)
	evs := batchEvents(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := IngestResult{Types: map[string]int{}}
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			order := r.Perm(len(evs))
			for i := 0; i < len(order); i += 4 {
				var chunk []json.RawMessage
				for _, j := range order[i:min(i+4, len(order))] {
					chunk = append(chunk, evs[j])
				}
				b, err := ParseEnvelope(fxEnvelope(t, "c", chunk...))
				if err != nil {
					t.Error(err)
					return
				}
				res, err := Ingest(s, b, IngestOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				total.Accepted += res.Accepted
				total.Duplicates += res.Duplicates
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if total.Accepted != 13 || total.Duplicates != 16*13-13 {
		t.Fatalf("accepted %d duplicates %d", total.Accepted, total.Duplicates)
	}
	checkBatchFinal(t, s)
}

// TestHugeBatchSplitsCommits: a batch over Badger's transaction size limit
// is committed in several transactions, every event accepted.
func TestHugeBatchSplitsCommits(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ~12 MB")
	}
	s := fxStore(t)
	pad := strings.Repeat("x", 4096)
	const n = 3000
	events := make([]json.RawMessage, 0, n)
	for i := range n {
		ev := map[string]any{
			"uuid": fmt.Sprintf("huge-%05d", i), "eventType": "group.user_membership.add",
			"published": fmt.Sprintf("2026-03-03T09:%02d:%02d.000Z", i/60%60, i%60),
			"target":    []Target{fxUserT(fmt.Sprintf("00uHUGE%05d", i), fmt.Sprintf("u%d@example.com", i)), fxGroupT(fxOncall, "oncall-engineers")},
			"pad":       pad,
		}
		b, _ := json.Marshal(ev)
		events = append(events, b)
	}
	b, err := ParseEnvelope(fxEnvelope(t, "huge", events...))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Ingest(s, b, IngestOptions{})
	if err != nil || res.Accepted != n {
		t.Fatalf("ingest %+v %v", res.Accepted, err)
	}
	// The batch must really be over the limit for this test to mean anything.
	if res.Commits < 2 {
		t.Fatalf("batch fits one transaction (%d commits): make it bigger", res.Commits)
	}
	g := wantGroup(t, s, fxOncall, "oncall-engineers", nil, nil)
	if len(g.Members) != n {
		t.Fatalf("%d members", len(g.Members))
	}
}
