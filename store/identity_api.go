package store

// This file fixes the identity API other packages build against; the
// signatures are the contract. Encodings are in identity_codec.go, keys in
// identity_keys.go, the read and write machinery in identity_read.go and
// identity_write.go.
//
// Semantics in one place: every item (a user's status, each profile field, a
// group's existence and profile fields, each edge) is a last-writer-wins
// register ordered by Stamp, so applying the same writes in any order gives
// the same state. Deletes are tombstones in the entity's life register;
// besides, each entity remembers its latest delete stamp, and an edge is
// shown only when it is present, both ends are live and the edge is newer
// than both ends' latest delete. Reads never return nil slices.

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// DefaultListLimit is the page size ListUsers, ListGroups and ListApps use
// when given limit <= 0.
const DefaultListLimit = 200

// --- reads (each in its own read-only transaction) ---

// LookupUser finds a live user by id, login or email (case-insensitive).
// An email with no user falls back to the login index, since Okta event
// targets carry only the login (usually the email address).
//
// Answers are cached until the next identity write; the caller owns the returned
// User.
func (s *Store) LookupUser(ref string) (*User, error) {
	k := cacheKey{op: 'u', a: ref}
	if e, ok := s.cache.get(k); ok {
		if e.err != nil {
			return nil, e.err
		}
		return e.user.clone(), nil
	}
	gen := s.cache.gen.Load()
	u, err := s.lookupUser(ref)
	if err == nil || errors.Is(err, ErrNotFound) {
		s.cache.put(k, cacheEntry{gen: gen, user: u, err: err})
	}
	if err != nil {
		return nil, err
	}
	return u.clone(), nil
}

func (s *Store) lookupUser(ref string) (*User, error) {
	var u *User
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		id, err := r.resolveUser(ref)
		if err != nil {
			return err
		}
		u, err = r.user(id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: user %q: %w", ref, err)
	}
	return u, nil
}

// UserByID returns a live user by Okta id.
func (s *Store) UserByID(id string) (*User, error) {
	var u *User
	err := s.view(func(txn *badger.Txn) error {
		var err error
		u, err = newReader(txn).user(id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: user id %q: %w", id, err)
	}
	return u, nil
}

// UserByLogin returns a live user by login (case-insensitive).
func (s *Store) UserByLogin(login string) (*User, error) {
	var u *User
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		id, err := r.byIndex(pLogin, login, kindUser, fLogin)
		if err != nil {
			return err
		}
		u, err = r.user(id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: user login %q: %w", login, err)
	}
	return u, nil
}

// UserByEmail returns a live user by email, falling back to login.
func (s *Store) UserByEmail(email string) (*User, error) {
	var u *User
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		id, err := r.byEmail(email)
		if err != nil {
			return err
		}
		u, err = r.user(id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: user email %q: %w", email, err)
	}
	return u, nil
}

// Group returns a live group by id.
func (s *Store) Group(id string) (*Group, error) {
	var g *Group
	err := s.view(func(txn *badger.Txn) error {
		var err error
		g, err = newReader(txn).group(id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: group id %q: %w", id, err)
	}
	return g, nil
}

// LookupGroup finds a live group by id or name (case-insensitive).
func (s *Store) LookupGroup(ref string) (*Group, error) {
	var g *Group
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		id, err := r.resolveGroup(ref)
		if err != nil {
			return err
		}
		g, err = r.group(id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: group %q: %w", ref, err)
	}
	return g, nil
}

// App returns an app by id.
func (s *Store) App(id string) (*App, error) {
	var a *App
	err := s.view(func(txn *badger.Txn) error {
		var err error
		a, err = newReader(txn).app(id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: app id %q: %w", id, err)
	}
	return a, nil
}

// IsMember reports whether the user (id, login or email) is a member of the
// group (id or name). Unknown users or groups are not members (no error).
// Answers are cached until the next identity write.
func (s *Store) IsMember(userRef, groupRef string) (bool, error) {
	k := cacheKey{op: 'm', a: userRef, b: groupRef}
	if e, ok := s.cache.get(k); ok {
		return e.member, nil
	}
	gen := s.cache.gen.Load()
	member, err := s.isMember(userRef, groupRef)
	if err == nil {
		s.cache.put(k, cacheEntry{gen: gen, member: member})
	}
	return member, err
}

func (s *Store) isMember(userRef, groupRef string) (bool, error) {
	var member bool
	err := s.view(func(txn *badger.Txn) error {
		var err error
		member, err = newReader(txn).isMember(userRef, groupRef)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: is %q a member of %q: %w", userRef, groupRef, err)
	}
	return member, nil
}

// ListUsers returns up to limit live users with id > after, in id order, and
// the cursor for the next page ("" when this is the last page). limit <= 0
// means DefaultListLimit. The slice is never nil.
func (s *Store) ListUsers(after string, limit int) ([]User, string, error) {
	out := []User{}
	var next string
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		ids, cursor, err := r.listLive(kindUser, after, limit)
		if err != nil {
			return err
		}
		if out, err = readAll(ids, r.user); err != nil {
			return err
		}
		next = cursor
		return nil
	})
	if err != nil {
		return []User{}, "", fmt.Errorf("store: list users after %q: %w", after, err)
	}
	return out, next, nil
}

// ListGroups is ListUsers for groups.
func (s *Store) ListGroups(after string, limit int) ([]Group, string, error) {
	out := []Group{}
	var next string
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		ids, cursor, err := r.listLive(kindGroup, after, limit)
		if err != nil {
			return err
		}
		if out, err = readAll(ids, r.group); err != nil {
			return err
		}
		next = cursor
		return nil
	})
	if err != nil {
		return []Group{}, "", fmt.Errorf("store: list groups after %q: %w", after, err)
	}
	return out, next, nil
}

// ListApps is ListUsers for apps.
func (s *Store) ListApps(after string, limit int) ([]App, string, error) {
	out := []App{}
	var next string
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		ids, cursor, err := r.listLive(kindApp, after, limit)
		if err != nil {
			return err
		}
		if out, err = readAll(ids, r.app); err != nil {
			return err
		}
		next = cursor
		return nil
	})
	if err != nil {
		return []App{}, "", fmt.Errorf("store: list apps after %q: %w", after, err)
	}
	return out, next, nil
}

// --- writes (last-writer-wins by Stamp; every call is idempotent) ---

// TouchUser creates the user as a stub if unknown and sets each non-empty
// field whose stored stamp is older than at.
func (tx *writeTx) TouchUser(f UserFacts, at Stamp) error {
	err := tx.touch(kindUser, f.ID, at, []string{
		fLogin: f.Login, fEmail: f.Email, fDisplayName: f.DisplayName,
		fFirstName: f.FirstName, fLastName: f.LastName,
		fUserType: f.Type, fCreated: f.Created, fActivated: f.Activated,
		fStatusChanged: f.StatusChanged, fLastUpdated: f.LastUpdated,
	})
	if err != nil {
		return fmt.Errorf("store: touch user %q: %w", f.ID, err)
	}
	return nil
}

// SetUserStatus sets the status register (STAGED, ACTIVE, SUSPENDED,
// DEPROVISIONED, ...) if at is newer than the register's stamp.
func (tx *writeTx) SetUserStatus(id, status string, at Stamp) error {
	if err := tx.setLife(kindUser, id, lifeSet, status, at); err != nil {
		return fmt.Errorf("store: set user %q status %q: %w", id, status, err)
	}
	return nil
}

// DeleteUser tombstones the user at at: reads return ErrNotFound and hide
// its memberships and direct assignments unless a newer lifecycle write
// follows.
func (tx *writeTx) DeleteUser(id string, at Stamp) error {
	if err := tx.setLife(kindUser, id, lifeDeleted, "", at); err != nil {
		return fmt.Errorf("store: delete user %q: %w", id, err)
	}
	return nil
}

// TouchGroup creates the group as a stub if unknown and updates profile
// fields older than at.
func (tx *writeTx) TouchGroup(f GroupFacts, at Stamp) error {
	err := tx.touch(kindGroup, f.ID, at, []string{
		fGroupName: f.Name, fGroupDescription: f.Description, fGroupType: f.Type,
	})
	if err != nil {
		return fmt.Errorf("store: touch group %q: %w", f.ID, err)
	}
	return nil
}

// CreateGroup sets the group's existence register to "exists" at at.
func (tx *writeTx) CreateGroup(f GroupFacts, at Stamp) error {
	if err := tx.TouchGroup(f, at); err != nil {
		return err
	}
	if err := tx.setLife(kindGroup, f.ID, lifeSet, "", at); err != nil {
		return fmt.Errorf("store: create group %q: %w", f.ID, err)
	}
	return nil
}

// DeleteGroup tombstones the group at at (memberships and assignments
// disappear from reads).
func (tx *writeTx) DeleteGroup(id string, at Stamp) error {
	if err := tx.setLife(kindGroup, id, lifeDeleted, "", at); err != nil {
		return fmt.Errorf("store: delete group %q: %w", id, err)
	}
	return nil
}

// TouchApp creates or updates an app record.
func (tx *writeTx) TouchApp(f AppFacts, at Stamp) error {
	err := tx.touch(kindApp, f.ID, at, []string{
		fAppName: f.Name, fAppLabel: f.Label,
	})
	if err != nil {
		return fmt.Errorf("store: touch app %q: %w", f.ID, err)
	}
	return nil
}

// SetMembership sets the group/user edge register.
func (tx *writeTx) SetMembership(groupID, userID string, present bool, at Stamp) error {
	if err := tx.setEdge(kindGroup, kindUser, pGM, pUG, groupID, userID, present, at); err != nil {
		return fmt.Errorf("store: membership %q/%q: %w", groupID, userID, err)
	}
	return nil
}

// SetGroupApp sets the group/app assignment edge register.
func (tx *writeTx) SetGroupApp(groupID, appID string, present bool, at Stamp) error {
	if err := tx.setEdge(kindGroup, kindApp, pGA, pAG, groupID, appID, present, at); err != nil {
		return fmt.Errorf("store: group app %q/%q: %w", groupID, appID, err)
	}
	return nil
}

// SetAppUser sets the app/user assignment edge register.
func (tx *writeTx) SetAppUser(appID, userID string, present bool, at Stamp) error {
	return tx.SetAppUserFacts(appID, userID, present, AppUserFacts{}, at)
}

// SetAppUserFacts is SetAppUser that also keeps f on the edge (with the
// register: a newer write's facts win; empty facts keep the edge's).
func (tx *writeTx) SetAppUserFacts(appID, userID string, present bool, f AppUserFacts, at Stamp) error {
	if err := tx.setEdgeFacts(kindApp, kindUser, pAU, pUA, appID, userID, present, f.UserName, at); err != nil {
		return fmt.Errorf("store: app user %q/%q: %w", appID, userID, err)
	}
	return nil
}
