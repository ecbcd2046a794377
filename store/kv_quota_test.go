package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestKVQuotaKeysAndBytes: a write past the key or byte quota fails with
// ErrKVQuota naming the plugin and the quota and writes nothing; overwrites
// and deletes keep the count right; another plugin is unaffected; a
// reopened store counts the namespace again.
func TestKVQuotaKeysAndBytes(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.SetKVQuota("p", KVQuota{MaxKeys: 3, MaxBytes: 100})
	for i := 1; i <= 3; i++ {
		if err := s.KVSet("p", fmt.Sprintf("k%d", i), []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
	err = s.KVSet("p", "k4", []byte("v"), 0)
	if !errors.Is(err, ErrKVQuota) || !strings.Contains(err.Error(), "plugin p") || !strings.Contains(err.Error(), "quota of 3 keys / 100 bytes") {
		t.Fatalf("fourth key: %v, want ErrKVQuota naming the plugin and quota", err)
	}
	if _, err := s.KVGet("p", "k4"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused key was written: %v", err)
	}
	if _, err := s.KVIncr("p", "n", 1, 0); !errors.Is(err, ErrKVQuota) {
		t.Fatalf("incr of a new key over the quota: %v", err)
	}
	if ok, err := s.KVCompareAndSet("p", "c", nil, false, []byte("x"), 0); ok || !errors.Is(err, ErrKVQuota) {
		t.Fatalf("set-if-absent over the quota: %v %v", ok, err)
	}
	// Overwrites do not add keys; another plugin has its own (default) quota.
	if err := s.KVSet("p", "k1", []byte("longer value"), 0); err != nil {
		t.Fatalf("overwrite at the key quota: %v", err)
	}
	for i := 0; i < 10; i++ {
		if err := s.KVSet("other", fmt.Sprintf("k%d", i), []byte("v"), 0); err != nil {
			t.Fatalf("another plugin: %v", err)
		}
	}
	// Bytes: k1 (2+12) + k2 (3) + k3 (3) = 20; growing k2 to 2+81 makes 100.
	if err := s.KVSet("p", "k2", []byte(strings.Repeat("b", 81)), 0); err != nil {
		t.Fatalf("grow to exactly the byte quota: %v", err)
	}
	if err := s.KVSet("p", "k3", []byte("vv"), 0); !errors.Is(err, ErrKVQuota) {
		t.Fatalf("one byte over: %v", err)
	}
	if err := s.KVSet("p", "k2", []byte("b"), 0); err != nil {
		t.Fatalf("shrinking write: %v", err)
	}
	if err := s.KVDelete("p", "k3"); err != nil {
		t.Fatal(err)
	}
	if err := s.KVSet("p", "k4", []byte("v"), 0); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
	checkUsage(t, s, "p", 3, (2+12)+(2+1)+(2+1))
	s.Close()

	// Reopened: the namespace is counted again on the first write.
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetKVQuota("p", KVQuota{MaxKeys: 3, MaxBytes: 100})
	if err := s.KVSet("p", "k5", nil, 0); !errors.Is(err, ErrKVQuota) {
		t.Fatalf("after reopening, a fourth key: %v", err)
	}
	if _, _, q, _ := s.KVUsage("fresh"); q != DefaultKVQuota() {
		t.Fatalf("default quota = %+v", q)
	}
}

// TestKVQuotaTTLExpiry: entries that expired without a write free their
// room when the quota is reached.
func TestKVQuotaTTLExpiry(t *testing.T) {
	s := openTest(t)
	s.SetKVQuota("p", KVQuota{MaxKeys: 2, MaxBytes: 1 << 20})
	if err := s.KVSet("p", "short", []byte("v"), time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.KVSet("p", "long", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.KVSet("p", "third", []byte("v"), 0); !errors.Is(err, ErrKVQuota) {
		t.Fatalf("third key while short lives: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second) // a hang guard
	for {
		time.Sleep(250 * time.Millisecond)
		err := s.KVSet("p", "third", []byte("v"), 0)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrKVQuota) || time.Now().After(deadline) {
			t.Fatalf("third key after short expired: %v", err)
		}
	}
	checkUsage(t, s, "p", 2, 2*(4+1)+1)
}

// TestKVQuotaAccountingMatchesCount: after a random mix of sets,
// overwrites, deletes, increments and compare-and-sets, the running
// counts equal a fresh count of the namespace.
func TestKVQuotaAccountingMatchesCount(t *testing.T) {
	s := openTest(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 400; i++ {
		key := fmt.Sprintf("k%d", r.IntN(40))
		var err error
		switch r.IntN(5) {
		case 0, 1:
			err = s.KVSet("p", key, make([]byte, r.IntN(300)), 0)
		case 2:
			err = s.KVDelete("p", key)
		case 3:
			_, err = s.KVIncr("p", "n"+key, int64(r.IntN(2000)-1000), 0)
		case 4:
			_, err = s.KVCompareAndSet("p", key, nil, false, make([]byte, r.IntN(50)), 0)
		}
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
	u := s.kvUsageOf("p")
	keys, bytes, _, err := s.KVUsage("p")
	if err != nil {
		t.Fatal(err)
	}
	if u.keys != keys || u.bytes != bytes {
		t.Fatalf("running count %d keys / %d bytes, namespace holds %d / %d", u.keys, u.bytes, keys, bytes)
	}
	t.Logf("%d keys, %d bytes", keys, bytes)
}

func checkUsage(t *testing.T, s *Store, plugin string, keys, bytes int64) {
	t.Helper()
	k, b, _, err := s.KVUsage(plugin)
	if err != nil || k != keys || b != bytes {
		t.Fatalf("usage of %s: %d keys %d bytes (%v), want %d / %d", plugin, k, b, err, keys, bytes)
	}
}

// BenchmarkKVSetQuota: KVSet with the quota accounting (one plugin's writes
// serialized by its usage lock) beside the same synced write without it
// (rawKVSet, the code before quotas), from 8 goroutines on one plugin and
// on 8 plugins, timed in alternating rounds in one run.
func BenchmarkKVSetQuota(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	val := make([]byte, 100)
	rawKVSet := func(plugin, key string) error {
		k, err := kvKey(plugin, key)
		if err != nil {
			return err
		}
		return s.update(func(txn *badger.Txn) error { return txn.Set(k, val) })
	}
	const workers = 8
	run := func(plugins int, set func(plugin, key string) error) time.Duration {
		const perWorker = 25
		start := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				plugin := fmt.Sprintf("p%d", w%plugins)
				for i := range perWorker {
					if err := set(plugin, fmt.Sprintf("k%d-%d", w, i%10)); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start) / (workers * perWorker)
	}
	for _, plugins := range []int{1, workers} {
		b.Run(fmt.Sprintf("plugins=%d", plugins), func(b *testing.B) {
			var tq, tr time.Duration
			n := 0
			for b.Loop() {
				tq += run(plugins, func(p, k string) error { return s.KVSet(p, k, val, 0) })
				tr += run(plugins, rawKVSet)
				n++
			}
			b.ReportMetric(float64(tq.Nanoseconds())/float64(n), "quota-ns/set")
			b.ReportMetric(float64(tr.Nanoseconds())/float64(n), "raw-ns/set")
			b.ReportMetric(float64(tq)/float64(tr), "x-raw")
		})
	}
}
