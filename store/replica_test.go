package store

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestReplicaBackupRestore: a store restored from another's backup holds
// exactly its data and applied index, and entries applied after the
// restore are visible (whatever the two stores' Badger versions were).
func TestReplicaBackupRestore(t *testing.T) {
	for _, c := range [][2]int{{50, 300}, {300, 20}} {
		t.Run(fmt.Sprint(c), func(t *testing.T) { testBackupRestore(t, c[0], c[1]) })
	}
}

func testBackupRestore(t *testing.T, na, nb int) {
	a, b := openTest(t), openTest(t)
	entry := func(n int) []byte {
		op := &OpApplyIdentity{Changes: []IdentityChange{
			TouchUser(UserFacts{ID: fmt.Sprintf("u%d", n)}, st(n)),
			SetMembership("g1", fmt.Sprintf("u%d", n), true, st(n)),
		}}
		data, err := EncodeOp(op)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	// b has many more Badger commits than a (its own unrelated writes),
	// then the other way round.
	for i := range nb {
		if _, err := b.ApplyEntry(uint64(i+1), entry(1000+i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range na {
		if _, err := a.ApplyEntry(uint64(i+1), entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := a.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	if err := b.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if idx, err := b.AppliedIndex(); err != nil || idx != uint64(na) {
		t.Fatalf("applied index after restore %d %v", idx, err)
	}
	for i := na; i < na+10; i++ {
		if _, err := b.ApplyEntry(uint64(i+1), entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	g, err := b.Group("g1")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Members) != na+10 {
		t.Errorf("after restore and 10 more entries: %d members, want %d", len(g.Members), na+10)
	}
}

// logWriter applies each op to its store as a Raft entry (ApplyEntry,
// one commit each) and keeps the entries and their results.
type logWriter struct {
	t       *testing.T
	s       *Store
	entries []Entry
	results []EntryResult
}

func (w *logWriter) Apply(op Op) (any, error) {
	data, err := EncodeOp(op)
	if err != nil {
		w.t.Fatal(err)
	}
	e := Entry{Index: uint64(len(w.entries) + 1), Data: data}
	v, err := w.s.ApplyEntry(e.Index, e.Data)
	w.entries = append(w.entries, e)
	w.results = append(w.results, EntryResult{v, err})
	return v, err
}

// TestApplyEntriesMatchesOneByOne: entries applied in batches (runs in
// one transaction) give each entry the result it got applied alone and
// leave the store byte-for-byte as applying them one at a time did,
// whatever the batch sizes; an entry that fails inside a run fails alone
// (the run is reapplied entry by entry) and the others still apply.
func TestApplyEntriesMatchesOneByOne(t *testing.T) {
	a := openTest(t)
	w := &logWriter{t: t, s: a}
	a.SetWriter(w)
	writeEveryOp(t, a)
	// A run with a failing op in the middle.
	if _, err := a.TransitionGrant(OpGrantTransition{ID: "no-such-grant", To: GrantRevoked}); err == nil {
		t.Fatal("transition of an unknown grant succeeded")
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.ApplyIdentity(TouchUser(UserFacts{ID: "u9", Login: "nine@example.com"}, st(9))))
	if _, err := a.TransitionGrant(OpGrantTransition{ID: "no-such-grant", To: GrantRevoked}); err == nil {
		t.Fatal("transition of an unknown grant succeeded")
	}
	must(a.ApplyIdentity(SetMembership("g1", "u9", true, st(9))))
	failed := 0
	for _, r := range w.results {
		if r.Err != nil {
			failed++
		}
	}
	if len(w.entries) < 30 || failed != 2 {
		t.Fatalf("%d entries, %d failed (want 2)", len(w.entries), failed)
	}
	want := dump(t, a)
	for _, size := range []int{2, 5, 64} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			b := openTest(t)
			var got []EntryResult
			for i := 0; i < len(w.entries); i += size {
				got = append(got, b.ApplyEntries(w.entries[i:min(i+size, len(w.entries))])...)
			}
			for i, r := range got {
				exp := w.results[i]
				if (r.Err == nil) != (exp.Err == nil) || fmt.Sprint(r.Value) != fmt.Sprint(exp.Value) {
					t.Errorf("entry %d (%s): batched %v %v, alone %v %v", i+1, w.entries[i].Data[1:16], r.Value, r.Err, exp.Value, exp.Err)
				}
			}
			if have := dump(t, b); !slices.Equal(have, want) {
				for _, k := range have {
					if !slices.Contains(want, k) {
						t.Errorf("batched only: %s", k)
					}
				}
				for _, k := range want {
					if !slices.Contains(have, k) {
						t.Errorf("one by one only: %s", k)
					}
				}
				t.Fatal("batched store differs")
			}
		})
	}
}

// TestIDSlotsPerNode: the configuration entries give every node an id
// slot, the same on every node's store, never reused; two nodes whose
// clocks read the same nanosecond mint different ids (each in its slot),
// where two single nodes would have minted the same one; a block of ids
// for grant expiries stays in the slot.
func TestIDSlotsPerNode(t *testing.T) {
	a, b := openTest(t), openTest(t)
	for _, s := range []*Store{a, b} {
		if err := s.ApplyConfiguration(1, []string{"n2", "n1", "n3"}); err != nil {
			t.Fatal(err)
		}
		// n2 removed, n4 added: n4 gets a new slot, n2's is not reused.
		if err := s.ApplyConfiguration(7, []string{"n1", "n3", "n4"}); err != nil {
			t.Fatal(err)
		}
	}
	if idx, err := a.AppliedIndex(); err != nil || idx != 7 {
		t.Fatalf("applied index %d %v", idx, err)
	}
	if ok, err := a.UseSlotOf("n1"); err != nil || !ok {
		t.Fatalf("n1 has no slot: %v", err)
	}
	if ok, err := b.UseSlotOf("n4"); err != nil || !ok {
		t.Fatalf("n4 has no slot: %v", err)
	}
	if a.idSlot.Load() != 1 || b.idSlot.Load() != 4 {
		t.Fatalf("slots n1 %d, n4 %d; want 1 and 4", a.idSlot.Load(), b.idSlot.Load())
	}
	// Both "processes" see the same clock reading: set the shared clock
	// far ahead so each mint starts from the same value.
	same := uint64(time.Now().Add(time.Hour).UnixNano())
	mint := func(s *Store) string {
		seqIDClock.Store(same)
		return s.newSeqID()
	}
	single := openTest(t)
	if x, y := mint(single), mint(single); x != y {
		t.Fatalf("the simulated same-nanosecond clock does not work: %s %s", x, y)
	}
	ia, ib := mint(a), mint(b)
	if ia == ib {
		t.Fatalf("nodes n1 and n4 minted the same id %s", ia)
	}
	for s, id := range map[uint64]string{1: ia, 4: ib} {
		v, err := strconv.ParseUint(id, 16, 64)
		if err != nil || v%idSlots != s || v <= same {
			t.Errorf("id %s: not after the clock in slot %d (%v)", id, s, err)
		}
	}
	// Expired grants claimed on n4 get deprovisioning ids in n4's slot.
	b.SetWriter(nil)
	now := time.Now()
	for _, app := range []string{"aws", "jira", "okta"} {
		if err := b.PutGrant(&Grant{User: "ann@example.com", App: app, Plugin: "p", GrantedAt: now, ExpiresAt: now.Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.ClaimExpiredGrants(now, 10, &QueueItem{Kind: "deprovision-grant"}); err != nil {
		t.Fatal(err)
	}
	items, _, err := b.ClaimDue(now.Add(time.Second), 10, "w", time.Minute)
	if err != nil || len(items) != 3 {
		t.Fatalf("claimed %d deprovisionings: %v", len(items), err)
	}
	for _, it := range items {
		if v, _ := strconv.ParseUint(it.ID, 16, 64); v%idSlots != 4 {
			t.Errorf("deprovisioning id %s is not in slot 4", it.ID)
		}
	}
	// The slots survive in a backup (a node catching up from a snapshot).
	var buf bytes.Buffer
	if err := a.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	c := openTest(t)
	if err := c.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.UseSlotOf("n3"); err != nil || !ok || c.idSlot.Load() != 3 {
		t.Fatalf("restored n3 slot %d %v %v", c.idSlot.Load(), ok, err)
	}
}

// TestEntriesSealed: a store with an encryption key seals its log
// entries (no profile value in clear); a store with the same key applies
// them, one with another key or none refuses them.
func TestEntriesSealed(t *testing.T) {
	open := func(key []byte) *Store {
		s, err := Open(t.TempDir(), Options{EncryptionKey: key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	key := bytes.Repeat([]byte{1}, 32)
	op := &OpApplyIdentity{Changes: []IdentityChange{TouchUser(UserFacts{ID: "u1", Login: "secret-login@example.com"}, st(1))}}
	data, err := open(key).EncodeEntry(op)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("secret-login")) || data[0] != opFormatSealed {
		t.Fatalf("entry not sealed: %q", data)
	}
	if plain, _ := open(nil).EncodeEntry(op); !bytes.Contains(plain, []byte("secret-login")) {
		t.Fatal("control: a store without a key does not write the login in its entry")
	}
	same := open(key)
	if _, err := same.ApplyEntry(1, data); err != nil {
		t.Fatal(err)
	}
	if u, err := same.UserByID("u1"); err != nil || u.Login != "secret-login@example.com" {
		t.Fatalf("applied sealed entry: %+v %v", u, err)
	}
	for _, k := range [][]byte{bytes.Repeat([]byte{2}, 32), nil} {
		if _, err := open(k).ApplyEntry(1, data); err == nil {
			t.Errorf("a store with key %x applied the entry", k)
		}
	}
}
