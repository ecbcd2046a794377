package main

// Cluster tests: three real `hookgate serve` processes on 127.0.0.1, one
// gateway.toml, told apart by --node-id, --raft-addr, --peers and --data.

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktagen"
	"github.com/hookgate/hookgate/gateway/okta/oktatest"
	"github.com/hookgate/hookgate/store/cluster"
)

// clusterTOML is the [cluster] table the tests use: short Raft timeouts
// so elections take a fraction of a second, small snapshots.
const clusterTOML = `
[cluster]
tls_dir = %q
heartbeat_timeout = "300ms"
election_timeout = "300ms"
leader_lease_timeout = "150ms"
apply_timeout = "3s"
snapshot_threshold = 200
snapshot_interval = "1s"
trailing_logs = 100
`

// testCluster is three nodes sharing one config file.
type testCluster struct {
	t     testing.TB
	cfg   string
	dir   string
	ids   []string
	raft  map[string]string // id -> raft addr
	data  map[string]string // id -> data dir
	procs map[string]*proc
	all   []started // every process started, in order (logs on failure)
	mu    sync.Mutex
	env   []string
}

// started is one process a testCluster started, for its log on failure.
type started struct {
	id string
	p  *proc
}

func freeTCP(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newCluster writes certificates and the config (body plus [cluster])
// and starts three nodes.
func newCluster(t testing.TB, body string, env ...string) *testCluster {
	t.Helper()
	return newClusterWith(t, body, clusterTOML, env...)
}

// newClusterWith is newCluster with its own [cluster] table (a format
// taking the certificate directory).
func newClusterWith(t testing.TB, body, table string, env ...string) *testCluster {
	t.Helper()
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	c := &testCluster{t: t, dir: dir, ids: []string{"n1", "n2", "n3"}, raft: map[string]string{},
		data: map[string]string{}, procs: map[string]*proc{}, env: env}
	if err := cluster.WriteCerts(certs, cluster.CertOptions{Nodes: c.ids}); err != nil {
		t.Fatal(err)
	}
	c.cfg = filepath.Join(dir, "gateway.toml")
	if err := os.WriteFile(c.cfg, []byte(body+fmt.Sprintf(table, certs)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, id := range c.ids {
		c.raft[id] = freeTCP(t)
		c.data[id] = filepath.Join(dir, "data-"+id)
	}
	// On failure every node's log (killed runs included) is printed.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, s := range c.all {
			t.Logf("----- log of %s (start %d) -----\n%s", s.id, i+1, s.p.log())
		}
	})
	for _, id := range c.ids {
		c.start(id)
	}
	return c
}

func (c *testCluster) peers() string {
	var p []string
	for _, id := range c.ids {
		p = append(p, id+"="+c.raft[id])
	}
	return strings.Join(p, ",")
}

// start (re)starts node id on its data directory and Raft address.
func (c *testCluster) start(id string) *proc {
	c.t.Helper()
	p := startServeArgs(c.t, []string{"--config", c.cfg, "--listen", "127.0.0.1:0", "--data", c.data[id],
		"--node-id", id, "--raft-addr", c.raft[id], "--peers", c.peers()}, c.env...)
	c.mu.Lock()
	c.procs[id] = p
	c.all = append(c.all, started{id, p})
	c.mu.Unlock()
	return p
}

// logCount counts the lines containing s in every process's log.
func (c *testCluster) logCount(s string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.all {
		n += strings.Count(p.p.log(), s)
	}
	return n
}

func (c *testCluster) proc(id string) *proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[id]
}

var adminClientHTTP = &http.Client{Timeout: 10 * time.Second}

// admin GETs path on p's admin API and decodes the JSON into out.
func admin(p *proc, path string, out any) (int, error) {
	req, _ := http.NewRequest("GET", p.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := adminClientHTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

// leader waits until the live nodes agree on a leader and returns its id.
func (c *testCluster) leader(timeout time.Duration, skip ...string) string {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, id := range c.ids {
			if contains(skip, id) {
				continue
			}
			var st cluster.Status
			if code, err := admin(c.proc(id), "/v1/cluster", &st); err == nil && code == 200 && st.Leader != "" && !contains(skip, st.Leader) {
				return st.Leader
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no leader within %v", timeout)
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// converge waits until every node applied the same index (all writes
// replicated everywhere).
func (c *testCluster) converge(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		var applied []uint64
		for _, id := range c.ids {
			var st cluster.NodeStatus
			var s cluster.Status
			if code, err := admin(c.proc(id), "/v1/cluster", &s); err != nil || code != 200 {
				break
			}
			for _, n := range s.Nodes {
				if n.ID == id {
					st = n
				}
			}
			applied = append(applied, st.AppliedIndex)
		}
		last = fmt.Sprint(applied)
		if len(applied) == len(c.ids) && applied[0] > 0 && applied[0] == applied[1] && applied[1] == applied[2] {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("nodes did not converge within %v: applied %s", timeout, last)
}

// postBatch posts one Okta delivery adding users to group and reports
// the status (0: no answer).
func postBatch(client *http.Client, url, id string, users []int, group int) int {
	evs := make([]oktagen.Event, len(users))
	for i, n := range users {
		evs[i] = oktagen.MembershipAdd(oktagen.UUID(9, n),
			time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC).Add(time.Duration(n)*time.Millisecond), n, group)
	}
	req, _ := http.NewRequest("POST", url+"/events/okta", bytes.NewReader(oktagen.Envelope(id, evs...)))
	req.Header.Set("Authorization", oktaSecret)
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		errSamples.Store(string(b), true)
	}
	return resp.StatusCode
}

// errSamples keeps the distinct error bodies seen (for the log).
var errSamples sync.Map

// load posts batches round-robin to every live node from senders
// goroutines until stop is closed, recording acknowledged users.
type load struct {
	mu      sync.Mutex
	acked   []int
	lastOK  time.Time
	codes   map[int]int
	stop    chan struct{}
	wg      sync.WaitGroup
	batches int
}

func startLoad(c *testCluster, senders, perBatch, group int) *load {
	l := &load{codes: map[int]int{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	for s := range senders {
		l.wg.Go(func() {
			for b := 0; ; b++ {
				select {
				case <-l.stop:
					return
				default:
				}
				id := c.ids[(s+b)%len(c.ids)]
				p := c.proc(id)
				users := make([]int, perBatch)
				for i := range users {
					users[i] = (s*100000+b)*perBatch + i
				}
				sent := time.Now()
				code := postBatch(client, p.url, fmt.Sprintf("s%d-b%d", s, b), users, group)
				l.mu.Lock()
				l.codes[code]++
				if code == 200 {
					l.acked = append(l.acked, users...)
					if sent.After(l.lastOK) {
						l.lastOK = sent // the newest request that was acknowledged
					}
					l.batches++
				}
				l.mu.Unlock()
				if code != 200 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	return l
}

func (l *load) okSince(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastOK.After(t)
}

func (l *load) ackedBatches() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.batches
}

// TestClusterFailover: Okta batches posted round-robin to three nodes
// under load while the leader is killed with SIGKILL (and restarted)
// three times: posts during an election get 5xx or 200, and every event
// that got a 200 is readable on every node at the end. The raft port
// refuses a raw TCP client and a self-signed-certificate client.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three real nodes under load")
	}
	c := newCluster(t, "")
	first := c.leader(20 * time.Second)
	t.Logf("leader %s", first)

	const group = 42
	l := startLoad(c, 6, 10, group)
	waitBatches := func(n int) {
		deadline := time.Now().Add(30 * time.Second)
		for l.ackedBatches() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d batches acknowledged (codes %v)", l.ackedBatches(), l.codes)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitBatches(20)
	const kills = 3
	for k := range kills {
		lead := c.leader(10 * time.Second)
		killed := time.Now()
		c.proc(lead).kill(t)
		deadline := time.Now().Add(15 * time.Second)
		for !l.okSince(killed) {
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: no 200 from a survivor within 15s", k)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("kill %d of leader %s: first 200 on a survivor after %v", k, lead, time.Since(killed).Round(time.Millisecond))
		waitBatches(l.ackedBatches() + 10)
		c.start(lead)
		waitBatches(l.ackedBatches() + 10)
	}
	close(l.stop)
	l.wg.Wait()
	t.Logf("%d events acknowledged; status codes %v", len(l.acked), l.codes)
	shown := 0
	errSamples.Range(func(k, _ any) bool {
		t.Logf("error answer: %.300s", k)
		shown++
		return shown < 5
	})
	for code := range l.codes {
		// 0: no answer (the killed node); else 200 or 5xx only.
		if code != 0 && code != 200 && code < 500 {
			t.Errorf("%d answers with status %d (want 200 or 5xx)", l.codes[code], code)
		}
	}
	c.converge(30 * time.Second)
	for _, id := range c.ids {
		checkAcked(t, adminClientHTTP, c.proc(id), group, l.acked)
	}

	// The Raft port of a live node: a raw TCP client gets no answer and
	// a self-signed certificate is refused.
	lead := c.leader(10 * time.Second)
	addr := c.raft[lead]
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte("GET /internal/status HTTP/1.1\r\nHost: x\r\n\r\n"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, _ := io.ReadAll(conn); bytes.Contains(b, []byte("applied_index")) {
		t.Errorf("raw TCP read the raft port's status: %q", b)
	}
	conn.Close()
	if got := selfSignedPost(t, addr, "/internal/join", `{"id":"evil","raft_addr":"127.0.0.1:1"}`); strings.HasPrefix(got, "HTTP/1.1 2") {
		t.Errorf("self-signed join answered %q", got)
	}
	var st cluster.Status
	if _, err := admin(c.proc(lead), "/v1/cluster", &st); err != nil || len(st.Nodes) != 3 {
		t.Errorf("cluster after the intruders: %+v %v", st, err)
	}
	for _, id := range c.ids {
		_ = c.proc(id).cmd.Process.Signal(syscall.SIGTERM)
	}
}

// selfSignedPost POSTs body to path on the raft port with a self-signed
// client certificate (and no check of the server's) and returns the
// status line or the error.
func selfSignedPost(t *testing.T, addr, path, body string) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "n1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames:    []string{cluster.ServerName, "n1"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, InsecureSkipVerify: true}
	c, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		return "error: " + err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "error: " + err.Error()
	}
	return line
}

// recorder is the stand-in outside system the test plugin's event work
// calls: it counts calls per event uuid and holds each for a while, so
// work is in flight when the leader dies.
type recorder struct {
	mu    sync.Mutex
	calls map[string]int
	hold  time.Duration
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.calls[strings.TrimPrefix(req.URL.Path, "/")]++
	r.mu.Unlock()
	time.Sleep(r.hold)
	w.WriteHeader(204)
}

func (r *recorder) count(uuid string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[uuid]
}

func (r *recorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		n += c
	}
	return n
}

// hookOn posts an inline hook of kind for email to p.
func hookOn(t *testing.T, p *proc, kind, email, comment string, accessLength int) (int, string) {
	t.Helper()
	al := "null"
	if accessLength > 0 {
		al = fmt.Sprint(accessLength)
	}
	body := fmt.Sprintf(`{"application":{"app_id":"aws","instance_id":"i1","user_friendly_label":"AWS"},
 "permissions":[{"label":"Admin","value":"admin","type":"PERMISSION","source":"MANUAL"}],
 "target_user":{"email":%q,"given_name":"A","family_name":"B"},"access_length":%s,
 "request_comment":%q,"request_task_url":"https://example.com/t","custom_fields":null}`, email, al, comment)
	req, _ := http.NewRequest("POST", p.url+"/hooks/"+kind, strings.NewReader(body))
	req.Header.Set("Authorization", "x")
	resp, err := adminClientHTTP.Do(req)
	if err != nil {
		t.Fatalf("hook %s on %s: %v", kind, p.url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitUntil polls cond every 50 ms until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterHooksQueueAndGrants: inline hooks answered by a follower
// (decision, audit record and grant visible on the leader; kv
// read-your-writes on the follower); deactivation work in flight on the
// leader when it and another node die runs again under the next leader
// (at least once overall, at most once per leadership); with no quorum a
// follower is not ready and answers Okta with 5xx; a grant that expired
// while there was no leader is revoked once there is one.
func TestClusterHooksQueueAndGrants(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three real nodes")
	}
	wasm := buildPluginWasm(t, t.TempDir(), "./cmd/hookgate/testdata/clusterplugin")[0]
	rec := &recorder{calls: map[string]int{}, hold: 1500 * time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: rec}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	body := fmt.Sprintf(`
[[plugin]]
name = "clusterplugin"
path = %q
capabilities = ["log", "config", "kv", "http"]
allowed_hosts = [%q]
config = { url = "http://%s" }

[[route]]
kind = "provisioning"
app_id = "aws"
plugin = "clusterplugin"

[[route]]
kind = "deprovisioning"
app_id = "aws"
plugin = "clusterplugin"

[[route]]
kind = "pre_approval"
app_id = "aws"
plugin = "clusterplugin"

[[on_event]]
types = ["user.lifecycle.deactivate"]
plugin = "clusterplugin"

[queue]
workers = 2
initial_backoff = "200ms"

[grants]
scan_interval = "200ms"
`, wasm, ln.Addr().String(), ln.Addr().String())
	c := newCluster(t, body)
	lead := c.leader(20 * time.Second)
	var follower, other string
	for _, id := range c.ids {
		if id != lead {
			if follower == "" {
				follower = id
			} else {
				other = id
			}
		}
	}
	for _, id := range c.ids {
		waitUntil(t, 2*time.Minute, id+" ready", func() bool {
			code, _ := admin(c.proc(id), "/readyz", nil)
			return code == 200
		})
	}
	fp := c.proc(follower)

	// Inline hooks on a follower.
	if code, b := hookOn(t, fp, "provisioning", "alice@example.com", "v1", 2); code != 200 || !strings.Contains(b, "PROVISIONED_USER") {
		t.Fatalf("provisioning on follower %s: %d %s", follower, code, b)
	}
	if code, b := hookOn(t, fp, "pre_approval", "alice@example.com", "", 0); code != 200 || !strings.Contains(b, `v1`) {
		t.Errorf("kv read-your-writes on follower %s: %d %s", follower, code, b)
	}
	// The follower answered after its own apply; the leader applies the
	// same committed entry on its own schedule.
	var grants []struct{ ID, State, User string }
	waitUntil(t, 10*time.Second, "the follower's grant on the leader", func() bool {
		_, err := admin(c.proc(lead), "/v1/grants?user=alice@example.com", &grants)
		return err == nil && len(grants) == 1 && grants[0].State == "active"
	})
	var audit []struct{ Kind, User, Decision, Via string }
	waitUntil(t, 10*time.Second, "the follower's audit record on the leader", func() bool {
		_, _ = admin(c.proc(lead), "/v1/audit?kind=provisioning", &audit)
		return len(audit) == 1 && audit[0].User == "alice@example.com" && audit[0].Decision == "success"
	})

	// Deactivation work, in flight on the leader when it dies.
	uuids := make([]string, 3)
	evs := make([]oktagen.Event, 3)
	for i := range evs {
		uuids[i] = oktagen.UUID(5, i)
		evs[i] = oktagen.Event{UUID: uuids[i], Published: time.Now().UTC(), EventType: "user.lifecycle.deactivate",
			Targets: []oktagen.Target{oktagen.UserTarget(500 + i)}}
	}
	req, _ := http.NewRequest("POST", fp.url+"/events/okta", bytes.NewReader(oktagen.Envelope("deact", evs...)))
	req.Header.Set("Authorization", oktaSecret)
	resp, err := adminClientHTTP.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("deactivations on follower: %v %v", resp, err)
	}
	resp.Body.Close()
	waitUntil(t, 20*time.Second, "the leader's worker to start the event work", func() bool { return rec.total() > 0 })
	c.proc(lead).kill(t)
	c.proc(other).kill(t)
	killed := time.Now()

	// No quorum: the follower is not ready and Okta gets a 5xx.
	waitUntil(t, 10*time.Second, "the lone follower to report no leader", func() bool {
		var r struct{ Problems []string }
		code, _ := admin(fp, "/readyz", &r)
		return code == 503 && strings.Contains(fmt.Sprint(r.Problems), "no leader")
	})
	start := time.Now()
	if code := postBatch(&http.Client{Timeout: 10 * time.Second}, fp.url, "noquorum", []int{900}, 42); code < 500 {
		t.Errorf("Okta delivery without quorum: %d, want 5xx", code)
	}
	t.Logf("without quorum the 5xx came after %v", time.Since(start).Round(time.Millisecond))
	// Let the grant (2 s) expire while there is no leader.
	time.Sleep(time.Until(killed.Add(3 * time.Second)))

	c.start(lead)
	newLead := c.leader(20*time.Second, other)
	c.start(other)
	t.Logf("leader %s killed with %s; new leader %s", lead, other, newLead)
	for _, u := range uuids {
		waitUntil(t, time.Minute, "event work for "+u+" to run", func() bool { return rec.count(u) >= 1 })
	}
	for _, id := range c.ids {
		waitUntil(t, 30*time.Second, "the expired grant revoked on "+id, func() bool {
			_, _ = admin(c.proc(id), "/v1/grants?user=alice@example.com", &grants)
			return len(grants) == 1 && grants[0].State == "revoked"
		})
	}
	// Each item ran at most once per leadership: the old leader's run
	// (cut short) and the new leader's; never twice under one leader.
	waitUntil(t, 30*time.Second, "the queue to drain", func() bool {
		q := []json.RawMessage{nil}
		code, _ := admin(c.proc(newLead), "/v1/queue", &q)
		return code == 200 && len(q) == 0
	})
	// Under load leadership can change more than once around the
	// failover (300 ms timeouts); each start of the leader-only work is
	// one run that may re-run an item it found cut short.
	runs := c.logCount("leader: starting leader-only work")
	for _, u := range uuids {
		if n := rec.count(u); n < 1 || n > max(2, runs) {
			t.Errorf("event %s ran %d times across one failover (want 1..%d: at most once per worker run)", u, n, max(2, runs))
		}
	}
	// Audit records are gathered by a background writer before they commit.
	waitUntil(t, 10*time.Second, "the grant-expiry deprovisioning audit record", func() bool {
		_, _ = admin(c.proc(newLead), "/v1/audit?kind=deprovisioning", &audit)
		return len(audit) == 1 && audit[0].Via == "grant-expiry" && audit[0].Decision == "success"
	})
	for _, id := range c.ids {
		_ = c.proc(id).cmd.Process.Signal(syscall.SIGTERM)
	}
}

// TestClusterCatchUp: a follower stopped with SIGSTOP while writes go on
// catches up after SIGCONT; a node whose data directory is wiped catches
// up from a snapshot (the leader compacted its log meanwhile). Both end
// with every acknowledged event. GET /v1/cluster and `hookgate cluster
// status` show the three nodes.
func TestClusterCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three real nodes")
	}
	c := newCluster(t, "")
	lead := c.leader(20 * time.Second)
	var stopped, wiped string
	for _, id := range c.ids {
		if id != lead {
			if stopped == "" {
				stopped = id
			} else {
				wiped = id
			}
		}
	}
	const group = 7
	client := &http.Client{Timeout: 10 * time.Second}
	var acked []int
	next := 0
	post := func(n int, to ...string) {
		for b := range n {
			users := make([]int, 5)
			for i := range users {
				users[i] = next
				next++
			}
			p := c.proc(to[b%len(to)])
			if code := postBatch(client, p.url, fmt.Sprintf("cu-%d", next), users, group); code == 200 {
				acked = append(acked, users...)
			}
		}
	}
	post(20, c.ids...)

	// SIGSTOP a follower; writes go on through the other two.
	if err := c.proc(stopped).cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	post(300, lead, wiped)
	if err := c.proc(stopped).cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	c.converge(30 * time.Second)
	checkAcked(t, client, c.proc(stopped), group, acked)

	// Wipe a node and bring it back empty: it gets a snapshot.
	c.proc(wiped).kill(t)
	post(300, lead, stopped)
	if err := os.RemoveAll(c.data[wiped]); err != nil {
		t.Fatal(err)
	}
	c.start(wiped)
	c.converge(30 * time.Second)
	checkAcked(t, client, c.proc(wiped), group, acked)
	if log := c.proc(wiped).log(); !strings.Contains(log, "Installed remote snapshot") {
		t.Errorf("the wiped node did not install a snapshot:\n%.3000s", log)
	}

	var st struct {
		Leader string
		Term   uint64
		Nodes  []struct {
			ID, RaftAddr, State, LastContact string `json:"-"`
		}
	}
	var raw map[string]json.RawMessage
	if _, err := admin(c.proc(wiped), "/v1/cluster", &raw); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(raw["leader"], &st.Leader)
	_ = json.Unmarshal(raw["term"], &st.Term)
	var nodes []map[string]any
	_ = json.Unmarshal(raw["nodes"], &nodes)
	// (Leadership may have moved under load since the start.)
	if !contains(c.ids, st.Leader) || st.Term == 0 || len(nodes) != 3 {
		t.Errorf("GET /v1/cluster: %s", raw)
	}
	for _, n := range nodes {
		for _, k := range []string{"id", "raft_addr", "state", "applied_index", "last_contact"} {
			if _, ok := n[k]; !ok {
				t.Errorf("node %v lacks %q", n, k)
			}
		}
		if s := n["state"]; s != "leader" && s != "follower" {
			t.Errorf("node %v: state %v", n["id"], s)
		}
	}
	code, out, errOut := runBin(t, env(secrets...), "cluster", "status", "--addr", c.proc(stopped).url)
	if code != 0 || !strings.Contains(out, "leader n") || strings.Count(out, "follower") != 2 || strings.Count(out, "leader") != 2 {
		t.Errorf("hookgate cluster status: %d\n%s%s", code, out, errOut)
	}
	for _, id := range c.ids {
		_ = c.proc(id).cmd.Process.Signal(syscall.SIGTERM)
	}
}

// TestClusterFromOneNode: a single node's existing data becomes the
// cluster's first state. The node is restarted with [cluster] listing
// only itself (it bootstraps alone and snapshots its data), two empty
// nodes start without peers, `hookgate cluster join` adds them and they
// get the data; `hookgate cluster remove` takes one out again. A node
// with single-node data refuses to bootstrap together with others.
func TestClusterFromOneNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three real nodes")
	}
	c := &testCluster{t: t, dir: t.TempDir(), ids: []string{"n1", "n2", "n3"}, raft: map[string]string{},
		data: map[string]string{}, procs: map[string]*proc{}}
	certs := filepath.Join(c.dir, "certs")
	if code, out, errOut := runBin(t, env(), "cluster", "certs", "--dir", certs, "--nodes", "n1,n2,n3"); code != 0 {
		t.Fatalf("cluster certs: %s %s", out, errOut)
	}
	c.cfg = filepath.Join(c.dir, "gateway.toml")
	if err := os.WriteFile(c.cfg, []byte(fmt.Sprintf(clusterTOML, certs)), 0o600); err != nil {
		t.Fatal(err)
	}
	plain := writeConfig(t, "")
	for _, id := range c.ids {
		c.raft[id] = freeTCP(t)
		c.data[id] = filepath.Join(c.dir, "data-"+id)
	}
	// One node, no cluster: some state.
	single := startServe(t, plain, c.data["n1"])
	client := &http.Client{Timeout: 10 * time.Second}
	var acked []int
	for b := range 10 {
		users := []int{b * 2, b*2 + 1}
		if code := postBatch(client, single.url, fmt.Sprintf("one-%d", b), users, 3); code != 200 {
			t.Fatalf("single node post: %d", code)
		}
		acked = append(acked, users...)
	}
	if err := single.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-single.done

	// Bootstrapping it together with others is refused, naming the steps.
	code, _, errOut := runBin(t, env(secrets...), "serve", "--config", c.cfg, "--listen", "127.0.0.1:0", "--data", c.data["n1"],
		"--node-id", "n1", "--raft-addr", c.raft["n1"], "--peers", "n1="+c.raft["n1"]+",n2="+c.raft["n2"])
	if code == 0 || !strings.Contains(errOut, "bootstrap it alone") {
		t.Errorf("bootstrap of single-node data with peers: exit %d\n%s", code, errOut)
	}
	// Alone: it seeds the cluster.
	n1 := startServeArgs(t, []string{"--config", c.cfg, "--listen", "127.0.0.1:0", "--data", c.data["n1"],
		"--node-id", "n1", "--raft-addr", c.raft["n1"], "--peers", "n1=" + c.raft["n1"]})
	c.procs["n1"] = n1
	for _, id := range []string{"n2", "n3"} {
		c.procs[id] = startServeArgs(t, []string{"--config", c.cfg, "--listen", "127.0.0.1:0", "--data", c.data[id],
			"--node-id", id, "--raft-addr", c.raft[id]})
	}
	if lead := c.leader(20*time.Second, "n2", "n3"); lead != "n1" {
		t.Fatalf("leader %s", lead)
	}
	for _, id := range []string{"n2", "n3"} {
		code, out, errOut := runBin(t, env(secrets...), "cluster", "join", "--id", id, "--raft-addr", c.raft[id], "--addr", n1.url)
		if code != 0 {
			t.Fatalf("cluster join %s: %d %s %s", id, code, out, errOut)
		}
	}
	c.converge(30 * time.Second)
	for _, id := range c.ids {
		checkAcked(t, client, c.proc(id), 3, acked)
	}
	// A write after the join reaches everyone.
	if code := postBatch(client, c.proc("n3").url, "after-join", []int{100}, 3); code != 200 {
		t.Fatalf("post on a joined node: %d", code)
	}
	acked = append(acked, 100)
	c.converge(30 * time.Second)
	checkAcked(t, client, c.proc("n2"), 3, acked)

	if code, out, errOut := runBin(t, env(secrets...), "cluster", "remove", "--id", "n3", "--addr", c.proc("n2").url); code != 0 {
		t.Fatalf("cluster remove: %d %s %s", code, out, errOut)
	}
	var st cluster.Status
	waitUntil(t, 10*time.Second, "n3 to leave the configuration", func() bool {
		_, _ = admin(n1, "/v1/cluster", &st)
		return len(st.Nodes) == 2
	})
	var metrics string
	if req, _ := http.NewRequest("GET", n1.url+"/metrics", nil); true {
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics = string(b)
	}
	for _, m := range []string{"hookgate_cluster_term ", "hookgate_cluster_is_leader 1", "hookgate_cluster_leader_changes_total",
		`hookgate_cluster_replication_lag_entries{peer="n2"}`, `hookgate_cluster_write_seconds_bucket{stage="commit"`, `hookgate_cluster_index{kind="applied"}`} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	for _, id := range c.ids {
		_ = c.proc(id).cmd.Process.Signal(syscall.SIGTERM)
	}
}

// TestClusterOktaSyncOnLeader: POST /v1/okta/sync on a follower runs the
// sync on the leader (only the leader logs it and talks to the org's
// user listing), GET /v1/okta/sync on the follower shows the leader's
// sync, and the synced user is readable on the follower.
func TestClusterOktaSyncOnLeader(t *testing.T) {
	org := oktatest.New(oktatest.Options{APIToken: orgToken})
	defer org.Close()
	org.AddUser(oktatest.User{ID: "00usync1", Login: "sync.one@example.com", Email: "sync.one@example.com", FirstName: "Sync", LastName: "One"})
	body := fmt.Sprintf("[okta]\norg_url = %q\napi_token_env = %q\n", org.URL, orgTokenEnv)
	c := newCluster(t, body, orgTokenEnv+"="+orgToken)
	lead := c.leader(30 * time.Second)
	var follower string
	for _, id := range c.ids {
		if id != lead {
			follower = id
			break
		}
	}
	f := c.proc(follower)
	req, _ := http.NewRequest("POST", f.url+"/v1/okta/sync", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := adminClientHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(b), `"state"`) {
		t.Fatalf("POST /v1/okta/sync on follower %s: %d %s\n%s", follower, resp.StatusCode, b, f.log())
	}
	deadline := time.Now().Add(time.Minute) // a hang guard
	for {
		var st struct{ State, Error string }
		if code, err := admin(f, "/v1/okta/sync", &st); err != nil || code != 200 {
			t.Fatalf("GET /v1/okta/sync on the follower: %d %v", code, err)
		}
		if st.State == "done" {
			break
		}
		if st.State != "running" || time.Now().After(deadline) {
			t.Fatalf("sync seen from the follower: %+v\n%s", st, f.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range c.ids {
		ran := strings.Contains(c.proc(id).log(), "okta sync started")
		if ran != (id == lead) {
			t.Errorf("node %s (leader %s): ran the sync %v", id, lead, ran)
		}
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		code, err := admin(f, "/v1/users/00usync1", nil)
		if err == nil && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("synced user not readable on the follower: %d %v", code, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
