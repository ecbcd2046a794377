package store

// Plugin key/value state: every plugin gets its own namespace under
// kv/<plugin>/<key>, so one plugin can never read or overwrite another's
// keys. Writes are synced (see Update) so a value a plugin was told is stored
// survives a crash.

import (
	"errors"
	"fmt"
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

// KVSet stores value under the plugin's key with synced writes. A positive
// ttl makes the entry expire after that long (Badger TTL, second
// granularity); ttl <= 0 keeps it until deleted.
func (s *Store) KVSet(plugin, key string, value []byte, ttl time.Duration) error {
	k, err := kvKey(plugin, key)
	if err != nil {
		return err
	}
	if len(value) > MaxKVValueBytes {
		return fmt.Errorf("kv: plugin %s key %q: value of %d bytes exceeds %d: %w", plugin, key, len(value), MaxKVValueBytes, ErrKVTooLarge)
	}
	v := append([]byte(nil), value...)
	err = s.Update(func(txn *badger.Txn) error {
		e := badger.NewEntry(k, v)
		if ttl > 0 {
			if ttl < time.Second {
				ttl = time.Second
			}
			e = e.WithTTL(ttl)
		}
		return txn.SetEntry(e)
	})
	if err != nil {
		return fmt.Errorf("kv: plugin %s set %q: %w", plugin, key, err)
	}
	return nil
}

// KVDelete removes the plugin's key with synced writes. Deleting a missing
// key is not an error.
func (s *Store) KVDelete(plugin, key string) error {
	k, err := kvKey(plugin, key)
	if err != nil {
		return err
	}
	if err := s.Update(func(txn *badger.Txn) error { return txn.Delete(k) }); err != nil {
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
