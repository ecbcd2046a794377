package cluster

import (
	"strings"
	"testing"
	"time"
)

// slowSM is a listSM whose applies wait for a go-ahead.
type slowSM struct {
	listSM
	gate chan struct{}
}

func (s *slowSM) ApplyEntry(index uint64, data []byte) (any, error) {
	<-s.gate
	return s.listSM.ApplyEntry(index, data)
}

// TestReadinessReportsLag: a node whose store applies committed entries
// slower than they commit reports itself not ready once it trails by more
// than MaxLag, and ready again when it caught up; applied_index in its
// status is what the store applied, not what raft handed over.
func TestReadinessReportsLag(t *testing.T) {
	sm := &slowSM{gate: make(chan struct{})}
	n := startOne(t, "", sm, func(o *Options) { o.MaxLag = 3 })
	defer close(sm.gate) // before the node closes (a t.Cleanup), or its apply never returns
	deadline := time.Now().Add(10 * time.Second)
	for !n.IsLeader() || len(n.Readiness()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not a ready leader: %v", n.Readiness())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 10 {
		n.raft.Apply([]byte("x"), time.Second) // committed; the store is held back
	}
	for !strings.Contains(strings.Join(n.Readiness(), ";"), "lags") {
		if time.Now().After(deadline) {
			t.Fatalf("readiness with 10 entries unapplied: %v (commit %d, applied %d)", n.Readiness(), n.raft.CommitIndex(), n.Local().AppliedIndex)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a := n.Local().AppliedIndex; a >= n.raft.CommitIndex() {
		t.Errorf("applied_index %d while the store is held back (commit %d)", a, n.raft.CommitIndex())
	}
	for range 10 {
		sm.gate <- struct{}{}
	}
	for len(n.Readiness()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still not ready after catching up: %v", n.Readiness())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
