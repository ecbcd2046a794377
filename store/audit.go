package store

// Audit log: one record per inline-hook decision (and per refused request
// that got as far as parsing). Records are written asynchronously by a
// group-committing writer so that an inline hook does not pay one fsync per
// request; Flush (called before every read through the admin API) makes all
// records handed to Record so far durable and visible.
//
// Keys:
//
//	at/<inverted unix nanos, 16 hex>/<id>        record (JSON)
//	atu/<lower-cased user>/<inverted nanos>/<id> user index (empty value)
//
// The inverted time makes "newest first" a forward scan. Both keys carry the
// retention TTL.

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// AuditRecord is one audited inline hook call.
type AuditRecord struct {
	// ID is unique per record; set by Record when empty.
	ID string `json:"id"`
	// Time is when the call started; set by Record when zero.
	Time        time.Time `json:"time"`
	Kind        string    `json:"kind"`
	AppID       string    `json:"app_id"`
	InstanceID  string    `json:"instance_id,omitempty"`
	Permissions []string  `json:"permissions"`
	User        string    `json:"user"`
	// Plugin is the routed plugin ("" when no route matched).
	Plugin string `json:"plugin,omitempty"`
	// Decision is success, failure, error (plugin error, trap or timeout),
	// no_route, conflict or bad_request.
	Decision string `json:"decision"`
	// Response is the literal (or "204") the caller was answered with.
	Response string `json:"response,omitempty"`
	// Message is the plugin's message to the requester.
	Message string `json:"message,omitempty"`
	// Duration is the time spent deciding, in nanoseconds on the wire.
	Duration time.Duration `json:"duration_ns"`
	// Error is the detailed reason for error decisions (never sent to the caller).
	Error string `json:"error,omitempty"`
	// Logs summarizes what the plugin logged during the call: its first
	// lines ("LEVEL message", each cut short), then how many were left out.
	Logs []string `json:"logs,omitempty"`
	// Via says who asked: "lumos" for POST /hooks, "grant-expiry", "cli"...
	Via string `json:"via"`
}

// AuditFilter selects records for ListAudit.
type AuditFilter struct {
	// User matches AuditRecord.User case-insensitively ("" = any).
	User string
	// Kind matches AuditRecord.Kind exactly ("" = any).
	Kind string
	// Plugin matches AuditRecord.Plugin exactly ("" = any).
	Plugin string
	// Decision matches AuditRecord.Decision exactly ("" = any).
	Decision string
	// After is AuditCursor of the last record of the previous page: the
	// list continues with older records ("" = from the newest).
	After string
	// Limit caps the result; 0 means 100, larger than 1000 is cut to 1000.
	Limit int
}

// AuditOptions configures NewAuditLog. The zero value is usable.
type AuditOptions struct {
	// Retention is the TTL of each record. Default 90 days.
	Retention time.Duration
	// Buffer is how many records may wait for the writer before Record
	// blocks. Default 4096.
	Buffer int
	// MaxBatch caps records per commit. Default 512.
	MaxBatch int
	// CommitInterval is the least time between the starts of two commits
	// while nobody waits in Flush: under load the writer gathers records
	// for up to this long instead of paying one synced commit (an msync of
	// Badger's write-ahead log, ~100-200 µs of CPU) per handful of records.
	// A record arriving after a quiet spell is committed at once, a Flush
	// ends the wait at once (so hooks.durable_audit replies are not
	// delayed), and a record is never held longer than this plus one
	// commit. Default 2ms; negative commits as soon as records arrive.
	CommitInterval time.Duration
	// Logger receives write failures. Default slog.Default().
	Logger *slog.Logger
}

// AuditLog writes audit records with group commit and reads them back.
type AuditLog struct {
	s    *Store
	opts AuditOptions
	ch   chan auditOp
	// wake ends the writer's gathering early: Flush and Close signal it,
	// and Record when the queue is half full. Records alone do not wake
	// the gathering writer (that would cost a goroutine switch each).
	wake chan struct{}
	done chan struct{}

	closeOnce sync.Once
	mu        sync.RWMutex // guards closed against sends on a closed channel
	closed    bool
}

// auditOp is a record to write or, with flush set, a barrier to signal once
// everything queued before it is committed.
type auditOp struct {
	rec   AuditRecord
	flush chan error
}

// NewAuditLog starts the audit writer over s. Close it before closing s.
func NewAuditLog(s *Store, opts AuditOptions) *AuditLog {
	if opts.Retention <= 0 {
		opts.Retention = 90 * 24 * time.Hour
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 4096
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.CommitInterval == 0 {
		opts.CommitInterval = defaultAuditCommitInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &AuditLog{s: s, opts: opts, ch: make(chan auditOp, opts.Buffer), wake: make(chan struct{}, 1), done: make(chan struct{})}
	go a.run()
	return a
}

// defaultAuditCommitInterval is AuditOptions.CommitInterval's default.
const defaultAuditCommitInterval = 2 * time.Millisecond

// ErrAuditClosed is returned by Record and Flush after Close.
var ErrAuditClosed = errors.New("store: audit log closed")

// Record queues rec for writing; it blocks only when the writer is
// Buffer records behind. ID and Time are filled in when empty.
func (a *AuditLog) Record(rec AuditRecord) error {
	if rec.Time.IsZero() {
		rec.Time = time.Now()
	}
	if rec.ID == "" {
		rec.ID = newAuditID()
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return ErrAuditClosed
	}
	a.ch <- auditOp{rec: rec}
	if len(a.ch) >= cap(a.ch)/2 {
		a.signal()
	}
	return nil
}

// signal wakes a gathering writer.
func (a *AuditLog) signal() {
	select {
	case a.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// Flush waits until every record queued before the call is committed and
// returns the first write error since the previous flush.
func (a *AuditLog) Flush() error {
	done := make(chan error, 1)
	a.mu.RLock()
	if a.closed {
		a.mu.RUnlock()
		return ErrAuditClosed
	}
	a.ch <- auditOp{flush: done}
	a.signal()
	a.mu.RUnlock()
	return <-done
}

// Close writes what is queued and stops the writer. It is idempotent.
func (a *AuditLog) Close() error {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		close(a.ch)
		a.signal()
		a.mu.Unlock()
		<-a.done
	})
	return nil
}

func (a *AuditLog) run() {
	defer close(a.done)
	batch := make([]AuditRecord, 0, a.opts.MaxBatch)
	var flushes []chan error
	var lastErr error
	var lastCommit time.Time
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	for op := range a.ch {
		batch, flushes = batch[:0], flushes[:0]
		add := func(op auditOp) {
			if op.flush != nil {
				flushes = append(flushes, op.flush)
			} else {
				batch = append(batch, op.rec)
			}
		}
		add(op)
		a.drain(&batch, add)
		// Group commit: while nobody waits in Flush, let records gather in
		// the queue until CommitInterval after the previous commit started.
		// A Flush or Close (or a half-full queue) ends the wait. A wake-up
		// left over from a barrier already taken only ends a later wait
		// early.
		if d := time.Until(lastCommit.Add(a.opts.CommitInterval)); d > 0 && len(flushes) == 0 && len(batch) < a.opts.MaxBatch {
			wait.Reset(d)
			select {
			case <-wait.C:
			case <-a.wake:
			}
			wait.Stop()
			a.drain(&batch, add)
		}
		if len(batch) > 0 {
			lastCommit = time.Now()
			if err := a.write(batch); err != nil {
				a.opts.Logger.Error("audit write failed", "records", len(batch), "err", err)
				if lastErr == nil {
					lastErr = err
				}
			}
		}
		for _, f := range flushes {
			f <- lastErr
		}
		if len(flushes) > 0 {
			lastErr = nil
		}
	}
}

// drain adds what is queued right now, without waiting, until the batch
// is full.
func (a *AuditLog) drain(batch *[]AuditRecord, add func(auditOp)) {
	for len(*batch) < a.opts.MaxBatch {
		select {
		case op, ok := <-a.ch:
			if !ok {
				return
			}
			add(op)
		default:
			return
		}
	}
}

// write commits batch in one synced transaction (OpAuditAppend).
func (a *AuditLog) write(batch []AuditRecord) error {
	expires := time.Now().Add(a.opts.Retention)
	_, err := a.s.apply(&OpAuditAppend{Records: batch, ExpiresAt: expires})
	return err
}

// appendAudit writes records in txn, each expiring at expires (Unix
// seconds). Keys and values are encoded into one buffer and the entries
// into one slice per batch, so a record costs no allocation of its own
// beyond Badger's.
func appendAudit(txn *badger.Txn, batch []AuditRecord, expires uint64) error {
	buf := make([]byte, 0, 512*len(batch))
	entries := make([]badger.Entry, 0, 2*len(batch))
	for i := range batch {
		r := &batch[i]
		var inv [16]byte
		appendInvertedTime(inv[:0], r.Time)

		vs := len(buf)
		var err error
		if buf, err = appendAuditJSON(buf, r); err != nil {
			return fmt.Errorf("audit: encode %s: %w", r.ID, err)
		}
		ks := len(buf)
		buf = append(append(append(append(buf, "at/"...), inv[:]...), '/'), r.ID...)
		entries = append(entries, badger.Entry{Key: buf[ks:len(buf):len(buf)], Value: buf[vs:ks:ks], ExpiresAt: expires})
		if err := txn.SetEntry(&entries[len(entries)-1]); err != nil {
			return fmt.Errorf("audit: write %s: %w", r.ID, err)
		}
		if r.User != "" {
			us := len(buf)
			buf = appendLower(append(buf, "atu/"...), r.User)
			buf = append(append(append(append(buf, '/'), inv[:]...), '/'), r.ID...)
			entries = append(entries, badger.Entry{Key: buf[us:len(buf):len(buf)], ExpiresAt: expires})
			if err := txn.SetEntry(&entries[len(entries)-1]); err != nil {
				return fmt.Errorf("audit: index %s: %w", r.ID, err)
			}
		}
	}
	return nil
}

// List returns records matching f, newest first. It flushes pending
// records first so a caller reads its own writes.
func (a *AuditLog) List(f AuditFilter) ([]AuditRecord, error) {
	if err := a.Flush(); err != nil && !errors.Is(err, ErrAuditClosed) {
		return nil, err
	}
	return a.s.ListAudit(f)
}

// ListAudit returns audit records matching f, newest first, from what is
// committed (see AuditLog.List to include pending records).
func (s *Store) ListAudit(f AuditFilter) ([]AuditRecord, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = 100
	case limit > 1000:
		limit = 1000
	}
	out := make([]AuditRecord, 0, min(limit, 64))
	err := s.view(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		prefix := []byte("at/")
		byUser := f.User != ""
		if byUser {
			prefix = []byte("atu/" + strings.ToLower(f.User) + "/")
			io.PrefetchValues = false
		}
		io.Prefix = prefix
		it := txn.NewIterator(io)
		defer it.Close()
		start := prefix
		if f.After != "" {
			// The smallest key after <prefix><cursor>: ids hold no NUL.
			start = append(append(append([]byte(nil), prefix...), f.After...), 0)
		}
		for it.Seek(start); it.ValidForPrefix(prefix) && len(out) < limit; it.Next() {
			var rec AuditRecord
			var err error
			if byUser {
				// atu/<user>/<inv>/<id> -> at/<inv>/<id>
				rest := it.Item().Key()[len(prefix):]
				var item *badger.Item
				item, err = txn.Get(append([]byte("at/"), rest...))
				if errors.Is(err, badger.ErrKeyNotFound) {
					continue
				}
				if err == nil {
					err = item.Value(func(v []byte) error { return json.Unmarshal(v, &rec) })
				}
			} else {
				err = it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &rec) })
			}
			if err != nil {
				return fmt.Errorf("audit: read %q: %w", it.Item().Key(), err)
			}
			if (f.Kind != "" && rec.Kind != f.Kind) || (f.Plugin != "" && rec.Plugin != f.Plugin) ||
				(f.Decision != "" && rec.Decision != f.Decision) {
				continue
			}
			out = append(out, rec)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AuditCursor is the paging cursor after r (AuditFilter.After).
func AuditCursor(r *AuditRecord) string {
	var inv [16]byte
	appendInvertedTime(inv[:0], r.Time)
	return string(inv[:]) + "/" + r.ID
}

func newAuditID() string {
	var b [8]byte
	v := rand.Uint64()
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}
