package work

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/hookgate/hookgate/sdk/abi"
	"github.com/hookgate/hookgate/store"
)

// Queue item kinds the worker pool knows.
const (
	// ItemOktaEvent runs one [[on_event]] plugin for one Okta event.
	ItemOktaEvent = abi.KindOktaEvent
	// ItemDeprovisionGrant runs the deprovisioning route for an expired
	// (or admin-revoked) grant.
	ItemDeprovisionGrant = "deprovision-grant"
)

// QueueHandler does the work for one queue item kind.
type QueueHandler struct {
	// Run does the work. A nil error completes the item; an error is retried
	// with backoff and, after queue.max_attempts, dead-lettered. msg is a
	// human summary for the log and audit.
	Run func(ctx context.Context, it *store.QueueItem) (msg string, err error)
	// Done, when set, returns the grant change committed in the same
	// transaction that removes a completed item (a grant becomes revoked
	// atomically with its queue item going); nil: none.
	Done func(it *store.QueueItem, msg string) *store.OpGrantTransition
	// Dead, when set, returns the grant change committed with the
	// dead-lettering of the item.
	Dead func(it *store.QueueItem, lastErr string) *store.OpGrantTransition
}

// Worker drains the durable queue with a pool of queue.workers goroutines.
// One dispatcher goroutine claims due items (leasing them to this run) and
// hands them to the pool, so workers never race each other for an item;
// per-user ordering is kept by the store (only the oldest item of an
// ordering key is ever due). Failures are rescheduled durably with
// exponential backoff and jitter (cenkalti/backoff), so a crash loses
// neither the item nor its retry schedule.
type Worker struct {
	st       *store.Store
	cfg      QueueOptions
	log      *slog.Logger
	owner    string
	handlers map[string]QueueHandler

	// PollInterval bounds how long an idle dispatcher waits before looking
	// for due work it was not told about. Default 50ms.
	PollInterval time.Duration
	// Lease is how long a claimed item is marked in flight. Default 5m.
	Lease time.Duration

	kick     chan struct{}
	inflight atomic.Int64
	stats    workerStats
}

// workerStats are counters for metrics and tests.
type workerStats struct {
	succeeded, retried, dead atomic.Int64
}

// NewWorker returns a worker pool over st; register handlers with Handle,
// then Run it.
func NewWorker(st *store.Store, cfg QueueOptions, logger *slog.Logger) *Worker {
	if logger == nil {
		logger = slog.Default()
	}
	return &Worker{
		st: st, cfg: cfg, log: logger.With("component", "queue"),
		owner:        newOwner(),
		handlers:     map[string]QueueHandler{},
		PollInterval: 50 * time.Millisecond,
		Lease:        5 * time.Minute,
		kick:         make(chan struct{}, 1),
	}
}

// Handle registers the handler for queue items of kind. Call before Run.
func (w *Worker) Handle(kind string, h QueueHandler) { w.handlers[kind] = h }

// Owner is the lease owner id of the current (or next) run.
func (w *Worker) Owner() string { return w.owner }

// newOwner returns a fresh lease owner id.
func newOwner() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "run-" + hex.EncodeToString(b[:])
}

// Kick tells the dispatcher new work may be due (after an enqueue commits).
// It never blocks.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Counts returns how many items succeeded, were retried and were
// dead-lettered by this run.
func (w *Worker) Counts() (succeeded, retried, dead int64) {
	return w.stats.succeeded.Load(), w.stats.retried.Load(), w.stats.dead.Load()
}

// Run recovers items leased by an earlier (crashed) run, then drains the
// queue until ctx ends; it returns after every running item finished.
//
// Each Run leases under its own owner id: in a cluster Run is called
// once per leadership, and items a previous run of this worker left
// leased (cut short when leadership was lost, or a claim whose commit
// outcome was unknown) must be released by the next run's recovery like
// anyone else's, not skipped as its own for a whole lease. Run must not
// be called concurrently with itself.
func (w *Worker) Run(ctx context.Context) error {
	w.owner = newOwner()
	n, err := w.st.RecoverQueue(w.owner, time.Now())
	if err != nil {
		return fmt.Errorf("queue worker: %w", err)
	}
	if n > 0 {
		w.log.Warn("re-running queue items that were in flight when the gateway stopped", "items", n)
	}
	// Up to prefetch items are claimed ahead of free workers, so that under
	// load one synced claim commit leases many items instead of one per
	// completion. Claiming waits until at least a worker's worth of slots
	// is free (or a worker idles), for the same reason.
	prefetch := int64(4 * w.cfg.Workers)
	work := make(chan store.QueueItem, prefetch)
	var wg sync.WaitGroup
	for range w.cfg.Workers {
		wg.Go(func() {
			for it := range work {
				w.process(ctx, &it)
				w.inflight.Add(-1)
				w.Kick()
			}
		})
	}
	defer func() {
		close(work)
		wg.Wait()
	}()

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.kick:
		case <-timer.C:
		}
		wait := w.PollInterval
		out := w.inflight.Load()
		if free := prefetch - out; free >= int64(w.cfg.Workers) || out < int64(w.cfg.Workers) {
			now := time.Now()
			items, next, err := w.st.ClaimDue(now, int(free), w.owner, w.Lease)
			if err != nil {
				w.log.Error("claiming queue items failed", "err", err)
				wait = time.Second
			}
			for i := range items {
				w.inflight.Add(1)
				work <- items[i] // never blocks: at most prefetch outstanding
			}
			if len(items) == int(free) {
				wait = 0 // there may be more
			} else if !next.IsZero() {
				wait = min(wait, max(0, next.Sub(now)))
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// process runs one claimed item and records the outcome durably.
func (w *Worker) process(ctx context.Context, it *store.QueueItem) {
	h, ok := w.handlers[it.Kind]
	var msg string
	var err error
	start := time.Now()
	if !ok {
		err = fmt.Errorf("no handler for queue item kind %q", it.Kind)
	} else {
		msg, err = runGuarded(ctx, h.Run, it)
	}
	if ctx.Err() != nil && err != nil {
		// Shutting down: leave the item leased; the next run re-runs it.
		return
	}
	log := w.log.With("item", it.ID, "kind", it.Kind, "plugin", it.Plugin, "ref", it.Ref,
		"key", it.Key, "attempt", it.Attempts, "duration", time.Since(start))
	if err == nil {
		var done *store.OpGrantTransition
		if h.Done != nil {
			done = h.Done(it, msg)
		}
		if cerr := w.st.CompleteQueueItem(it.ID, w.owner, done); cerr != nil {
			log.Error("could not record queue item success; it will run again after restart", "err", cerr)
			return
		}
		w.stats.succeeded.Add(1)
		log.Info("queue item done", "message", msg)
		return
	}
	lastErr := err.Error()
	if it.Attempts >= w.cfg.MaxAttempts {
		var dead *store.OpGrantTransition
		if h.Dead != nil {
			dead = h.Dead(it, lastErr)
		}
		if derr := w.st.DeadLetterQueueItem(it.ID, w.owner, lastErr, dead); derr != nil {
			log.Error("could not dead-letter queue item", "err", derr)
			return
		}
		w.stats.dead.Add(1)
		log.Error("queue item dead-lettered after its last attempt (replay with `hookgate dlq replay`)", "err", lastErr)
		return
	}
	delay := w.Backoff(it.Attempts)
	if rerr := w.st.RetryQueueItem(it.ID, w.owner, lastErr, time.Now().Add(delay)); rerr != nil {
		log.Error("could not reschedule queue item", "err", rerr)
		return
	}
	w.stats.retried.Add(1)
	log.Warn("queue item failed; will retry", "err", lastErr, "retry_in", delay)
}

// runGuarded calls run, turning a panic into an error so one bad item
// cannot kill a worker goroutine.
func runGuarded(ctx context.Context, run func(context.Context, *store.QueueItem) (string, error), it *store.QueueItem) (msg string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return run(ctx, it)
}

// Backoff is the delay before attempt attempts+1: exponential from
// queue.initial_backoff, doubling, capped at queue.max_backoff, with ±50%
// jitter so that items failing together do not retry in lockstep.
func (w *Worker) Backoff(attempts int) time.Duration {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     w.cfg.InitialBackoff.Duration,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         w.cfg.MaxBackoff.Duration,
	}
	b.Reset()
	d := b.NextBackOff()
	for i := 1; i < attempts; i++ {
		d = b.NextBackOff()
	}
	return min(d, w.cfg.MaxBackoff.Duration)
}
