package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hookgate/hookgate/store"
)

// TestNodeMintsIDsInItsSlot: a node over the real store gets its id slot
// from the bootstrap configuration entry, and ids it mints afterwards
// (a queue item written through the log) are in that slot.
func TestNodeMintsIDsInItsSlot(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := startOne(t, "", st)
	st.SetWriter(Writer(n))
	// The bootstrap configuration entry is applied and gives n1 its slot.
	deadline := time.Now().Add(10 * time.Second)
	for st.IDSlot() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("n1 got no id slot from the configuration")
		}
		time.Sleep(10 * time.Millisecond)
	}
	it := &store.QueueItem{Kind: "okta_event", Key: "u1", Ref: "e1"}
	if err := st.Enqueue(it); err != nil {
		t.Fatal(err)
	}
	if v, err := strconv.ParseUint(it.ID, 16, 64); err != nil || v%256 != 1 || st.IDSlot() != 1 {
		t.Fatalf("id %s minted by n1 is not in slot 1 (%v)", it.ID, err)
	}
}

// snapshotWith starts a one-node cluster over st, writes a user whose
// profile holds secret through the log, takes a Raft snapshot and
// returns the node's directory and the snapshot's state file.
func snapshotWith(t *testing.T, st *store.Store, secret string) (dir, state string) {
	t.Helper()
	n := startOne(t, "", st)
	st.SetWriter(Writer(n))
	at := store.Stamp{Published: time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC), UUID: "e1"}
	if err := st.ApplyIdentity(
		store.TouchUser(store.UserFacts{ID: "00u1", Login: "ann@example.com"}, at),
		store.SetUserProfile("00u1", store.ProfileFacts{Attrs: map[string]json.RawMessage{"codename": json.RawMessage(`"` + secret + `"`)}}, at),
	); err != nil {
		t.Fatal(err)
	}
	if err := n.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	dir = n.o.Dir
	states, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "state.bin"))
	if len(states) != 1 {
		t.Fatalf("snapshot files %v", states)
	}
	return dir, states[0]
}

// holds reports whether any file under dir contains s.
func holds(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(s)) {
				found = true
			}
		}
		return nil
	})
	return found
}

// TestSnapshotEncrypted: with a store encryption key, the Raft snapshot
// (a Badger backup) is encrypted on disk: no file of the node's Raft
// directory holds a profile attribute's value in clear, and a store with
// the same key restores it (the attribute readable); a store with
// another key or none refuses it before dropping anything. Without a
// key the same snapshot holds the value in clear (the check can fail).
func TestSnapshotEncrypted(t *testing.T) {
	const secret = "Project-Nightingale-7731"
	key := bytes.Repeat([]byte{7}, 32)
	open := func(key []byte) *store.Store {
		st, err := store.Open(t.TempDir(), store.Options{EncryptionKey: key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}

	_, plainState := snapshotWith(t, open(nil), secret)
	if b, _ := os.ReadFile(plainState); !bytes.Contains(b, []byte(secret)) {
		t.Fatal("control: the unencrypted snapshot does not hold the attribute; the check below proves nothing")
	}

	dir, state := snapshotWith(t, open(key), secret)
	if holds(t, dir, secret) {
		t.Fatalf("a file under %s holds %q in clear", dir, secret)
	}
	restore := func(st *store.Store) error {
		f, err := os.Open(state)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return st.Restore(f)
	}
	for name, k := range map[string][]byte{"another key": bytes.Repeat([]byte{8}, 32), "no key": nil} {
		st := open(k)
		if err := st.ApplyIdentity(store.TouchUser(store.UserFacts{ID: "00ukeep"}, store.Stamp{Published: time.Now().UTC(), UUID: "k"})); err != nil {
			t.Fatal(err)
		}
		if err := restore(st); !errors.Is(err, store.ErrBackupEncryption) {
			t.Errorf("%s: restore gave %v, want ErrBackupEncryption", name, err)
		}
		if _, err := st.UserByID("00ukeep"); err != nil {
			t.Errorf("%s: the refused restore dropped data: %v", name, err)
		}
	}
	st := open(key)
	if err := restore(st); err != nil {
		t.Fatal(err)
	}
	u, err := st.UserByID("00u1")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(u.Profile["codename"]); got != `"`+secret+`"` {
		t.Fatalf("restored profile codename %s", got)
	}
}
