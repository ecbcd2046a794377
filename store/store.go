// Package store is hookgate's embedded Badger store: identity state, the
// Okta event log and rejected events, the plugin work queue and dead letters,
// plugin key/value state, grants and the audit log.
//
// Nothing outside this package sees Badger. Every change of state is one
// of a small, named set of store operations (ops.go), each a plain value
// applied through one choke point (Store.apply -> Writer -> ApplyLocal):
//
//	events.ingest        an Okta delivery: rejected elements; for each new
//	                     event its log entry, identity changes and plugin
//	                     work; the watermark (Store.Ingest)
//	identity.apply       identity changes, e.g. an Okta sync page
//	                     (Store.ApplyIdentity)
//	events.watermark     raise the last-applied published time
//	queue.enqueue        add a work item (Store.Enqueue)
//	queue.claim          lease due items to a worker run (ClaimDue)
//	queue.ack            remove a completed item, with its grant change
//	queue.retry          record a failed attempt, schedule the next
//	queue.dead_letter    move an item to dead letters, with its grant change
//	queue.recover        rebuild the due index after a restart
//	dlq.replay, dlq.drop replay or delete a dead letter
//	grant.record         a new time-boxed grant (PutGrant)
//	grant.transition     revoke, fail or annotate a grant (TransitionGrant)
//	grant.claim_expired  expired grants to deprovisioning work
//	kv.set, kv.delete    one plugin key
//	kv.incr              add to a plugin counter
//	kv.compare_and_set   set a plugin key if it holds an expected value
//	audit.append         a batch of audit records
//
// Each op is deterministic given its fields and the current state (callers'
// methods assign ids and read the clock before building it), so a
// replicated log can carry ops (EncodeOp/DecodeOp) and every node's state
// machine applies them with ApplyLocal (SetWriter swaps the local writer
// for one that proposes). Every write commits with synced writes: when an
// op returns nil the data is on disk.
//
// Key layout (prefixes are one short ASCII word followed by '/'):
//
//	u/<id>                 user record (JSON, with per-field timestamps)
//	ul/<login>, ue/<email> user indexes -> id (lower-cased)
//	g/<id>                 group record
//	gn/<name>              group name index -> id (lower-cased)
//	gm/<group>/<user>      membership edge (present flag + stamp)
//	ug/<user>/<group>      the same edge, reverse
//	ga/<group>/<app>       app-to-group assignment edge
//	ag/<app>/<group>       the same edge, reverse
//	au/<app>/<user>        direct app-to-user assignment edge
//	ua/<user>/<app>        the same edge, reverse
//	a/<id>                 app record
//	ev/<uuid>              seen-event marker -> event log key
//	el/<published>/<uuid>  accepted event log (raw JSON)
//	rj/<seq>               rejected (malformed) events with reason
//	q/…, dl/…              plugin work queue and dead letters
//	kv/<plugin>/<key>      plugin key/value state
//	gr/…, gx/…             grants and their expiry index
//	at/…                   audit log
//	meta/…                 bookkeeping (sequence counters, cursors)
package store

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrNotFound is returned by reads for an id that does not exist or whose
// entity has been deleted.
var ErrNotFound = errors.New("not found")

// Options configures Open. The zero value is usable.
type Options struct {
	// InMemory runs Badger without a directory (tests only; nothing is durable).
	InMemory bool
	// Logger receives Badger's own log lines at debug level. Default: slog.Default().
	Logger *slog.Logger
	// ValueLogFileSize caps each value log file. Default: 64 MiB, smaller
	// than Badger's 1 GiB default so a fresh data directory stays small.
	ValueLogFileSize int64
	// NoSync commits without fsync. Only for a cluster node: its Raft log
	// (fsynced on a quorum before a write is acknowledged) is the durable
	// copy, and the store records the last log index it applied in each
	// commit, so whatever a crash loses here is applied again from the log
	// (or the last snapshot) at the next start.
	NoSync bool
	// EncryptionKey, when set, turns on Badger's encryption at rest with
	// this 32-byte AES-256 master key: every SST block, value log and
	// write-ahead log is encrypted with a data key, and the data keys are
	// kept in the KEYREGISTRY file encrypted with the master key. A store
	// written with a key opens only with the same key, and a store
	// written without one does not open with a key: Open then fails with
	// ErrEncryptionKey and leaves the directory as it was.
	EncryptionKey []byte
	// DataKeyRotation is how often Badger makes a new data key (older
	// data stays readable with the keys in the registry). Default:
	// Badger's, 10 days.
	DataKeyRotation time.Duration
	// IndexCacheSize is the table-index cache Badger needs with
	// encryption (decrypting indexes on every read would be slow).
	// Default 64 MiB when EncryptionKey is set, unused otherwise.
	IndexCacheSize int64
}

// ErrEncryptionKey is returned (wrapped) by Open when the store in the
// directory was written with a different encryption key, with a key while
// none is given, or without a key while one is given.
var ErrEncryptionKey = errors.New("store encryption key mismatch")

// Store is the open Badger database. It is safe for concurrent use.
type Store struct {
	db  *badger.DB
	log *slog.Logger
	// lapCalls counts SetLastAppliedPublished calls (it sweeps stale
	// watermark entries every lapSweepEvery calls).
	lapCalls atomic.Uint64
	// lapTop is the greatest watermark key known to be committed (nil:
	// not known yet, e.g. after Open or a restore); see lapTopKey.
	lapTop atomic.Pointer[string]
	// backupKey is the encryption key (nil: none); Backup encrypts with
	// it (replica.go).
	backupKey []byte
	// entryAEAD seals replicated log entries (nil: no key; replica.go)
	// and entryKeyID names its key in every sealed entry.
	entryAEAD  cipher.AEAD
	entryKeyID []byte
	// idSlot is the residue (mod idSlots) of every id this store mints, 0
	// outside a cluster (SetIDSlot, UseSlotOf).
	idSlot atomic.Uint64
	// cache memoizes LookupUser and IsMember between identity writes.
	cache readCache
	// writer is the choke point every store operation goes through (see
	// ops.go): ApplyLocal by default, a replicated log in a cluster.
	writer Writer
	// kvUsage is each plugin namespace's quota accounting (kv_quota.go).
	kvMu    sync.Mutex
	kvUsage map[string]*kvUsage
}

// Open opens (creating if needed) the store in dir with synced writes.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ValueLogFileSize == 0 {
		opts.ValueLogFileSize = 64 << 20
	}
	// Badger options, checked against BenchmarkIngestHTTP (gateway/
	// bench_test.go, whose raw baseline opens its store through Open so both
	// sides share these options) on the 2-core machine:
	//   - NumCompactors 2 (vs 4), MemTableSize 16/32 MiB (vs 64),
	//     BlockCacheSize 32 MiB: no difference outside the run-to-run noise
	//     (+-20% under other jobs' load), so Badger's defaults stay.
	//     ValueThreshold stays at the default (values up to 1 MiB live in the
	//     LSM): events are ~0.5-1 KiB, and a separate value log would add a
	//     second synced file per commit.
	//   - DetectConflicts must stay on (the default). Identity writes are
	//     read-modify-write: writeTx.touch/setLife read a record, merge
	//     last-writer-wins registers into it and write it back, and setEdge
	//     reads an edge's stamp to decide whether the write wins. Two
	//     concurrent batches touching the same user or group would otherwise
	//     both read the old record and the later commit would silently drop
	//     the other's newer register; with conflict detection one of them is
	//     retried (Update) and re-reads. Event dedupe (ev/<uuid> checked,
	//     then written) relies on it the same way.
	bo := badger.DefaultOptions(dir).
		WithSyncWrites(!opts.NoSync).
		WithLogger(badgerLogger{opts.Logger}).
		WithValueLogFileSize(opts.ValueLogFileSize).
		WithNumVersionsToKeep(1)
	if opts.InMemory {
		bo = bo.WithDir("").WithValueDir("").WithInMemory(true)
	}
	if len(opts.EncryptionKey) > 0 {
		if len(opts.EncryptionKey) != 32 {
			return nil, fmt.Errorf("store: open %q: encryption key is %d bytes, want 32 (AES-256)", dir, len(opts.EncryptionKey))
		}
		if opts.IndexCacheSize <= 0 {
			opts.IndexCacheSize = 64 << 20
		}
		bo = bo.WithEncryptionKey(opts.EncryptionKey).WithIndexCacheSize(opts.IndexCacheSize)
		if opts.DataKeyRotation > 0 {
			bo = bo.WithEncryptionKeyRotationDuration(opts.DataKeyRotation)
		}
	}
	db, err := badger.Open(bo)
	if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
		what := "the store was written with a different encryption key, or without encryption"
		if len(opts.EncryptionKey) == 0 {
			what = "the store is encrypted and no key was given (set [store] encryption_key_env and that variable)"
		}
		return nil, fmt.Errorf("store: open %q: %w: %s; nothing was changed", dir, ErrEncryptionKey, what)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %q: %w", dir, err)
	}
	aead, keyID, err := entryAEAD(opts.EncryptionKey)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %q: %w", dir, err)
	}
	st := &Store{db: db, log: opts.Logger, backupKey: slices.Clone(opts.EncryptionKey), entryAEAD: aead, entryKeyID: keyID}
	st.writer = localWriter{st}
	return st, nil
}

// Close flushes and closes Badger. Call it once, after every writer stopped.
func (s *Store) Close() error { return s.db.Close() }

// Closed reports whether Close has been called (readiness checks).
func (s *Store) Closed() bool { return s.db.IsClosed() }

// maxConflictRetries bounds Update's retries on optimistic-concurrency
// conflicts between concurrent transactions touching the same keys.
const maxConflictRetries = 64

// update runs fn in a read-write transaction and commits it with synced
// writes, retrying fn from scratch when Badger reports a conflict with a
// concurrent transaction. fn must therefore be free of side effects outside
// the transaction. When update returns nil, everything fn wrote is durable.
// Only ApplyLocal (ops.go) calls it: every write is a store operation.
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	for i := 0; ; i++ {
		err := s.db.Update(fn)
		if errors.Is(err, badger.ErrConflict) && i < maxConflictRetries {
			time.Sleep(time.Duration(i+1) * 100 * time.Microsecond)
			continue
		}
		return err
	}
}

// view runs fn in a read-only transaction.
func (s *Store) view(fn func(txn *badger.Txn) error) error { return s.db.View(fn) }

// badgerLogger routes Badger's printf-style logging into slog.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Infof(f string, a ...any) {
	b.l.Debug(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Debugf(f string, a ...any) {
	b.l.Debug(fmt.Sprintf(f, a...), "component", "badger")
}
