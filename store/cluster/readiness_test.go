package cluster

import (
	"io"
	"log/slog"
	"path/filepath"
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
	certs := t.TempDir()
	if err := WriteCerts(certs, CertOptions{Nodes: []string{"n1"}}); err != nil {
		t.Fatal(err)
	}
	conf, err := LoadTLS(TLSFiles{CA: filepath.Join(certs, "ca.pem"), Cert: filepath.Join(certs, "n1.pem"), Key: filepath.Join(certs, "n1-key.pem")})
	if err != nil {
		t.Fatal(err)
	}
	sm := &slowSM{gate: make(chan struct{})}
	addr := freePort(t)
	n, err := Start(Options{
		NodeID: "n1", RaftAddr: addr, Peers: []Peer{{"n1", addr}}, Dir: t.TempDir(), TLS: conf,
		HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
		LeaderLeaseTimeout: 50 * time.Millisecond, MaxLag: 3, State: sm,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RaftLog: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { close(sm.gate); _ = n.Close() }()
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
