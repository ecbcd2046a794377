package store

import (
	"errors"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func openTestStore(t *testing.T, dir string) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func enqueue(t *testing.T, s *Store, key, ref string) *QueueItem {
	t.Helper()
	it := &QueueItem{Kind: "okta_event", Key: key, Ref: ref, Plugin: "p", Payload: []byte(`{"uuid":"` + ref + `"}`)}
	if err := s.Enqueue(it); err != nil {
		t.Fatal(err)
	}
	return it
}

func claimRefs(t *testing.T, s *Store, now time.Time, owner string) []QueueItem {
	t.Helper()
	items, _, err := s.ClaimDue(now, 100, owner, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func refs(items []QueueItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Ref
	}
	return out
}

func TestQueuePerKeyOrder(t *testing.T) {
	s := openTestStore(t, "")
	defer s.Close()
	enqueue(t, s, "u1", "a1")
	enqueue(t, s, "u1", "a2")
	enqueue(t, s, "u2", "b1")
	enqueue(t, s, "u1", "a3")

	now := time.Now().Add(time.Second)
	got := claimRefs(t, s, now, "w")
	if len(got) != 2 || got[0].Ref != "a1" || got[1].Ref != "b1" {
		t.Fatalf("first claim = %v, want [a1 b1] (one head per key)", refs(got))
	}
	if more := claimRefs(t, s, now, "w"); len(more) != 0 {
		t.Fatalf("claimed %v while heads are in flight", refs(more))
	}
	// A retry keeps a1 at the head: a2 must not run before it.
	if err := s.RetryQueueItem(got[0].ID, "w", "boom", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if more := claimRefs(t, s, now, "w"); len(more) != 0 {
		t.Fatalf("claimed %v while a1 waits for its retry", refs(more))
	}
	later := claimRefs(t, s, now.Add(2*time.Hour), "w")
	if len(later) != 1 || later[0].Ref != "a1" || later[0].Attempts != 2 || later[0].LastError != "boom" {
		t.Fatalf("retry claim = %+v", later)
	}
	if err := s.CompleteQueueItem(later[0].ID, "w", nil); err != nil {
		t.Fatal(err)
	}
	if got := claimRefs(t, s, now, "w"); len(got) != 1 || got[0].Ref != "a2" {
		t.Fatalf("after a1 completed claimed %v, want [a2]", refs(got))
	}
	// Completing with the wrong owner is refused.
	if err := s.CompleteQueueItem(got[0].ID, "other", nil); err == nil {
		t.Fatal("complete by a non-owner succeeded")
	}
}

func TestQueueDeadLetterReplayDrop(t *testing.T) {
	s := openTestStore(t, "")
	defer s.Close()
	a := enqueue(t, s, "u1", "a1")
	enqueue(t, s, "u1", "a2")
	now := time.Now().Add(time.Second)
	got := claimRefs(t, s, now, "w")
	if len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("claim = %v", refs(got))
	}
	if err := s.DeadLetterQueueItem(a.ID, "w", "downstream 500", nil); err != nil {
		t.Fatal(err)
	}
	// The dead letter no longer blocks its key.
	if got := claimRefs(t, s, now, "w"); len(got) != 1 || got[0].Ref != "a2" {
		t.Fatalf("after dead letter claimed %v, want [a2]", refs(got))
	}
	dls, err := s.DeadLetters(0)
	if err != nil || len(dls) != 1 || dls[0].LastError != "downstream 500" || dls[0].Attempts != 1 {
		t.Fatalf("dead letters = %+v, %v", dls, err)
	}
	st, _ := s.QueueStats()
	if st.Dead != 1 || st.InFlight != 1 || st.Pending != 0 {
		t.Fatalf("stats = %+v", st)
	}
	re, err := s.ReplayDeadLetter(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if re.Attempts != 0 || re.ReplayOf != a.ID || re.ID == a.ID {
		t.Fatalf("replayed = %+v", re)
	}
	if _, err := s.DeadLetter(a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("dead letter after replay: %v", err)
	}
	if _, err := s.ReplayDeadLetter(a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second replay: %v, want ErrNotFound", err)
	}
	if err := s.DropDeadLetter("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("drop missing: %v", err)
	}
}

func TestQueueRecoverAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	enqueue(t, s, "u1", "a1")
	enqueue(t, s, "u1", "a2")
	enqueue(t, s, "u2", "b1")
	now := time.Now().Add(time.Second)
	if got := claimRefs(t, s, now, "run1"); len(got) != 2 {
		t.Fatalf("claim = %v", refs(got))
	}
	// "Crash": close without completing; the leases stay on disk.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir)
	defer s.Close()
	if got := claimRefs(t, s, now, "run2"); len(got) != 0 {
		t.Fatalf("claimed %v before recovery", refs(got))
	}
	n, err := s.RecoverQueue("run2", now)
	if err != nil || n != 2 {
		t.Fatalf("recover = %d, %v; want 2 released", n, err)
	}
	got := claimRefs(t, s, now, "run2")
	if len(got) != 2 || got[0].Ref != "a1" || got[1].Ref != "b1" || got[0].Attempts != 2 {
		t.Fatalf("after recovery claimed %+v", got)
	}
	// Recovery is idempotent and keeps this run's own leases.
	if n, err := s.RecoverQueue("run2", now); err != nil || n != 0 {
		t.Fatalf("second recover = %d, %v", n, err)
	}
	if got := claimRefs(t, s, now, "run2"); len(got) != 0 {
		t.Fatalf("second recovery re-released %v", refs(got))
	}
}

func TestEnqueueInCallerTxnRollsBack(t *testing.T) {
	s := openTestStore(t, "")
	defer s.Close()
	sentinel := errors.New("abort")
	err := s.update(func(txn *badger.Txn) error {
		if err := enqueueTx(txn, &QueueItem{ID: s.newSeqID(), Kind: "okta_event", Key: "u1"}); err != nil {
			return err
		}
		return sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Fatal(err)
	}
	items, err := s.QueueItems(0)
	if err != nil || len(items) != 0 {
		t.Fatalf("aborted txn left %d items (%v)", len(items), err)
	}
	if err := s.Enqueue(&QueueItem{Kind: "okta_event", Key: "a/b"}); err == nil {
		t.Fatal("key with / accepted")
	}
}

func TestClaimReportsNextDue(t *testing.T) {
	s := openTestStore(t, "")
	defer s.Close()
	at := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if err := s.Enqueue(&QueueItem{Kind: "k", Key: "u", NextAt: at}); err != nil {
		t.Fatal(err)
	}
	items, next, err := s.ClaimDue(time.Now(), 10, "w", time.Minute)
	if err != nil || len(items) != 0 || !next.Equal(at) {
		t.Fatalf("claim = %v, next %v (want %v), %v", items, next, at, err)
	}
}

// TestIdleClaimsProposeNothing: a worker polling an idle queue and the
// grant scanner finding nothing expired propose no op (in a cluster each
// would be a Raft entry fsynced on every node, 20 a second from one idle
// worker); with something due they claim it.
func TestIdleClaimsProposeNothing(t *testing.T) {
	s := openTest(t)
	w := &logWriter{t: t, s: s}
	s.SetWriter(w)
	now := time.Now()
	at := now.Add(time.Hour).Truncate(time.Millisecond)
	if err := s.Enqueue(&QueueItem{Kind: "k", Key: "later", NextAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutGrant(&Grant{User: "bob@example.com", App: "aws", Plugin: "p", GrantedAt: now, ExpiresAt: at}); err != nil {
		t.Fatal(err)
	}
	before := len(w.entries)
	for range 10 {
		items, next, err := s.ClaimDue(now, 10, "w", time.Minute)
		if err != nil || len(items) != 0 || !next.Equal(at) {
			t.Fatalf("idle claim = %v, next %v (want %v), %v", items, next, at, err)
		}
		if got, err := s.ClaimExpiredGrants(now, 10, &QueueItem{Kind: "deprovision-grant"}); err != nil || len(got) != 0 {
			t.Fatalf("idle grant scan = %v, %v", got, err)
		}
	}
	if n := len(w.entries) - before; n != 0 {
		t.Fatalf("20 idle claims proposed %d ops, want 0", n)
	}
	later := at.Add(time.Second)
	items, _, err := s.ClaimDue(later, 10, "w", time.Minute)
	if err != nil || len(items) != 1 || items[0].Key != "later" {
		t.Fatalf("claim once due = %v, %v", items, err)
	}
	if got, err := s.ClaimExpiredGrants(later, 10, &QueueItem{Kind: "deprovision-grant"}); err != nil || len(got) != 1 {
		t.Fatalf("grant scan once expired = %v, %v", got, err)
	}
	if n := len(w.entries) - before; n != 2 {
		t.Fatalf("claims with something due proposed %d ops, want 2", n)
	}
}
