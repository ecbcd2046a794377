package store

import (
	"bytes"
	"fmt"
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
