package store

// This file fixes the identity API other packages build against. Bodies are
// filled in by the identity implementation; signatures are the contract.

import "errors"

var errUnimplemented = errors.New("store: not implemented yet")

// --- reads (each in its own read-only transaction) ---

// LookupUser finds a live user by id, login or email (case-insensitive).
// An email with no user falls back to the login index, since Okta event
// targets carry only the login (usually the email address).
func (s *Store) LookupUser(ref string) (*User, error) { return nil, errUnimplemented }

// UserByID returns a live user by Okta id.
func (s *Store) UserByID(id string) (*User, error) { return nil, errUnimplemented }

// UserByLogin returns a live user by login (case-insensitive).
func (s *Store) UserByLogin(login string) (*User, error) { return nil, errUnimplemented }

// UserByEmail returns a live user by email, falling back to login.
func (s *Store) UserByEmail(email string) (*User, error) { return nil, errUnimplemented }

// Group returns a live group by id.
func (s *Store) Group(id string) (*Group, error) { return nil, errUnimplemented }

// LookupGroup finds a live group by id or name (case-insensitive).
func (s *Store) LookupGroup(ref string) (*Group, error) { return nil, errUnimplemented }

// App returns an app by id.
func (s *Store) App(id string) (*App, error) { return nil, errUnimplemented }

// IsMember reports whether the user (id, login or email) is a member of the
// group (id or name). Unknown users or groups are not members (no error).
func (s *Store) IsMember(userRef, groupRef string) (bool, error) { return false, errUnimplemented }

// ListUsers returns up to limit live users with id > after, in id order, and
// the cursor for the next page ("" when this is the last page).
func (s *Store) ListUsers(after string, limit int) ([]User, string, error) {
	return nil, "", errUnimplemented
}

// ListGroups is ListUsers for groups.
func (s *Store) ListGroups(after string, limit int) ([]Group, string, error) {
	return nil, "", errUnimplemented
}

// ListApps is ListUsers for apps.
func (s *Store) ListApps(after string, limit int) ([]App, string, error) {
	return nil, "", errUnimplemented
}

// --- writes (last-writer-wins by Stamp; every call is idempotent) ---

// TouchUser creates the user as a stub if unknown and sets each non-empty
// field whose stored stamp is older than at.
func (tx *Tx) TouchUser(f UserFacts, at Stamp) error { return errUnimplemented }

// SetUserStatus sets the status register (STAGED, ACTIVE, SUSPENDED,
// DEPROVISIONED, ...) if at is newer than the register's stamp.
func (tx *Tx) SetUserStatus(id, status string, at Stamp) error { return errUnimplemented }

// DeleteUser tombstones the user at at: reads return ErrNotFound and hide
// its memberships and direct assignments unless a newer lifecycle write
// follows.
func (tx *Tx) DeleteUser(id string, at Stamp) error { return errUnimplemented }

// TouchGroup creates the group as a stub if unknown and updates profile
// fields older than at.
func (tx *Tx) TouchGroup(f GroupFacts, at Stamp) error { return errUnimplemented }

// CreateGroup sets the group's existence register to "exists" at at.
func (tx *Tx) CreateGroup(f GroupFacts, at Stamp) error { return errUnimplemented }

// DeleteGroup tombstones the group at at (memberships and assignments
// disappear from reads).
func (tx *Tx) DeleteGroup(id string, at Stamp) error { return errUnimplemented }

// TouchApp creates or updates an app record.
func (tx *Tx) TouchApp(f AppFacts, at Stamp) error { return errUnimplemented }

// SetMembership sets the group/user edge register.
func (tx *Tx) SetMembership(groupID, userID string, present bool, at Stamp) error {
	return errUnimplemented
}

// SetGroupApp sets the group/app assignment edge register.
func (tx *Tx) SetGroupApp(groupID, appID string, present bool, at Stamp) error {
	return errUnimplemented
}

// SetAppUser sets the direct app/user assignment edge register.
func (tx *Tx) SetAppUser(appID, userID string, present bool, at Stamp) error {
	return errUnimplemented
}
