package cluster

// The internal HTTP endpoint on the Raft port (mutual TLS, reached only
// by holders of a cluster certificate): followers forward writes to the
// leader, nodes ask each other for their status, join and remove reach
// the leader from any node.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/hookgate/hookgate/store"
)

// maxForwardBytes caps one forwarded entry (an Okta delivery is at most
// okta.max_body_bytes of JSON; its op is of the same order).
const maxForwardBytes = 64 << 20

// errNotLeader: the peer asked is not the leader (any more).
var errNotLeader = errors.New("cluster: not the leader")

func (n *Node) internalHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /internal/apply", n.serveApply)
	mux.HandleFunc("GET /internal/status", n.serveStatus)
	mux.HandleFunc("POST /internal/join", n.serveJoin)
	mux.HandleFunc("POST /internal/remove", n.serveRemove)
	mux.HandleFunc("POST /internal/call/{name}", n.serveCall)
	return mux
}

// LeaderFunc is a named call run on the leader (HandleLeaderCall): it
// gets the caller's body and answers with an HTTP status and a body.
type LeaderFunc func(ctx context.Context, body []byte) (status int, resp []byte)

// HandleLeaderCall registers f as the call name, run on whichever node
// leads when any node asks (CallLeader). Register every call on every
// node before it serves requests.
func (n *Node) HandleLeaderCall(name string, f LeaderFunc) {
	n.callsMu.Lock()
	defer n.callsMu.Unlock()
	if n.calls == nil {
		n.calls = map[string]LeaderFunc{}
	}
	n.calls[name] = f
}

func (n *Node) leaderCall(name string) LeaderFunc {
	n.callsMu.Lock()
	defer n.callsMu.Unlock()
	return n.calls[name]
}

// CallLeader runs the call name on the leader (this node when it leads,
// else over mutual TLS) and returns its status and body: work that must
// run on the leader only (an Okta sync) asked of any node. ErrNoLeader
// when no leader answers within the apply timeout.
func (n *Node) CallLeader(ctx context.Context, name string, body []byte) (int, []byte, error) {
	deadline := time.Now().Add(n.o.ApplyTimeout)
	for {
		if n.raft.State() == raft.Leader {
			f := n.leaderCall(name)
			if f == nil {
				return 0, nil, fmt.Errorf("cluster: no leader call %q", name)
			}
			code, resp := f(ctx, body)
			return code, resp, nil
		}
		if addr, _ := n.raft.LeaderWithID(); addr != "" {
			code, resp, err := n.callAt(ctx, string(addr), name, body)
			if !errors.Is(err, errNotLeader) {
				return code, resp, err
			}
		}
		if time.Now().After(deadline) {
			return 0, nil, ErrNoLeader
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (n *Node) callAt(ctx context.Context, addr, name string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", "https://"+addr+"/internal/call/"+name, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	resp, err := n.cli.Do(req)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			return 0, nil, errNotLeader // gone: ask the next leader
		}
		return 0, nil, fmt.Errorf("cluster: leader at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("cluster: leader at %s: %w", addr, err)
	}
	if resp.StatusCode == http.StatusMisdirectedRequest && resp.Header.Get("X-Hookgate-Not-Leader") != "" {
		return 0, nil, errNotLeader
	}
	return resp.StatusCode, b, nil
}

// serveCall runs a named leader call asked by another node.
func (n *Node) serveCall(w http.ResponseWriter, r *http.Request) {
	if n.raft.State() != raft.Leader {
		w.Header().Set("X-Hookgate-Not-Leader", "1")
		http.Error(w, errNotLeader.Error(), http.StatusMisdirectedRequest)
		return
	}
	f := n.leaderCall(r.PathValue("name"))
	if f == nil {
		http.Error(w, fmt.Sprintf("no leader call %q", r.PathValue("name")), http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	code, resp := f(r.Context(), body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(resp)
}

// serveApply is a follower's forwarded write: applied here if this node
// leads, answered with the entry's index once committed (the follower
// then waits for its own apply of it).
func (n *Node) serveApply(w http.ResponseWriter, r *http.Request) {
	if n.raft.State() != raft.Leader {
		http.Error(w, errNotLeader.Error(), http.StatusMisdirectedRequest)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxForwardBytes+1))
	if err != nil || len(data) > maxForwardBytes {
		http.Error(w, "bad forwarded entry", http.StatusBadRequest)
		return
	}
	if err := n.checkForwarded(data); err != nil {
		w.Header().Set("X-Hookgate-Key-Mismatch", "1")
		http.Error(w, "leader "+n.o.NodeID+": "+err.Error(), http.StatusConflict)
		return
	}
	timeout := n.o.ApplyTimeout
	if ms, err := strconv.Atoi(r.Header.Get("X-Timeout-Ms")); err == nil && ms > 0 {
		timeout = min(timeout, time.Duration(ms)*time.Millisecond)
	}
	deadline := time.Now().Add(timeout)
	if !n.keyConfirmed(deadline) {
		// Nothing proposed: the follower asks again (or gives up).
		http.Error(w, errKeyUnconfirmed.Error(), http.StatusMisdirectedRequest)
		return
	}
	left := time.Until(deadline)
	if left <= 0 {
		http.Error(w, ErrNoLeader.Error(), http.StatusMisdirectedRequest) // nothing proposed
		return
	}
	f := n.raft.Apply(data, left)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			http.Error(w, errNotLeader.Error(), http.StatusMisdirectedRequest)
			return
		}
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]uint64{"index": f.Index()})
}

// forward hands data to the leader at addr and returns its log index.
func (n *Node) forward(addr string, data []byte, timeout time.Duration) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", "https://"+addr+"/internal/apply", bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Timeout-Ms", strconv.FormatInt(timeout.Milliseconds(), 10))
	resp, err := n.cli.Do(req)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			// Never reached the old leader (it is gone): nothing was
			// proposed, so wait for the new one.
			return 0, errNotLeader
		}
		// Sent or not, we cannot tell: the caller must not acknowledge.
		return 0, fmt.Errorf("%w: forwarding to the leader at %s: %v", ErrUnknownOutcome, addr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch resp.StatusCode {
	case http.StatusOK:
		var v struct{ Index uint64 }
		if err := json.Unmarshal(body, &v); err != nil || v.Index == 0 {
			return 0, fmt.Errorf("%w: leader's answer %q", ErrUnknownOutcome, body)
		}
		return v.Index, nil
	case http.StatusMisdirectedRequest:
		return 0, errNotLeader
	case http.StatusConflict:
		if resp.Header.Get("X-Hookgate-Key-Mismatch") != "" {
			// Refused before it was proposed: nothing was written.
			return 0, fmt.Errorf("cluster: the leader at %s refused this node's write: %w (%s)", addr, store.ErrEntryKeyMismatch, bytes.TrimSpace(body))
		}
		return 0, fmt.Errorf("%w: leader at %s: %s", ErrUnknownOutcome, addr, bytes.TrimSpace(body))
	default:
		return 0, fmt.Errorf("%w: leader at %s: %s", ErrUnknownOutcome, addr, bytes.TrimSpace(body))
	}
}

// NodeStatus is one node as GET /v1/cluster shows it.
type NodeStatus struct {
	ID           string `json:"id"`
	RaftAddr     string `json:"raft_addr"`
	State        string `json:"state"` // leader, follower, candidate, unreachable
	AppliedIndex uint64 `json:"applied_index"`
	LastIndex    uint64 `json:"last_index"`
	CommitIndex  uint64 `json:"commit_index"`
	Term         uint64 `json:"term"`
	// LastContact is how long ago the node last heard from the leader
	// ("0s" on the leader, "never", or a duration).
	LastContact string `json:"last_contact"`
	Voter       bool   `json:"voter"`
	// StoreKeyID names the key the node's store seals log entries with
	// (16 hex digits, "none" without a key; "" from a node that does not
	// say): every node of an encrypted cluster has the same. Never the
	// key itself.
	StoreKeyID string `json:"store_key_id,omitempty"`
	// Stopped says why the node stopped applying the log ("": it
	// applies); see ErrStopped.
	Stopped string `json:"stopped,omitempty"`
}

// Status is GET /v1/cluster.
type Status struct {
	Leader string       `json:"leader"`
	Term   uint64       `json:"term"`
	Nodes  []NodeStatus `json:"nodes"`
}

// Local is this node's own status.
func (n *Node) Local() NodeStatus {
	st := NodeStatus{
		ID: n.o.NodeID, RaftAddr: n.o.RaftAddr,
		State:        stateName(n.raft.State()),
		AppliedIndex: n.fsm.appliedIndex(),
		LastIndex:    n.raft.LastIndex(),
		CommitIndex:  n.raft.CommitIndex(),
		Term:         n.raft.CurrentTerm(),
		Voter:        true,
		StoreKeyID:   n.keyID(),
	}
	if _, err := n.fsm.stopped(); err != nil {
		st.Stopped = err.Error()
	}
	switch lc := n.raft.LastContact(); {
	case st.State == "leader":
		st.LastContact = "0s"
	case lc.IsZero():
		st.LastContact = "never"
	default:
		st.LastContact = time.Since(lc).Round(time.Millisecond).String()
	}
	return st
}

func stateName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Candidate:
		return "candidate"
	case raft.Follower:
		return "follower"
	}
	return "shutdown"
}

func (n *Node) serveStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(n.Local())
}

// Status asks every server of the configuration for its state (over
// mutual TLS, 500 ms each, in parallel); one that does not answer is
// "unreachable".
func (n *Node) Status(ctx context.Context) Status {
	_, leaderID := n.raft.LeaderWithID()
	st := Status{Leader: string(leaderID), Term: n.raft.CurrentTerm()}
	var servers []raft.Server
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		servers = f.Configuration().Servers
	}
	st.Nodes = make([]NodeStatus, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() {
			if string(s.ID) == n.o.NodeID {
				st.Nodes[i] = n.Local()
			} else {
				st.Nodes[i] = n.peerStatus(ctx, string(s.ID), string(s.Address))
			}
			st.Nodes[i].Voter = s.Suffrage == raft.Voter
		})
	}
	wg.Wait()
	sort.Slice(st.Nodes, func(i, j int) bool { return st.Nodes[i].ID < st.Nodes[j].ID })
	return st
}

func (n *Node) peerStatus(ctx context.Context, id, addr string) NodeStatus {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	v, err := n.fetchStatus(ctx, addr)
	if err != nil {
		return NodeStatus{ID: id, RaftAddr: addr, State: "unreachable", LastContact: "unknown"}
	}
	v.ID, v.RaftAddr = id, addr
	return v
}

// joinRequest is the body of /internal/join and /internal/remove.
type joinRequest struct {
	ID   string `json:"id"`
	Addr string `json:"raft_addr"`
}

func (n *Node) serveJoin(w http.ResponseWriter, r *http.Request)   { n.serveMembership(w, r, true) }
func (n *Node) serveRemove(w http.ResponseWriter, r *http.Request) { n.serveMembership(w, r, false) }

func (n *Node) serveMembership(w http.ResponseWriter, r *http.Request, join bool) {
	var req joinRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	var err error
	if join {
		err = n.Join(req.ID, req.Addr)
	} else {
		err = n.Remove(req.ID)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Join adds a voter (on the leader; a follower passes it to the leader).
func (n *Node) Join(id, addr string) error {
	if id == "" || addr == "" {
		return errors.New("cluster join: id and raft address are required")
	}
	if n.raft.State() == raft.Leader {
		if err := n.checkJoinKey(id, addr); err != nil {
			return err
		}
		if err := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 10*time.Second).Error(); err != nil {
			return fmt.Errorf("cluster join %s: %w", id, err)
		}
		n.log.Info("node joined", "id", id, "raft_addr", addr)
		return nil
	}
	return n.toLeader("/internal/join", joinRequest{ID: id, Addr: addr})
}

// Remove takes a server out of the configuration (on the leader; a
// follower passes it to the leader).
func (n *Node) Remove(id string) error {
	if id == "" {
		return errors.New("cluster remove: id is required")
	}
	if n.raft.State() == raft.Leader {
		if err := n.raft.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error(); err != nil {
			return fmt.Errorf("cluster remove %s: %w", id, err)
		}
		n.log.Info("node removed", "id", id)
		return nil
	}
	return n.toLeader("/internal/remove", joinRequest{ID: id})
}

func (n *Node) toLeader(path string, body any) error {
	addr, _ := n.raft.LeaderWithID()
	if addr == "" {
		return ErrNoLeader
	}
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", "https://"+string(addr)+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := n.cli.Do(req)
	if err != nil {
		return fmt.Errorf("cluster: leader at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return fmt.Errorf("cluster: leader at %s: %s", addr, bytes.TrimSpace(msg))
	}
	return nil
}
