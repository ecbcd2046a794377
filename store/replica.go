package store

// The store as a replica of a Raft log (store/cluster's StateMachine):
// each committed entry is one encoded op applied through applyLocal with
// the entry's index recorded in the same commit, so a restarted node
// skips what it applied before; snapshots are Badger backups.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

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

// Entry is one committed Raft entry for ApplyEntries.
type Entry struct {
	Index uint64
	Data  []byte // EncodeOp's bytes
}

// EntryResult is one entry's outcome: what ApplyEntry would have
// returned for it.
type EntryResult struct {
	Value any
	Err   error
}

// ApplyEntries applies consecutive committed entries, in order, with the
// same results and the same final state as ApplyEntry called for each in
// turn, but in fewer commits: runs of ops are applied in one Badger
// transaction (each op sees the writes of those before it, as it would
// after their commits), the last index recorded as applied in that same
// commit. An op that fails inside a run, a run too big for one
// transaction or a conflict makes the whole run be discarded and applied
// again one entry at a time, so the outcome never depends on how entries
// were grouped (which differs between nodes). kv ops (quota accounting
// per commit) are applied on their own.
func (s *Store) ApplyEntries(entries []Entry) []EntryResult {
	out := make([]EntryResult, len(entries))
	ops := make([]Op, len(entries))
	for i, e := range entries {
		ops[i], out[i].Err = DecodeOp(e.Data)
	}
	var run []int // indexes into entries of the current run
	flush := func() {
		if len(run) > 1 && s.applyRun(entries, ops, run, out) {
			run = run[:0]
			return
		}
		for _, i := range run {
			out[i].Value, out[i].Err = s.applyLocal(ops[i], entries[i].Index)
		}
		run = run[:0]
	}
	for i := range entries {
		if ops[i] == nil {
			continue // undecodable: its error is the result
		}
		if _, kv := ops[i].(kvOp); kv {
			flush()
			run = append(run, i)
			flush()
			continue
		}
		run = append(run, i)
	}
	flush()
	return out
}

// applyRun applies the entries run (indexes into entries) in one
// transaction; false when it must be applied entry by entry instead
// (nothing of it was committed then).
func (s *Store) applyRun(entries []Entry, ops []Op, run []int, out []EntryResult) bool {
	vals := make([]any, len(run))
	identity := false
	err := s.update(func(txn *badger.Txn) error {
		rs := &runState{}
		for k, i := range run {
			v, err := ops[i].run(&writeTx{txn: txn, s: s, run: rs})
			if err != nil {
				return err
			}
			vals[k] = v
		}
		return setAppliedIndex(txn, entries[run[len(run)-1]].Index)
	})
	for _, i := range run {
		if _, ok := ops[i].(identityOp); ok {
			identity = true
		}
	}
	if identity {
		s.cache.invalidate()
	}
	if err != nil {
		return false
	}
	for k, i := range run {
		out[i].Value = vals[k]
	}
	return true
}

// keyRaftSlots holds the id slot of every node that was ever in the
// cluster's configuration (JSON: node id -> slot).
var keyRaftSlots = []byte("meta/raft/slots")

func readSlots(txn *badger.Txn) (map[string]uint64, error) {
	slots := map[string]uint64{}
	it, err := txn.Get(keyRaftSlots)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return slots, nil
	}
	if err != nil {
		return nil, err
	}
	err = it.Value(func(v []byte) error { return json.Unmarshal(v, &slots) })
	return slots, err
}

// ApplyConfiguration applies a committed Raft configuration entry: every
// node in servers that has no id slot yet gets the next unused one (in
// the order of their ids), for life (a slot is never reused, so a node
// removed and another added never share one); index is recorded as
// applied in the same commit. Each node applies the same entries in the
// same order, so every node holds the same slots. More than idSlots-1
// nodes over the cluster's life is an error.
func (s *Store) ApplyConfiguration(index uint64, servers []string) error {
	err := s.update(func(txn *badger.Txn) error {
		slots, err := readSlots(txn)
		if err != nil {
			return err
		}
		var used uint64
		for _, v := range slots {
			used = max(used, v)
		}
		added := false
		for _, id := range slices.Sorted(slices.Values(servers)) {
			if _, ok := slots[id]; ok {
				continue
			}
			if used+1 >= idSlots {
				return fmt.Errorf("more than %d nodes have been in the cluster: no id slot left for %q", idSlots-1, id)
			}
			used++
			slots[id] = used
			added = true
		}
		if added {
			b, err := json.Marshal(slots)
			if err != nil {
				return err
			}
			if err := txn.Set(keyRaftSlots, b); err != nil {
				return err
			}
		}
		return setAppliedIndex(txn, index)
	})
	if err != nil {
		return fmt.Errorf("store: apply cluster configuration: %w", err)
	}
	return nil
}

// UseSlotOf makes the store mint ids in the slot the replicated
// configuration gave node (see idSlots); until node has one, ids are
// minted as on a single node. It reports whether node has a slot.
func (s *Store) UseSlotOf(node string) (bool, error) {
	var slot uint64
	err := s.view(func(txn *badger.Txn) error {
		slots, err := readSlots(txn)
		slot = slots[node]
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: id slot of %s: %w", node, err)
	}
	s.idSlot.Store(slot)
	return slot != 0, nil
}

// IDSlot is the slot this store mints ids in (0: none, a single node).
func (s *Store) IDSlot() uint64 { return s.idSlot.Load() }

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
