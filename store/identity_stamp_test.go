package store

import "testing"

// TestLastStamp: the newest stamp about a user or group counts its record's
// registers and its edges, so a stub known only through an edge has the
// edge's stamp; an unknown id has none.
func TestLastStamp(t *testing.T) {
	s := openTest(t)
	check := func(what string, get func(string) (Stamp, error), id string, want Stamp) {
		t.Helper()
		got, err := get(id)
		if err != nil || got != want {
			t.Errorf("%s(%s) = %+v, %v; want %+v", what, id, got, err, want)
		}
	}
	check("UserLastStamp", s.UserLastStamp, "nobody", Stamp{})
	check("UserLastStamp", s.UserLastStamp, "bad/id", Stamp{})

	// A membership add creates both ends as stubs: only the edge is stamped.
	write(t, s, func(tx *writeTx) error { return tx.SetMembership("g1", "stub", true, st(5)) })
	check("UserLastStamp", s.UserLastStamp, "stub", st(5))
	check("GroupLastStamp", s.GroupLastStamp, "g1", st(5))

	// Fields, status and deletes count; the newest wins.
	write(t, s, func(tx *writeTx) error {
		if err := tx.TouchUser(UserFacts{ID: "u1", Login: "u1@example.com"}, st(1)); err != nil {
			return err
		}
		if err := tx.SetUserStatus("u1", "ACTIVE", st(3)); err != nil {
			return err
		}
		return tx.SetGroupApp("g2", "app1", true, st(2))
	})
	check("UserLastStamp", s.UserLastStamp, "u1", st(3))
	check("GroupLastStamp", s.GroupLastStamp, "g2", st(2))
	write(t, s, func(tx *writeTx) error { return tx.DeleteUser("u1", st(7)) })
	check("UserLastStamp", s.UserLastStamp, "u1", st(7))
	// A removed edge is evidence too.
	write(t, s, func(tx *writeTx) error { return tx.SetMembership("g1", "stub", false, st(9)) })
	check("UserLastStamp", s.UserLastStamp, "stub", st(9))
	check("GroupLastStamp", s.GroupLastStamp, "g1", st(9))
	// Inside a transaction, its own writes are seen.
	write(t, s, func(tx *writeTx) error {
		if err := tx.SetMembership("g3", "u2", true, st(11)); err != nil {
			return err
		}
		for _, c := range []struct {
			get func(string) (Stamp, error)
			id  string
		}{{tx.UserLastStamp, "u2"}, {tx.GroupLastStamp, "g3"}} {
			if got, err := c.get(c.id); err != nil || got != st(11) {
				t.Errorf("in the transaction, %s = %+v, %v; want %+v", c.id, got, err, st(11))
			}
		}
		return nil
	})
}
