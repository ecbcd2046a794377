package store

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// UserLastStamp returns the newest stamp the store holds about user id:
// the newest of its record's life register, latest delete and fields and
// of its group-membership and app-assignment edges (present or removed).
// A stub record (created by an edge before anything was known about the
// user) has no stamps of its own; its edges are its only evidence. An
// unknown user has the zero stamp. The Okta sync uses it so that removing
// what a listing left out never erases a user an event newer than the
// listing speaks of.
func (s *Store) UserLastStamp(id string) (Stamp, error) {
	var out Stamp
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		out, err = lastStamp(txn, kindUser, id, pUG, pUA)
		return err
	})
	return out, err
}

// GroupLastStamp is UserLastStamp for a group: its record's registers and
// its member and app-assignment edges.
func (s *Store) GroupLastStamp(id string) (Stamp, error) {
	var out Stamp
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		out, err = lastStamp(txn, kindGroup, id, pGM, pGA)
		return err
	})
	return out, err
}

// UserLastStamp is Store.UserLastStamp inside the transaction, seeing its
// own writes, so a removal can be decided and written atomically.
func (tx *writeTx) UserLastStamp(id string) (Stamp, error) {
	return lastStamp(tx.txn, kindUser, id, pUG, pUA)
}

// GroupLastStamp is Store.GroupLastStamp inside the transaction.
func (tx *writeTx) GroupLastStamp(id string) (Stamp, error) {
	return lastStamp(tx.txn, kindGroup, id, pGM, pGA)
}

// lastStamp is the newest stamp of the record k/id and of every edge
// leaving it under edgePrefixes.
func lastStamp(txn *badger.Txn, k *kind, id string, edgePrefixes ...string) (Stamp, error) {
	var last Stamp
	newer := func(s Stamp) {
		if s.After(last) {
			last = s
		}
	}
	if checkID(k.name, id) != nil {
		return last, nil
	}
	e, ok, err := loadEntity(txn, k, id)
	if err != nil {
		return last, fmt.Errorf("store: reading %s %s: %w", k.name, id, err)
	}
	if ok {
		newer(e.Value.S)
		newer(e.Del)
		for _, f := range e.F {
			newer(f.S)
		}
		for _, x := range e.X {
			newer(x.S)
		}
		for _, r := range e.R {
			newer(r.S)
		}
	}
	for _, ep := range edgePrefixes {
		p := edgePrefix(ep, id)
		opts := badger.DefaultIteratorOptions
		opts.Prefix = p
		it := txn.NewIterator(opts)
		for it.Seek(p); it.ValidForPrefix(p); it.Next() {
			var at Stamp
			err := it.Item().Value(func(v []byte) error {
				var err error
				at, err = decodeStamp(v)
				return err
			})
			if err != nil {
				it.Close()
				return last, fmt.Errorf("store: reading the edges of %s %s: %w", k.name, id, err)
			}
			newer(at)
		}
		it.Close()
	}
	return last, nil
}
