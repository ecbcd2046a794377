package okta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate/store"
)

// RefresherOptions configures NewRefresher. The zero value is usable.
type RefresherOptions struct {
	// QueueSize bounds the users waiting for a lookup. Default 10000;
	// beyond it Enqueue drops (and counts) the newcomers: the next full
	// sync reads them anyway.
	QueueSize int
	// Workers look users up concurrently. Default 2 (each lookup already
	// waits out Okta's rate-limit windows inside the client).
	Workers int
	// RetryDelay is how long a failed lookup waits before its next try
	// (after the client's own retries of 429s and 5xx are spent). Default
	// 30s.
	RetryDelay time.Duration
	// MaxAttempts bounds the tries of one user's lookup. Default 5.
	MaxAttempts int
	Logger      *slog.Logger
}

// RefreshStats counts what a Refresher did.
type RefreshStats struct {
	Queued    int    `json:"queued"`    // waiting now
	Done      uint64 `json:"done"`      // lookups written
	Coalesced uint64 `json:"coalesced"` // requests folded into one already queued
	Retried   uint64 `json:"retried"`   // lookups tried again after an error
	Failed    uint64 `json:"failed"`    // given up after MaxAttempts
	Dropped   uint64 `json:"dropped"`   // refused because the queue was full
	Gone      uint64 `json:"gone"`      // Okta had no such user (404)
}

// Refresher keeps full profiles fresh between syncs: Okta's
// user.account.update_profile events name the changed attributes but not
// their values, and a user first seen as an event target is known only by
// the target's fields, so such users are read from /api/v1/users/{id} in
// the background.
//
//   - Enqueue never blocks (the event hook's 200 does not wait for a
//     lookup); requests for a user already waiting are coalesced, and a
//     request for a user whose lookup is in flight runs it once more
//     afterwards (the lookup may have been answered before the change).
//   - A lookup's writes are stamped with the time Okta answered (its Date
//     header, truncated to the second), like a sync page: every attribute
//     register only takes the value where it is older, so a lookup never
//     beats an event published after it, whatever order they commit in.
//   - Rate limits: the client waits out 429s and exhausted windows; a
//     lookup that still fails is retried after RetryDelay, not dropped.
type Refresher struct {
	c    *Client
	st   *store.Store
	opts RefresherOptions

	mu      sync.Mutex
	queue   []refreshItem
	queued  map[string]bool
	running map[string]bool
	again   map[string]bool // enqueued while running: look up once more
	stats   RefreshStats
	wake    chan struct{}
	types   map[string]string
	typesAt time.Time

	wg sync.WaitGroup
}

type refreshItem struct {
	id       string
	attempts int
	notUntil time.Time
}

// NewRefresher returns a refresher; Start runs its workers.
func NewRefresher(c *Client, st *store.Store, opts RefresherOptions) *Refresher {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 10000
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Refresher{
		c: c, st: st, opts: opts,
		queued: map[string]bool{}, running: map[string]bool{}, again: map[string]bool{},
		wake: make(chan struct{}, 1),
	}
}

// Enqueue asks for a lookup of each user id. It never blocks.
func (r *Refresher) Enqueue(ids ...string) {
	r.mu.Lock()
	for _, id := range ids {
		switch {
		case !store.ValidID(id):
		case r.queued[id]:
			r.stats.Coalesced++
		case r.running[id]:
			r.again[id] = true
			r.stats.Coalesced++
		case len(r.queue) >= r.opts.QueueSize:
			r.stats.Dropped++
			r.opts.Logger.Warn("okta refresh: queue full; the next sync reads this user", "user", id, "queue", r.opts.QueueSize)
		default:
			r.queued[id] = true
			r.queue = append(r.queue, refreshItem{id: id})
		}
	}
	r.mu.Unlock()
	r.signal()
}

func (r *Refresher) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counters.
func (r *Refresher) Stats() RefreshStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Queued = len(r.queue)
	return s
}

// Start runs the workers until ctx ends; Wait waits for them.
func (r *Refresher) Start(ctx context.Context) {
	for i := 0; i < r.opts.Workers; i++ {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.work(ctx)
		}()
	}
}

// Wait returns once every worker has stopped (after Start's ctx ended).
func (r *Refresher) Wait() { r.wg.Wait() }

// next takes the first item that is due, or says how long until one is.
func (r *Refresher) next(now time.Time) (refreshItem, time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	wait := time.Duration(-1)
	for i, it := range r.queue {
		if d := it.notUntil.Sub(now); d > 0 {
			if wait < 0 || d < wait {
				wait = d
			}
			continue
		}
		r.queue = append(r.queue[:i], r.queue[i+1:]...)
		delete(r.queued, it.id)
		r.running[it.id] = true
		return it, 0, true
	}
	return refreshItem{}, wait, false
}

func (r *Refresher) work(ctx context.Context) {
	for {
		it, wait, ok := r.next(time.Now())
		if ok {
			r.signal() // another worker may take the next one
		}
		if !ok {
			var timer <-chan time.Time
			var t *time.Timer
			if wait > 0 {
				t = time.NewTimer(wait)
				timer = t.C
			}
			select {
			case <-ctx.Done():
			case <-r.wake:
			case <-timer:
			}
			if t != nil {
				t.Stop()
			}
			if ctx.Err() != nil {
				return
			}
			continue
		}
		err := r.refresh(ctx, it.id)
		r.mu.Lock()
		delete(r.running, it.id)
		again := r.again[it.id]
		delete(r.again, it.id)
		switch {
		case err == nil || IsNotFound(err):
			if err != nil {
				r.stats.Gone++
			} else {
				r.stats.Done++
			}
			if again && !r.queued[it.id] {
				r.queued[it.id] = true
				r.queue = append(r.queue, refreshItem{id: it.id})
			}
		case ctx.Err() != nil:
			r.mu.Unlock()
			return
		case it.attempts+1 >= r.opts.MaxAttempts:
			r.stats.Failed++
			r.opts.Logger.Error("okta refresh: giving up on a user lookup; the next sync reads it", "user", it.id, "attempts", it.attempts+1, "err", err)
		default:
			r.stats.Retried++
			r.opts.Logger.Warn("okta refresh: user lookup failed; retrying later", "user", it.id, "attempt", it.attempts+1, "wait", r.opts.RetryDelay, "err", err)
			if !r.queued[it.id] {
				r.queued[it.id] = true
				r.queue = append(r.queue, refreshItem{id: it.id, attempts: it.attempts + 1, notUntil: time.Now().Add(r.opts.RetryDelay)})
			}
		}
		r.mu.Unlock()
		r.signal()
	}
}

// schemaTypes returns the user schema's attribute types, read at most
// once an hour (nil without okta.schemas.read: values keep their JSON
// types).
func (r *Refresher) schemaTypes(ctx context.Context) map[string]string {
	r.mu.Lock()
	t, at := r.types, r.typesAt
	r.mu.Unlock()
	if !at.IsZero() && time.Since(at) < time.Hour {
		return t
	}
	sc, err := r.c.UserSchema(ctx)
	switch {
	case err == nil:
		t = sc.Types()
	case IsStatus(err, 403) || IsStatus(err, 401) || IsNotFound(err):
		r.opts.Logger.Debug("okta refresh: user schema not readable; attribute types follow the values", "err", err)
	default:
		return t // transient: try again next time
	}
	r.mu.Lock()
	r.types, r.typesAt = t, time.Now()
	r.mu.Unlock()
	return t
}

// refresh reads one user and writes what Okta says, stamped with Okta's
// answer time.
func (r *Refresher) refresh(ctx context.Context, id string) error {
	types := r.schemaTypes(ctx)
	u, readAt, err := r.c.GetUserAt(ctx, id)
	if err != nil {
		return err
	}
	if u.ID != id {
		return errors.New("okta answered with another user (" + u.ID + ")")
	}
	return WriteLookup(r.st, u, readAt, types)
}

// lookupSeq orders lookups answered within the same second.
var lookupSeq atomic.Uint64

// lookupStamp stamps a lookup answered at readAt (Okta's Date, whole
// seconds). Its uuid, "~lookup/<n>", sorts after the empty uuid of sync
// pages and after every event uuid (hex), so a lookup made after a sync
// page or an event of the same second wins the tie, and later lookups of
// one process beat earlier ones; any event published after readAt's
// second still beats it.
func lookupStamp(readAt time.Time) store.Stamp {
	return store.Stamp{Published: readAt.UTC(), UUID: fmt.Sprintf("~lookup/%020d", lookupSeq.Add(1))}
}

// WriteLookup writes one user as the Management API returned it at
// readAt: fixed fields, type and timestamps, status and the full profile,
// each register only where it is older than readAt.
func WriteLookup(st *store.Store, u *APIUser, readAt time.Time, types map[string]string) error {
	at := lookupStamp(readAt)
	ch := []store.IdentityChange{store.TouchUser(UserFactsOf(u), at)}
	if u.Status != "" {
		ch = append(ch, store.SetUserStatus(u.ID, u.Status, at))
	}
	return st.ApplyIdentity(append(ch, store.SetUserProfile(u.ID, store.ProfileFacts{Attrs: u.Attrs, Types: types}, at))...)
}
