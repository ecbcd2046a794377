package cluster

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// listSM is a minimal StateMachine for transport tests: it keeps the
// applied entries in memory.
type listSM struct {
	mu      sync.Mutex
	entries []string
	applied uint64
}

func (s *listSM) ApplyEntry(index uint64, data []byte) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, string(data))
	s.applied = index
	return len(s.entries), nil
}
func (s *listSM) AppliedIndex() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied, nil
}
func (s *listSM) Empty() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries) == 0, nil
}
func (s *listSM) Backup(w io.Writer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return json.NewEncoder(w).Encode(struct {
		E []string
		A uint64
	}{s.entries, s.applied})
}
func (s *listSM) Restore(r io.Reader) error {
	var v struct {
		E []string
		A uint64
	}
	if err := json.NewDecoder(r).Decode(&v); err != nil {
		return err
	}
	s.mu.Lock()
	s.entries, s.applied = v.E, v.A
	s.mu.Unlock()
	return nil
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startOne starts n1, a one-voter cluster node over sm, with
// certificates from dir (written for n1 alone when dir is "") and the
// options changed by tweak, and waits until it leads.
func startOne(t *testing.T, dir string, sm StateMachine, tweak ...func(*Options)) *Node {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
		if err := WriteCerts(dir, CertOptions{Nodes: []string{"n1"}}); err != nil {
			t.Fatal(err)
		}
	}
	conf, err := LoadTLS(TLSFiles{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "n1.pem"), Key: filepath.Join(dir, "n1-key.pem")})
	if err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	o := Options{
		NodeID: "n1", RaftAddr: addr, Peers: []Peer{{"n1", addr}}, Dir: t.TempDir(), TLS: conf,
		HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
		LeaderLeaseTimeout: 50 * time.Millisecond, State: sm,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RaftLog: io.Discard,
	}
	for _, f := range tweak {
		f(&o)
	}
	n, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for !n.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return n
}

// selfSigned is a certificate no cluster CA signed, with the cluster's
// server name and client usage, as an attacker would make.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "n1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{ServerName, "n1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		IsCA:        true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestMutualTLSRefusesStrangers: the Raft port answers only holders of a
// certificate the cluster CA signed. A raw TCP client speaking Raft's wire
// protocol (as hashicorp/raft's plain TCP transport would), a TLS client
// without a certificate, one with a self-signed certificate and one with a
// certificate from another CA all fail: nothing is appended, nothing is
// read. A node certificate from the cluster CA (the control) reads status.
func TestMutualTLSRefusesStrangers(t *testing.T) {
	certs := t.TempDir()
	if err := WriteCerts(certs, CertOptions{Nodes: []string{"n1", "n2"}}); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := WriteCerts(other, CertOptions{Nodes: []string{"n2"}}); err != nil {
		t.Fatal(err)
	}
	sm := &listSM{}
	n := startOne(t, certs, sm)
	if _, err := n.Apply([]byte("first")); err != nil {
		t.Fatal(err)
	}
	before := n.raft.LastIndex()
	addr := n.o.RaftAddr

	// 1. hashicorp/raft's own plain TCP transport tries to append.
	plain, err := raft.NewTCPTransport("127.0.0.1:0", nil, 1, time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	var resp raft.AppendEntriesResponse
	err = plain.AppendEntries("n1", raft.ServerAddress(addr), &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ID: []byte("evil"), Addr: []byte("127.0.0.1:1")},
		Term:      99, Entries: []*raft.Log{{Index: before + 1, Term: 99, Type: raft.LogCommand, Data: []byte("evil")}},
		LeaderCommitIndex: before + 1,
	}, &resp)
	if err == nil {
		t.Errorf("plain-TCP AppendEntries succeeded: %+v", resp)
	}
	// And a raw client reading whatever the port says.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("GET /internal/status HTTP/1.1\r\nHost: x\r\n\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, _ := io.ReadAll(c); strings.Contains(string(b), "applied_index") {
		t.Errorf("raw TCP read the status: %q", b)
	}
	c.Close()

	// 2-4. TLS clients without an acceptable client certificate.
	ca, _ := LoadTLS(TLSFiles{CA: filepath.Join(certs, "ca.pem"), Cert: filepath.Join(certs, "n2.pem"), Key: filepath.Join(certs, "n2-key.pem")})
	otherCA, _ := LoadTLS(TLSFiles{CA: filepath.Join(other, "ca.pem"), Cert: filepath.Join(other, "n2.pem"), Key: filepath.Join(other, "n2-key.pem")})
	for name, conf := range map[string]*tls.Config{
		"no certificate":   {RootCAs: ca.RootCAs, ServerName: ServerName},
		"self-signed":      {Certificates: []tls.Certificate{selfSigned(t)}, RootCAs: ca.RootCAs, ServerName: ServerName},
		"another CA's":     {Certificates: otherCA.Certificates, RootCAs: ca.RootCAs, ServerName: ServerName},
		"valid (control)!": ca,
	} {
		got := statusOver(addr, conf)
		control := strings.HasSuffix(name, "!")
		if control != strings.Contains(got, "applied_index") {
			t.Errorf("%s client: got %q", name, got)
		}
	}
	// A join through the internal endpoint without a certificate.
	if got := postOver(addr, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, InsecureSkipVerify: true},
		"/internal/join", `{"id":"evil","raft_addr":"127.0.0.1:1"}`); strings.HasPrefix(got, "HTTP/1.1 2") {
		t.Errorf("self-signed join answered %q", got)
	}

	if got := n.raft.LastIndex(); got != before {
		t.Errorf("log index moved from %d to %d", before, got)
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil || len(cf.Configuration().Servers) != 1 {
		t.Errorf("configuration changed: %+v %v", cf.Configuration(), err)
	}
	sm.mu.Lock()
	if fmt.Sprint(sm.entries) != "[first]" {
		t.Errorf("state machine entries %q", sm.entries)
	}
	sm.mu.Unlock()
	if n.Refused() < 4 {
		t.Errorf("refused %d connections, want at least 4", n.Refused())
	}
}

// statusOver GETs /internal/status over TLS with conf and returns the
// answer ("" or the error when refused).
func statusOver(addr string, conf *tls.Config) string {
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
	resp, err := cl.Get("https://" + addr + "/internal/status")
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func postOver(addr string, conf *tls.Config, path, body string) string {
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
