package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

var t0 = time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)

// st returns a stamp n minutes after t0.
func st(n int) Stamp {
	return Stamp{Published: t0.Add(time.Duration(n) * time.Minute), UUID: fmt.Sprintf("uuid-%03d", n)}
}

func write(t *testing.T, s *Store, fn func(tx *writeTx) error) {
	t.Helper()
	if err := s.write(fn); err != nil {
		t.Fatal(err)
	}
}

func mustUser(t *testing.T, s *Store, ref string) *User {
	t.Helper()
	u, err := s.LookupUser(ref)
	if err != nil {
		t.Fatalf("lookup user %q: %v", ref, err)
	}
	return u
}

func mustGroup(t *testing.T, s *Store, id string) *Group {
	t.Helper()
	g, err := s.Group(id)
	if err != nil {
		t.Fatalf("group %q: %v", id, err)
	}
	return g
}

func status(u *User) string {
	if u.Status == nil {
		return "<nil>"
	}
	return *u.Status
}

func TestStubUserAndFieldLWW(t *testing.T) {
	s := openTest(t)
	write(t, s, func(tx *writeTx) error {
		return tx.TouchUser(UserFacts{ID: "u1", Login: "Alice@Example.com", DisplayName: "Alice"}, st(5))
	})
	u := mustUser(t, s, "u1")
	if u.Status != nil || u.Login != "Alice@Example.com" || u.DisplayName != "Alice" {
		t.Fatalf("stub user = %+v status %s", u, status(u))
	}
	if u.Groups == nil || u.Apps == nil {
		t.Fatal("nil slices in user")
	}
	b, _ := json.Marshal(u)
	if want := `"status":null,"groups":[],"apps":[]`; !contains(string(b), want) {
		t.Fatalf("json %s lacks %s", b, want)
	}
	// Older write loses, empty never overwrites, newer wins.
	write(t, s, func(tx *writeTx) error {
		if err := tx.TouchUser(UserFacts{ID: "u1", DisplayName: "Old Name", Email: "a@x.com"}, st(3)); err != nil {
			return err
		}
		return tx.TouchUser(UserFacts{ID: "u1", DisplayName: "", FirstName: "Al"}, st(9))
	})
	u = mustUser(t, s, "alice@example.COM")
	if u.DisplayName != "Alice" || u.Email != "a@x.com" || u.FirstName != "Al" {
		t.Fatalf("after LWW: %+v", u)
	}
	if got := mustUser(t, s, "A@X.com"); got.ID != "u1" {
		t.Fatalf("by email: %+v", got)
	}
	// Login change moves the index.
	write(t, s, func(tx *writeTx) error {
		return tx.TouchUser(UserFacts{ID: "u1", Login: "alice.new@example.com"}, st(10))
	})
	if _, err := s.UserByLogin("alice@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old login still resolves: %v", err)
	}
	if u, err := s.UserByLogin("ALICE.new@example.com"); err != nil || u.ID != "u1" {
		t.Fatalf("new login: %v %v", u, err)
	}
	// Email falls back to login.
	if u, err := s.UserByEmail("alice.new@example.com"); err != nil || u.ID != "u1" {
		t.Fatalf("email->login fallback: %v %v", u, err)
	}
	if _, err := s.UserByID("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func contains(s, sub string) bool { return len(sub) == 0 || indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// permutations calls fn with every ordering of 0..n-1.
func permutations(n int, fn func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k == n {
			fn(append([]int(nil), p...))
			return
		}
		for i := k; i < n; i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}

func TestStatusOutOfOrderAllPermutations(t *testing.T) {
	type op struct {
		status string // "" = delete
		at     Stamp
	}
	ops := []op{{"STAGED", st(1)}, {"ACTIVE", st(2)}, {"SUSPENDED", st(3)}, {"", st(4)}, {"ACTIVE", st(5)}}
	s := openTest(t) // one store, one user per ordering
	run := func(id string, order []int) {
		for _, i := range order {
			o := ops[i]
			write(t, s, func(tx *writeTx) error {
				if o.status == "" {
					return tx.DeleteUser(id, o.at)
				}
				return tx.SetUserStatus(id, o.status, o.at)
			})
		}
	}
	permutations(len(ops), func(order []int) {
		id := fmt.Sprintf("all%v", order)
		run(id, order)
		if u := mustUser(t, s, id); status(u) != "ACTIVE" {
			t.Fatalf("order %v: status %s", order, status(u))
		}
	})
	// Without the late re-activation the delete wins in any order.
	permutations(4, func(order []int) {
		id := fmt.Sprintf("del%v", order)
		run(id, order)
		if _, err := s.UserByID(id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("order %v: deleted user readable: %v", order, err)
		}
	})
}

func TestEdgePermutationsConverge(t *testing.T) {
	type op struct {
		present bool
		at      Stamp
	}
	seqs := [][]op{
		{{true, st(1)}, {false, st(2)}, {true, st(3)}},
		{{false, st(1)}, {true, st(2)}, {false, st(3)}},
	}
	for _, seq := range seqs {
		want := seq[len(seq)-1].present
		permutations(len(seq), func(order []int) {
			s := openTest(t)
			for _, i := range order {
				o := seq[i]
				write(t, s, func(tx *writeTx) error {
					if err := tx.SetMembership("g1", "u1", o.present, o.at); err != nil {
						return err
					}
					if err := tx.SetGroupApp("g1", "a1", o.present, o.at); err != nil {
						return err
					}
					return tx.SetAppUser("a1", "u1", o.present, o.at)
				})
			}
			ok, err := s.IsMember("u1", "g1")
			if err != nil || ok != want {
				t.Fatalf("order %v: member=%v err=%v want %v", order, ok, err, want)
			}
			g, u, a := mustGroup(t, s, "g1"), mustUser(t, s, "u1"), mustApp(t, s, "a1")
			var wantIDs func(id string) []string = func(id string) []string {
				if want {
					return []string{id}
				}
				return []string{}
			}
			if !reflect.DeepEqual(g.Members, wantIDs("u1")) || !reflect.DeepEqual(u.Groups, wantIDs("g1")) ||
				!reflect.DeepEqual(g.Apps, wantIDs("a1")) || !reflect.DeepEqual(a.Groups, wantIDs("g1")) ||
				!reflect.DeepEqual(u.Apps, wantIDs("a1")) || !reflect.DeepEqual(a.Users, wantIDs("u1")) {
				t.Fatalf("order %v: g=%+v u=%+v a=%+v", order, g, u, a)
			}
		})
	}
}

func mustApp(t *testing.T, s *Store, id string) *App {
	t.Helper()
	a, err := s.App(id)
	if err != nil {
		t.Fatalf("app %q: %v", id, err)
	}
	return a
}

func TestGroupDeleteHidesEdgesAndLateAddsDoNotResurrect(t *testing.T) {
	s := openTest(t)
	write(t, s, func(tx *writeTx) error {
		if err := tx.CreateGroup(GroupFacts{ID: "g1", Name: "oncall"}, st(1)); err != nil {
			return err
		}
		if err := tx.SetMembership("g1", "u1", true, st(2)); err != nil {
			return err
		}
		if err := tx.SetGroupApp("g1", "a1", true, st(2)); err != nil {
			return err
		}
		return tx.DeleteGroup("g1", st(5))
	})
	// A late, older add, and a late older create.
	write(t, s, func(tx *writeTx) error {
		if err := tx.SetMembership("g1", "u2", true, st(3)); err != nil {
			return err
		}
		return tx.CreateGroup(GroupFacts{ID: "g1", Name: "oncall"}, st(0))
	})
	if _, err := s.Group("g1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted group readable: %v", err)
	}
	if _, err := s.LookupGroup("oncall"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted group by name: %v", err)
	}
	for _, id := range []string{"u1", "u2"} {
		if u := mustUser(t, s, id); len(u.Groups) != 0 {
			t.Fatalf("%s still in %v", id, u.Groups)
		}
	}
	if a := mustApp(t, s, "a1"); len(a.Groups) != 0 {
		t.Fatalf("app still assigned to %v", a.Groups)
	}
	// Recreated later: old edges stay gone, a newer edge shows.
	write(t, s, func(tx *writeTx) error {
		if err := tx.CreateGroup(GroupFacts{ID: "g1", Name: "oncall-2"}, st(6)); err != nil {
			return err
		}
		return tx.SetMembership("g1", "u3", true, st(7))
	})
	g, err := s.LookupGroup("ONCALL-2")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Members, []string{"u3"}) || len(g.Apps) != 0 {
		t.Fatalf("recreated group %+v", g)
	}
}

func TestUserDeleteHidesEdges(t *testing.T) {
	s := openTest(t)
	write(t, s, func(tx *writeTx) error {
		for _, e := range []error{
			tx.TouchUser(UserFacts{ID: "u1", Login: "carol@example.com"}, st(1)),
			tx.SetUserStatus("u1", "ACTIVE", st(1)),
			tx.SetMembership("g1", "u1", true, st(2)),
			tx.SetMembership("g1", "u2", true, st(2)),
			tx.SetAppUser("a1", "u1", true, st(2)),
			tx.DeleteUser("u1", st(4)),
		} {
			if e != nil {
				return e
			}
		}
		return nil
	})
	if _, err := s.LookupUser("carol@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted user by login: %v", err)
	}
	if g := mustGroup(t, s, "g1"); !reflect.DeepEqual(g.Members, []string{"u2"}) {
		t.Fatalf("members %v", g.Members)
	}
	if a := mustApp(t, s, "a1"); len(a.Users) != 0 {
		t.Fatalf("app users %v", a.Users)
	}
	if ok, err := s.IsMember("u1", "g1"); ok || err != nil {
		t.Fatalf("deleted user is member: %v %v", ok, err)
	}
	if ok, err := s.IsMember("u2", "g1"); !ok || err != nil {
		t.Fatalf("u2 member: %v %v", ok, err)
	}
	users, _, err := s.ListUsers("", 0)
	if err != nil || len(users) != 1 || users[0].ID != "u2" {
		t.Fatalf("list users %+v %v", users, err)
	}
}

func TestPagination(t *testing.T) {
	s := openTest(t)
	write(t, s, func(tx *writeTx) error {
		for i := range 7 {
			id := fmt.Sprintf("u%02d", i)
			if err := tx.TouchUser(UserFacts{ID: id, Login: id + "@x"}, st(1)); err != nil {
				return err
			}
			if err := tx.TouchGroup(GroupFacts{ID: fmt.Sprintf("g%02d", i), Name: id}, st(1)); err != nil {
				return err
			}
			if err := tx.TouchApp(AppFacts{ID: fmt.Sprintf("a%02d", i), Name: id}, st(1)); err != nil {
				return err
			}
		}
		// A deleted user at the end must not produce a cursor to an empty page.
		if err := tx.TouchUser(UserFacts{ID: "u99"}, st(1)); err != nil {
			return err
		}
		if err := tx.DeleteUser("u99", st(2)); err != nil {
			return err
		}
		return tx.DeleteUser("u03", st(2))
	})
	var got []string
	after := ""
	pages := 0
	for {
		page, next, err := s.ListUsers(after, 2)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range page {
			got = append(got, u.ID)
		}
		if next == "" {
			break
		}
		after = next
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	want := []string{"u00", "u01", "u02", "u04", "u05", "u06"}
	if !reflect.DeepEqual(got, want) || pages != 3 {
		t.Fatalf("pages %d users %v", pages, got)
	}
	gs, next, err := s.ListGroups("g05", 10)
	if err != nil || len(gs) != 1 || gs[0].ID != "g06" || next != "" || gs[0].Members == nil {
		t.Fatalf("groups %+v %q %v", gs, next, err)
	}
	as, next, err := s.ListApps("", 3)
	if err != nil || len(as) != 3 || next != "a02" || as[0].Users == nil {
		t.Fatalf("apps %+v %q %v", as, next, err)
	}
	empty, next, err := s.ListUsers("zzz", 5)
	if err != nil || empty == nil || len(empty) != 0 || next != "" {
		t.Fatalf("past end: %v %q %v", empty, next, err)
	}
}

func TestBadIDsRefused(t *testing.T) {
	s := openTest(t)
	for _, id := range []string{"", "a/b", "a\x00b"} {
		err := s.write(func(tx *writeTx) error { return tx.TouchUser(UserFacts{ID: id}, st(1)) })
		if err == nil {
			t.Fatalf("id %q accepted", id)
		}
		err = s.write(func(tx *writeTx) error { return tx.SetMembership("g", id, true, st(1)) })
		if err == nil {
			t.Fatalf("edge id %q accepted", id)
		}
	}
}

func TestEventLog(t *testing.T) {
	s := openTest(t)
	recv := t0.Add(time.Hour)
	write(t, s, func(tx *writeTx) error {
		for i, typ := range []string{"a.b", "c.d", "a.b"} {
			ev := EventRecord{UUID: fmt.Sprintf("e%d", i), Type: typ, Published: st(i).Published, Received: recv,
				Raw: json.RawMessage(fmt.Sprintf(`{"uuid":"e%d"}`, i))}
			if err := tx.RecordEvent(ev, time.Time{}); err != nil {
				return err
			}
		}
		if seen, err := tx.SeenEvent("e1"); err != nil || !seen {
			return fmt.Errorf("own write not seen: %v %v", seen, err)
		}
		return nil
	})
	write(t, s, func(tx *writeTx) error {
		if seen, err := tx.SeenEvent("e9"); err != nil || seen {
			return fmt.Errorf("unknown seen: %v %v", seen, err)
		}
		return nil
	})
	all, err := s.Events("", 0)
	if err != nil || len(all) != 3 || all[0].UUID != "e2" || all[2].UUID != "e0" {
		t.Fatalf("events %+v %v", all, err)
	}
	if !all[0].Published.Equal(st(2).Published) || !all[0].Received.Equal(recv) || string(all[0].Raw) != `{"uuid":"e2"}` {
		t.Fatalf("record %+v", all[0])
	}
	ab, err := s.Events("a.b", 1)
	if err != nil || len(ab) != 1 || ab[0].UUID != "e2" {
		t.Fatalf("typed %+v %v", ab, err)
	}
	none, err := s.Events("x.y", 5)
	if err != nil || none == nil || len(none) != 0 {
		t.Fatalf("none %v %v", none, err)
	}
}

func TestRejected(t *testing.T) {
	s := openTest(t)
	for i := range 3 {
		write(t, s, func(tx *writeTx) error {
			return tx.RecordRejected(Rejected{EnvelopeID: "env", Index: i, Reason: fmt.Sprintf("r%d", i), Received: t0, Raw: json.RawMessage(`{"x":1}`)})
		})
	}
	rs, err := s.RejectedEvents(2)
	if err != nil || len(rs) != 2 || rs[0].Seq != 3 || rs[0].Reason != "r2" || rs[1].Seq != 2 || string(rs[0].Raw) != `{"x":1}` {
		t.Fatalf("rejected %+v %v", rs, err)
	}
}

func TestLastAppliedMonotonicUnderConcurrency(t *testing.T) {
	s := openTest(t)
	if got, err := s.LastAppliedPublished(); err != nil || !got.IsZero() {
		t.Fatalf("empty store: %v %v", got, err)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.write(func(tx *writeTx) error { return tx.SetLastAppliedPublished(st(i).Published) }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	write(t, s, func(tx *writeTx) error { return tx.SetLastAppliedPublished(st(3).Published) })
	got, err := s.LastAppliedPublished()
	if err != nil || !got.Equal(st(39).Published) {
		t.Fatalf("last applied %v %v", got, err)
	}
}

// TestLastAppliedLeavesOneEntry: raises delete the previous greatest entry,
// and the periodic sweep removes what concurrent raises left behind, so the
// watermark keeps one live key however many batches were ingested.
func TestLastAppliedLeavesOneEntry(t *testing.T) {
	s := openTest(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				if err := s.write(func(tx *writeTx) error { return tx.SetLastAppliedPublished(st(g*40 + i).Published) }); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for i := range lapSweepEvery {
		write(t, s, func(tx *writeTx) error { return tx.SetLastAppliedPublished(st(1000 + i).Published) })
	}
	live := 0
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(pLastApplied)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			live++
		}
		return nil
	})
	if err != nil || live != 1 {
		t.Fatalf("%d live watermark entries (want 1), err %v", live, err)
	}
	if got, err := s.LastAppliedPublished(); err != nil || !got.Equal(st(1000+lapSweepEvery-1).Published) {
		t.Fatalf("last applied %v %v", got, err)
	}
}

// TestLastAppliedCachedTop: the greatest watermark key is kept in memory
// once known (a reverse seek over the tombstones of every earlier raise
// made each raise cost more than the one before); what it answers
// matches the committed view after a reopen, and a restore (a lower
// watermark) replaces it rather than leaving the old one cached.
func TestLastAppliedCachedTop(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		write(t, s, func(tx *writeTx) error { return tx.SetLastAppliedPublished(st(100 + i).Published) })
	}
	write(t, s, func(tx *writeTx) error { return tx.SetLastAppliedPublished(st(5).Published) }) // never lowers
	if got, err := s.LastAppliedPublished(); err != nil || !got.Equal(st(119).Published) {
		t.Fatalf("last applied %v %v", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.LastAppliedPublished(); err != nil || !got.Equal(st(119).Published) {
		t.Fatalf("after reopen: last applied %v %v", got, err)
	}

	// A backup of a store whose watermark is lower.
	low := openTest(t)
	write(t, low, func(tx *writeTx) error { return tx.SetLastAppliedPublished(st(7).Published) })
	var buf bytes.Buffer
	if err := low.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	if err := s.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LastAppliedPublished(); err != nil || !got.Equal(st(7).Published) {
		t.Fatalf("after restore: last applied %v %v, want the backup's", got, err)
	}
	write(t, s, func(tx *writeTx) error { return tx.SetLastAppliedPublished(st(8).Published) })
	if got, err := s.LastAppliedPublished(); err != nil || !got.Equal(st(8).Published) {
		t.Fatalf("raise after restore: last applied %v %v", got, err)
	}
}
