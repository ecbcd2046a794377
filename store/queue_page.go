package store

import (
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// QueuePage returns up to limit queued items (pending and in flight) with
// id > after, in id order (oldest first), and the cursor of the next page
// ("" on the last page). limit <= 0 means DefaultListLimit.
func (s *Store) QueuePage(after string, limit int) ([]QueueItem, string, error) {
	return viewPage[QueueItem](s, pQueueItem, after, limit, "list queue")
}

// DeadLetterPage is QueuePage for dead letters.
func (s *Store) DeadLetterPage(after string, limit int) ([]DeadLetter, string, error) {
	return viewPage[DeadLetter](s, pDead, after, limit, "list dead letters")
}

// viewPage reads one page of the JSON values under prefix whose key suffix
// (an id) sorts after after. It reads one key past the page to know
// whether another page follows, so the last page carries no cursor.
func viewPage[T any](s *Store, prefix []byte, after string, limit int, what string) ([]T, string, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	out := []T{}
	next := ""
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		opts.PrefetchSize = min(limit+1, 100)
		it := txn.NewIterator(opts)
		defer it.Close()
		start := prefix
		if after != "" {
			start = append(append(append([]byte(nil), prefix...), after...), 0)
		}
		var last string
		for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
			if len(out) == limit {
				next = last
				return nil
			}
			var v T
			k := it.Item().Key()
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &v) }); err != nil {
				return fmt.Errorf("decode %s: %w", k, err)
			}
			last = string(k[len(prefix):])
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return []T{}, "", fmt.Errorf("store: %s after %q: %w", what, after, err)
	}
	return out, next, nil
}
