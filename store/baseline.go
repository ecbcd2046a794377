package store

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Footprint counts the live keys and their total value size (benchmarks
// report what one write costs).
func (s *Store) Footprint() (keys, bytes int, err error) {
	err = s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys++
			bytes += int(it.Item().ValueSize())
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store: footprint: %w", err)
	}
	return keys, bytes, nil
}

// RawCommitBaseline is a benchmark baseline: it opens a fresh Badger in
// dir exactly as Open does (synced writes, the same options, so a ratio
// against it compares like with like) and commits txns raw transactions
// of keysPerTxn keys with valSize-byte values from committers goroutines.
// It returns the wall time and the sorted per-commit latencies. It never
// touches a hookgate store's keys: dir must be a fresh directory.
func RawCommitBaseline(dir string, opts Options, txns, keysPerTxn, valSize, committers int) (time.Duration, []time.Duration, error) {
	st, err := Open(dir, opts)
	if err != nil {
		return 0, nil, err
	}
	defer st.Close()
	db := st.db
	val := make([]byte, valSize)
	lat := make([][]time.Duration, committers)
	errs := make([]error, committers)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := range committers {
		wg.Go(func() {
			for {
				t := int(next.Add(1)) - 1
				if t >= txns {
					return
				}
				t0 := time.Now()
				err := db.Update(func(txn *badger.Txn) error {
					for k := 0; k < keysPerTxn; k++ {
						if err := txn.Set([]byte(fmt.Sprintf("raw/%08d/%06d", t, k)), val); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errs[c] = err
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, nil, fmt.Errorf("store: raw commit baseline: %w", err)
		}
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return elapsed, all, nil
}
