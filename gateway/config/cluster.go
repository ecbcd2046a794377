package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookgate/hookgate/store/cluster"
)

// Cluster is the optional [cluster] table: with it the node replicates
// every store operation through Raft with its peers (store/cluster).
// Without it (no node_id) the gateway is one process on one Badger.
type Cluster struct {
	// NodeID names this node (letters, digits, - and _); --node-id
	// overrides it. Setting it turns clustering on.
	NodeID string `toml:"node_id"`
	// RaftAddr is the host:port this node's Raft (and forwarding)
	// listener binds and peers dial; --raft-addr overrides it.
	RaftAddr string `toml:"raft_addr"`
	// Peers are "id=host:port" for every voter, this node included;
	// --peers "n1=a:1,n2=b:2" overrides it. The first start of a node whose
	// Raft log is empty bootstraps the cluster with these voters.
	Peers []string `toml:"peers"`
	// TLSDir holds ca.pem, <node_id>.pem and <node_id>-key.pem (from
	// `hookgate cluster certs`); node-to-node traffic is mutual TLS and
	// refuses any peer whose certificate the CA did not sign. Required.
	// Relative to the config file's directory.
	TLSDir string `toml:"tls_dir"`
	// HeartbeatTimeout and ElectionTimeout are Raft's (default 1s each);
	// LeaderLeaseTimeout default 500ms. Tests shorten them. The defaults
	// of these and the fields below are cluster.DefaultOptions'.
	HeartbeatTimeout   Duration `toml:"heartbeat_timeout"`
	ElectionTimeout    Duration `toml:"election_timeout"`
	LeaderLeaseTimeout Duration `toml:"leader_lease_timeout"`
	// ApplyTimeout bounds how long a write waits for a leader and a
	// quorum commit before it fails (5xx). Default 3s (Okta's budget).
	ApplyTimeout Duration `toml:"apply_timeout"`
	// SnapshotThreshold is how many log entries since the last snapshot
	// trigger a new one (Badger backup); default 8192. SnapshotInterval is
	// how often that is checked; default 2m.
	SnapshotThreshold int      `toml:"snapshot_threshold"`
	SnapshotInterval  Duration `toml:"snapshot_interval"`
	// TrailingLogs is how many entries stay in the log after a snapshot
	// (a node further behind gets the snapshot). Default 10240.
	TrailingLogs int `toml:"trailing_logs"`
	// MaxLag is how many entries a node's applied index may trail the
	// commit index before /readyz reports it not ready. Default 1000.
	MaxLag int `toml:"max_lag"`
}

// Enabled reports whether [cluster] (or --node-id) turned clustering on.
func (c *Cluster) Enabled() bool { return c.NodeID != "" }

// Peer is one parsed entry of Cluster.Peers.
type Peer struct {
	ID   string
	Addr string
}

// PeerList parses Peers (validated by Load).
func (c *Cluster) PeerList() []Peer {
	out := make([]Peer, 0, len(c.Peers))
	for _, p := range c.Peers {
		id, addr, _ := strings.Cut(p, "=")
		out = append(out, Peer{ID: strings.TrimSpace(id), Addr: strings.TrimSpace(addr)})
	}
	return out
}

// CAFile, CertFile and KeyFile are this node's TLS files in TLSDir.
func (c *Cluster) CAFile() string   { return filepath.Join(c.TLSDir, "ca.pem") }
func (c *Cluster) CertFile() string { return filepath.Join(c.TLSDir, c.NodeID+".pem") }
func (c *Cluster) KeyFile() string  { return filepath.Join(c.TLSDir, c.NodeID+"-key.pem") }

// ParsePeers splits a --peers flag value ("n1=a:1,n2=b:2").
func ParsePeers(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *Cluster) defaults(baseDir string) {
	if !c.Enabled() {
		return
	}
	if c.TLSDir != "" && !filepath.IsAbs(c.TLSDir) {
		c.TLSDir = filepath.Join(baseDir, c.TLSDir)
	}
	def := cluster.DefaultOptions()
	setDur(&c.HeartbeatTimeout, def.HeartbeatTimeout)
	setDur(&c.ElectionTimeout, def.ElectionTimeout)
	setDur(&c.LeaderLeaseTimeout, def.LeaderLeaseTimeout)
	setDur(&c.ApplyTimeout, def.ApplyTimeout)
	setInt(&c.SnapshotThreshold, int(def.SnapshotThreshold))
	setDur(&c.SnapshotInterval, def.SnapshotInterval)
	setInt(&c.MaxLag, int(def.MaxLag))
	setInt(&c.TrailingLogs, int(def.TrailingLogs))
}

func (c *Cluster) validate(offline bool, bad func(key, format string, a ...any)) {
	if !c.Enabled() {
		if c.RaftAddr != "" || len(c.Peers) > 0 || c.TLSDir != "" {
			bad("cluster.node_id", "required when [cluster] sets raft_addr, peers or tls_dir")
		}
		return
	}
	if !nodeIDPattern.MatchString(strings.ToLower(c.NodeID)) {
		bad("cluster.node_id", "%q must be letters, digits, - or _", c.NodeID)
	}
	if _, _, err := net.SplitHostPort(c.RaftAddr); err != nil || c.RaftAddr == "" {
		bad("cluster.raft_addr", "%q is not host:port", c.RaftAddr)
	}
	ids, addrs := map[string]bool{}, map[string]bool{}
	self := false
	for i, p := range c.PeerList() {
		key := fmt.Sprintf("cluster.peers[%d]", i)
		if p.ID == "" || p.Addr == "" {
			bad(key, "%q is not id=host:port", c.Peers[i])
			continue
		}
		if _, _, err := net.SplitHostPort(p.Addr); err != nil {
			bad(key, "%q: address is not host:port", c.Peers[i])
		}
		if ids[p.ID] {
			bad(key, "duplicate node id %q", p.ID)
		}
		if addrs[p.Addr] {
			bad(key, "duplicate address %q", p.Addr)
		}
		ids[p.ID], addrs[p.Addr] = true, true
		if p.ID == c.NodeID {
			self = true
			if p.Addr != c.RaftAddr {
				bad(key, "lists this node (%s) at %s but cluster.raft_addr is %s", p.ID, p.Addr, c.RaftAddr)
			}
		}
	}
	if len(c.Peers) > 0 && !self {
		bad("cluster.peers", "does not list this node %q", c.NodeID)
	}
	if c.TLSDir == "" {
		bad("cluster.tls_dir", "required: node-to-node traffic is mutual TLS (make the files with `hookgate cluster certs --dir DIR --nodes n1,n2,n3`)")
	} else if !offline {
		for _, f := range []string{c.CAFile(), c.CertFile(), c.KeyFile()} {
			if _, err := os.Stat(f); err != nil {
				bad("cluster.tls_dir", "%v (make the files with `hookgate cluster certs`)", err)
			}
		}
	}
	for key, d := range map[string]time.Duration{
		"cluster.heartbeat_timeout": c.HeartbeatTimeout.Duration, "cluster.election_timeout": c.ElectionTimeout.Duration,
		"cluster.leader_lease_timeout": c.LeaderLeaseTimeout.Duration, "cluster.apply_timeout": c.ApplyTimeout.Duration,
		"cluster.snapshot_interval": c.SnapshotInterval.Duration,
	} {
		if d < 5*time.Millisecond {
			bad(key, "must be at least 5ms, got %s", d)
		}
	}
	if c.LeaderLeaseTimeout.Duration > c.HeartbeatTimeout.Duration {
		bad("cluster.leader_lease_timeout", "must not exceed cluster.heartbeat_timeout")
	}
	if c.SnapshotThreshold < 1 {
		bad("cluster.snapshot_threshold", "must be at least 1")
	}
	if c.MaxLag < 1 {
		bad("cluster.max_lag", "must be at least 1")
	}
}

// validateTLS checks [server] tls_cert_file / tls_key_file.
func (s *Server) validateTLS(offline bool, bad func(key, format string, a ...any)) {
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		bad("server.tls_cert_file", "tls_cert_file and tls_key_file go together")
		return
	}
	if s.TLSCertFile == "" || offline {
		return
	}
	for key, f := range map[string]string{"server.tls_cert_file": s.TLSCertFile, "server.tls_key_file": s.TLSKeyFile} {
		if _, err := os.Stat(f); err != nil {
			bad(key, "%v", err)
		}
	}
}
