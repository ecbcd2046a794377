package store

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Prefix search over identity state, for the console and the admin API's
// ?q= on /v1/users, /v1/groups and /v1/apps. A search walks the kind's
// records in id order and decodes only each record's fields (no edges)
// until it has a page of matches, so its cost is bounded by the position
// of the page in the id space, not by the number of edges. It reads the
// records themselves, not the login/email indexes, so it finds whatever a
// read by id would show.

// SearchUsers returns up to limit live users with id > after, in id order,
// whose id, login, email, displayName, firstName, lastName or
// "firstName lastName" starts with q (case-insensitive), and the cursor for
// the next page ("" on the last page). An empty q matches every user.
// limit <= 0 means DefaultListLimit. The slice is never nil.
func (s *Store) SearchUsers(q, after string, limit int) ([]User, string, error) {
	out := []User{}
	var next string
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		ids, cursor, err := r.search(kindUser, q, after, limit, func(id string, e *entity, q string) bool {
			return hasFoldPrefix(id, q) || hasFoldPrefix(e.F[fLogin].V, q) ||
				hasFoldPrefix(e.F[fEmail].V, q) || hasFoldPrefix(e.F[fDisplayName].V, q) ||
				hasFoldPrefix(e.F[fFirstName].V, q) || hasFoldPrefix(e.F[fLastName].V, q) ||
				hasFoldPrefix(e.F[fFirstName].V+" "+e.F[fLastName].V, q)
		})
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
		return []User{}, "", fmt.Errorf("store: search users %q after %q: %w", q, after, err)
	}
	return out, next, nil
}

// SearchGroups is SearchUsers for groups: id or name prefix.
func (s *Store) SearchGroups(q, after string, limit int) ([]Group, string, error) {
	out := []Group{}
	var next string
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		ids, cursor, err := r.search(kindGroup, q, after, limit, func(id string, e *entity, q string) bool {
			return hasFoldPrefix(id, q) || hasFoldPrefix(e.F[fGroupName].V, q)
		})
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
		return []Group{}, "", fmt.Errorf("store: search groups %q after %q: %w", q, after, err)
	}
	return out, next, nil
}

// SearchApps is SearchUsers for apps: id, name or label prefix.
func (s *Store) SearchApps(q, after string, limit int) ([]App, string, error) {
	out := []App{}
	var next string
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		ids, cursor, err := r.search(kindApp, q, after, limit, func(id string, e *entity, q string) bool {
			return hasFoldPrefix(id, q) || hasFoldPrefix(e.F[fAppName].V, q) || hasFoldPrefix(e.F[fAppLabel].V, q)
		})
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
		return []App{}, "", fmt.Errorf("store: search apps %q after %q: %w", q, after, err)
	}
	return out, next, nil
}

// hasFoldPrefix reports whether s starts with prefix, ignoring case.
func hasFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// search returns up to limit ids of live entities with id > after for which
// match holds (every live one when match is nil), and the next cursor (""
// when no further match exists). It looks one match ahead so the last page
// carries no cursor; listLive is search without a match.
func (r *reader) search(k *kind, q, after string, limit int, match func(id string, e *entity, q string) bool) ([]string, string, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	q = strings.TrimSpace(q)
	p := []byte(k.prefix)
	start := p
	if after != "" {
		start = append(key(k.prefix, after), 0)
	}
	opts := badger.DefaultIteratorOptions
	opts.Prefix = p
	opts.PrefetchSize = min(limit+1, 100)
	it := r.txn.NewIterator(opts)
	defer it.Close()
	ids := make([]string, 0, min(limit, 1024))
	for it.Seek(start); it.ValidForPrefix(p); it.Next() {
		item := it.Item()
		rest := item.Key()[len(p):]
		if bytes.IndexByte(rest, '/') >= 0 {
			continue
		}
		id := string(rest)
		var e *entity
		err := item.Value(func(v []byte) error {
			var err error
			e, err = decodeEntity(v, k.nfields)
			return err
		})
		if err != nil {
			return nil, "", err
		}
		if !e.live() || (match != nil && !match(id, e, q)) {
			continue
		}
		r.cache[k.prefix+id] = e
		if len(ids) == limit {
			return ids, ids[len(ids)-1], nil
		}
		ids = append(ids, id)
	}
	return ids, "", nil
}
