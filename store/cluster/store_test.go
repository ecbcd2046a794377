package cluster

import (
	"strconv"
	"testing"
	"time"

	"github.com/hookgate/hookgate/store"
)

// TestNodeMintsIDsInItsSlot: a node over the real store gets its id slot
// from the bootstrap configuration entry, and ids it mints afterwards
// (a queue item written through the log) are in that slot.
func TestNodeMintsIDsInItsSlot(t *testing.T) {
	certs := t.TempDir()
	if err := WriteCerts(certs, CertOptions{Nodes: []string{"n1"}}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := startOne(t, certs, st)
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
