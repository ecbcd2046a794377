package store

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
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
