package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/store/cluster"
)

// TestClusterConfig: [cluster] is validated naming the key, the
// command-line overrides win, and the TLS files must exist.
func TestClusterConfig(t *testing.T) {
	for _, v := range []string{"HOOKGATE_OKTA_SECRET", "HOOKGATE_HOOK_SECRET", "HOOKGATE_ADMIN_TOKEN"} {
		t.Setenv(v, "secret-"+v)
	}
	dir := t.TempDir()
	tls := filepath.Join(dir, "certs")
	if err := os.MkdirAll(tls, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca.pem", "n2.pem", "n2-key.pem"} {
		if err := os.WriteFile(filepath.Join(tls, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src := `
[cluster]
node_id = "n1"
raft_addr = "127.0.0.1:7001"
peers = ["n1=127.0.0.1:7001", "n2=127.0.0.1:7002"]
tls_dir = "certs"
election_timeout = "200ms"
`
	// n1's files are missing.
	if _, err := Parse([]byte(src), dir, Overrides{}); err == nil || !strings.Contains(err.Error(), "cluster.tls_dir") {
		t.Errorf("missing node certificate: %v", err)
	}
	c, err := Parse([]byte(src), dir, Overrides{NodeID: "n2", RaftAddr: "127.0.0.1:7002"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.NodeID != "n2" || c.Cluster.CertFile() != filepath.Join(tls, "n2.pem") ||
		c.Cluster.ElectionTimeout.String() != "200ms" || c.Cluster.HeartbeatTimeout.String() != "1s" {
		t.Errorf("cluster config %+v", c.Cluster)
	}
	if got := c.Cluster.PeerList(); len(got) != 2 || got[1] != (Peer{"n2", "127.0.0.1:7002"}) {
		t.Errorf("peers %v", got)
	}
	for _, tc := range []struct {
		ov  Overrides
		key string
	}{
		{Overrides{NodeID: "n3", RaftAddr: "127.0.0.1:7003"}, "cluster.peers"}, // not listed
		{Overrides{NodeID: "n2", RaftAddr: "127.0.0.1:9"}, "cluster.peers[1]"}, // address mismatch
		{Overrides{NodeID: "n2", RaftAddr: "nope"}, "cluster.raft_addr"},       // not host:port
		{Overrides{NodeID: "n2", RaftAddr: "127.0.0.1:7002", Peers: []string{"n2=127.0.0.1:7002", "n2=127.0.0.1:7003"}}, "duplicate node id"},
		{Overrides{NodeID: "n2", RaftAddr: "127.0.0.1:7002", Peers: []string{"n2=127.0.0.1:7002", "bad"}}, "cluster.peers[1]"},
	} {
		if _, err := Parse([]byte(src), dir, tc.ov); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%+v: err %v, want one naming %s", tc.ov, err, tc.key)
		}
	}
	if _, err := Parse([]byte("[cluster]\nraft_addr = \"127.0.0.1:1\"\n"), dir, Overrides{}); err == nil || !strings.Contains(err.Error(), "cluster.node_id") {
		t.Errorf("raft_addr without node_id: %v", err)
	}
	if _, err := Parse([]byte("[server]\ntls_cert_file = \"a.pem\"\n"), dir, Overrides{}); err == nil || !strings.Contains(err.Error(), "server.tls_cert_file") {
		t.Errorf("cert without key: %v", err)
	}
}

// TestClusterDefaultsFromOnePlace: a [cluster] that sets no timings gets
// cluster.DefaultOptions' (what cluster.Start would use), and a set one
// stays.
func TestClusterDefaultsFromOnePlace(t *testing.T) {
	c, err := Parse([]byte("[cluster]\nnode_id = \"n1\"\nraft_addr = \"127.0.0.1:7001\"\ntls_dir = \"certs\"\nelection_timeout = \"200ms\"\n"), t.TempDir(), Overrides{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	d, k := cluster.DefaultOptions(), c.Cluster
	if k.HeartbeatTimeout.Duration != d.HeartbeatTimeout || k.LeaderLeaseTimeout.Duration != d.LeaderLeaseTimeout ||
		k.ApplyTimeout.Duration != d.ApplyTimeout || k.SnapshotInterval.Duration != d.SnapshotInterval ||
		uint64(k.SnapshotThreshold) != d.SnapshotThreshold || uint64(k.TrailingLogs) != d.TrailingLogs || uint64(k.MaxLag) != d.MaxLag {
		t.Errorf("[cluster] %+v, want cluster.DefaultOptions' %+v", k, d)
	}
	if k.ElectionTimeout.Duration != 200*time.Millisecond {
		t.Errorf("election_timeout %v, want the file's 200ms", k.ElectionTimeout)
	}
}
