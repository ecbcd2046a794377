package store

// Plugin key/value state: every plugin gets its own namespace under
// kv/<plugin>/<key>, so one plugin can never read or overwrite another's
// keys. Writes are synced (see Update) so a value a plugin was told is stored
// survives a crash.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Size caps for plugin key/value entries. They bound what one hostile or
// careless plugin can put in the shared store per key.
const (
	// MaxKVKeyBytes is the longest key a plugin may use.
	MaxKVKeyBytes = 512
	// MaxKVValueBytes is the largest value a plugin may store under one key.
	MaxKVValueBytes = 1 << 20
)

// ErrKVTooLarge is returned (wrapped) by KVSet and the other KV methods when a
// key or value exceeds MaxKVKeyBytes or MaxKVValueBytes.
var ErrKVTooLarge = errors.New("kv: key or value too large")

// ErrKVBadKey is returned (wrapped) for an empty key or an unusable plugin
// name (empty or containing '/').
var ErrKVBadKey = errors.New("kv: invalid key")

func kvKey(plugin, key string) ([]byte, error) {
	if plugin == "" || strings.Contains(plugin, "/") {
		return nil, fmt.Errorf("kv: plugin name %q: %w", plugin, ErrKVBadKey)
	}
	if key == "" {
		return nil, fmt.Errorf("kv: plugin %s: empty key: %w", plugin, ErrKVBadKey)
	}
	if len(key) > MaxKVKeyBytes {
		return nil, fmt.Errorf("kv: plugin %s: key of %d bytes exceeds %d: %w", plugin, len(key), MaxKVKeyBytes, ErrKVTooLarge)
	}
	b := make([]byte, 0, 4+len(plugin)+len(key))
	b = append(b, "kv/"...)
	b = append(b, plugin...)
	b = append(b, '/')
	b = append(b, key...)
	return b, nil
}

// KVGet returns a copy of the value the plugin stored under key, or an error
// wrapping ErrNotFound when there is none (never set, deleted or expired).
func (s *Store) KVGet(plugin, key string) ([]byte, error) {
	k, err := kvKey(plugin, key)
	if err != nil {
		return nil, err
	}
	var v []byte
	err = s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(k)
		if err != nil {
			return err
		}
		v, err = it.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("kv: plugin %s key %q: %w", plugin, key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("kv: plugin %s get %q: %w", plugin, key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// KVSet stores value under the plugin's key with synced writes (OpKVSet). A positive
// ttl makes the entry expire after that long (Badger TTL, second
// granularity); ttl <= 0 keeps it until deleted.
func (s *Store) KVSet(plugin, key string, value []byte, ttl time.Duration) error {
	if _, err := kvKey(plugin, key); err != nil {
		return err
	}
	if len(value) > MaxKVValueBytes {
		return fmt.Errorf("kv: plugin %s key %q: value of %d bytes exceeds %d: %w", plugin, key, len(value), MaxKVValueBytes, ErrKVTooLarge)
	}
	op := &OpKVSet{Plugin: plugin, Key: key, Value: append([]byte(nil), value...), Quota: s.kvQuotaOf(plugin)}
	if ttl > 0 {
		op.ExpiresAt = time.Now().Add(max(ttl, time.Second))
	}
	if _, err := s.apply(op); err != nil {
		return fmt.Errorf("kv: plugin %s set %q: %w", plugin, key, err)
	}
	return nil
}

// KVDelete removes the plugin's key with synced writes (OpKVDelete).
// Deleting a missing key is not an error.
func (s *Store) KVDelete(plugin, key string) error {
	if _, err := kvKey(plugin, key); err != nil {
		return err
	}
	if _, err := s.apply(&OpKVDelete{Plugin: plugin, Key: key}); err != nil {
		return fmt.Errorf("kv: plugin %s delete %q: %w", plugin, key, err)
	}
	return nil
}

// KVExpiresAt reports when the plugin's key expires (zero time: never). It
// returns an error wrapping ErrNotFound when the key is absent. The admin API
// and tests use it to show TTLs.
func (s *Store) KVExpiresAt(plugin, key string) (time.Time, error) {
	k, err := kvKey(plugin, key)
	if err != nil {
		return time.Time{}, err
	}
	var exp uint64
	err = s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(k)
		if err != nil {
			return err
		}
		exp = it.ExpiresAt()
		return nil
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return time.Time{}, fmt.Errorf("kv: plugin %s key %q: %w", plugin, key, ErrNotFound)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("kv: plugin %s key %q: %w", plugin, key, err)
	}
	if exp == 0 {
		return time.Time{}, nil
	}
	return time.Unix(int64(exp), 0), nil
}

// ErrKVNotInteger is returned (wrapped) by KVIncr when the key holds a value
// that is not a decimal int64, or when the sum would overflow.
var ErrKVNotInteger = errors.New("kv: value is not a decimal integer")

// KVIncr adds delta to the decimal integer stored under the plugin's key and
// returns the new value, atomically (OpKVIncr): concurrent increments of
// one key from any number of callers never lose an update (a Badger
// transaction that reads and writes the key, retried on conflict). A
// missing or expired key counts as 0; the value is stored as decimal text,
// so KVGet reads "42". A positive ttl applies when the key is created; an
// existing key keeps its expiry (a fixed window for rate limits). Writes
// are synced.
func (s *Store) KVIncr(plugin, key string, delta int64, ttl time.Duration) (int64, error) {
	if _, err := kvKey(plugin, key); err != nil {
		return 0, err
	}
	op := &OpKVIncr{Plugin: plugin, Key: key, Delta: delta, Quota: s.kvQuotaOf(plugin)}
	if ttl > 0 {
		op.ExpiresAt = time.Now().Add(max(ttl, time.Second))
	}
	n, err := applyAs[int64](s, op)
	if err != nil {
		return 0, fmt.Errorf("kv: plugin %s incr %q: %w", plugin, key, err)
	}
	return n, nil
}

func (o *OpKVIncr) run(tx *writeTx) (any, error) {
	k, err := kvKey(o.Plugin, o.Key)
	if err != nil {
		return nil, err
	}
	cur, expires, found, err := kvRead(tx.txn, k)
	if err != nil {
		return nil, err
	}
	var old int64
	if found {
		old, err = strconv.ParseInt(string(cur), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("key holds %.40q: %w", cur, ErrKVNotInteger)
		}
	}
	n := old + o.Delta
	if (o.Delta > 0 && n < old) || (o.Delta < 0 && n > old) {
		return nil, fmt.Errorf("%d + %d overflows int64: %w", old, o.Delta, ErrKVNotInteger)
	}
	e := badger.NewEntry(k, strconv.AppendInt(nil, n, 10))
	switch {
	case found && expires != 0:
		e.ExpiresAt = expires
	case !found && !o.ExpiresAt.IsZero():
		e.ExpiresAt = expiryUnix(o.ExpiresAt)
	}
	ch := kvChange{bytes: int64(len(e.Value) - len(cur)), ttl: e.ExpiresAt != 0}
	if !found {
		ch.keys, ch.bytes = 1, int64(len(o.Key)+len(e.Value))
	}
	if err := tx.kv.check(tx.txn, o.Plugin, o.Key, ch, o.Quota); err != nil {
		return nil, err
	}
	return n, tx.txn.SetEntry(e)
}

// KVCompareAndSet stores value under the plugin's key only if the key
// currently holds old (oldPresent true) or is absent (oldPresent false), and
// reports whether it stored, atomically with respect to every other KV write
// (OpKVCompareAndSet, retried on conflict). ttl is as for KVSet. Writes
// are synced.
func (s *Store) KVCompareAndSet(plugin, key string, old []byte, oldPresent bool, value []byte, ttl time.Duration) (bool, error) {
	if _, err := kvKey(plugin, key); err != nil {
		return false, err
	}
	if len(value) > MaxKVValueBytes {
		return false, fmt.Errorf("kv: plugin %s key %q: value of %d bytes exceeds %d: %w", plugin, key, len(value), MaxKVValueBytes, ErrKVTooLarge)
	}
	op := &OpKVCompareAndSet{Plugin: plugin, Key: key, Old: old, OldPresent: oldPresent, Value: append([]byte(nil), value...), Quota: s.kvQuotaOf(plugin)}
	if ttl > 0 {
		op.ExpiresAt = time.Now().Add(max(ttl, time.Second))
	}
	swapped, err := applyAs[bool](s, op)
	if err != nil {
		return false, fmt.Errorf("kv: plugin %s compare-and-set %q: %w", plugin, key, err)
	}
	return swapped, nil
}

func (o *OpKVCompareAndSet) run(tx *writeTx) (any, error) {
	k, err := kvKey(o.Plugin, o.Key)
	if err != nil {
		return nil, err
	}
	cur, _, found, err := kvRead(tx.txn, k)
	if err != nil {
		return nil, err
	}
	if found != o.OldPresent || (found && string(cur) != string(o.Old)) {
		return false, nil
	}
	e := badger.NewEntry(k, o.Value)
	if !o.ExpiresAt.IsZero() {
		e.ExpiresAt = expiryUnix(o.ExpiresAt)
	}
	ch := kvChange{bytes: int64(len(o.Value) - len(cur)), ttl: e.ExpiresAt != 0}
	if !found {
		ch.keys, ch.bytes = 1, int64(len(o.Key)+len(o.Value))
	}
	if err := tx.kv.check(tx.txn, o.Plugin, o.Key, ch, o.Quota); err != nil {
		return false, err
	}
	return true, tx.txn.SetEntry(e)
}

// kvRead reads k inside txn: its value, expiry and whether it exists.
func kvRead(txn *badger.Txn, k []byte) (val []byte, expiresAt uint64, found bool, err error) {
	it, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	val, err = it.ValueCopy(nil)
	return val, it.ExpiresAt(), err == nil, err
}

// kvConflictRetries bounds the retries of a read-modify-write KV
// transaction; each conflict means another writer committed the key first,
// so progress is guaranteed for someone at every round.
const kvConflictRetries = 1000

// updateKV is update with more conflict retries, for read-modify-write
// kv ops (hotOp): a hot counter (a rate limit shared by every instance of
// a pool) conflicts often, and giving up would turn contention into
// failed plugin calls.
func (s *Store) updateKV(fn func(txn *badger.Txn) error) error {
	for i := 0; ; i++ {
		err := s.db.Update(fn)
		if errors.Is(err, badger.ErrConflict) && i < kvConflictRetries {
			time.Sleep(time.Duration(1+i%8) * 50 * time.Microsecond)
			continue
		}
		return err
	}
}

// expiryUnix is t as Badger's whole-second expiry, rounded up: Badger treats
// an entry as gone once the current second reaches it, so rounding down would
// end a TTL up to a second early (a 1s TTL could expire at once).
func expiryUnix(t time.Time) uint64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return uint64(s)
}
