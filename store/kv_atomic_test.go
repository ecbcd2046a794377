package store

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestKVIncrConcurrent(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	seen := make(chan int64, workers*each)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				n, err := s.KVIncr("p", "hits", 1, 0)
				if err != nil {
					errs <- err
					return
				}
				seen <- n
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(seen)
	for err := range errs {
		t.Fatal(err)
	}
	// Every caller saw a distinct new value: no two increments were merged.
	got := map[int64]bool{}
	for n := range seen {
		if got[n] {
			t.Fatalf("value %d returned twice", n)
		}
		got[n] = true
	}
	v, err := s.KVGet("p", "hits")
	if err != nil || string(v) != strconv.Itoa(workers*each) {
		t.Fatalf("hits = %q, %v; want %d", v, err, workers*each)
	}
	if n, err := s.KVIncr("p", "hits", -200, 0); err != nil || n != 0 {
		t.Fatalf("incr -200 = %d, %v", n, err)
	}
}

func TestKVIncrErrorsAndTTL(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.KVSet("p", "text", []byte("abc"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KVIncr("p", "text", 1, 0); !errors.Is(err, ErrKVNotInteger) {
		t.Fatalf("incr of text: %v", err)
	}
	if err := s.KVSet("p", "big", []byte(strconv.FormatInt(1<<62, 10)), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KVIncr("p", "big", 1<<62, 0); !errors.Is(err, ErrKVNotInteger) {
		t.Fatalf("overflow: %v", err)
	}
	// The ttl applies at creation; later increments keep the expiry.
	if _, err := s.KVIncr("p", "win", 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	exp1, err := s.KVExpiresAt("p", "win")
	if err != nil || exp1.IsZero() {
		t.Fatalf("expiry after create: %v %v", exp1, err)
	}
	if _, err := s.KVIncr("p", "win", 1, 10*time.Hour); err != nil {
		t.Fatal(err)
	}
	if exp2, _ := s.KVExpiresAt("p", "win"); !exp2.Equal(exp1) {
		t.Fatalf("expiry moved from %v to %v", exp1, exp2)
	}
	if _, err := s.KVIncr("", "k", 1, 0); !errors.Is(err, ErrKVBadKey) {
		t.Fatalf("bad plugin name: %v", err)
	}
}

func TestKVCompareAndSet(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ok, err := s.KVCompareAndSet("p", "k", nil, false, []byte("a"), 0)
	if err != nil || !ok {
		t.Fatalf("create: %v %v", ok, err)
	}
	if ok, _ := s.KVCompareAndSet("p", "k", nil, false, []byte("b"), 0); ok {
		t.Fatal("create over an existing key succeeded")
	}
	if ok, _ := s.KVCompareAndSet("p", "k", []byte("x"), true, []byte("b"), 0); ok {
		t.Fatal("swap with the wrong old value succeeded")
	}
	if ok, _ := s.KVCompareAndSet("p", "k", []byte("a"), true, []byte("b"), 0); !ok {
		t.Fatal("swap with the right old value failed")
	}
	if v, _ := s.KVGet("p", "k"); string(v) != "b" {
		t.Fatalf("k = %q", v)
	}
	// Concurrent CAS-loop increments lose nothing either.
	const workers, each = 6, 20
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				for {
					cur, err := s.KVGet("p", "n")
					present := err == nil
					n, _ := strconv.Atoi(string(cur))
					ok, err := s.KVCompareAndSet("p", "n", cur, present, []byte(strconv.Itoa(n+1)), 0)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	if v, _ := s.KVGet("p", "n"); string(v) != strconv.Itoa(workers*each) {
		t.Fatalf("n = %q, want %d", v, workers*each)
	}
}
