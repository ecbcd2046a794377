package okta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/hookgate/hookgate/store"
)

// Sync phases, in the order Sync runs them (Progress.Phase).
const (
	PhaseSchema    = "schema"
	PhaseUsers     = "users"
	PhaseGroups    = "groups"
	PhaseMembers   = "members"
	PhaseApps      = "apps"
	PhaseAppGroups = "app-groups"
	PhaseAppUsers  = "app-users"
	PhaseRoles     = "roles"
	PhaseCleanup   = "cleanup"
	PhaseDone      = "done"
)

// Progress is a snapshot of a running sync, for a terminal progress bar or
// the /v1/okta/sync status endpoint.
type Progress struct {
	Phase string `json:"phase"`
	// Done counts items of the phase finished so far: users, groups or apps
	// read in the listing phases; groups or apps whose edges were read in
	// the edge phases.
	Done int `json:"done"`
	// Total is the phase's item count when known in advance (edge phases),
	// 0 when not (Okta's listings do not say how many there are).
	Total int `json:"total"`
}

// SyncOptions configures Sync. The zero value is usable.
type SyncOptions struct {
	// Progress, when set, is called after every page and every group or
	// app whose edges were read. It runs on the syncing goroutine.
	Progress func(Progress)
	// AppUsers also reads every app's user assignments
	// (/api/v1/apps/{id}/users), one listing per app. Off by default: the
	// issue's sync covers users, groups, members, apps and app-group
	// assignments, and per-app user listings are the costliest part of a
	// big org. Okta lists group-derived assignments there too (scope
	// GROUP), as it writes application.user_membership.add for them, so
	// the store's user-app edge mirrors both.
	AppUsers bool
	// SkipProfiles keeps only the fixed user fields (login, email, names,
	// status) and group name and description, as hookgate did before full
	// profiles: no user schema, no profile attributes, types, timestamps
	// or admin roles. For comparison (the note's figures) and for orgs
	// that do not want personal attributes in the gateway.
	SkipProfiles bool
	// WritesPerTxn bounds the identity writes per store transaction.
	// Default 256.
	WritesPerTxn int
	// Logger receives a line per phase. Default slog.Default().
	Logger *slog.Logger
}

// SyncSummary counts what a sync wrote. Removals are snapshot-stamped and
// take effect only where no newer event says otherwise.
type SyncSummary struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// SnapshotAt is the Okta time the sync's first page was read: state
	// older than this was replaced by the snapshot, newer events win.
	SnapshotAt time.Time `json:"snapshotAt"`

	Users       int `json:"users"`
	Groups      int `json:"groups"`
	Memberships int `json:"memberships"`
	Apps        int `json:"apps"`
	AppGroups   int `json:"appGroups"`
	AppUsers    int `json:"appUsers"`

	// CustomAttributes is the number of custom attributes the user schema
	// declares; Admins the users holding admin roles.
	CustomAttributes int `json:"customAttributes"`
	Admins           int `json:"admins"`
	// SchemaSkipped and RolesSkipped say why the user schema or the admin
	// roles were not read ("" when they were): typically a missing
	// okta.schemas.read / okta.roles.read scope.
	SchemaSkipped string `json:"schemaSkipped,omitempty"`
	RolesSkipped  string `json:"rolesSkipped,omitempty"`

	UsersRemoved       int `json:"usersRemoved"`
	GroupsRemoved      int `json:"groupsRemoved"`
	MembershipsRemoved int `json:"membershipsRemoved"`
	AppGroupsRemoved   int `json:"appGroupsRemoved"`
	AppUsersRemoved    int `json:"appUsersRemoved"`
}

// String is the one-paragraph summary printed at the end of `hookgate okta
// sync`.
func (s SyncSummary) String() string {
	out := fmt.Sprintf("synced %d users, %d groups, %d memberships, %d apps, %d app-group assignments, %d app-user assignments in %s; "+
		"removed what Okta no longer has: %d users, %d groups, %d memberships, %d app-group and %d app-user assignments",
		s.Users, s.Groups, s.Memberships, s.Apps, s.AppGroups, s.AppUsers, s.Finished.Sub(s.Started).Round(time.Millisecond),
		s.UsersRemoved, s.GroupsRemoved, s.MembershipsRemoved, s.AppGroupsRemoved, s.AppUsersRemoved)
	if s.SchemaSkipped != "" {
		out += "; user schema not read (" + s.SchemaSkipped + "): attribute types are the values' JSON types"
	} else if s.CustomAttributes > 0 {
		out += fmt.Sprintf("; %d custom attributes in the user schema", s.CustomAttributes)
	}
	if s.RolesSkipped != "" {
		out += "; admin roles not read (" + s.RolesSkipped + ")"
	} else {
		out += fmt.Sprintf("; %d users hold admin roles", s.Admins)
	}
	return out
}

// Sync reads users, groups, group members, apps and app-group assignments
// (and, with AppUsers, app-user assignments) from Okta and writes them into
// st so that it converges with the event stream:
//
//   - Every write made from a page is stamped with the time Okta produced
//     that page (its Date header, Okta's clock, truncated to the second),
//     with an empty uuid. The store's registers are last-writer-wins by
//     stamp, so an event published after the page was read beats the
//     snapshot whatever order they arrive in, and an older event loses to
//     it.
//   - What the store has but Okta no longer lists (users, groups,
//     membership and assignment edges) is removed with the stamp of the
//     first page of the listing that would have shown it: anything created
//     by an event published after the listing started survives. A user or
//     group the store knows of from any event newer than the listing (even
//     a stub only named by a membership) is not removed at all.
//   - Okta's user listing leaves out DEPROVISIONED users unless asked, so
//     they are read with a second, filtered listing.
//
// Writes go in transactions of WritesPerTxn. A failed sync leaves what it
// wrote (each write is individually correct); running it again is safe.
// When no event was ever applied, a successful sync sets the store's
// last-applied watermark to SnapshotAt so System Log catch-up starts there.
func Sync(ctx context.Context, c *Client, st *store.Store, opts SyncOptions) (SyncSummary, error) {
	s := &syncRun{c: c, st: st, opts: opts, sum: SyncSummary{Started: time.Now()}}
	if s.opts.WritesPerTxn <= 0 {
		s.opts.WritesPerTxn = 256
	}
	if s.opts.Logger == nil {
		s.opts.Logger = slog.Default()
	}
	s.w = &syncWriter{st: st, max: s.opts.WritesPerTxn}
	steps := []func(context.Context) error{s.schema, s.users, s.groups, s.members, s.apps, s.appEdges, s.roles}
	if s.opts.SkipProfiles {
		steps = []func(context.Context) error{s.users, s.groups, s.members, s.apps, s.appEdges}
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			s.sum.Finished = time.Now()
			return s.sum, fmt.Errorf("okta sync: %w", err)
		}
	}
	if err := s.setWatermark(); err != nil {
		s.sum.Finished = time.Now()
		return s.sum, fmt.Errorf("okta sync: %w", err)
	}
	s.sum.Finished = time.Now()
	s.progress(PhaseDone, 1, 1)
	s.opts.Logger.Info("okta sync finished", "summary", s.sum.String())
	return s.sum, nil
}

type syncRun struct {
	c    *Client
	st   *store.Store
	opts SyncOptions
	w    *syncWriter
	sum  SyncSummary

	groupIDs []string
	appIDs   []string
	types    map[string]string // attribute -> declared type, from the user schema
	userIDs  []string          // users the listing returned
}

func (s *syncRun) progress(phase string, done, total int) {
	if s.opts.Progress != nil {
		s.opts.Progress(Progress{Phase: phase, Done: done, Total: total})
	}
}

// snapshotStamp stamps snapshot writes: the page's read time and no uuid,
// so an event published at the same instant wins the tie.
func snapshotStamp(readAt time.Time) store.Stamp {
	return store.Stamp{Published: readAt.UTC()}
}

// listingStart tracks the read time of a listing's first page; until a page
// arrives it is the local time the listing began (an empty listing has no
// Date header to go by).
type listingStart struct{ t time.Time }

func startListing() *listingStart { return &listingStart{} }

func (l *listingStart) page(readAt time.Time) {
	if l.t.IsZero() || readAt.Before(l.t) {
		l.t = readAt
	}
}

func (l *listingStart) stamp(fallback time.Time) store.Stamp {
	if l.t.IsZero() {
		return snapshotStamp(fallback.Truncate(time.Second))
	}
	return snapshotStamp(l.t)
}

func (s *syncRun) noteSnapshot(readAt time.Time) {
	if s.sum.SnapshotAt.IsZero() || readAt.Before(s.sum.SnapshotAt) {
		s.sum.SnapshotAt = readAt.UTC()
	}
}

func (s *syncRun) users(ctx context.Context) error {
	seen := map[string]bool{}
	began := time.Now()
	start := startListing()
	page := func(users []APIUser, readAt time.Time) error {
		start.page(readAt)
		s.noteSnapshot(readAt)
		at := snapshotStamp(readAt)
		for i := range users {
			u := users[i]
			if u.ID == "" || seen[u.ID] {
				continue
			}
			seen[u.ID] = true
			s.userIDs = append(s.userIDs, u.ID)
			facts := UserFactsOf(&u)
			if s.opts.SkipProfiles {
				facts = store.UserFacts{
					ID: u.ID, Login: u.Profile.Login, Email: u.Profile.Email, DisplayName: u.Profile.Name(),
					FirstName: u.Profile.FirstName, LastName: u.Profile.LastName,
				}
			}
			types := s.types
			ch := []store.IdentityChange{store.TouchUser(facts, at)}
			if !s.opts.SkipProfiles {
				ch = append(ch, store.SetUserProfile(u.ID, store.ProfileFacts{Attrs: u.Attrs, Types: types}, at))
			}
			if u.Status != "" {
				ch = append(ch, store.SetUserStatus(u.ID, u.Status, at))
			}
			if err := s.w.add(ch...); err != nil {
				return err
			}
			s.sum.Users++
		}
		s.progress(PhaseUsers, s.sum.Users, 0)
		return s.w.flush()
	}
	if err := s.c.ListUsers(ctx, nil, page); err != nil {
		return fmt.Errorf("listing users: %w", err)
	}
	if err := s.c.ListUsers(ctx, url.Values{"filter": {`status eq "DEPROVISIONED"`}}, page); err != nil {
		return fmt.Errorf("listing deprovisioned users: %w", err)
	}
	at := start.stamp(began)
	err := eachStored(s.st.ListUsers, func(u store.User) string { return u.ID }, func(id string) error {
		if seen[id] {
			return nil
		}
		keep, err := s.newerThanListing("user", id, s.st.UserLastStamp, at)
		if err != nil || keep {
			return err
		}
		s.sum.UsersRemoved++
		// Checked again in the write: an event may have come in since.
		return s.w.add(store.DeleteUser(id, at, true))
	})
	if err != nil {
		return fmt.Errorf("removing users Okta no longer has: %w", err)
	}
	s.opts.Logger.Info("okta sync: users read", "users", s.sum.Users, "removed", s.sum.UsersRemoved)
	return s.w.flush()
}

// newerThanListing reports whether the store knows something about the
// user or group id (a field, its status, a membership or assignment edge)
// from an event newer than the listing that left it out (listed at at). A
// stub created by such an event (a membership add published after the
// listing started) has no stamped status, so without this check the
// removal would tombstone it although Okta had it when the event was
// published. Such an entity is kept; the next sync removes it if Okta
// still does not list it.
func (s *syncRun) newerThanListing(what, id string, last func(string) (store.Stamp, error), at store.Stamp) (bool, error) {
	l, err := last(id)
	if err != nil {
		return false, fmt.Errorf("reading what the store knows of %s %s: %w", what, id, err)
	}
	if !l.After(at) {
		return false, nil
	}
	s.opts.Logger.Info("okta sync: keeping a "+what+" Okta did not list: an event newer than the listing names it",
		what, id, "event_published", l.Published, "listing", at.Published)
	return true, nil
}

func (s *syncRun) groups(ctx context.Context) error {
	seen := map[string]bool{}
	began := time.Now()
	start := startListing()
	err := s.c.ListGroups(ctx, nil, func(groups []APIGroup, readAt time.Time) error {
		start.page(readAt)
		s.noteSnapshot(readAt)
		at := snapshotStamp(readAt)
		for _, g := range groups {
			if g.ID == "" || seen[g.ID] {
				continue
			}
			seen[g.ID] = true
			s.groupIDs = append(s.groupIDs, g.ID)
			facts := store.GroupFacts{ID: g.ID, Name: g.Profile.Name, Description: g.Profile.Description}
			if !s.opts.SkipProfiles {
				facts.Type = g.Type
			}
			attrs := g.Attrs
			ch := []store.IdentityChange{store.CreateGroup(facts, at)}
			if !s.opts.SkipProfiles {
				ch = append(ch, store.SetGroupProfile(g.ID, store.ProfileFacts{Attrs: attrs}, at))
			}
			if err := s.w.add(ch...); err != nil {
				return err
			}
			s.sum.Groups++
		}
		s.progress(PhaseGroups, s.sum.Groups, 0)
		return s.w.flush()
	})
	if err != nil {
		return fmt.Errorf("listing groups: %w", err)
	}
	at := start.stamp(began)
	err = eachStored(s.st.ListGroups, func(g store.Group) string { return g.ID }, func(id string) error {
		if seen[id] {
			return nil
		}
		keep, err := s.newerThanListing("group", id, s.st.GroupLastStamp, at)
		if err != nil || keep {
			return err
		}
		s.sum.GroupsRemoved++
		// Checked again in the write: an event may have come in since.
		return s.w.add(store.DeleteGroup(id, at, true))
	})
	if err != nil {
		return fmt.Errorf("removing groups Okta no longer has: %w", err)
	}
	s.opts.Logger.Info("okta sync: groups read", "groups", s.sum.Groups, "removed", s.sum.GroupsRemoved)
	return s.w.flush()
}

func (s *syncRun) members(ctx context.Context) error {
	for i, gid := range s.groupIDs {
		found, err := syncEdges(s, edgeListing[APIUser]{
			listing: "members of group " + gid,
			owner:   "group " + gid,
			list: func(page PageFunc[APIUser]) error {
				return s.c.ListGroupMembers(ctx, gid, page)
			},
			id: func(u APIUser) string { return u.ID },
			stored: func() ([]string, error) {
				g, err := s.st.Group(gid)
				if g == nil {
					return nil, err
				}
				return g.Members, err
			},
			set: func(uid string, present bool, at store.Stamp) store.IdentityChange {
				return store.SetMembership(gid, uid, present, at)
			},
			added:   &s.sum.Memberships,
			removed: &s.sum.MembershipsRemoved,
		})
		if err != nil {
			return err
		}
		if !found {
			// Deleted since the group listing; its delete event (or the
			// next sync) takes care of it.
			continue
		}
		s.progress(PhaseMembers, i+1, len(s.groupIDs))
	}
	s.opts.Logger.Info("okta sync: members read", "memberships", s.sum.Memberships, "removed", s.sum.MembershipsRemoved)
	return nil
}

// edgeListing describes one owner's edges for syncEdges: a group's members,
// an app's group or user assignments.
type edgeListing[T any] struct {
	// listing and owner name the listing and its owner in errors
	// ("members of group 00g1", "group 00g1").
	listing, owner string
	// list reads the owner's edges from Okta, a page at a time.
	list func(page PageFunc[T]) error
	// id is the far end of a listed edge ("" is skipped).
	id func(T) string
	// stored reads the far ends the store holds for the owner; a nil
	// slice with store.ErrNotFound when the owner is not stored.
	stored func() ([]string, error)
	// set writes one edge present or absent.
	set func(id string, present bool, at store.Stamp) store.IdentityChange
	// added and removed are the summary counters the edges count into.
	added, removed *int
}

// syncEdges makes the store's edges of one owner what Okta lists: every
// listed edge is written present with its page's stamp, then every stored
// edge Okta did not list is written absent with the listing-start stamp.
// found is false (with no error) when Okta no longer has the owner.
func syncEdges[T any](s *syncRun, e edgeListing[T]) (found bool, err error) {
	began := time.Now()
	start := startListing()
	listed := map[string]bool{}
	err = e.list(func(items []T, readAt time.Time) error {
		start.page(readAt)
		at := snapshotStamp(readAt)
		for _, item := range items {
			id := e.id(item)
			if id == "" || listed[id] {
				continue
			}
			listed[id] = true
			if err := s.w.add(e.set(id, true, at)); err != nil {
				return err
			}
			*e.added++
		}
		return nil
	})
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("listing %s: %w", e.listing, err)
	}
	if err := s.w.flush(); err != nil {
		return false, err
	}
	stored, err := e.stored()
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("reading %s: %w", e.owner, err)
	}
	at := start.stamp(began)
	for _, id := range stored {
		if listed[id] {
			continue
		}
		*e.removed++
		if err := s.w.add(e.set(id, false, at)); err != nil {
			return false, err
		}
	}
	return true, s.w.flush()
}

func (s *syncRun) apps(ctx context.Context) error {
	seen := map[string]bool{}
	began := time.Now()
	start := startListing()
	err := s.c.ListApps(ctx, nil, func(apps []APIApp, readAt time.Time) error {
		start.page(readAt)
		s.noteSnapshot(readAt)
		at := snapshotStamp(readAt)
		for _, a := range apps {
			if a.ID == "" || seen[a.ID] {
				continue
			}
			seen[a.ID] = true
			s.appIDs = append(s.appIDs, a.ID)
			facts := store.AppFacts{ID: a.ID, Name: a.Name, Label: a.Label}
			if err := s.w.add(store.TouchApp(facts, at)); err != nil {
				return err
			}
			s.sum.Apps++
		}
		s.progress(PhaseApps, s.sum.Apps, 0)
		return s.w.flush()
	})
	if err != nil {
		return fmt.Errorf("listing apps: %w", err)
	}
	// The store has no app tombstone: an app Okta no longer lists keeps
	// its record but loses its assignments.
	at := start.stamp(began)
	err = eachStored(s.st.ListApps, func(a store.App) string { return a.ID }, func(id string) error {
		if seen[id] {
			return nil
		}
		a, err := s.st.App(id)
		if err != nil {
			return err
		}
		for _, gid := range a.Groups {
			s.sum.AppGroupsRemoved++
			if err := s.w.add(store.SetGroupApp(gid, id, false, at)); err != nil {
				return err
			}
		}
		for _, uid := range a.Users {
			s.sum.AppUsersRemoved++
			if err := s.w.add(store.SetAppUser(id, uid, false, at)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clearing assignments of apps Okta no longer has: %w", err)
	}
	s.opts.Logger.Info("okta sync: apps read", "apps", s.sum.Apps)
	return s.w.flush()
}

// appEdges reads each app's group assignments (and user assignments with
// SyncOptions.AppUsers).
func (s *syncRun) appEdges(ctx context.Context) error {
	for i, aid := range s.appIDs {
		found, err := syncEdges(s, edgeListing[APIAppGroup]{
			listing: "group assignments of app " + aid,
			owner:   "app " + aid,
			list: func(page PageFunc[APIAppGroup]) error {
				return s.c.ListAppGroupAssignments(ctx, aid, page)
			},
			id: func(a APIAppGroup) string { return a.ID },
			stored: func() ([]string, error) {
				app, err := s.st.App(aid)
				if app == nil {
					return nil, err
				}
				return app.Groups, err
			},
			set: func(gid string, present bool, at store.Stamp) store.IdentityChange {
				return store.SetGroupApp(gid, aid, present, at)
			},
			added:   &s.sum.AppGroups,
			removed: &s.sum.AppGroupsRemoved,
		})
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		s.progress(PhaseAppGroups, i+1, len(s.appIDs))
		if s.opts.AppUsers {
			if err := s.appUsers(ctx, aid); err != nil {
				return err
			}
			s.progress(PhaseAppUsers, i+1, len(s.appIDs))
		}
	}
	s.opts.Logger.Info("okta sync: app assignments read", "appGroups", s.sum.AppGroups, "appUsers", s.sum.AppUsers)
	return nil
}

func (s *syncRun) appUsers(ctx context.Context, aid string) error {
	names := map[string]string{} // user id -> name in the app, kept on the edge
	_, err := syncEdges(s, edgeListing[APIAppUser]{
		listing: "users of app " + aid,
		owner:   "app " + aid,
		list: func(page PageFunc[APIAppUser]) error {
			return s.c.ListAppUsers(ctx, aid, func(us []APIAppUser, readAt time.Time) error {
				for _, u := range us {
					names[u.ID] = u.Credentials.UserName
				}
				return page(us, readAt)
			})
		},
		id: func(u APIAppUser) string { return u.ID },
		stored: func() ([]string, error) {
			app, err := s.st.App(aid)
			if app == nil {
				return nil, err
			}
			return app.Users, err
		},
		set: func(uid string, present bool, at store.Stamp) store.IdentityChange {
			return store.SetAppUserFacts(aid, uid, present, store.AppUserFacts{UserName: names[uid]}, at)
		},
		added:   &s.sum.AppUsers,
		removed: &s.sum.AppUsersRemoved,
	})
	return err
}

// schema reads the user schema so that attribute types are the declared
// ones (integer rather than number). Without okta.schemas.read the sync
// goes on with the values' JSON types and says so in the summary.
func (s *syncRun) schema(ctx context.Context) error {
	sc, err := s.c.UserSchema(ctx)
	if err != nil {
		if IsStatus(err, 403) || IsStatus(err, 401) || IsNotFound(err) {
			s.sum.SchemaSkipped = skippedReason(err, "okta.schemas.read")
			s.opts.Logger.Warn("okta sync: user schema not readable; attribute types follow the values", "err", err)
			return nil
		}
		return fmt.Errorf("reading the user schema: %w", err)
	}
	s.types = sc.Types()
	s.sum.CustomAttributes = len(sc.Definitions.Custom.Properties)
	s.progress(PhaseSchema, 1, 1)
	return nil
}

// skippedReason words a refused optional read for the summary.
func skippedReason(err error, scope string) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Short() + "; grant " + scope
	}
	return err.Error()
}

// roles reads admin role assignments: the IAM API lists the users that
// hold roles (/api/v1/iam/assignees/users), and only those are asked for
// their roles (/api/v1/users/{id}/roles). Every other synced user that the
// store has roles for loses them, stamped with the listing's start.
// Without okta.roles.read the phase is skipped and the summary says so.
func (s *syncRun) roles(ctx context.Context) error {
	began := time.Now()
	start := startListing()
	var holders []string
	err := s.c.ListRoleAssignees(ctx, func(page []APIRoleAssignee, readAt time.Time) error {
		start.page(readAt)
		for _, a := range page {
			if a.ID != "" {
				holders = append(holders, a.ID)
			}
		}
		return nil
	})
	if err != nil {
		if IsStatus(err, 403) || IsStatus(err, 401) || IsNotFound(err) {
			s.sum.RolesSkipped = skippedReason(err, "okta.roles.read")
			s.opts.Logger.Warn("okta sync: admin roles not readable", "err", err)
			return nil
		}
		return fmt.Errorf("listing users with admin roles: %w", err)
	}
	isHolder := map[string]bool{}
	for i, id := range slices.Compact(slices.Sorted(slices.Values(holders))) {
		isHolder[id] = true
		roles, readAt, err := s.c.ListUserRoles(ctx, id)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading the admin roles of user %s: %w", id, err)
		}
		var rs []store.AdminRole
		for _, r := range roles {
			if r.Status != "" && r.Status != "ACTIVE" {
				continue
			}
			rs = append(rs, store.AdminRole{Type: r.Type, Label: r.Label})
		}
		at := snapshotStamp(readAt)
		if err := s.w.add(store.SetUserRoles(id, rs, at)); err != nil {
			return err
		}
		if len(rs) > 0 {
			s.sum.Admins++
		}
		s.progress(PhaseRoles, i+1, len(isHolder))
	}
	at := start.stamp(began)
	for _, id := range s.userIDs {
		if isHolder[id] {
			continue
		}
		if err := s.w.add(store.SetUserRoles(id, nil, at)); err != nil {
			return err
		}
	}
	s.progress(PhaseRoles, len(isHolder), len(isHolder))
	s.opts.Logger.Info("okta sync: admin roles read", "admins", s.sum.Admins)
	return s.w.flush()
}

// UserFactsOf is what the Management API says about a user's fixed
// fields, type and timestamps (for the sync and background lookups).
func UserFactsOf(u *APIUser) store.UserFacts {
	f := store.UserFacts{
		ID: u.ID, Login: u.Profile.Login, Email: u.Profile.Email, DisplayName: u.Profile.Name(),
		FirstName: u.Profile.FirstName, LastName: u.Profile.LastName, Type: u.Type.ID,
		Created: apiTime(&u.Created), Activated: apiTime(u.Activated),
		StatusChanged: apiTime(u.StatusChanged), LastUpdated: apiTime(&u.LastUpdated),
	}
	return f
}

func apiTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// setWatermark gives System Log catch-up a starting point on a store that
// never applied an event. An existing watermark is left alone: catch-up
// from it also replays the events in between to event plugins.
func (s *syncRun) setWatermark() error {
	if s.sum.SnapshotAt.IsZero() {
		return nil
	}
	last, err := s.st.LastAppliedPublished()
	if err != nil {
		return err
	}
	if !last.IsZero() {
		return nil
	}
	at := s.sum.SnapshotAt
	return s.st.SetLastAppliedPublished(at)
}

// eachStored walks a paged store listing and calls fn with each id. The
// ids are collected first so fn may write without holding a read cursor.
func eachStored[T any](list func(after string, limit int) ([]T, string, error), id func(T) string, fn func(string) error) error {
	var ids []string
	after := ""
	for {
		items, next, err := list(after, 500)
		if err != nil {
			return err
		}
		for _, it := range items {
			ids = append(ids, id(it))
		}
		if next == "" {
			break
		}
		after = next
	}
	for _, x := range slices.Compact(ids) {
		if err := fn(x); err != nil {
			return err
		}
	}
	return nil
}

// syncWriter groups identity writes into store operations
// (store.OpApplyIdentity) of at most max writes (one add each).
type syncWriter struct {
	st      *store.Store
	max     int
	adds    int
	changes []store.IdentityChange
}

func (w *syncWriter) add(changes ...store.IdentityChange) error {
	w.changes = append(w.changes, changes...)
	if w.adds++; w.adds >= w.max {
		return w.flush()
	}
	return nil
}

// flush commits the pending changes in one transaction.
func (w *syncWriter) flush() error {
	if len(w.changes) == 0 {
		return nil
	}
	n := w.adds
	err := w.st.ApplyIdentity(w.changes...)
	w.changes, w.adds = w.changes[:0], 0
	if err != nil {
		return fmt.Errorf("writing %d identity updates: %w", n, err)
	}
	return nil
}
