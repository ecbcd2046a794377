package store

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// openKeyed opens a store in a temp dir with key (nil: none).
func openKeyed(t *testing.T, key []byte) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{EncryptionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// userEntry is the encoded entry (by s) that writes user id.
func userEntry(t *testing.T, s *Store, id string) []byte {
	t.Helper()
	b, err := s.EncodeEntry(&OpApplyIdentity{Changes: []IdentityChange{TouchUser(UserFacts{ID: id, Login: id + "@example.com"}, st(1))}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEntryKeyID: a sealed entry is the format byte 0x03, the store's
// 8-byte key id, a nonce and the ciphertext, with the key id in the
// additional data; the id is the same for the same key, differs for
// another, is not a prefix of the sealing key, and is "none" without a
// key.
func TestEntryKeyID(t *testing.T) {
	keyA, keyB := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	a, a2, b := openKeyed(t, keyA), openKeyed(t, keyA), openKeyed(t, keyB)
	if a.EntryKeyID() != a2.EntryKeyID() || a.EntryKeyID() == b.EntryKeyID() || len(a.EntryKeyID()) != 16 {
		t.Fatalf("key ids: A %s, A again %s, B %s", a.EntryKeyID(), a2.EntryKeyID(), b.EntryKeyID())
	}
	if got := openKeyed(t, nil).EntryKeyID(); got != "none" {
		t.Fatalf("key id without a key: %q", got)
	}
	sealKey, err := hkdf.Key(sha256.New, keyA, nil, "hookgate raft log entry v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(sealKey[:keyIDLen]) == a.EntryKeyID() || bytes.Contains(keyA, a.entryKeyID) {
		t.Fatal("the key id is a prefix of the sealing key or the store key")
	}
	data := userEntry(t, a, "u1")
	if data[0] != 0x03 || hex.EncodeToString(data[1:9]) != a.EntryKeyID() {
		t.Fatalf("entry head %x, key id %s", data[:9], a.EntryKeyID())
	}
	aead, _, err := entryAEAD(keyA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aead.Open(nil, data[9:21], data[21:], data[:9]); err != nil {
		t.Fatalf("entry does not open with the format byte and key id as additional data: %v", err)
	}
	if _, err := aead.Open(nil, data[9:21], data[21:], data[:1]); err == nil {
		t.Fatal("the key id is not in the additional data")
	}
	if _, err := a2.ApplyEntry(1, data); err != nil {
		t.Fatal(err)
	}
}

// TestEntryOldSealedFormat: entries sealed in the format before key ids
// (0x02: format byte, nonce, ciphertext; additional data the format
// byte) still apply on a store with the same key, and are a key mismatch
// on one with another key or none.
func TestEntryOldSealedFormat(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	plain, err := EncodeOp(&OpApplyIdentity{Changes: []IdentityChange{TouchUser(UserFacts{ID: "u1"}, st(1))}})
	if err != nil {
		t.Fatal(err)
	}
	aead, _, err := entryAEAD(key)
	if err != nil {
		t.Fatal(err)
	}
	old := make([]byte, 13, 13+len(plain)+aead.Overhead())
	old[0] = 0x02
	copy(old[1:13], "twelve bytes")
	old = aead.Seal(old, old[1:13], plain, old[:1])
	s := openKeyed(t, key)
	if _, err := s.ApplyEntry(1, old); err != nil {
		t.Fatalf("old sealed entry: %v", err)
	}
	if _, err := s.UserByID("u1"); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string][]byte{"another key": bytes.Repeat([]byte{2}, 32), "no key": nil} {
		if _, err := openKeyed(t, k).ApplyEntry(1, old); !errors.Is(err, ErrEntryKeyMismatch) {
			t.Errorf("%s: old sealed entry gave %v, want ErrEntryKeyMismatch", name, err)
		}
	}
}

// TestEntryKeyMismatch: the three ways a node and an entry disagree on
// the key are ErrEntryKeyMismatch (and not ErrEntryCorrupt), naming the
// key ids where there are two; damage under the right key id is
// ErrEntryCorrupt (and not a key mismatch); nothing is applied.
func TestEntryKeyMismatch(t *testing.T) {
	keyA, keyB := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	a, b, none := openKeyed(t, keyA), openKeyed(t, keyB), openKeyed(t, nil)
	sealed, plain := userEntry(t, a, "u1"), userEntry(t, none, "u1")
	damaged := slices.Clone(sealed)
	damaged[len(damaged)-1] ^= 1
	cases := []struct {
		name    string
		s       *Store
		data    []byte
		want    error
		mention []string
	}{
		{"plain node, sealed entry", openKeyed(t, nil), sealed, ErrEntryKeyMismatch, []string{"no store key", a.EntryKeyID()}},
		{"another key", b, sealed, ErrEntryKeyMismatch, []string{"another store key", a.EntryKeyID(), b.EntryKeyID()}},
		{"keyed node, plain entry", openKeyed(t, keyA), plain, ErrEntryKeyMismatch, []string{"not encrypted"}},
		{"damaged", openKeyed(t, keyA), damaged, ErrEntryCorrupt, nil},
		{"truncated", openKeyed(t, keyA), sealed[:15], ErrEntryCorrupt, nil},
		{"garbage", openKeyed(t, nil), []byte("\x01nonsense"), ErrEntryCorrupt, nil},
	}
	for _, c := range cases {
		_, err := c.s.ApplyEntry(7, c.data)
		other := ErrEntryCorrupt
		if c.want == ErrEntryCorrupt {
			other = ErrEntryKeyMismatch
		}
		if !errors.Is(err, c.want) || errors.Is(err, other) {
			t.Errorf("%s: %v, want %v only", c.name, err, c.want)
			continue
		}
		for _, m := range c.mention {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: %q does not mention %q", c.name, err, m)
			}
		}
		if idx, _ := c.s.AppliedIndex(); idx != 0 {
			t.Errorf("%s: applied index %d after a refused entry", c.name, idx)
		}
	}
}

// TestApplyEntriesStopsAtKeyMismatch: in a batch, an entry sealed with
// another key stops it: the entries before it apply, it and every entry
// after it do not (their results carry the mismatch), and the applied
// index stays at the last good entry, so a restart replays from there.
func TestApplyEntriesStopsAtKeyMismatch(t *testing.T) {
	keyA := bytes.Repeat([]byte{1}, 32)
	a, other := openKeyed(t, keyA), openKeyed(t, bytes.Repeat([]byte{2}, 32))
	s := openKeyed(t, keyA)
	res := s.ApplyEntries([]Entry{
		{1, userEntry(t, a, "u1")},
		{2, userEntry(t, other, "u2")},
		{3, userEntry(t, a, "u3")},
		{4, userEntry(t, a, "u4")},
	})
	if res[0].Err != nil {
		t.Fatalf("entry 1: %v", res[0].Err)
	}
	for i, r := range res[1:] {
		if !errors.Is(r.Err, ErrEntryKeyMismatch) {
			t.Errorf("entry %d: %v, want ErrEntryKeyMismatch", i+2, r.Err)
		}
	}
	if idx, _ := s.AppliedIndex(); idx != 1 {
		t.Errorf("applied index %d, want 1", idx)
	}
	for _, id := range []string{"u2", "u3", "u4"} {
		if _, err := s.UserByID(id); err == nil {
			t.Errorf("%s applied after the mismatched entry", id)
		}
	}
}
