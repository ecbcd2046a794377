package store

// The store as a replica of a Raft log (store/cluster's StateMachine):
// each committed entry is one encoded op applied through applyLocal with
// the entry's index recorded in the same commit, so a restarted node
// skips what it applied before; snapshots are Badger backups.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/dgraph-io/badger/v4"
)

// keyRaftApplied holds the index of the last Raft entry applied here.
var keyRaftApplied = []byte("meta/raft/applied")

func setAppliedIndex(txn *badger.Txn, index uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], index)
	return txn.Set(keyRaftApplied, b[:])
}

// ApplyEntry applies one committed Raft entry (EncodeOp's bytes) through
// the same path as a single node's writes and records index as applied
// in the same commit.
func (s *Store) ApplyEntry(index uint64, data []byte) (any, error) {
	op, err := DecodeOp(data)
	if err != nil {
		return nil, err
	}
	return s.applyLocal(op, index)
}

// AppliedIndex is the index of the last Raft entry ApplyEntry applied (0:
// none, e.g. a store that has only run as a single node).
func (s *Store) AppliedIndex() (uint64, error) {
	var idx uint64
	err := s.view(func(txn *badger.Txn) error {
		it, err := txn.Get(keyRaftApplied)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("store: %s holds %d bytes", keyRaftApplied, len(v))
			}
			idx = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("store: applied index: %w", err)
	}
	return idx, nil
}

// Empty reports whether the store holds no key at all.
func (s *Store) Empty() (bool, error) {
	empty := true
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		it.Rewind()
		empty = !it.Valid()
		return nil
	})
	return empty, err
}

// Backup writes a full backup of the store (Badger's backup format).
// Writes must not run meanwhile for the backup to match one point of the
// log (the Raft state machine guarantees that).
func (s *Store) Backup(w io.Writer) error {
	if _, err := s.db.Backup(w, 0); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

// Restore replaces the whole store with a Backup: every key is dropped,
// then the backup loaded.
func (s *Store) Restore(r io.Reader) error {
	defer s.cache.invalidate()
	if err := s.db.DropAll(); err != nil {
		return fmt.Errorf("store: restore: drop: %w", err)
	}
	if err := s.db.Load(r, 256); err != nil {
		return fmt.Errorf("store: restore: load: %w", err)
	}
	return nil
}
