package store

import (
	"errors"

	"github.com/dgraph-io/badger/v4"
	"testing"
)

// claimCase writes, in the given order, the claims of two users on one
// login (and, optionally, the older holder's delete) and checks every read
// path resolves the login to the newer holder.
func TestLoginIndexFollowsNewestClaim(t *testing.T) {
	const login = "Pat@Example.com"
	type op struct {
		name string
		fn   func(tx *writeTx) error
	}
	older := op{"older claim", func(tx *writeTx) error {
		if err := tx.TouchUser(UserFacts{ID: "u1old", Login: login, DisplayName: "Old Pat"}, st(1)); err != nil {
			return err
		}
		return tx.SetMembership("gAdmins", "u1old", true, st(1))
	}}
	newer := op{"newer claim", func(tx *writeTx) error {
		if err := tx.TouchUser(UserFacts{ID: "u9new", Login: login, DisplayName: "New Pat"}, st(5)); err != nil {
			return err
		}
		return tx.SetMembership("gStaff", "u9new", true, st(5))
	}}
	del := op{"older holder's delete", func(tx *writeTx) error {
		if err := tx.TouchUser(UserFacts{ID: "u1old", Login: login}, st(3)); err != nil {
			return err
		}
		return tx.DeleteUser("u1old", st(3))
	}}
	for _, withDelete := range []bool{false, true} {
		ops := []op{older, newer}
		if withDelete {
			ops = append(ops, del)
		}
		permutations(len(ops), func(order []int) {
			s := openTest(t)
			names := ""
			for _, i := range order {
				names += ops[i].name + "; "
				write(t, s, ops[i].fn)
			}
			for _, ref := range []string{login, "pat@example.com"} {
				if u := mustUser(t, s, ref); u.ID != "u9new" {
					t.Fatalf("%s: LookupUser(%q) = %s, want u9new", names, ref, u.ID)
				}
				u, err := s.UserByLogin(ref)
				if err != nil || u.ID != "u9new" {
					t.Fatalf("%s: UserByLogin(%q) = %v, %v", names, ref, u, err)
				}
				u, err = s.UserByEmail(ref)
				if err != nil || u.ID != "u9new" {
					t.Fatalf("%s: UserByEmail(%q) = %v, %v", names, ref, u, err)
				}
				if ok, err := s.IsMember(ref, "gStaff"); err != nil || !ok {
					t.Fatalf("%s: IsMember(%q, gStaff) = %v, %v", names, ref, ok, err)
				}
				if ok, err := s.IsMember(ref, "gAdmins"); err != nil || ok {
					t.Fatalf("%s: IsMember(%q, gAdmins) = %v, %v: the stale holder's group", names, ref, ok, err)
				}
			}
			if u, _, err := s.UserWithGroups(login); err != nil || u.ID != "u9new" {
				t.Fatalf("%s: UserWithGroups = %v, %v", names, u, err)
			}
			var id string
			var ok bool
			write(t, s, func(tx *writeTx) error {
				var err error
				id, ok, err = tx.UserIDByLogin(login)
				return err
			})
			if !ok || id != "u9new" {
				t.Fatalf("%s: writeTx.UserIDByLogin = %q %v", names, id, ok)
			}
			if !withDelete {
				// The older holder stays readable by id.
				if u := mustUser(t, s, "u1old"); u.DisplayName != "Old Pat" {
					t.Fatalf("%s: older holder by id = %+v", names, u)
				}
			}
		})
	}
}

func TestLoginIndexRenameAndReclaim(t *testing.T) {
	s := openTest(t)
	// A holds x, B takes it over, then B renames to y (a release of x).
	write(t, s, func(tx *writeTx) error { return tx.TouchUser(UserFacts{ID: "uA", Login: "x@example.com"}, st(1)) })
	write(t, s, func(tx *writeTx) error { return tx.TouchUser(UserFacts{ID: "uB", Login: "x@example.com"}, st(2)) })
	write(t, s, func(tx *writeTx) error { return tx.TouchUser(UserFacts{ID: "uB", Login: "y@example.com"}, st(4)) })
	if u := mustUser(t, s, "y@example.com"); u.ID != "uB" {
		t.Fatalf("renamed user by new login = %s", u.ID)
	}
	// A's claim is older than B's release: A lost x when B took it.
	if _, err := s.UserByLogin("x@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("x after the newer holder renamed away: %v, want not found", err)
	}
	// A late event older than B's rename, showing B with x, changes nothing.
	write(t, s, func(tx *writeTx) error { return tx.TouchUser(UserFacts{ID: "uB", Login: "x@example.com"}, st(3)) })
	if _, err := s.UserByLogin("x@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("x after a late stale claim: %v, want not found", err)
	}
	// A newer claim by A gives it back.
	write(t, s, func(tx *writeTx) error { return tx.TouchUser(UserFacts{ID: "uA", Login: "x@example.com"}, st(6)) })
	if u := mustUser(t, s, "x@example.com"); u.ID != "uA" {
		t.Fatalf("x after A's newer claim = %s", u.ID)
	}
	// Renaming back and forth keeps one claim per value.
	write(t, s, func(tx *writeTx) error { return tx.TouchUser(UserFacts{ID: "uB", Login: "x@example.com"}, st(8)) })
	if u := mustUser(t, s, "X@example.com"); u.ID != "uB" {
		t.Fatalf("x after B's newest claim = %s", u.ID)
	}
	if _, err := s.UserByLogin("y@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("y after B left it: %v", err)
	}
}

func TestEmailIndexFollowsNewestClaim(t *testing.T) {
	s := openTest(t)
	// A synced with email x; B known from events only, whose login is x.
	write(t, s, func(tx *writeTx) error {
		return tx.TouchUser(UserFacts{ID: "uA", Login: "alice", Email: "x@example.com"}, st(1))
	})
	write(t, s, func(tx *writeTx) error { return tx.TouchUser(UserFacts{ID: "uB", Login: "x@example.com"}, st(2)) })
	u, err := s.UserByEmail("x@example.com")
	if err != nil || u.ID != "uB" {
		t.Fatalf("UserByEmail = %v, %v; want uB (newer login claim)", u, err)
	}
	// A later sync gives x as email to C: the email claim is now newest.
	write(t, s, func(tx *writeTx) error {
		return tx.TouchUser(UserFacts{ID: "uC", Login: "carol", Email: "x@example.com"}, st(3))
	})
	if u, err = s.UserByEmail("x@example.com"); err != nil || u.ID != "uC" {
		t.Fatalf("UserByEmail = %v, %v; want uC", u, err)
	}
	// By login, x is still B's.
	if u := mustUser(t, s, "x@example.com"); u.ID != "uB" {
		t.Fatalf("LookupUser = %s, want uB (the login)", u.ID)
	}
}

func TestLegacyIndexEntriesStillResolve(t *testing.T) {
	s := openTest(t)
	write(t, s, func(tx *writeTx) error { return tx.TouchUser(UserFacts{ID: "uA", Login: "x@example.com"}, st(1)) })
	write(t, s, func(tx *writeTx) error { return tx.TouchUser(UserFacts{ID: "uB", Login: "x@example.com"}, st(2)) })
	// Rewrite both entries as the unstamped entries of older stores.
	err := s.update(func(txn *badger.Txn) error {
		for _, id := range []string{"uA", "uB"} {
			if err := txn.Set(indexKey(pLogin, "x@example.com", id), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if u := mustUser(t, s, "x@example.com"); u.ID != "uB" {
		t.Fatalf("legacy entries: %s, want uB (newer register)", u.ID)
	}
}
