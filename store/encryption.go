package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// RotateEncryptionKey re-encrypts the store's key registry in dir, which
// holds the data keys that encrypt everything else, from oldKey to newKey
// (both 32 bytes). The data itself is not rewritten: it stays encrypted
// with the same data keys, now wrapped by the new master key. The store
// must not be open in any process (serve stopped); Open with oldKey is
// tried first, which takes Badger's directory lock and proves oldKey right,
// so a wrong old key or a running server changes nothing. The registry is
// written to a new file and renamed over the old one, so a crash leaves
// either the old or the new registry.
//
// Moving a store from no encryption to encryption (or back) is not a key
// rotation: the data already written stays as it is, so it takes a backup
// and restore into a new store instead.
func RotateEncryptionKey(dir string, oldKey, newKey []byte) error {
	if len(oldKey) != 32 || len(newKey) != 32 {
		return fmt.Errorf("store: rotate key in %q: both keys must be 32 bytes (old %d, new %d)", dir, len(oldKey), len(newKey))
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := Open(dir, Options{EncryptionKey: oldKey, Logger: quiet})
	if err != nil {
		return fmt.Errorf("store: rotate key: %w", err)
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("store: rotate key: closing %q: %w", dir, err)
	}
	opt := badger.KeyRegistryOptions{
		Dir: dir, ReadOnly: true, EncryptionKey: oldKey,
		EncryptionKeyRotationDuration: 10 * 24 * time.Hour,
	}
	kr, err := badger.OpenKeyRegistry(opt)
	if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
		return fmt.Errorf("store: rotate key in %q: %w: the old key does not open the key registry", dir, ErrEncryptionKey)
	}
	if err != nil {
		return fmt.Errorf("store: rotate key in %q: reading the key registry: %w", dir, err)
	}
	defer kr.Close()
	opt.EncryptionKey = newKey
	if err := badger.WriteKeyRegistry(kr, opt); err != nil {
		return fmt.Errorf("store: rotate key in %q: writing the key registry: %w", dir, err)
	}
	return nil
}
