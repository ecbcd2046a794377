package okta_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/gateway/okta/oktatest"
	"github.com/hookgate/hookgate/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}

// deliver runs events through the event hook pipeline, as a delivery would.
func deliver(t *testing.T, st *store.Store, events ...json.RawMessage) okta.IngestResult {
	t.Helper()
	env, err := json.Marshal(map[string]any{
		"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
		"source": "https://example.okta.com/api/v1/eventHooks/who4hkgt8Ds2qLm0x5d7", "eventId": "test-envelope",
		"eventTime": time.Now().UTC().Format(time.RFC3339), "contentType": "application/json",
		"data": map[string]any{"events": events},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := okta.ParseEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rejected) > 0 {
		t.Fatalf("test events rejected: %+v", b.Rejected)
	}
	res, err := okta.Ingest(st, b, okta.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func user(t *testing.T, st *store.Store, id string) *store.User {
	t.Helper()
	u, err := st.UserByID(id)
	if err != nil {
		t.Fatalf("user %s: %v", id, err)
	}
	return u
}

func group(t *testing.T, st *store.Store, id string) *store.Group {
	t.Helper()
	g, err := st.Group(id)
	if err != nil {
		t.Fatalf("group %s: %v", id, err)
	}
	return g
}

func statusOf(u *store.User) string {
	if u.Status == nil {
		return "<nil>"
	}
	return *u.Status
}

func runSync(t *testing.T, c *okta.Client, st *store.Store, opts okta.SyncOptions) okta.SyncSummary {
	t.Helper()
	sum, err := okta.Sync(context.Background(), c, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestSyncFixtureOrgIntoStore(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken, PageSize: 1}) // every listing paginates
	srv.SeedFixtureOrg()
	sl := &sleeps{}
	c := newSSWS(t, srv, sl)
	st := openStore(t)
	srv.Every429(7) // rate limiting along the way changes nothing

	var prog []okta.Progress
	sum := runSync(t, c, st, okta.SyncOptions{AppUsers: true, WritesPerTxn: 3, Progress: func(p okta.Progress) { prog = append(prog, p) }})

	if sum.Users != 4 || sum.Groups != 2 || sum.Memberships != 4 || sum.Apps != 2 || sum.AppGroups != 2 || sum.AppUsers != 1 {
		t.Errorf("summary = %+v", sum)
	}
	if sum.UsersRemoved+sum.GroupsRemoved+sum.MembershipsRemoved+sum.AppGroupsRemoved+sum.AppUsersRemoved != 0 {
		t.Errorf("an empty store lost something: %+v", sum)
	}
	if len(sl.all()) == 0 {
		t.Error("no 429 was injected; the test proves less than it claims")
	}

	alice := user(t, st, oktatest.AliceID)
	if alice.Login != "alice.nguyen@example.com" || alice.Email != "alice.nguyen@example.com" || alice.DisplayName != "Alice Nguyen" ||
		alice.FirstName != "Alice" || alice.LastName != "Nguyen" || statusOf(alice) != "ACTIVE" {
		t.Errorf("alice = %+v", alice)
	}
	if !slices.Equal(alice.Groups, []string{oktatest.OncallID}) {
		t.Errorf("alice's groups = %v", alice.Groups)
	}
	if bob := user(t, st, oktatest.BobID); bob.DisplayName != "Bob Okafor" {
		t.Errorf("bob's display name = %q, want the first+last fallback", bob.DisplayName)
	}
	if carol := user(t, st, oktatest.CarolID); statusOf(carol) != "DEPROVISIONED" {
		t.Errorf("carol = %s, want DEPROVISIONED (read with the filtered listing)", statusOf(carol))
	}
	if dave := user(t, st, oktatest.DaveID); !slices.Equal(dave.Apps, []string{oktatest.SlackID}) {
		t.Errorf("dave's apps = %v", dave.Apps)
	}
	oncall := group(t, st, oktatest.OncallID)
	if oncall.Name != "oncall-engineers" || oncall.Description == "" {
		t.Errorf("oncall = %+v", oncall)
	}
	wantMembers := []string{oktatest.AliceID, oktatest.CarolID}
	slices.Sort(wantMembers)
	if !slices.Equal(oncall.Members, wantMembers) || !slices.Equal(oncall.Apps, []string{oktatest.AWSID}) {
		t.Errorf("oncall members %v apps %v", oncall.Members, oncall.Apps)
	}
	if ok, _ := st.IsMember("dave.kim@example.com", "platform-team"); !ok {
		t.Error("dave is not in platform-team")
	}
	slack, err := st.App(oktatest.SlackID)
	if err != nil || slack.Name != "slack" || slack.Label != "Slack" || !slices.Equal(slack.Groups, []string{oktatest.PlatformID}) {
		t.Errorf("slack = %+v, %v", slack, err)
	}
	// The app-user listing's credentials.userName is kept on the edge.
	apps, _, _ := st.ListApps("", 0)
	named := 0
	for _, a := range apps {
		for _, uid := range a.Users {
			u, err := st.UserByID(uid)
			if err != nil || a.UserNames[uid] != u.Login {
				t.Errorf("app %s user %s: name in the app %q, want the login (%v)", a.ID, uid, a.UserNames[uid], err)
			}
			named++
		}
	}
	if named != 1 {
		t.Errorf("%d app-user assignments, want 1", named)
	}

	// Progress went through every phase in order, edge phases with totals.
	order := []string{okta.PhaseSchema, okta.PhaseUsers, okta.PhaseGroups, okta.PhaseMembers, okta.PhaseApps, okta.PhaseAppGroups, okta.PhaseAppUsers, okta.PhaseRoles, okta.PhaseDone}
	var phases []string
	for _, p := range prog {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
		if p.Phase == okta.PhaseMembers && p.Total != 2 {
			t.Errorf("members progress %+v, want total 2", p)
		}
	}
	// app-groups and app-users alternate per app; compare first occurrences.
	var firsts []string
	for _, p := range phases {
		if !slices.Contains(firsts, p) {
			firsts = append(firsts, p)
		}
	}
	if !slices.Equal(firsts, order) {
		t.Errorf("phases = %v, want %v", firsts, order)
	}

	// Catch-up has a starting point now: the snapshot time.
	lap, err := st.LastAppliedPublished()
	if err != nil || !lap.Equal(sum.SnapshotAt) || lap.IsZero() {
		t.Errorf("watermark = %v (%v), want the snapshot time %v", lap, err, sum.SnapshotAt)
	}

	// A second sync is a no-op in effect.
	sum2 := runSync(t, c, st, okta.SyncOptions{AppUsers: true})
	if sum2.UsersRemoved+sum2.GroupsRemoved+sum2.MembershipsRemoved+sum2.AppGroupsRemoved+sum2.AppUsersRemoved != 0 {
		t.Errorf("second sync removed things: %+v", sum2)
	}
}

func TestSyncRemovesWhatOktaNoLongerHas(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken, PageSize: 2})
	srv.SeedFixtureOrg()
	c := newSSWS(t, srv, nil)
	st := openStore(t)
	old := time.Now().Add(-time.Hour)
	gone := oktatest.User{ID: "00ugone0000000000001", Login: "gone@example.com", FirstName: "Gone", LastName: "User"}
	goneGroup := oktatest.Group{ID: "00ggone0000000000001", Name: "old-team"}
	deliver(t, st,
		oktatest.Event("user.lifecycle.create", old, oktatest.UserTarget(gone)),
		oktatest.Event("group.lifecycle.create", old, oktatest.GroupTarget(goneGroup)),
		oktatest.Event("group.user_membership.add", old, oktatest.UserTarget(oktatest.Alice), oktatest.GroupTarget(oktatest.Platform)),
		oktatest.Event("group.application_assignment.add", old, oktatest.GroupTarget(oktatest.Platform), oktatest.AppTarget(oktatest.AWS)),
	)
	if ok, _ := st.IsMember(oktatest.AliceID, oktatest.PlatformID); !ok {
		t.Fatal("setup: alice not in platform-team")
	}

	sum := runSync(t, c, st, okta.SyncOptions{})
	if sum.UsersRemoved != 1 || sum.GroupsRemoved != 1 || sum.MembershipsRemoved != 1 || sum.AppGroupsRemoved != 1 {
		t.Errorf("summary = %+v", sum)
	}
	if _, err := st.UserByID(gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user Okta no longer has: %v, want not found", err)
	}
	if _, err := st.Group(goneGroup.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("group Okta no longer has: %v, want not found", err)
	}
	if ok, _ := st.IsMember(oktatest.AliceID, oktatest.PlatformID); ok {
		t.Error("alice still in platform-team")
	}
	if g := group(t, st, oktatest.PlatformID); slices.Contains(g.Apps, oktatest.AWSID) {
		t.Errorf("platform-team apps = %v, AWS should be gone", g.Apps)
	}
}

func TestSyncDoesNotOverrideNewerEvents(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken})
	srv.SeedFixtureOrg()
	c := newSSWS(t, srv, nil)
	st := openStore(t)
	newer := time.Now().Add(time.Hour) // published after any page the sync reads
	older := time.Now().Add(-time.Hour)
	newbie := oktatest.User{ID: "00unew00000000000001", Login: "new.hire@example.com", FirstName: "New", LastName: "Hire"}
	renamed := oktatest.Oncall
	renamed.Name = "oncall-sre"
	deliver(t, st,
		// newer than the snapshot: must survive the sync
		oktatest.Event("user.lifecycle.suspend", newer, oktatest.UserTarget(oktatest.Bob)),
		oktatest.Event("group.user_membership.remove", newer, oktatest.UserTarget(oktatest.Alice), oktatest.GroupTarget(oktatest.Oncall)),
		oktatest.Event("group.profile.update", newer.Add(time.Second), oktatest.GroupTarget(renamed)), // after the removal, which names the group too
		oktatest.Event("user.lifecycle.create", newer, oktatest.UserTarget(newbie)),
		oktatest.Event("group.user_membership.add", newer, oktatest.UserTarget(newbie), oktatest.GroupTarget(oktatest.Oncall)),
		// older than the snapshot: the snapshot wins
		oktatest.Event("user.lifecycle.suspend", older, oktatest.UserTarget(oktatest.Dave)),
		oktatest.Event("group.user_membership.remove", older, oktatest.UserTarget(oktatest.Bob), oktatest.GroupTarget(oktatest.Platform)),
	)

	runSync(t, c, st, okta.SyncOptions{})
	check := func(when string) {
		t.Helper()
		if s := statusOf(user(t, st, oktatest.BobID)); s != "SUSPENDED" {
			t.Errorf("%s: bob = %s, want SUSPENDED (newer event)", when, s)
		}
		if ok, _ := st.IsMember(oktatest.AliceID, oktatest.OncallID); ok {
			t.Errorf("%s: alice back in oncall: the snapshot overrode a newer removal", when)
		}
		if g := group(t, st, oktatest.OncallID); g.Name != "oncall-sre" {
			t.Errorf("%s: oncall name = %q, want the newer event's", when, g.Name)
		}
		if u, err := st.UserByID(newbie.ID); err != nil || statusOf(u) != "STAGED" {
			t.Errorf("%s: user created after the snapshot: %+v, %v", when, u, err)
		}
		if ok, _ := st.IsMember(newbie.ID, oktatest.OncallID); !ok {
			t.Errorf("%s: membership added after the snapshot was removed by it", when)
		}
		if s := statusOf(user(t, st, oktatest.DaveID)); s != "ACTIVE" {
			t.Errorf("%s: dave = %s, want ACTIVE (snapshot newer than the suspend)", when, s)
		}
		if ok, _ := st.IsMember(oktatest.BobID, oktatest.PlatformID); !ok {
			t.Errorf("%s: bob not in platform-team (snapshot newer than the removal)", when)
		}
	}
	check("after sync")

	// Arrival order means nothing: an old event delivered late still loses
	// to the snapshot, a second sync still loses to the newer events.
	deliver(t, st,
		oktatest.Event("user.lifecycle.deactivate", older, oktatest.UserTarget(oktatest.Dave)),
		oktatest.Event("group.user_membership.add", older, oktatest.UserTarget(oktatest.Alice), oktatest.GroupTarget(oktatest.Oncall)),
	)
	runSync(t, c, st, okta.SyncOptions{})
	check("after late old events and a second sync")
}

func TestSyncStopsOnCancel(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken, PageSize: 1})
	srv.SeedFixtureOrg()
	c := newSSWS(t, srv, nil)
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := okta.Sync(ctx, c, st, okta.SyncOptions{Progress: func(p okta.Progress) {
		if p.Phase == okta.PhaseGroups {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if lap, _ := st.LastAppliedPublished(); !lap.IsZero() {
		t.Error("a cancelled sync set the catch-up watermark")
	}
}

// TestSyncKeepsStubsFromNewerEvents: a user and a group Okta's listings
// leave out, known to the store only from a membership add published after
// the listings started (stubs: no stamped status), are not tombstoned by
// the sync's removal of what Okta no longer has; the same entities known
// only from older events are.
func TestSyncKeepsStubsFromNewerEvents(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken, PageSize: 2})
	srv.SeedFixtureOrg()
	c := newSSWS(t, srv, nil)
	st := openStore(t)
	newer := time.Now().Add(time.Hour) // published after any page the sync reads
	older := time.Now().Add(-time.Hour)
	lateUser := oktatest.User{ID: "00ulate0000000000001", Login: "late.hire@example.com"}
	lateGroup := oktatest.Group{ID: "00glate0000000000001", Name: "late-team"}
	oldUser := oktatest.User{ID: "00uold00000000000001", Login: "old.hire@example.com"}
	oldGroup := oktatest.Group{ID: "00gold00000000000001", Name: "old-team"}
	deliver(t, st,
		oktatest.Event("group.user_membership.add", newer, oktatest.UserTarget(lateUser), oktatest.GroupTarget(oktatest.Oncall)),
		oktatest.Event("group.user_membership.add", newer, oktatest.UserTarget(oktatest.Bob), oktatest.GroupTarget(lateGroup)),
		oktatest.Event("group.user_membership.add", older, oktatest.UserTarget(oldUser), oktatest.GroupTarget(oktatest.Oncall)),
		oktatest.Event("group.user_membership.add", older, oktatest.UserTarget(oktatest.Bob), oktatest.GroupTarget(oldGroup)),
	)
	if u := user(t, st, lateUser.ID); u.Status != nil {
		t.Fatalf("setup: %s has status %s, want a stub without one", lateUser.ID, statusOf(u))
	}

	sum := runSync(t, c, st, okta.SyncOptions{})
	if sum.UsersRemoved != 1 || sum.GroupsRemoved != 1 {
		t.Errorf("removed %d users and %d groups, want 1 and 1 (the ones known only from older events)", sum.UsersRemoved, sum.GroupsRemoved)
	}
	if _, err := st.UserByID(lateUser.ID); err != nil {
		t.Errorf("user known from an event newer than the listing: %v, want kept", err)
	}
	if ok, _ := st.IsMember(lateUser.ID, oktatest.OncallID); !ok {
		t.Error("the newer membership of the late user is gone")
	}
	if _, err := st.Group(lateGroup.ID); err != nil {
		t.Errorf("group known from an event newer than the listing: %v, want kept", err)
	}
	if ok, _ := st.IsMember(oktatest.BobID, lateGroup.ID); !ok {
		t.Error("bob's newer membership of the late group is gone")
	}
	if _, err := st.UserByID(oldUser.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user known only from an older event: %v, want removed", err)
	}
	if _, err := st.Group(oldGroup.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("group known only from an older event: %v, want removed", err)
	}
}
