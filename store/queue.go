package store

// The plugin work queue and its dead letters.
//
// Key layout (all under q/ and dl/):
//
//	q/i/<id>                 item record (JSON)
//	q/k/<key>/<id>           per-ordering-key index of every queued item
//	q/d/<due>/<id>           due index: holds only the head (smallest id) of
//	                         each ordering key, when it is not leased
//	dl/<id>                  dead letter (JSON, the item plus its last error)
//
// <id> and <due> are 16 lower-case hex digits, so byte order is numeric
// order. Ids grow monotonically (see newSeqID), so "earlier" means enqueued
// earlier, and the head of q/k/<key>/ is the oldest queued item for the key.
//
// Per-key ordering falls out of the due index: only a key's head is ever in
// it, and the head leaves q/k/ only when it completes or is dead-lettered, so
// no second item of the same key can be claimed while the first is pending,
// leased or waiting for its retry.
//
// Leases record the process run (owner) that claimed an item. A claimed item
// has no due entry; after a crash, Recover rebuilds the due index from the
// items and the per-key index, which puts every item leased by an earlier run
// back in line: at-least-once delivery.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// QueueItem is one unit of durable work: an event plugin run, or a grant's
// deprovisioning.
type QueueItem struct {
	// ID is assigned by Enqueue (16 hex digits, increasing).
	ID string `json:"id"`
	// Kind says what the worker does: "okta_event" or "deprovision-grant".
	Kind string `json:"kind"`
	// Key is the ordering key (a user id, else a group id, else the event
	// uuid); items with the same key run one at a time, oldest first.
	Key string `json:"key"`
	// Plugin names the plugin to run (empty when the kind implies it).
	Plugin string `json:"plugin,omitempty"`
	// Ref identifies the subject: the Okta event uuid or the grant id.
	Ref string `json:"ref,omitempty"`
	// EventType is the Okta event type, for listings.
	EventType string `json:"event_type,omitempty"`
	// Payload is the input handed to the work (the Okta LogEvent JSON).
	Payload json.RawMessage `json:"payload,omitempty"`
	// Attempts counts claims so far (a crash mid-run counts as an attempt).
	Attempts int `json:"attempts"`
	// LastError is the error of the latest failed attempt.
	LastError string `json:"last_error,omitempty"`
	// EnqueuedAt is when the item first entered the queue.
	EnqueuedAt time.Time `json:"enqueued_at"`
	// NextAt is the earliest time of the next attempt.
	NextAt time.Time `json:"next_at"`
	// LeaseOwner and LeaseUntil are set while a worker runs the item.
	LeaseOwner string    `json:"lease_owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	// ReplayOf is the dead-letter id this item was replayed from.
	ReplayOf string `json:"replay_of,omitempty"`
}

// DeadLetter is a queue item that failed its last allowed attempt. It stays
// until it is replayed or explicitly dropped.
type DeadLetter struct {
	QueueItem
	// DeadAt is when the item was moved to dead letters.
	DeadAt time.Time `json:"dead_at"`
}

// QueueStats are the counts exported as metrics.
type QueueStats struct {
	Pending  int // queued items not currently leased (due or waiting)
	InFlight int // items leased to a worker
	Dead     int // dead letters
}

var (
	pQueueItem = []byte("q/i/")
	pQueueKey  = []byte("q/k/")
	pQueueDue  = []byte("q/d/")
	pDead      = []byte("dl/")
)

// seqIDClock makes ids that increase across calls and, because they start from
// the wall clock, across restarts.
var seqIDClock atomic.Uint64

// idSlots is how many cluster nodes can mint ids side by side: a node
// whose store has slot k (1..idSlots-1, given by the replicated
// configuration, ApplyConfiguration) mints only ids equal to k modulo
// idSlots, so two nodes never mint the same id even when their clocks
// read the same nanosecond. Slot 0 is a single node (every id).
const idSlots = 256

// newSeqID returns a fresh 16-hex-digit id greater than every id this process
// issued before (in the store's slot).
func (s *Store) newSeqID() string {
	first, _ := s.reserveSeqIDs(1)
	return hex16(first)
}

// reserveSeqIDs reserves n ids, first + i*step for i < n, and returns
// first and step (1 for a single node, idSlots in a cluster).
func (s *Store) reserveSeqIDs(n uint64) (first, step uint64) {
	return reserveSeqIDs(n, s.idSlot.Load(), uint64(time.Now().UnixNano()))
}

func reserveSeqIDs(n, slot, now uint64) (first, step uint64) {
	step = 1
	if slot != 0 {
		step = idSlots
	}
	for {
		last := seqIDClock.Load()
		first = max(now, last+1)
		if slot != 0 {
			// The next value at or after first in this slot.
			first += (slot + idSlots - first%idSlots) % idSlots
		}
		if seqIDClock.CompareAndSwap(last, first+(n-1)*step) {
			return first, step
		}
	}
}

func hex16(v uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return hex.EncodeToString(b[:])
}

func timeKey(t time.Time) string {
	n := t.UnixNano()
	if n < 0 {
		n = 0
	}
	return hex16(uint64(n))
}

func validOrderKey(k string) error {
	if k == "" || strings.ContainsRune(k, '/') {
		return fmt.Errorf("store: queue ordering key %q must be non-empty and contain no '/'", k)
	}
	return nil
}

func qItemKey(id string) []byte               { return []byte("q/i/" + id) }
func qOrderKey(key, id string) []byte         { return []byte("q/k/" + key + "/" + id) }
func qDueKey(due time.Time, id string) []byte { return []byte("q/d/" + timeKey(due) + "/" + id) }
func deadKey(id string) []byte                { return []byte("dl/" + id) }

func jsonGet(txn *badger.Txn, key []byte, v any) error {
	it, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: get %s: %w", key, err)
	}
	return it.Value(func(b []byte) error {
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("store: decode %s: %w", key, err)
		}
		return nil
	})
}

func jsonSet(txn *badger.Txn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", key, err)
	}
	if err := txn.Set(key, b); err != nil {
		return fmt.Errorf("store: set %s: %w", key, err)
	}
	return nil
}

// enqueueTx adds it (ID, EnqueuedAt and NextAt set) to the queue inside
// txn, so the work commits (or not) together with whatever else the op
// writes — an Okta batch that is acknowledged can never lose its plugin
// run.
func enqueueTx(txn *badger.Txn, it *QueueItem) error {
	if err := validOrderKey(it.Key); err != nil {
		return err
	}
	if it.Kind == "" {
		return errors.New("store: enqueue: item kind is required")
	}
	if it.ID == "" {
		return errors.New("store: enqueue: item id is required")
	}
	it.LeaseOwner, it.LeaseUntil = "", time.Time{}
	head, err := keyHead(txn, it.Key)
	if err != nil {
		return err
	}
	if err := jsonSet(txn, qItemKey(it.ID), it); err != nil {
		return err
	}
	if err := txn.Set(qOrderKey(it.Key, it.ID), nil); err != nil {
		return fmt.Errorf("store: enqueue %s: %w", it.ID, err)
	}
	if head == "" { // first in line for its key: due now
		if err := txn.Set(qDueKey(it.NextAt, it.ID), nil); err != nil {
			return fmt.Errorf("store: enqueue %s: %w", it.ID, err)
		}
	}
	return nil
}

// prepareItem assigns it a fresh id and, when unset, EnqueuedAt and
// NextAt (now: due at once).
func (s *Store) prepareItem(it *QueueItem, now time.Time) {
	it.ID = s.newSeqID()
	if it.EnqueuedAt.IsZero() {
		it.EnqueuedAt = now
	}
	if it.NextAt.IsZero() {
		it.NextAt = now
	}
	it.LeaseOwner, it.LeaseUntil = "", time.Time{}
}

// keyHead returns the oldest queued item id for key, or "".
func keyHead(txn *badger.Txn, key string) (string, error) {
	prefix := []byte("q/k/" + key + "/")
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = prefix
	iter := txn.NewIterator(opts)
	defer iter.Close()
	iter.Seek(prefix)
	if !iter.ValidForPrefix(prefix) {
		return "", nil
	}
	return string(iter.Item().Key()[len(prefix):]), nil
}

// Enqueue adds it to the queue durably (OpEnqueue). It assigns it.ID and,
// when unset, EnqueuedAt and NextAt (now: due at once).
func (s *Store) Enqueue(it *QueueItem) error {
	if err := validOrderKey(it.Key); err != nil {
		return err
	}
	s.prepareItem(it, time.Now())
	_, err := s.apply(&OpEnqueue{Item: *it})
	return err
}

// ClaimDue leases up to limit due items (NextAt <= now, head of their key)
// to owner until now+lease and returns them with Attempts already counted
// (OpQueueClaim). Only one goroutine per store should claim (the worker
// pool's dispatcher); conflicts are retried anyway. It also reports the
// due time of the earliest item not yet due (zero when none), so the
// caller can sleep.
func (s *Store) ClaimDue(now time.Time, limit int, owner string, lease time.Duration) ([]QueueItem, time.Time, error) {
	// An idle worker polls: proposing a claim that finds nothing would, in
	// a cluster, put an entry in the Raft log (fsynced on every node) at
	// every poll.
	if due, next, err := s.firstDue(pQueueDue, now); err != nil || !due {
		return nil, next, err
	}
	res, err := applyAs[ClaimResult](s, &OpQueueClaim{Now: now, Limit: limit, Owner: owner, Lease: lease})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("store: claim due queue items: %w", err)
	}
	return res.Items, res.Next, nil
}

func claimDue(txn *badger.Txn, o *OpQueueClaim) (ClaimResult, error) {
	var res ClaimResult
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = pQueueDue
	iter := txn.NewIterator(opts)
	var due [][]byte
	nowKey := []byte(timeKey(o.Now))
	for iter.Seek(pQueueDue); iter.ValidForPrefix(pQueueDue) && len(due) < o.Limit; iter.Next() {
		k := iter.Item().Key()
		ts := k[len(pQueueDue) : len(pQueueDue)+16]
		if bytes.Compare(ts, nowKey) > 0 {
			if t, err := parseTimeKey(ts); err == nil {
				res.Next = t
			}
			break
		}
		due = append(due, iter.Item().KeyCopy(nil))
	}
	iter.Close()
	for _, k := range due {
		id := string(k[len(pQueueDue)+17:])
		if err := txn.Delete(k); err != nil {
			return res, fmt.Errorf("store: claim %s: %w", id, err)
		}
		var it QueueItem
		if err := jsonGet(txn, qItemKey(id), &it); err != nil {
			if errors.Is(err, ErrNotFound) { // stale due entry
				continue
			}
			return res, err
		}
		it.Attempts++
		it.LeaseOwner, it.LeaseUntil = o.Owner, o.Now.Add(o.Lease)
		if err := jsonSet(txn, qItemKey(id), &it); err != nil {
			return res, err
		}
		res.Items = append(res.Items, it)
	}
	return res, nil
}

// firstDue reports, from what this store committed, whether the time
// index under prefix (prefix, a timeKey, then "/" and an id) has an entry
// due at now, else when the earliest one is due (zero: none). It is only
// a hint to skip a claim with nothing to claim; the claim op decides.
func (s *Store) firstDue(prefix []byte, now time.Time) (bool, time.Time, error) {
	var due bool
	var next time.Time
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		it.Seek(prefix)
		if !it.ValidForPrefix(prefix) {
			return nil
		}
		k := it.Item().Key()
		if len(k) < len(prefix)+16 {
			due = true // not ours to judge: let the claim see it
			return nil
		}
		ts := k[len(prefix) : len(prefix)+16]
		if string(ts) <= timeKey(now) {
			due = true
			return nil
		}
		next, _ = parseTimeKey(ts)
		return nil
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("store: %w", err)
	}
	return due, next, nil
}

func parseTimeKey(b []byte) (time.Time, error) {
	var raw [8]byte
	if _, err := hex.Decode(raw[:], b); err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(raw[:]))), nil
}

// loadLeased reads item id and checks that owner still holds it.
func loadLeased(txn *badger.Txn, id, owner string) (*QueueItem, error) {
	var it QueueItem
	if err := jsonGet(txn, qItemKey(id), &it); err != nil {
		return nil, fmt.Errorf("store: queue item %s: %w", id, err)
	}
	if it.LeaseOwner != owner {
		return nil, fmt.Errorf("store: queue item %s is leased by %q, not %q", id, it.LeaseOwner, owner)
	}
	return &it, nil
}

// removeAndPromote deletes it from the queue and makes the next item of its
// key (if any) due at its own NextAt.
func removeAndPromote(txn *badger.Txn, it *QueueItem) error {
	if err := txn.Delete(qItemKey(it.ID)); err != nil {
		return fmt.Errorf("store: remove queue item %s: %w", it.ID, err)
	}
	if err := txn.Delete(qOrderKey(it.Key, it.ID)); err != nil {
		return fmt.Errorf("store: remove queue item %s: %w", it.ID, err)
	}
	next, err := keyHead(txn, it.Key)
	if err != nil || next == "" || next == it.ID {
		return err
	}
	var n QueueItem
	if err := jsonGet(txn, qItemKey(next), &n); err != nil {
		return fmt.Errorf("store: promote queue item %s: %w", next, err)
	}
	if err := txn.Set(qDueKey(n.NextAt, n.ID), nil); err != nil {
		return fmt.Errorf("store: promote queue item %s: %w", next, err)
	}
	return nil
}

// CompleteQueueItem removes a successfully run item (leased by owner) and
// lets the next item of its key run (OpQueueAck). grant, when not nil, is
// applied in the same transaction (a grant becomes revoked atomically with
// its deprovisioning item going).
func (s *Store) CompleteQueueItem(id, owner string, grant *OpGrantTransition) error {
	if _, err := s.apply(&OpQueueAck{ID: id, Owner: owner, Grant: grant}); err != nil {
		return fmt.Errorf("store: complete queue item %s: %w", id, err)
	}
	return nil
}

// RetryQueueItem records a failed attempt of a leased item and schedules
// the next one at nextAt (OpQueueRetry); the item stays the head of its
// key, so later items of the same key keep waiting.
func (s *Store) RetryQueueItem(id, owner, lastErr string, nextAt time.Time) error {
	if _, err := s.apply(&OpQueueRetry{ID: id, Owner: owner, LastError: lastErr, NextAt: nextAt}); err != nil {
		return fmt.Errorf("store: retry queue item %s: %w", id, err)
	}
	return nil
}

// DeadLetterQueueItem moves a leased item to dead letters with lastErr and
// lets the next item of its key run (OpQueueDeadLetter). grant, when not
// nil, is applied in the same transaction.
func (s *Store) DeadLetterQueueItem(id, owner, lastErr string, grant *OpGrantTransition) error {
	op := &OpQueueDeadLetter{ID: id, Owner: owner, LastError: lastErr, At: time.Now(), Grant: grant}
	if _, err := s.apply(op); err != nil {
		return fmt.Errorf("store: dead-letter queue item %s: %w", id, err)
	}
	return nil
}

// RecoverQueue rebuilds the due index from the queued items
// (OpQueueRecover): every key's head becomes due at its NextAt, and a head
// leased by any earlier run (owner differs) is released and made due now.
// Call it once at start-up, before claiming, with this run's owner id. It
// returns how many leased items were released.
func (s *Store) RecoverQueue(owner string, now time.Time) (int, error) {
	n, err := applyAs[int](s, &OpQueueRecover{Owner: owner, Now: now})
	if err != nil {
		return 0, fmt.Errorf("store: recover queue: %w", err)
	}
	return n, nil
}

func recoverQueue(txn *badger.Txn, owner string, now time.Time) (int, error) {
	released := 0
	// Drop the old due index.
	if err := deleteKeysWithPrefix(txn, pQueueDue); err != nil {
		return 0, err
	}
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = pQueueKey
	iter := txn.NewIterator(opts)
	var heads []string
	lastKey := ""
	for iter.Seek(pQueueKey); iter.ValidForPrefix(pQueueKey); iter.Next() {
		rest := string(iter.Item().Key()[len(pQueueKey):])
		i := strings.LastIndexByte(rest, '/')
		if i < 0 {
			continue
		}
		if k := rest[:i]; k != lastKey {
			lastKey = k
			heads = append(heads, rest[i+1:])
		}
	}
	iter.Close()
	for _, id := range heads {
		var it QueueItem
		if err := jsonGet(txn, qItemKey(id), &it); err != nil {
			return 0, fmt.Errorf("store: recover queue item %s: %w", id, err)
		}
		if it.LeaseOwner == owner {
			continue // ours and running; it will complete or retry
		}
		if it.LeaseOwner != "" {
			released++
			it.LeaseOwner, it.LeaseUntil = "", time.Time{}
			if it.NextAt.After(now) {
				it.NextAt = now
			}
			if err := jsonSet(txn, qItemKey(id), &it); err != nil {
				return 0, err
			}
		}
		if err := txn.Set(qDueKey(it.NextAt, id), nil); err != nil {
			return 0, fmt.Errorf("store: recover queue item %s: %w", id, err)
		}
	}
	return released, nil
}

func deleteKeysWithPrefix(txn *badger.Txn, prefix []byte) error {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = prefix
	iter := txn.NewIterator(opts)
	var keys [][]byte
	for iter.Seek(prefix); iter.ValidForPrefix(prefix); iter.Next() {
		keys = append(keys, iter.Item().KeyCopy(nil))
	}
	iter.Close()
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return fmt.Errorf("store: delete %s: %w", k, err)
		}
	}
	return nil
}

// QueueItems lists queued items (pending and in flight) in id order, at
// most limit (0: all).
func (s *Store) QueueItems(limit int) ([]QueueItem, error) {
	return viewAll[QueueItem](s, pQueueItem, limit, "list queue")
}

// QueueItem returns one queued item by id.
func (s *Store) QueueItem(id string) (*QueueItem, error) {
	return viewOne[QueueItem](s, qItemKey(id), "queue item "+id)
}

// jsonEach decodes every value under prefix, in key order, into the value
// next returns, stopping after limit values when limit > 0.
func jsonEach(txn *badger.Txn, prefix []byte, limit int, next func() any) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	iter := txn.NewIterator(opts)
	defer iter.Close()
	n := 0
	for iter.Seek(prefix); iter.ValidForPrefix(prefix); iter.Next() {
		if limit > 0 && n >= limit {
			break
		}
		k := iter.Item().Key()
		if err := iter.Item().Value(func(b []byte) error { return json.Unmarshal(b, next()) }); err != nil {
			return fmt.Errorf("store: decode %s: %w", k, err)
		}
		n++
	}
	return nil
}

// viewAll reads the JSON values under prefix in key order (see jsonEach)
// in one read transaction; an error says "store: <what>: ...".
func viewAll[T any](s *Store, prefix []byte, limit int, what string) ([]T, error) {
	var out []T
	err := s.view(func(txn *badger.Txn) error {
		return jsonEach(txn, prefix, limit, func() any {
			var zero T
			out = append(out, zero)
			return &out[len(out)-1]
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// viewOne reads the JSON value at key (ErrNotFound when absent, see
// jsonGet) in its own read transaction; an error says "store: <what>: ...".
func viewOne[T any](s *Store, key []byte, what string) (*T, error) {
	var v T
	if err := s.view(func(txn *badger.Txn) error { return jsonGet(txn, key, &v) }); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return &v, nil
}

// DeadLetters lists dead letters, oldest first, at most limit (0: all).
func (s *Store) DeadLetters(limit int) ([]DeadLetter, error) {
	return viewAll[DeadLetter](s, pDead, limit, "list dead letters")
}

// DeadLetter returns one dead letter by id (ErrNotFound when absent).
func (s *Store) DeadLetter(id string) (*DeadLetter, error) {
	return viewOne[DeadLetter](s, deadKey(id), "dead letter "+id)
}

// ReplayDeadLetter moves dead letter id back into the queue as a new item
// (attempts reset, due now, at the back of its key's line) and returns it
// (OpDeadLetterReplay).
func (s *Store) ReplayDeadLetter(id string) (*QueueItem, error) {
	it, err := applyAs[QueueItem](s, &OpDeadLetterReplay{ID: id, NewID: s.newSeqID(), At: time.Now()})
	if err != nil {
		return nil, fmt.Errorf("store: replay dead letter %s: %w", id, err)
	}
	return &it, nil
}

// DropDeadLetter deletes dead letter id for good (OpDeadLetterDrop).
func (s *Store) DropDeadLetter(id string) error {
	if _, err := s.apply(&OpDeadLetterDrop{ID: id}); err != nil {
		return fmt.Errorf("store: drop dead letter %s: %w", id, err)
	}
	return nil
}

// QueueStats counts queued, in-flight and dead items (for metrics). It
// reads values of queued items to tell pending from leased.
func (s *Store) QueueStats() (QueueStats, error) {
	var st QueueStats
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = pQueueItem
		iter := txn.NewIterator(opts)
		for iter.Seek(pQueueItem); iter.ValidForPrefix(pQueueItem); iter.Next() {
			var it struct {
				LeaseOwner string `json:"lease_owner"`
			}
			if err := iter.Item().Value(func(b []byte) error { return json.Unmarshal(b, &it) }); err != nil {
				iter.Close()
				return err
			}
			if it.LeaseOwner != "" {
				st.InFlight++
			} else {
				st.Pending++
			}
		}
		iter.Close()
		opts = badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = pDead
		iter = txn.NewIterator(opts)
		for iter.Seek(pDead); iter.ValidForPrefix(pDead); iter.Next() {
			st.Dead++
		}
		iter.Close()
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("store: queue stats: %w", err)
	}
	return st, nil
}
