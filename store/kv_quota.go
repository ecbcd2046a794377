package store

// Per-plugin key/value quotas. Every write to a plugin's namespace (KVSet,
// KVDelete, KVIncr, KVCompareAndSet) runs under that plugin's usage lock
// and computes what it changes (keys +1/0/-1, bytes = len(key)+len(value)
// before and after); a write that would grow the namespace past its quota
// fails with an error wrapping ErrKVQuota and writes nothing. Writes that
// shrink it always succeed, even over a lowered quota.
//
// The counts are loaded by one scan of the namespace on the plugin's first
// write after Open, and kept exact across overwrites and deletes. Entries
// with a TTL leave the namespace when they expire without a write the
// store sees, so until the next count they are still counted (the count
// errs on the side of "full"): when a write would go over the quota and
// the namespace holds TTL entries, the namespace is counted again inside
// the same transaction before the write is refused (a scan of at most the
// quota's keys, paid only by that plugin's writes at its limit). Bytes are Badger's value sizes, exact for values kept in the
// LSM tree (all values up to MaxKVValueBytes with the store's options).
//
// The ops carry the quota (public methods fill it in from SetKVQuota), and
// check runs inside the op's transaction without reading the clock, so a
// replicated log applies the same decision on every node. ApplyLocal holds
// the plugin's usage lock across each kv op's transaction, serializing one
// plugin's kv writes (each a synced commit); other plugins' writes, and
// all reads, are unaffected.

import (
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// KVQuota caps one plugin's key/value namespace.
type KVQuota struct {
	// MaxKeys is the most keys the plugin may hold.
	MaxKeys int64 `json:"max_keys"`
	// MaxBytes caps the sum of len(key) + len(value) over its keys.
	MaxBytes int64 `json:"max_bytes"`
}

// DefaultKVQuota is the quota of a plugin whose quota was never set with
// SetKVQuota: 100000 keys and 64 MiB.
func DefaultKVQuota() KVQuota { return KVQuota{MaxKeys: 100_000, MaxBytes: 64 << 20} }

// ErrKVQuota is returned (wrapped) by a KV write that would take the
// plugin's namespace past its KVQuota.
var ErrKVQuota = errors.New("kv: quota reached")

// kvUsage is one plugin namespace's accounting.
type kvUsage struct {
	mu       sync.Mutex // held across each write transaction of the plugin
	quota    KVQuota
	quotaSet bool
	counted  bool // keys/bytes are loaded
	kvCount
}

// kvCount is the content of a namespace.
type kvCount struct {
	keys, bytes int64
	// ttl: some entry has a TTL (so the counts may include expired ones).
	ttl bool
}

// kvChange is what one write does to its namespace.
type kvChange struct {
	keys, bytes int64
	ttl         bool
}

func (s *Store) kvUsageOf(plugin string) *kvUsage {
	s.kvMu.Lock()
	defer s.kvMu.Unlock()
	if s.kvUsage == nil {
		s.kvUsage = map[string]*kvUsage{}
	}
	u := s.kvUsage[plugin]
	if u == nil {
		u = &kvUsage{quota: DefaultKVQuota()}
		s.kvUsage[plugin] = u
	}
	return u
}

// SetKVQuota sets the plugin's quota (the plugin host calls it when it
// loads the plugin). A zero field keeps DefaultKVQuota's value for it.
func (s *Store) SetKVQuota(plugin string, q KVQuota) {
	def := DefaultKVQuota()
	if q.MaxKeys <= 0 {
		q.MaxKeys = def.MaxKeys
	}
	if q.MaxBytes <= 0 {
		q.MaxBytes = def.MaxBytes
	}
	u := s.kvUsageOf(plugin)
	u.mu.Lock()
	u.quota, u.quotaSet = q, true
	u.mu.Unlock()
}

// KVUsage counts the plugin's namespace now (live keys only) and returns
// its keys, bytes and quota.
func (s *Store) KVUsage(plugin string) (keys, bytes int64, q KVQuota, err error) {
	u := s.kvUsageOf(plugin)
	u.mu.Lock()
	q = u.quota
	u.mu.Unlock()
	var c kvCount
	err = s.db.View(func(txn *badger.Txn) error {
		var err error
		c, err = countKV(txn, plugin)
		return err
	})
	if err != nil {
		return 0, 0, q, fmt.Errorf("kv: plugin %s usage: %w", plugin, err)
	}
	return c.keys, c.bytes, q, nil
}

// countKV counts the plugin's live entries as txn sees them.
func countKV(txn *badger.Txn, plugin string) (kvCount, error) {
	prefix := []byte("kv/" + plugin + "/")
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = prefix
	it := txn.NewIterator(opts)
	defer it.Close()
	var c kvCount
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		c.keys++
		c.bytes += int64(len(item.Key())-len(prefix)) + item.ValueSize()
		if item.ExpiresAt() != 0 {
			c.ttl = true
		}
	}
	return c, nil
}

// kvEntrySize is what a live entry of key counts for, read inside txn; 0
// and false when the key is absent (or expired).
func kvEntrySize(txn *badger.Txn, k []byte, key string) (int64, bool, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return int64(len(key)) + item.ValueSize(), true, nil
}

// kvOp marks the kv ops: ApplyLocal runs them under their plugin's
// usage lock with a kvAccount.
type kvOp interface{ kvPlugin() string }

func (o *OpKVSet) kvPlugin() string           { return o.Plugin }
func (o *OpKVDelete) kvPlugin() string        { return o.Plugin }
func (o *OpKVIncr) kvPlugin() string          { return o.Plugin }
func (o *OpKVCompareAndSet) kvPlugin() string { return o.Plugin }

// kvQuotaOf is the quota the plugin's next write op carries.
func (s *Store) kvQuotaOf(plugin string) KVQuota {
	u := s.kvUsageOf(plugin)
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.quota
}

// kvAccount is one kv op's accounting: ApplyLocal makes it (holding the
// plugin's lock), the op's run calls check once before it writes, and
// settle keeps the result.
type kvAccount struct {
	u         *kvUsage
	counted   bool // base is a count made by this attempt's transaction
	base      kvCount
	ch        kvChange
	checked   bool // check ran and allowed the change
	committed bool // the transaction committed
}

// reset starts a (re)try of the transaction.
func (a *kvAccount) reset() {
	a.counted, a.checked, a.base, a.ch = false, false, kvCount{}, kvChange{}
}

// check admits ch, the change the op is about to make in its transaction
// txn, or refuses it with an error wrapping ErrKVQuota when it grows the
// namespace past q (zero fields: DefaultKVQuota). A namespace not counted
// yet in this process is counted on its first growing write; one with TTL
// entries is counted again before a refusal (they may have expired). A nil
// account (an op run outside ApplyLocal) checks nothing.
func (a *kvAccount) check(txn *badger.Txn, plugin, key string, ch kvChange, q KVQuota) error {
	if a == nil {
		return nil
	}
	def := DefaultKVQuota()
	if q.MaxKeys <= 0 {
		q.MaxKeys = def.MaxKeys
	}
	if q.MaxBytes <= 0 {
		q.MaxBytes = def.MaxBytes
	}
	grows := ch.keys > 0 || ch.bytes > 0
	count := func() error {
		c, err := countKV(txn, plugin)
		a.base, a.counted = c, err == nil
		return err
	}
	switch {
	case a.u.counted:
		a.base = a.u.kvCount
	case grows:
		if err := count(); err != nil {
			return err
		}
	}
	over := func() bool {
		return (ch.keys > 0 && a.base.keys+ch.keys > q.MaxKeys) || (ch.bytes > 0 && a.base.bytes+ch.bytes > q.MaxBytes)
	}
	if grows && over() && a.base.ttl && !a.counted {
		if err := count(); err != nil { // entries may have expired since the last count
			return err
		}
	}
	if grows && over() {
		return fmt.Errorf("kv: plugin %s: writing %q would make %d keys / %d bytes, over the quota of %d keys / %d bytes: %w",
			plugin, key, a.base.keys+max(ch.keys, 0), a.base.bytes+max(ch.bytes, 0), q.MaxKeys, q.MaxBytes, ErrKVQuota)
	}
	a.ch, a.checked = ch, true
	return nil
}

// settle keeps what the op established: a count made in its transaction
// (exact for that snapshot whether or not the write went ahead), and the
// change once the transaction committed. Called with the plugin's lock held.
func (a *kvAccount) settle() {
	u := a.u
	if a.counted {
		u.kvCount, u.counted = a.base, true
	}
	if a.committed && a.checked && u.counted {
		u.keys += a.ch.keys
		u.bytes += a.ch.bytes
		u.ttl = u.ttl || a.ch.ttl
	}
}
