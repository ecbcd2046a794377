package work

import (
	"context"
	"testing"
	"time"

	"github.com/hookgate/hookgate/store"
)

// TestWorkerRerunsItsOwnCutShortItems: a cluster node runs its worker
// once per leadership. An item the node's previous run left leased (cut
// short when leadership was lost) runs again in the next run at once,
// not only after its 5-minute lease: each run leases under its own owner.
func TestWorkerRerunsItsOwnCutShortItems(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := NewWorker(st, QueueOptions{Workers: 1, MaxAttempts: 3}, nil)
	started := make(chan struct{}, 4)
	w.Handle("job", QueueHandler{Run: func(ctx context.Context, it *store.QueueItem) (string, error) {
		started <- struct{}{}
		<-ctx.Done()
		return "", ctx.Err()
	}})
	if err := st.Enqueue(&store.QueueItem{Kind: "job", Key: "u1", Ref: "e1"}); err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		select {
		case <-started:
		case <-time.After(20 * time.Second): // hang guard; the lease is 5 min
			cancel()
			t.Fatalf("run %d did not start the item its previous run left leased", run)
		}
		cancel() // leadership lost: the item stays leased
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
