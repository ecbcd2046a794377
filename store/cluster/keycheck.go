package cluster

// Nodes compare the ids of their store keys (never the keys): at join
// (the leader asks the new node), when a follower learns of a leader and
// when a node becomes leader (it asks its peers). A node whose key
// differs logs an ERROR and is not ready; the entries it cannot open
// stop it (fsm.stop) before anything diverges.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/hookgate/hookgate/store"
)

// KeyedStateMachine is a StateMachine that seals its log entries with a
// key: it names the key (EntryKeyID, "none" without one) and tells
// whether an entry was sealed for it without opening it (CheckEntryKey,
// an error wrapping store.ErrEntryKeyMismatch when not); the store
// implements it. Nodes whose state machines are not keyed count as
// "none" and check nothing.
type KeyedStateMachine interface {
	StateMachine
	EntryKeyID() string
	CheckEntryKey(data []byte) error
}

// keyID is this node's store key id ("none": no key).
func (n *Node) keyID() string {
	if k, ok := n.o.State.(KeyedStateMachine); ok {
		return k.EntryKeyID()
	}
	return "none"
}

// keyDiff describes, in plain words, how node a's store key id (ka)
// differs from node b's (kb), or "" when they agree or one is unknown (a
// node that does not report it). a and b name the nodes ("this node",
// "the leader n1").
func keyDiff(a, ka, b, kb string) string {
	switch {
	case ka == "" || kb == "" || ka == kb:
		return ""
	case ka == "none":
		return fmt.Sprintf("%s has no store key and %s has one (key id %s): %s", a, b, kb, store.SameKeyHint)
	case kb == "none":
		return fmt.Sprintf("%s has a store key (key id %s) and %s has none: %s", a, ka, b, store.SameKeyHint)
	}
	return fmt.Sprintf("%s's store key (key id %s) differs from %s's (key id %s): %s", a, ka, b, kb, store.SameKeyHint)
}

// fetchStatus reads the node status at a Raft address over mutual TLS.
func (n *Node) fetchStatus(ctx context.Context, addr string) (NodeStatus, error) {
	var v NodeStatus
	req, err := http.NewRequestWithContext(ctx, "GET", "https://"+addr+"/internal/status", nil)
	if err != nil {
		return v, err
	}
	resp, err := n.cli.Do(req)
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("status %d", resp.StatusCode)
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&v)
	return v, err
}

// checkJoinKey is the leader's check of a node about to join at addr: it
// must answer as id, and with the same store key id as the leader's. A
// node that cannot be reached yet is let in (it checks the leader's key
// id itself when it learns of it, and cannot apply entries sealed with
// another key).
func (n *Node) checkJoinKey(id, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := n.fetchStatus(ctx, addr)
	if err != nil {
		n.log.Warn("cluster join: the new node does not answer yet; its store key id is checked when it learns of the leader", "id", id, "raft_addr", addr, "err", err)
		return nil
	}
	if st.ID != "" && st.ID != id {
		return fmt.Errorf("cluster join %s: the node at %s is %q, not %q", id, addr, st.ID, id)
	}
	if d := keyDiff("node "+id, st.StoreKeyID, "the leader "+n.o.NodeID, n.keyID()); d != "" {
		return fmt.Errorf("cluster join %s refused: %w: %s", id, store.ErrEntryKeyMismatch, d)
	}
	return nil
}

// setKeyProblem records the outcome of a key id check of this node
// against the leader (msg "": the keys agree): a new problem is logged
// once as an ERROR; while one stands the node is not ready and proposes
// no write (Apply).
func (n *Node) setKeyProblem(msg string) {
	if msg == "" {
		n.keyProblem.Store(nil)
		return
	}
	msg = "cluster: " + msg
	if old := n.keyProblem.Swap(&msg); old == nil || *old != msg {
		n.log.Error("cluster: store key mismatch; this node is not ready and proposes no write", "problem", msg)
	}
}

// checkLeaderKey compares this node's store key id with the leader's,
// retrying a few times while the leader does not answer (a leader checks
// its peers instead: confirmKeyQuorum).
func (n *Node) checkLeaderKey() {
	wait := 100 * time.Millisecond
	for range 6 {
		addr, id := n.raft.LeaderWithID()
		switch {
		case string(id) == n.o.NodeID:
			return
		case addr != "":
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := n.fetchStatus(ctx, string(addr))
			cancel()
			if err == nil {
				n.setKeyProblem(keyDiff("this node", n.keyID(), "the leader "+string(id), st.StoreKeyID))
				return
			}
		}
		select {
		case <-n.done:
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// confirmKeyQuorum runs when this node becomes leader: it checks its
// peers' store key ids (checkPeerKeys) until a quorum of the voters,
// itself included, shares its key, or a quorum has another one (then it
// hands leadership over), or it is no longer leader in this term. Until
// a quorum is confirmed the leader proposes no entry: what a quorum
// cannot open must never be committed.
func (n *Node) confirmKeyQuorum() {
	term := n.raft.CurrentTerm()
	wait := 50 * time.Millisecond
	for n.raft.State() == raft.Leader && n.raft.CurrentTerm() == term {
		if n.checkPeerKeys(term) {
			return
		}
		select {
		case <-n.done:
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// keyAnswer is one peer's store key id (ok false: it did not answer).
type keyAnswer struct {
	id    string
	voter bool
	key   string
	ok    bool
}

// peerKeys asks every peer of the configuration for its store key id, in
// parallel, and returns the number of voters and the answers as they
// come.
func (n *Node) peerKeys() (int, <-chan keyAnswer) {
	ch := make(chan keyAnswer, 8)
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		close(ch)
		return 0, ch
	}
	voters := 0
	var wg sync.WaitGroup
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
		if string(s.ID) == n.o.NodeID {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			st, err := n.fetchStatus(ctx, string(s.Address))
			ch <- keyAnswer{id: string(s.ID), voter: s.Suffrage == raft.Voter, key: st.StoreKeyID, ok: err == nil}
		})
	}
	go func() { wg.Wait(); close(ch) }()
	return voters, ch
}

// checkPeerKeys is the leader's check of its peers' store key ids for
// term; it reports whether the matter is settled. A quorum of voters
// with its key (a peer that does not report a key id counts as one)
// confirms the term's writes (keyTerm); each peer with another key is
// logged as an ERROR (it stops at the first entry it cannot open, and
// checks this leader's key itself). When a quorum has another key than
// the leader, the leader is the odd one: it is not ready, proposes
// nothing and hands leadership over.
func (n *Node) checkPeerKeys(term uint64) bool {
	voters, answers := n.peerKeys()
	quorum := voters/2 + 1
	mine := n.keyID()
	agree, differ, confirmed := 1, 0, false
	var first string
	for a := range answers {
		if !a.ok {
			continue
		}
		if d := keyDiff("node "+a.id, a.key, "the leader "+n.o.NodeID, mine); d != "" {
			n.log.Error("cluster: a peer's store key differs from this leader's; it cannot apply this cluster's log", "peer", a.id, "problem", d)
			if first == "" {
				first = keyDiff("this node", mine, "node "+a.id, a.key)
			}
			if a.voter {
				differ++
			}
			continue
		}
		if a.voter {
			agree++
		}
		if agree >= quorum && !confirmed {
			n.keyTerm.Store(term)
			confirmed = true
		}
	}
	switch {
	case differ >= quorum:
		n.keyTerm.Store(0)
		n.setKeyProblem(first + fmt.Sprintf(" (and %d of the %d voters)", differ, voters))
		if err := n.raft.LeadershipTransfer().Error(); err != nil {
			n.log.Error("cluster: handing leadership over", "err", err)
		}
		return true
	case confirmed || agree >= quorum:
		n.keyTerm.Store(term)
		n.setKeyProblem("")
		return true
	}
	return false
}

// keyConfirmed waits until this leader confirmed its store key for the
// current term (confirmKeyQuorum), it is no longer leader, or deadline;
// it reports whether it may propose.
func (n *Node) keyConfirmed(deadline time.Time) bool {
	for n.keyTerm.Load() != n.raft.CurrentTerm() {
		if n.raft.State() != raft.Leader || time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// errKeyUnconfirmed: this leader has not confirmed that a quorum shares
// its store key (yet).
var errKeyUnconfirmed = fmt.Errorf("%w: this leader has not confirmed that a quorum of the nodes shares its store key", ErrNoLeader)

// refuseWrite is why this node must not propose a write now (nil: it
// may): it stopped applying, or its store key differs from the leader's.
func (n *Node) refuseWrite() error {
	if _, err := n.fsm.stopped(); err != nil {
		return err
	}
	if p := n.keyProblem.Load(); p != nil {
		return fmt.Errorf("cluster: write refused: %w: %s", store.ErrEntryKeyMismatch, strings.TrimPrefix(*p, "cluster: "))
	}
	return nil
}

// checkForwarded is the leader's check of an entry a follower forwarded:
// one sealed for another key would stop every node that cannot open it,
// so it never enters the log.
func (n *Node) checkForwarded(data []byte) error {
	if k, ok := n.o.State.(KeyedStateMachine); ok && len(data) > 0 {
		return k.CheckEntryKey(data)
	}
	return nil
}

// onFault is called once when the state machine stopped applying: a
// leader that cannot apply the log hands leadership to another node (the
// leader-only work must run on a state that follows the log).
func (n *Node) onFault(error) {
	if n.raft.State() == raft.Leader {
		if terr := n.raft.LeadershipTransfer().Error(); terr != nil {
			n.log.Error("cluster: this leader stopped applying and could not hand leadership over", "err", terr)
		}
	}
}

// Stopped is the error this node stopped applying the log with (wrapping
// ErrStopped and the store's reason, e.g. store.ErrEntryKeyMismatch) and
// the index of the entry it stopped at; nil while it applies.
func (n *Node) Stopped() (uint64, error) { return n.fsm.stopped() }
