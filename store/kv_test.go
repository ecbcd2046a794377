package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKV(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	if _, err := s.KVGet("p1", "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if err := s.KVSet("p1", "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if v, err := s.KVGet("p1", "k"); err != nil || string(v) != "v" {
		t.Fatalf("get: %q %v", v, err)
	}
	// Namespaces are separate, including prefix-looking names.
	if _, err := s.KVGet("p2", "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("p2 sees p1's key: %v", err)
	}
	if err := s.KVSet("p1", "k/x", []byte("nested"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KVGet("p1", "k/"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("k/ found: %v", err)
	}
	// Empty values round-trip as empty, not missing.
	if err := s.KVSet("p1", "empty", nil, 0); err != nil {
		t.Fatal(err)
	}
	if v, err := s.KVGet("p1", "empty"); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("empty: %q %v", v, err)
	}

	// TTL: stored with an expiry; no TTL means none.
	now := time.Now()
	if err := s.KVSet("p1", "ttl", []byte("t"), time.Hour); err != nil {
		t.Fatal(err)
	}
	exp, err := s.KVExpiresAt("p1", "ttl")
	if err != nil {
		t.Fatal(err)
	}
	if exp.Before(now.Add(59*time.Minute)) || exp.After(now.Add(61*time.Minute)) {
		t.Fatalf("expires %v, want about now+1h", exp)
	}
	if exp, err := s.KVExpiresAt("p1", "k"); err != nil || !exp.IsZero() {
		t.Fatalf("no-ttl key expires %v %v", exp, err)
	}

	if err := s.KVDelete("p1", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KVGet("p1", "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.KVDelete("p1", "never-set"); err != nil {
		t.Fatalf("delete missing: %v", err)
	}

	// Caps and bad names.
	if err := s.KVSet("p1", strings.Repeat("k", MaxKVKeyBytes+1), nil, 0); !errors.Is(err, ErrKVTooLarge) {
		t.Fatalf("long key: %v", err)
	}
	if err := s.KVSet("p1", "big", make([]byte, MaxKVValueBytes+1), 0); !errors.Is(err, ErrKVTooLarge) {
		t.Fatalf("big value: %v", err)
	}
	for _, c := range [][2]string{{"", "k"}, {"a/b", "k"}, {"p1", ""}} {
		if err := s.KVSet(c[0], c[1], nil, 0); !errors.Is(err, ErrKVBadKey) {
			t.Fatalf("plugin %q key %q: %v", c[0], c[1], err)
		}
	}
}

// TestKVExpiry checks an expired entry reads as missing (Badger TTLs have
// one-second granularity, so this waits just over a second).
// TestKVTTLNeverEarly: Badger keeps expiries in whole seconds; every way of
// setting a TTL must round up, so a key lives at least its TTL.
func TestKVTTLNeverEarly(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 3; i++ {
		before := time.Now()
		if err := s.KVSet("p", "set", []byte("v"), time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := s.KVIncr("p", "incr", 1, time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := s.KVCompareAndSet("p", "cas", nil, false, []byte("v"), time.Second); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"set", "incr", "cas"} {
			exp, err := s.KVExpiresAt("p", k)
			if err != nil {
				t.Fatal(err)
			}
			if exp.Before(before.Add(time.Second)) {
				t.Fatalf("%s: a 1s TTL set at %v expires at %v, early", k, before, exp)
			}
			if err := s.KVDelete("p", k); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Duration(i+1) * 137 * time.Millisecond) // other fractions of a second
	}
}

func TestKVExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a TTL")
	}
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.KVSet("p", "k", []byte("v"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	exp, err := s.KVExpiresAt("p", "k")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(exp) + 1100*time.Millisecond)
	if _, err := s.KVGet("p", "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after expiry: %v", err)
	}
}
