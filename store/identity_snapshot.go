package store

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// UserWithGroups resolves ref (id, login or email) and returns the user and
// its live groups, all read from one snapshot, so a plugin never sees a
// membership list and group records from two different moments (and a user
// with many groups costs one transaction, not one per group).
func (s *Store) UserWithGroups(ref string) (*User, []Group, error) {
	var (
		u  *User
		gs []Group
	)
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		id, err := r.resolveUser(ref)
		if err != nil {
			return err
		}
		if u, err = r.user(id); err != nil {
			return err
		}
		gs = make([]Group, 0, len(u.Groups))
		for _, gid := range u.Groups {
			g, err := r.group(gid)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			gs = append(gs, *g)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: groups of user %q: %w", ref, err)
	}
	return u, gs, nil
}

// GroupWithMembers resolves ref (id or name) and returns the group and its
// live members from one snapshot (see UserWithGroups).
func (s *Store) GroupWithMembers(ref string) (*Group, []User, error) {
	var (
		g  *Group
		us []User
	)
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		id, err := r.resolveGroup(ref)
		if err != nil {
			return err
		}
		if g, err = r.group(id); err != nil {
			return err
		}
		us = make([]User, 0, len(g.Members))
		for _, uid := range g.Members {
			u, err := r.user(uid)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			us = append(us, *u)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: members of group %q: %w", ref, err)
	}
	return g, us, nil
}
