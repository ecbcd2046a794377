package cluster

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/store"
)

// TestLeaderWorkRetriedWhileLeader: leader-only work that fails (as a
// queue recovery whose write could not commit does) is run again while
// the node is still leader in the term, instead of being dead for the
// whole term; work returning nil is not restarted; OnLeader(nil) stops it.
func TestLeaderWorkRetriedWhileLeader(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := startOne(t, "", st)
	var calls atomic.Int32
	running := make(chan struct{})
	stopped := make(chan struct{})
	n.OnLeader(func(ctx context.Context) error {
		if calls.Add(1) <= 2 {
			return errors.New("transient: write outcome unknown")
		}
		close(running)
		<-ctx.Done()
		close(stopped)
		return nil
	})
	select {
	case <-running:
	case <-time.After(20 * time.Second): // hang guard; the backoff is 100+200 ms
		t.Fatalf("leader-only work not retried after failing: %d calls", calls.Load())
	}
	if got := calls.Load(); got != 3 {
		t.Fatalf("leader-only work ran %d times, want 3 (two failures, one success)", got)
	}
	n.OnLeader(nil)
	select {
	case <-stopped:
	default:
		t.Fatal("OnLeader(nil) returned before the work stopped")
	}

	// Work that returns nil while leader is done for the term.
	var once atomic.Int32
	n.OnLeader(func(ctx context.Context) error { once.Add(1); return nil })
	time.Sleep(time.Second)
	n.OnLeader(nil)
	if got := once.Load(); got != 1 {
		t.Fatalf("work returning nil ran %d times in one term, want 1", got)
	}
}
