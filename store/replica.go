package store

// The store as a replica of a Raft log (store/cluster's StateMachine):
// each committed entry is one encoded op applied through applyLocal with
// the entry's index recorded in the same commit, so a restarted node
// skips what it applied before; snapshots are Badger backups.

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"filippo.io/age"
	"github.com/dgraph-io/badger/v4"
)

// keyRaftApplied holds the index of the last Raft entry applied here.
var keyRaftApplied = []byte("meta/raft/applied")

func setAppliedIndex(txn *badger.Txn, index uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], index)
	return txn.Set(keyRaftApplied, b[:])
}

// ApplyEntry applies one committed Raft entry (EncodeEntry's bytes) through
// the same path as a single node's writes and records index as applied
// in the same commit.
func (s *Store) ApplyEntry(index uint64, data []byte) (any, error) {
	op, err := s.decodeEntry(data)
	if err != nil {
		return nil, err
	}
	return s.applyLocal(op, index)
}

// Formats of sealed entries (the first byte; plain entries start with
// opFormatCBOR or are the older JSON form):
//
//   - opFormatSealed: the format byte, the 8-byte key id (entryKeyID),
//     a 12-byte nonce, then EncodeOp's bytes sealed with AES-256-GCM
//     (additional data: the format byte and the key id) under a key
//     derived from the store key.
//   - opFormatSealedV1, written before key ids: the format byte, the
//     nonce and the sealed bytes (additional data: the format byte). Still
//     read, so logs written by older nodes replay.
const (
	opFormatSealedV1 = 0x02
	opFormatSealed   = 0x03
)

// Lengths in a sealed entry.
const (
	keyIDLen = 8
	nonceLen = 12
)

// ErrEntryKeyMismatch is returned (wrapped) when a replicated log entry
// and this store disagree about the store key: the entry was sealed with
// another key, or it is sealed and this store has no key, or it is plain
// and this store has a key (a node without a key in an encrypted cluster
// would write store data in clear into every node's log, so a keyed
// store refuses plain entries). Every node of an encrypted cluster needs
// the same [store] encryption key.
var ErrEntryKeyMismatch = errors.New("log entry key mismatch")

// ErrEntryCorrupt is returned (wrapped) when a replicated log entry does
// not decode for another reason than the key: truncated, altered, or
// written by a newer version.
var ErrEntryCorrupt = errors.New("log entry does not decode")

// SameKeyHint ends every message about a store key mismatch between
// cluster nodes (here and in store/cluster).
const SameKeyHint = "every node of an encrypted cluster needs the same [store] encryption key"

// entryAEAD is the AEAD of log entries for a store key and the key's id
// (nil key: none). The AEAD key is HKDF-SHA256 of the store key with its
// own label, so it is never used for anything else; nonces are random
// (96 bits, fine far beyond the 2^32 entries one key may seal). The id is
// HKDF-SHA256 of the store key with another label: it names the key in
// sealed entries and between nodes and reveals nothing of either key.
func entryAEAD(key []byte) (cipher.AEAD, []byte, error) {
	if key == nil {
		return nil, nil, nil
	}
	k, err := hkdf.Key(sha256.New, key, nil, "hookgate raft log entry v1", 32)
	if err != nil {
		return nil, nil, err
	}
	id, err := hkdf.Key(sha256.New, key, nil, "hookgate raft log key id v1", keyIDLen)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, nil, err
	}
	aead, err := cipher.NewGCM(block)
	return aead, id, err
}

// EntryKeyID names the key this store seals log entries with: 16 hex
// digits, or "none" for a store without an encryption key. Nodes compare
// it to find a peer with another key; it reveals nothing of the key.
func (s *Store) EntryKeyID() string {
	if s.entryKeyID == nil {
		return "none"
	}
	return hex.EncodeToString(s.entryKeyID)
}

// EncodeEntry encodes op for the replicated log: EncodeOp's bytes, sealed
// (opFormatSealed) when the store has an encryption key, so the Raft log
// files hold no store data in clear either. Every node of a cluster must
// then use the same key.
func (s *Store) EncodeEntry(op Op) ([]byte, error) {
	b, err := EncodeOp(op)
	if err != nil || s.entryAEAD == nil {
		return b, err
	}
	const head = 1 + keyIDLen + nonceLen
	out := make([]byte, head, head+len(b)+s.entryAEAD.Overhead())
	out[0] = opFormatSealed
	copy(out[1:], s.entryKeyID)
	if _, err := rand.Read(out[1+keyIDLen : head]); err != nil {
		return nil, fmt.Errorf("store: seal entry: %w", err)
	}
	return s.entryAEAD.Seal(out, out[1+keyIDLen:head], b, out[:1+keyIDLen]), nil
}

// decodeEntry is EncodeEntry's inverse (older sealed entries decode too;
// plain entries only on a store without a key).
func (s *Store) decodeEntry(data []byte) (Op, error) {
	if err := s.CheckEntryKey(data); err != nil {
		return nil, err
	}
	if sealed(data) {
		plain, err := s.openEntry(data)
		if err != nil {
			return nil, err
		}
		data = plain
	}
	op, err := DecodeOp(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEntryCorrupt, err)
	}
	return op, nil
}

// sealed reports whether data is a sealed entry (either format).
func sealed(data []byte) bool {
	return len(data) > 0 && (data[0] == opFormatSealed || data[0] == opFormatSealedV1)
}

// CheckEntryKey reports (ErrEntryKeyMismatch) whether the log entry data
// was sealed for another key than this store's, without opening it: a
// sealed entry and a store without a key, a plain entry and a store with
// one, or another key id. A leader checks entries forwarded to it, so no
// node with another key puts into the log what the others cannot open.
// Entries of the format before key ids are checked for the first two
// only.
func (s *Store) CheckEntryKey(data []byte) error {
	switch {
	case !sealed(data):
		if s.entryAEAD != nil {
			return fmt.Errorf("store: %w: the entry is not encrypted and this node has a store key (a node without [store] encryption_key_env wrote it): %s", ErrEntryKeyMismatch, SameKeyHint)
		}
		return nil
	case data[0] == opFormatSealedV1:
		if s.entryAEAD == nil {
			return fmt.Errorf("store: %w: the entry is encrypted and this node has no store key: %s", ErrEntryKeyMismatch, SameKeyHint)
		}
		return nil
	case len(data) < 1+keyIDLen:
		return fmt.Errorf("store: %w: sealed entry truncated (%d bytes)", ErrEntryCorrupt, len(data))
	}
	id := data[1 : 1+keyIDLen]
	if s.entryAEAD == nil {
		return fmt.Errorf("store: %w: the entry is encrypted (key id %x) and this node has no store key: %s", ErrEntryKeyMismatch, id, SameKeyHint)
	}
	if !bytes.Equal(id, s.entryKeyID) {
		return fmt.Errorf("store: %w: the entry was sealed with another store key (key id %x) than this node's (key id %s): %s", ErrEntryKeyMismatch, id, s.EntryKeyID(), SameKeyHint)
	}
	return nil
}

// openEntry opens a sealed entry (either format) that CheckEntryKey
// passed.
func (s *Store) openEntry(data []byte) ([]byte, error) {
	if data[0] == opFormatSealedV1 {
		if len(data) < 1+nonceLen {
			return nil, fmt.Errorf("store: %w: sealed entry truncated (%d bytes)", ErrEntryCorrupt, len(data))
		}
		plain, err := s.entryAEAD.Open(nil, data[1:1+nonceLen], data[1+nonceLen:], data[:1])
		if err != nil {
			// No key id to tell another key from damage: the key is
			// by far the likelier cause.
			return nil, fmt.Errorf("store: %w: the entry does not open with this node's store key (another key, or damaged): %s", ErrEntryKeyMismatch, SameKeyHint)
		}
		return plain, nil
	}
	head := 1 + keyIDLen + nonceLen
	if len(data) < head {
		return nil, fmt.Errorf("store: %w: sealed entry truncated (%d bytes)", ErrEntryCorrupt, len(data))
	}
	plain, err := s.entryAEAD.Open(nil, data[1+keyIDLen:head], data[head:], data[:1+keyIDLen])
	if err != nil {
		return nil, fmt.Errorf("store: %w: sealed with this node's key id but does not authenticate (damaged or altered): %v", ErrEntryCorrupt, err)
	}
	return plain, nil
}

// Entry is one committed Raft entry for ApplyEntries.
type Entry struct {
	Index uint64
	Data  []byte // EncodeEntry's bytes
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
//
// An entry that does not decode (ErrEntryKeyMismatch, ErrEntryCorrupt)
// stops the batch: it and every entry after it are not applied (their
// results carry its error), so no later entry is applied on a state
// that differs from the other nodes'.
func (s *Store) ApplyEntries(entries []Entry) []EntryResult {
	out := make([]EntryResult, len(entries))
	ops := make([]Op, len(entries))
	for i, e := range entries {
		ops[i], out[i].Err = s.decodeEntry(e.Data)
		if out[i].Err != nil {
			// Never a client's mistake (another key, another version,
			// damage): the entries after it must not be applied on a
			// state that now differs from every other node's.
			for j := i + 1; j < len(entries); j++ {
				out[j].Err = fmt.Errorf("store: entry %d not applied: entry %d before it did not decode: %w", entries[j].Index, e.Index, out[i].Err)
			}
			entries, ops = entries[:i], ops[:i]
			break
		}
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
	var rs *runState
	err := s.update(func(txn *badger.Txn) error {
		rs = &runState{}
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
	if rs.lap != nil {
		s.raiseLapTop(rs.lap)
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
//
// A store opened with an encryption key writes the backup encrypted with
// it, as an age file (filippo.io/age, https://age-encryption.org/v1:
// ChaCha20-Poly1305 in authenticated 64 KiB chunks under a random file
// key, wrapped with the store key through age's scrypt recipient; the
// key is 256 random bits, so the scrypt work factor is kept low). Only a
// store opened with the same key restores it: the nodes of an encrypted
// cluster share [store] encryption_key_env's key.
func (s *Store) Backup(w io.Writer) error {
	if s.backupKey == nil {
		if _, err := s.db.Backup(w, 0); err != nil {
			return fmt.Errorf("store: backup: %w", err)
		}
		return nil
	}
	r, err := age.NewScryptRecipient(backupPassphrase(s.backupKey))
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	r.SetWorkFactor(backupWorkFactor)
	enc, err := age.Encrypt(w, r)
	if err != nil {
		return fmt.Errorf("store: backup: encrypt: %w", err)
	}
	if _, err := s.db.Backup(enc, 0); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("store: backup: encrypt: %w", err)
	}
	return nil
}

// backupWorkFactor is the scrypt work factor (log2 N) of encrypted
// backups: the passphrase is a 256-bit key, not a password to stretch.
const backupWorkFactor = 10

// backupPassphrase is the age passphrase of a store key.
func backupPassphrase(key []byte) string { return "hookgate-backup:" + hex.EncodeToString(key) }

// ageMagic starts every age file.
const ageMagic = "age-encryption.org/v1\n"

// ErrBackupEncryption is returned (wrapped) by Restore when the backup's
// encryption does not match the store's: encrypted with another key, or
// encrypted for a store without a key, or plain for a store with one.
var ErrBackupEncryption = errors.New("backup encryption mismatch")

// Restore replaces the whole store with a Backup: every key is dropped,
// then the backup loaded. A store with an encryption key restores only a
// backup encrypted with it (checked before anything is dropped).
func (s *Store) Restore(r io.Reader) error {
	br := bufio.NewReader(r)
	head, _ := br.Peek(len(ageMagic))
	encrypted := string(head) == ageMagic
	var src io.Reader = br
	switch {
	case encrypted && s.backupKey == nil:
		return fmt.Errorf("store: restore: %w: the backup is encrypted and this store has no key ([store] encryption_key_env)", ErrBackupEncryption)
	case !encrypted && s.backupKey != nil:
		return fmt.Errorf("store: restore: %w: the backup is not encrypted and this store is", ErrBackupEncryption)
	case encrypted:
		id, err := age.NewScryptIdentity(backupPassphrase(s.backupKey))
		if err != nil {
			return fmt.Errorf("store: restore: %w", err)
		}
		id.SetMaxWorkFactor(backupWorkFactor)
		if src, err = age.Decrypt(br, id); err != nil {
			return fmt.Errorf("store: restore: %w: %v (every node of an encrypted cluster needs the same key)", ErrBackupEncryption, err)
		}
	}
	defer s.cache.invalidate()
	defer s.lapTop.Store(nil) // the restored watermark is read afresh
	if err := s.db.DropAll(); err != nil {
		return fmt.Errorf("store: restore: drop: %w", err)
	}
	if err := s.db.Load(src, 256); err != nil {
		return fmt.Errorf("store: restore: load: %w", err)
	}
	return nil
}
