// Package cluster replicates hookgate's store with hashicorp/raft: every
// store operation becomes one Raft log entry, and each node's state
// machine applies committed entries to its own Badger through the same
// code path a single node uses (StateMachine, implemented by the store).
// Snapshots are Badger backups. Node-to-node traffic (Raft, forwarded
// writes, status) is mutual TLS on one port (Mux); the log and stable
// store are raft-boltdb files in the node's data directory.
package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// StateMachine is what a node needs of its local store.
type StateMachine interface {
	// ApplyEntry applies one committed log entry (data as proposed) and
	// records index as applied in the same commit. It must be
	// deterministic given data and the current state.
	ApplyEntry(index uint64, data []byte) (any, error)
	// AppliedIndex is the last index ApplyEntry recorded (0: none).
	AppliedIndex() (uint64, error)
	// Empty reports whether the store holds no state at all.
	Empty() (bool, error)
	// Backup writes a consistent full copy of the store to w.
	Backup(w io.Writer) error
	// Restore replaces the whole store with a Backup.
	Restore(r io.Reader) error
}

// logCacheEntries is how many of the newest log entries a node keeps in
// memory (raft.LogCache) besides the log file.
const logCacheEntries = 1024

// Peer is one voter: its node id and Raft address.
type Peer struct {
	ID   string
	Addr string
}

// DefaultOptions returns the Raft timings and thresholds a node uses
// unless told otherwise, the one place they are written (gateway.toml's
// [cluster] takes its defaults from here).
func DefaultOptions() Options {
	return Options{
		HeartbeatTimeout:   time.Second,
		ElectionTimeout:    time.Second,
		LeaderLeaseTimeout: 500 * time.Millisecond,
		ApplyTimeout:       3 * time.Second,
		SnapshotThreshold:  8192,
		SnapshotInterval:   2 * time.Minute,
		TrailingLogs:       10240,
		MaxLag:             1000,
	}
}

// Options are Start's inputs (gateway.toml's [cluster], resolved).
type Options struct {
	NodeID   string
	RaftAddr string // bind and advertised address
	// Peers are the voters a node with an empty Raft log bootstraps with
	// (none: wait to be added with join).
	Peers []Peer
	// Dir holds raft.db (log and stable store) and snapshots/.
	Dir string
	// TLS is LoadTLS's configuration.
	TLS *tls.Config

	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	ApplyTimeout       time.Duration
	SnapshotThreshold  uint64
	SnapshotInterval   time.Duration
	TrailingLogs       uint64
	// MaxLag: Readiness reports the node not ready when its applied index
	// trails the commit index by more (0: never).
	MaxLag uint64

	State  StateMachine
	Logger *slog.Logger
	// RaftLog receives hashicorp/raft's own log lines (default stderr).
	RaftLog io.Writer
}

// Node is one running cluster member.
type Node struct {
	o     Options
	raft  *raft.Raft
	mux   *Mux
	trans *raft.NetworkTransport
	logs  *raftboltdb.BoltStore
	fsm   *fsm
	http  *http.Server
	cli   *http.Client
	log   *slog.Logger
	m     *metrics

	leaderChanges atomic.Uint64
	obsCh         chan raft.Observation
	observer      *raft.Observer

	leadMu   sync.Mutex
	leaderFn func(ctx context.Context) error
	leadStop context.CancelFunc
	leadWG   sync.WaitGroup

	callsMu sync.Mutex
	calls   map[string]LeaderFunc // HandleLeaderCall

	// keyProblem says how this node's store key differs from the
	// leader's or a peer's (nil: no difference seen; keycheck.go).
	keyProblem atomic.Pointer[string]
	// keyTerm is the term in which this leader confirmed that a quorum
	// of the voters shares its store key; until then it proposes nothing.
	keyTerm atomic.Uint64

	notify chan bool
	done   chan struct{}
	wg     sync.WaitGroup
}

// Errors of Apply.
var (
	// ErrNoLeader: no leader was known within the apply timeout.
	ErrNoLeader = errors.New("cluster: no leader")
	// ErrUnknownOutcome: the write was handed to a leader that lost
	// leadership or became unreachable before confirming it; it may or
	// may not have been committed (the caller must not acknowledge it).
	ErrUnknownOutcome = errors.New("cluster: write outcome unknown (leadership changed)")
)

// Start opens the Raft log in o.Dir, listens on o.RaftAddr (mutual TLS),
// bootstraps the cluster from o.Peers on a first start and joins the
// Raft protocol. The store's existing data becomes the cluster's first
// state only when this node bootstraps alone (see the README).
func Start(o Options) (*Node, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RaftLog == nil {
		o.RaftLog = os.Stderr
	}
	if o.ApplyTimeout <= 0 {
		o.ApplyTimeout = DefaultOptions().ApplyTimeout
	}
	log := o.Logger.With("component", "cluster", "node", o.NodeID)
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Info, Output: o.RaftLog})
	logs, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(o.Dir, "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("cluster: raft log %s: %w", filepath.Join(o.Dir, "raft.db"), err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(o.Dir, 2, hl)
	if err != nil {
		_ = logs.Close()
		return nil, fmt.Errorf("cluster: snapshots: %w", err)
	}
	existing, err := raft.HasExistingState(logs, logs, snaps)
	if err != nil {
		_ = logs.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	applied, err := o.State.AppliedIndex()
	if err != nil {
		_ = logs.Close()
		return nil, err
	}
	seed := false // bootstrapping alone over existing single-node data
	if !existing && len(o.Peers) > 0 {
		empty, err := o.State.Empty()
		if err != nil {
			_ = logs.Close()
			return nil, err
		}
		if !empty && applied == 0 {
			if len(o.Peers) > 1 {
				_ = logs.Close()
				return nil, fmt.Errorf("cluster: this node's store holds single-node data and its Raft log is empty: bootstrap it alone (cluster.peers = [\"%s=%s\"]) so its data becomes the cluster's first state, then add the other nodes with `hookgate cluster join` (README: \"From one node to a cluster\")", o.NodeID, o.RaftAddr)
			}
			seed = true
		}
	}

	mux, err := Listen(o.RaftAddr, o.RaftAddr, o.TLS, log)
	if err != nil {
		_ = logs.Close()
		return nil, fmt.Errorf("cluster: listen on %s (cluster.raft_addr / --raft-addr): %w", o.RaftAddr, err)
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: mux.Raft(), MaxPool: 4, Timeout: 5 * time.Second, Logger: hl,
	})

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(o.NodeID)
	rc.Logger = hl
	if o.HeartbeatTimeout > 0 {
		rc.HeartbeatTimeout = o.HeartbeatTimeout
	}
	if o.ElectionTimeout > 0 {
		rc.ElectionTimeout = o.ElectionTimeout
	}
	if o.LeaderLeaseTimeout > 0 {
		rc.LeaderLeaseTimeout = o.LeaderLeaseTimeout
	}
	if o.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = o.SnapshotThreshold
	}
	if o.SnapshotInterval > 0 {
		rc.SnapshotInterval = o.SnapshotInterval
	}
	if o.TrailingLogs > 0 {
		rc.TrailingLogs = o.TrailingLogs
	}
	rc.CommitTimeout = 5 * time.Millisecond
	// Concurrent writes queue up while the leader writes the previous
	// group to its log (one fsync for all of them), and committed entries
	// reach the state machine in runs (ApplyBatch: one Badger commit).
	rc.BatchApplyCh = true
	// The store keeps its applied index with its data: restore the last
	// snapshot at start only when the store is behind it (e.g. it was
	// wiped); otherwise replay the log tail on top of it (entries it
	// already applied are skipped).
	if list, err := snaps.List(); err == nil && len(list) > 0 && applied >= list[0].Index {
		rc.NoSnapshotRestoreOnStart = true
	}
	notify := make(chan bool, 16)
	rc.NotifyCh = notify

	// The newest entries stay in memory too: the leader sends them to
	// the followers without reading them back from the log file.
	cached, err := raft.NewLogCache(logCacheEntries, logs)
	if err != nil {
		_ = trans.Close()
		_ = logs.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	f := newFSM(o.State, o.Dir, o.NodeID, log, applied)
	r, err := raft.NewRaft(rc, f, cached, logs, snaps, trans)
	if err != nil {
		_ = trans.Close()
		_ = logs.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n := &Node{
		o: o, raft: r, mux: mux, trans: trans, logs: logs, fsm: f, log: log,
		notify: notify, done: make(chan struct{}),
	}
	n.m = newMetrics(n)
	f.setOnFault(n.onFault)
	n.cli = &http.Client{Transport: &http.Transport{
		DialTLSContext:      func(ctx context.Context, _, addr string) (net.Conn, error) { return mux.dial(ctx, addr) },
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     time.Minute,
	}}
	n.obsCh = make(chan raft.Observation, 64)
	n.observer = raft.NewObserver(n.obsCh, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	r.RegisterObserver(n.observer)
	n.http = &http.Server{Handler: n.internalHandler(), ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
	n.wg.Go(func() { _ = n.http.Serve(mux.HTTP()) })
	n.wg.Go(n.watch)

	if !existing && len(o.Peers) > 0 {
		cfg := raft.Configuration{}
		for _, p := range o.Peers {
			cfg.Servers = append(cfg.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr)})
		}
		if err := r.BootstrapCluster(cfg).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			_ = n.Close()
			return nil, fmt.Errorf("cluster: bootstrap: %w", err)
		}
		log.Info("cluster bootstrapped", "voters", len(o.Peers))
	}
	if seed {
		if err := n.seedSnapshot(); err != nil {
			_ = n.Close()
			return nil, err
		}
	}
	return n, nil
}

// seedSnapshot makes the single-node data this node started with the
// cluster's first state: once it leads its one-voter cluster, it takes a
// snapshot (a Badger backup) and drops the log before it, so every node
// added later starts from that snapshot.
func (n *Node) seedSnapshot() error {
	deadline := time.Now().Add(30 * time.Second)
	for n.raft.State() != raft.Leader {
		if time.Now().After(deadline) {
			return errors.New("cluster: seeding from existing data: not leader of the one-node cluster after 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := n.raft.Barrier(30 * time.Second).Error(); err != nil {
		return fmt.Errorf("cluster: seeding: %w", err)
	}
	// A command entry so the snapshot has something past the bootstrap
	// configuration (raft refuses an empty snapshot).
	if err := n.raft.Apply(nil, 30*time.Second).Error(); err != nil {
		return fmt.Errorf("cluster: seeding: %w", err)
	}
	rc := n.raft.ReloadableConfig()
	low := rc
	low.TrailingLogs = 0
	if err := n.raft.ReloadConfig(low); err != nil {
		return fmt.Errorf("cluster: seeding: %w", err)
	}
	err := n.raft.Snapshot().Error()
	_ = n.raft.ReloadConfig(rc)
	if err != nil {
		return fmt.Errorf("cluster: seeding snapshot: %w", err)
	}
	n.log.Info("the existing single-node data is the cluster's first state (snapshot taken)")
	return nil
}

// watch follows leadership: leader-only work starts (after the state
// machine caught up with everything committed before) when this node
// becomes leader and stops when it is not.
func (n *Node) watch() {
	for {
		select {
		case <-n.done:
			n.stopLeading()
			return
		case <-n.obsCh:
			n.leaderChanges.Add(1)
			n.wg.Go(n.checkLeaderKey)
		case isLeader := <-n.notify:
			if isLeader {
				n.wg.Go(n.confirmKeyQuorum)
				n.startLeading()
			} else {
				n.stopLeading()
			}
		}
	}
}

// OnLeader sets f, run in its own goroutine each time this node becomes
// leader, with a context that ends when leadership is lost (or the node
// closes). Once per term: a term has one leader, and f is started once
// per leadership. Set it before the node can become leader (right after
// Start; a leadership gained earlier is picked up).
//
// Leader-only work must not die with the term still running: when f
// returns an error (a transient write failure, say) while this node is
// still leader in the same term, f is run again after a backoff (100 ms
// doubling to 5 s); the same holds for the barrier that precedes it. f
// returning nil ends the work for the term.
//
// OnLeader(nil) stops the leader-only work running now (waiting for it)
// and starts none again.
func (n *Node) OnLeader(f func(ctx context.Context) error) {
	n.leadMu.Lock()
	n.leaderFn = f
	n.leadMu.Unlock()
	if f == nil {
		n.stopLeading()
		return
	}
	if n.raft.State() == raft.Leader {
		n.startLeading()
	}
}

// leaderRetry bounds the backoff between attempts of leader-only work
// (and its barrier) within one term.
var leaderRetry = struct{ first, max time.Duration }{100 * time.Millisecond, 5 * time.Second}

func (n *Node) startLeading() {
	n.leadMu.Lock()
	defer n.leadMu.Unlock()
	if n.leadStop != nil || n.leaderFn == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.leadStop = cancel
	f := n.leaderFn
	term := n.raft.CurrentTerm()
	n.leadWG.Go(func() { n.lead(ctx, term, f) })
}

// lead runs the leader-only work f for term: a barrier first (everything
// committed by earlier leaders is applied here), then f, each retried with
// backoff on failure while this node is still leader in term and ctx is
// live.
func (n *Node) lead(ctx context.Context, term uint64, f func(ctx context.Context) error) {
	wait := leaderRetry.first
	// again reports whether to try once more after a failure: still this
	// term's leader after the backoff.
	again := func() bool {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		wait = min(2*wait, leaderRetry.max)
		return n.raft.State() == raft.Leader && n.raft.CurrentTerm() == term
	}
	for {
		err := n.raft.Barrier(n.o.ApplyTimeout * 10).Error()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		n.log.Warn("cluster: leader barrier failed; retrying while leader", "term", term, "err", err, "retry_in", wait)
		if !again() {
			return
		}
	}
	wait = leaderRetry.first
	for {
		if ctx.Err() != nil {
			return
		}
		if _, err := n.fsm.stopped(); err != nil {
			// Its state no longer follows the log: the work would act
			// on a stale state (onFault hands leadership over).
			n.log.Error("leader: not starting leader-only work: this node stopped applying the log; handing leadership over", "term", term, "err", err)
			_ = n.raft.LeadershipTransfer()
			return
		}
		n.log.Info("leader: starting leader-only work", "term", term)
		err := f(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		n.log.Error("leader-only work failed; retrying while leader", "term", term, "err", err, "retry_in", wait)
		if !again() {
			return
		}
	}
}

func (n *Node) stopLeading() {
	n.leadMu.Lock()
	stop := n.leadStop
	n.leadStop = nil
	n.leadMu.Unlock()
	if stop != nil {
		stop()
		n.leadWG.Wait()
		n.log.Info("leader-only work stopped")
	}
}

// Apply proposes data to the log and returns the state machine's result
// for it once this node applied it (the leader's result, since the state
// machine is deterministic). On a follower the entry is forwarded to the
// leader over mutual TLS. It fails with ErrNoLeader when no leader is
// known within the apply timeout, and with ErrUnknownOutcome when the
// outcome cannot be known; neither may be acknowledged.
//
// A node that stopped applying the log (ErrStopped) or whose store key
// differs from the leader's proposes nothing: the write fails at once.
func (n *Node) Apply(data []byte) (any, error) {
	if err := n.refuseWrite(); err != nil {
		return nil, err
	}
	start := time.Now()
	deadline := start.Add(n.o.ApplyTimeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, ErrNoLeader
		}
		if n.raft.State() == raft.Leader {
			if !n.keyConfirmed(deadline) {
				if n.raft.State() == raft.Leader {
					return nil, errKeyUnconfirmed
				}
				continue
			}
			if left = time.Until(deadline); left <= 0 {
				return nil, ErrNoLeader
			}
			f := n.raft.Apply(data, left)
			err := f.Error()
			switch {
			case errors.Is(err, raft.ErrNotLeader):
				continue // not appended: try the new leader
			case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress):
				return nil, ErrUnknownOutcome
			case errors.Is(err, raft.ErrEnqueueTimeout):
				return nil, ErrNoLeader
			case err != nil:
				return nil, fmt.Errorf("cluster: apply: %w", err)
			}
			d := time.Since(start)
			n.observe("commit", d)
			n.observe("apply", d)
			res := f.Response().(result)
			return res.val, res.err
		}
		addr, _ := n.raft.LeaderWithID()
		if addr == "" {
			time.Sleep(min(20*time.Millisecond, left))
			continue
		}
		idx, err := n.forward(string(addr), data, left)
		if errors.Is(err, errNotLeader) {
			time.Sleep(min(20*time.Millisecond, left))
			continue
		}
		if err != nil {
			return nil, err
		}
		n.observe("commit", time.Since(start))
		res, err := n.fsm.wait(idx, deadline)
		if err != nil {
			return nil, err
		}
		n.observe("apply", time.Since(start))
		return res.val, res.err
	}
}

func (n *Node) observe(stage string, d time.Duration) {
	n.m.latency.WithLabelValues(stage).Observe(d.Seconds())
}

// WaitApplied waits until this node applied index (read-your-writes
// after a write elsewhere).
func (n *Node) WaitApplied(index uint64, timeout time.Duration) error {
	_, err := n.fsm.wait(index, time.Now().Add(timeout))
	return err
}

// IsLeader reports whether this node leads now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// ID is this node's id.
func (n *Node) ID() string { return n.o.NodeID }

// LeaderChanges counts leader changes this node observed.
func (n *Node) LeaderChanges() uint64 { return n.leaderChanges.Load() }

// Refused counts connections that failed the mutual-TLS handshake.
func (n *Node) Refused() int { return n.mux.Refused() }

// Close leaves the Raft protocol (without removing the node from the
// cluster), stops leader-only work and closes the log.
func (n *Node) Close() error {
	select {
	case <-n.done:
		return nil
	default:
	}
	close(n.done)
	err := n.raft.Shutdown().Error()
	n.raft.DeregisterObserver(n.observer)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = n.http.Shutdown(ctx)
	cancel()
	_ = n.trans.Close()
	_ = n.mux.Close()
	n.wg.Wait()
	n.fsm.close()
	if cerr := n.logs.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}
