package cluster

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/hookgate/hookgate/store"
)

// results keeps the state machine's results of the most recent entries,
// so a write forwarded to the leader can be answered with this node's own
// (identical, deterministic) result once it applied the entry.
const results = 1 << 14

// result is one applied entry's outcome.
type result struct {
	index uint64
	val   any
	err   error
}

// fsm adapts a StateMachine to raft.FSM.
type fsm struct {
	sm   StateMachine
	dir  string // snapshot staging files
	self string // this node's id
	log  *slog.Logger

	mu sync.Mutex
	// onFault, when set (setOnFault), is called in its own goroutine
	// once, when the fsm stops at an entry it cannot apply.
	onFault func(error)
	skip    uint64 // entries up to here are in the store already (replay after restart)
	applied uint64
	changed chan struct{} // closed and replaced on every apply
	ring    []result
	closed  bool
	// fault is set at the first entry the state machine cannot open
	// (faultIndex): nothing is applied from there on (see stop).
	fault      error
	faultIndex uint64
}

// ErrStopped is wrapped by the error of every write and entry on a node
// that stopped applying the log at an entry its store cannot open (one
// sealed with another store key, say): applying the entries after it
// would build a state that differs from every other node's. The node
// applies nothing more until restarted with what it lacked (the right
// key); its store's applied index stays before the entry, so the log
// replays from there.
var ErrStopped = errors.New("cluster: this node stopped applying the log")

// unreadable reports whether err means the state machine could not open
// an entry at all (as opposed to an op that failed deterministically).
func unreadable(err error) bool {
	return errors.Is(err, store.ErrEntryKeyMismatch) || errors.Is(err, store.ErrEntryCorrupt)
}

// stop records that the entry at index could not be opened (err) and
// returns the error every entry from there on carries. Called with mu
// held; the first fault stays.
func (f *fsm) stop(index uint64, err error) error {
	if f.fault == nil {
		f.fault, f.faultIndex = fmt.Errorf("%w at entry %d: %w", ErrStopped, index, err), index
		f.log.Error("cluster: a committed log entry cannot be applied here; this node stopped applying the log (no later entry is applied, /readyz is not ready)", "index", index, "err", err)
		if f.onFault != nil {
			go f.onFault(f.fault)
		}
	}
	return f.fault
}

// setOnFault sets the fault callback (called at once if the fsm stopped
// already, e.g. while raft replayed the log at start).
func (f *fsm) setOnFault(fn func(error)) {
	f.mu.Lock()
	f.onFault = fn
	fault := f.fault
	f.mu.Unlock()
	if fault != nil {
		go fn(fault)
	}
}

// stopped is the entry the fsm stopped at and why (nil: applying).
func (f *fsm) stopped() (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.faultIndex, f.fault
}

func newFSM(sm StateMachine, dir, self string, log *slog.Logger, applied uint64) *fsm {
	f := &fsm{sm: sm, dir: dir, self: self, log: log, skip: applied, applied: applied, changed: make(chan struct{}), ring: make([]result, results)}
	f.useSlot()
	return f
}

// Apply applies one committed entry (raft calls it for commands only, in
// log order, never concurrently with Snapshot or Restore).
func (f *fsm) Apply(l *raft.Log) any {
	res := result{index: l.Index}
	f.mu.Lock()
	skip := l.Index <= f.skip
	fault := f.fault
	f.mu.Unlock()
	if fault != nil {
		res.err = fault
	} else if !skip && len(l.Data) > 0 {
		res.val, res.err = f.sm.ApplyEntry(l.Index, l.Data)
	}
	f.mu.Lock()
	if fault == nil && unreadable(res.err) {
		res.err = f.stop(l.Index, res.err)
	}
	f.ring[l.Index%results] = res
	if f.fault == nil && l.Index > f.applied {
		f.applied = l.Index
	}
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
	return res
}

// BatchStateMachine is a StateMachine that applies several committed
// entries at once (in fewer commits), each with the result ApplyEntry
// would have given it; the store implements it.
type BatchStateMachine interface {
	StateMachine
	ApplyEntries(entries []store.Entry) []store.EntryResult
}

// SlotStateMachine is a StateMachine that mints ids unique per node: it
// gives every server of each committed configuration a slot for life
// (the same on every node, as it follows the log) and mints this node's
// ids in its slot; the store implements it.
type SlotStateMachine interface {
	StateMachine
	ApplyConfiguration(index uint64, servers []string) error
	UseSlotOf(node string) (bool, error)
}

// ApplyBatch applies a run of committed entries (raft hands over up to
// MaxAppendEntries at once, commands and configurations): runs of
// commands through ApplyEntries when the state machine has it, else one
// ApplyEntry each; configurations through ApplyConfiguration. From the
// first entry the state machine cannot open on, nothing is applied and
// every result carries the fault (ErrStopped).
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	f.mu.Lock()
	skip, fault := f.skip, f.fault
	f.mu.Unlock()
	bsm, batching := f.sm.(BatchStateMachine)
	var entries []store.Entry
	var at []int // logs index of each entry
	bad := -1    // logs index of the first entry that cannot be opened
	note := func(i int, r result) {
		out[i] = r
		if bad < 0 && unreadable(r.err) {
			bad = i
		}
	}
	flush := func() {
		if len(entries) == 0 {
			return
		}
		for k, r := range bsm.ApplyEntries(entries) {
			note(at[k], result{index: entries[k].Index, val: r.Value, err: r.Err})
		}
		entries, at = entries[:0], at[:0]
	}
	for i, l := range logs {
		out[i] = result{index: l.Index}
		if fault != nil || bad >= 0 || l.Index <= skip {
			continue
		}
		switch {
		case l.Type == raft.LogConfiguration:
			if flush(); bad < 0 {
				f.applyConfiguration(l)
			}
		case l.Type != raft.LogCommand || len(l.Data) == 0:
		case batching:
			entries = append(entries, store.Entry{Index: l.Index, Data: l.Data})
			at = append(at, i)
		default:
			r := result{index: l.Index}
			r.val, r.err = f.sm.ApplyEntry(l.Index, l.Data)
			note(i, r)
		}
	}
	flush()
	f.mu.Lock()
	if fault == nil && bad >= 0 {
		fault = f.stop(logs[bad].Index, out[bad].(result).err)
	}
	for i, l := range logs {
		if fault != nil && (bad < 0 || i >= bad) {
			out[i] = result{index: l.Index, err: fault}
		} else if l.Index > f.applied {
			f.applied = l.Index
		}
		f.ring[l.Index%results] = out[i].(result)
	}
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
	return out
}

// applyConfiguration hands a configuration entry's servers to a
// SlotStateMachine and takes this node's id slot from it.
func (f *fsm) applyConfiguration(l *raft.Log) {
	ssm, ok := f.sm.(SlotStateMachine)
	if !ok {
		return
	}
	var ids []string
	for _, s := range raft.DecodeConfiguration(l.Data).Servers {
		ids = append(ids, string(s.ID))
	}
	if err := ssm.ApplyConfiguration(l.Index, ids); err != nil {
		f.log.Error("cluster: applying a configuration", "index", l.Index, "err", err)
		return
	}
	f.useSlot()
}

// useSlot makes the state machine mint this node's ids in its slot.
func (f *fsm) useSlot() {
	ssm, ok := f.sm.(SlotStateMachine)
	if !ok {
		return
	}
	if _, err := ssm.UseSlotOf(f.self); err != nil {
		f.log.Error("cluster: id slot", "err", err)
	}
}

// errTooOld: the result of an entry was evicted before the waiter looked.
var errTooOld = errors.New("cluster: result of the write is no longer held (too slow)")

// errClosed: the node is shutting down.
var errClosed = errors.New("cluster: node closed")

// wait blocks until index is applied here (or deadline) and returns its
// result.
func (f *fsm) wait(index uint64, deadline time.Time) (result, error) {
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return result{}, errClosed
		}
		if f.fault != nil && index >= f.faultIndex {
			err := f.fault
			f.mu.Unlock()
			return result{}, err
		}
		if f.applied >= index {
			r := f.ring[index%results]
			f.mu.Unlock()
			if r.index != index {
				if index <= f.skip {
					return result{index: index}, nil // applied before this process started
				}
				return result{}, errTooOld
			}
			return r, nil
		}
		ch := f.changed
		f.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			return result{}, fmt.Errorf("%w: entry %d not applied on this node in time", ErrUnknownOutcome, index)
		}
		t := time.NewTimer(left)
		select {
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// appliedIndex is the last entry this node's store has applied (raft's
// own AppliedIndex counts entries handed to the state machine, which may
// still be applying them).
func (f *fsm) appliedIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

func (f *fsm) close() {
	f.mu.Lock()
	f.closed = true
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// Snapshot takes a Badger backup right away (raft does not apply entries
// meanwhile, so it matches the applied index exactly) into a staging
// file; Persist copies it to the snapshot sink.
//
// A node that stopped applying (ErrStopped) takes no snapshot: raft would
// record it as covering entries the store never applied, and a restart
// would then skip them instead of replaying them.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	if _, fault := f.stopped(); fault != nil {
		return nil, fmt.Errorf("cluster: snapshot refused: %w", fault)
	}
	tmp, err := os.CreateTemp(f.dir, "backup-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("cluster: snapshot: %w", err)
	}
	if err := f.sm.Backup(tmp); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return nil, fmt.Errorf("cluster: snapshot: %w", err)
	}
	return &fileSnapshot{f: tmp}, nil
}

// Restore replaces the store with a snapshot (a new or wiped node, or one
// too far behind the log).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if err := f.sm.Restore(rc); err != nil {
		return fmt.Errorf("cluster: restore snapshot: %w", err)
	}
	a, err := f.sm.AppliedIndex()
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.skip, f.applied = a, a
	if f.fault != nil && a >= f.faultIndex {
		// The snapshot's state already holds the entry this node could
		// not open: nothing of the log is missing any more.
		f.fault, f.faultIndex = nil, 0
	}
	f.mu.Unlock()
	f.useSlot()
	return nil
}

type fileSnapshot struct{ f *os.File }

func (s *fileSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		_ = sink.Cancel()
		return err
	}
	if _, err := io.Copy(sink, s.f); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fileSnapshot) Release() {
	_ = s.f.Close()
	_ = os.Remove(s.f.Name())
}
