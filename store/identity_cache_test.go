package store

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// TestReadCacheSeesEveryAcknowledgedWrite: readers hammer LookupUser and
// IsMember (filling the cache) while a writer flips a membership and a
// login; after each Write returns, a read must show it.
func TestReadCacheSeesEveryAcknowledgedWrite(t *testing.T) {
	s := openTest(t)
	write(t, s, func(tx *writeTx) error {
		if err := tx.TouchUser(UserFacts{ID: "u1", Login: "a@example.com", Email: "a@example.com"}, st(0)); err != nil {
			return err
		}
		return tx.CreateGroup(GroupFacts{ID: "g1", Name: "oncall"}, st(0))
	})
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				s.IsMember("a@example.com", "oncall")
				s.LookupUser("a@example.com")
				s.LookupUser("b@example.com")
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	for i := 1; i <= 200; i++ {
		present := i%2 == 1
		write(t, s, func(tx *writeTx) error { return tx.SetMembership("g1", "u1", present, st(i)) })
		if got, err := s.IsMember("a@example.com", "oncall"); err != nil || got != present {
			t.Fatalf("write %d: IsMember = %v, %v right after setting it to %v", i, got, err, present)
		}
		u, err := s.LookupUser("a@example.com")
		if err != nil || (len(u.Groups) == 1) != present {
			t.Fatalf("write %d: LookupUser groups %v, %v; membership %v", i, u, err, present)
		}
		if i%20 == 0 { // a new login: first absent, then present
			login := "b@example.com"
			if _, err := s.LookupUser(login); !errors.Is(err, ErrNotFound) && i == 20 {
				t.Fatalf("LookupUser(%s) before it exists: %v", login, err)
			}
			write(t, s, func(tx *writeTx) error {
				return tx.TouchUser(UserFacts{ID: "u2", Login: login}, st(i))
			})
			if u, err := s.LookupUser(login); err != nil || u.ID != "u2" {
				t.Fatalf("LookupUser(%s) right after it was written: %v, %v", login, u, err)
			}
		}
	}
}

// TestLookupUserReturnsACopy: callers may modify what they get without
// changing the cached answer.
func TestLookupUserReturnsACopy(t *testing.T) {
	s := openTest(t)
	write(t, s, func(tx *writeTx) error {
		return tx.TouchUser(UserFacts{ID: "u1", Login: "a@example.com"}, st(0))
	})
	u, err := s.LookupUser("a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	u.Login = "changed"
	u.Groups = append(u.Groups, "g-bogus")
	again, err := s.LookupUser("a@example.com")
	if err != nil || again.Login != "a@example.com" || len(again.Groups) != 0 {
		t.Fatalf("second lookup %+v, %v: the first caller's changes leaked into the cache", again, err)
	}
}
