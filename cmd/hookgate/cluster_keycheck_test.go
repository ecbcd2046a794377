package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate/store/cluster"
)

// TestClusterNodeWithAnotherKey: real `hookgate serve` processes of an
// encrypted cluster. n1 and n2 share a store key; n3, in the bootstrap
// peers, was started with another: its /readyz is 503 naming the key
// problem in plain words (while /healthz answers 200), /metrics shows
// hookgate_cluster_store_key_mismatch 1, and a write on it is answered
// with an error, not a 200; n1 stays ready. `hookgate cluster join` of a
// fourth node with another key fails naming the mismatch, and the node
// is not added.
func TestClusterNodeWithAnotherKey(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real nodes")
	}
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	ids := []string{"n1", "n2", "n3", "n4"}
	if err := cluster.WriteCerts(certs, cluster.CertOptions{Nodes: ids}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "gateway.toml")
	body := "[store]\nencryption_key_env = \"HOOKGATE_STORE_KEY\"\n" + fmt.Sprintf(clusterTOML, certs)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	raft := map[string]string{}
	for _, id := range ids {
		raft[id] = freeTCP(t)
	}
	peers := fmt.Sprintf("n1=%s,n2=%s,n3=%s", raft["n1"], raft["n2"], raft["n3"])
	procs := map[string]*proc{}
	start := func(id, key string, withPeers bool) {
		args := []string{"--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data-"+id), "--node-id", id, "--raft-addr", raft[id]}
		if withPeers {
			args = append(args, "--peers", peers)
		}
		procs[id] = startServeArgs(t, args, "HOOKGATE_STORE_KEY="+key)
	}
	t.Cleanup(func() {
		for id, p := range procs {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			if t.Failed() {
				t.Logf("----- log of %s -----\n%s", id, p.log())
			}
		}
	})
	start("n1", storeKeyA, true)
	start("n2", storeKeyA, true)
	client := &http.Client{Timeout: 10 * time.Second}
	waitUntil(t, 20*time.Second, "n1 and n2 to accept a batch", func() bool {
		return postBatch(client, procs["n1"].url, "k-1", []int{1, 2}, 3) == 200
	})
	start("n3", storeKeyB, true)
	start("n4", storeKeyB, false)

	get := func(p *proc, path string) (int, string) {
		resp, err := client.Get(p.url + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var ready string
	waitUntil(t, 20*time.Second, "n3's /readyz to name the key problem", func() bool {
		code, b := get(procs["n3"], "/readyz")
		ready = b
		return code == 503 && strings.Contains(b, "same [store] encryption key")
	})
	if !strings.Contains(ready, "sealed with another store key") && !strings.Contains(ready, "differs from the leader") {
		t.Errorf("n3 /readyz %s", ready)
	}
	t.Logf("n3 /readyz: %s", ready)
	if code, _ := get(procs["n3"], "/healthz"); code != 200 {
		t.Errorf("n3 /healthz %d", code)
	}
	if _, m := get(procs["n3"], "/metrics"); !strings.Contains(m, "hookgate_cluster_store_key_mismatch 1") {
		t.Errorf("n3 /metrics lacks hookgate_cluster_store_key_mismatch 1")
	}
	if code := postBatch(client, procs["n3"].url, "k-3", []int{5}, 3); code == 200 {
		t.Error("a batch posted on n3 got 200")
	}
	if code, b := get(procs["n1"], "/readyz"); code != 200 {
		t.Errorf("n1 not ready: %s", b)
	}

	code, out, errOut := runBin(t, env(secrets...), "cluster", "join", "--id", "n4", "--raft-addr", raft["n4"], "--addr", procs["n2"].url)
	if code == 0 || !strings.Contains(errOut, "store key") || !strings.Contains(errOut, "differs from the leader") {
		t.Errorf("cluster join n4 with another key: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("cluster join n4: %s", strings.TrimSpace(errOut))
	var st cluster.Status
	if _, err := admin(procs["n1"], "/v1/cluster", &st); err != nil || len(st.Nodes) != 3 {
		t.Errorf("configuration after the refused join: %+v %v", st.Nodes, err)
	}
}
