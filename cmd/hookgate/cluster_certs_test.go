package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClusterCertsAndHTTPS: `hookgate cluster certs` writes a CA and per
// node certificates (keys 0600) that verify against the CA for client and
// server use; it refuses to overwrite them; and [server] tls_cert_file /
// tls_key_file make the listener serve HTTPS with such a certificate.
func TestClusterCertsAndHTTPS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	code, out, errOut := runBin(t, env(), "cluster", "certs", "--dir", dir, "--nodes", "n1,n2,n3")
	if code != 0 {
		t.Fatalf("cluster certs: %d %s %s", code, out, errOut)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	for _, n := range []string{"n1", "n2", "n3"} {
		b, err := os.ReadFile(filepath.Join(dir, n+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: n, KeyUsages: []x509.ExtKeyUsage{u}}); err != nil {
				t.Errorf("%s.pem does not verify for %v: %v", n, u, err)
			}
		}
		st, err := os.Stat(filepath.Join(dir, n+"-key.pem"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s-key.pem: %v mode %v", n, err, st.Mode())
		}
	}
	if code, _, errOut := runBin(t, env(), "cluster", "certs", "--dir", dir, "--nodes", "n1"); code == 0 || !strings.Contains(errOut, "exists already") {
		t.Errorf("second cluster certs over the same files: %d %s", code, errOut)
	}

	// HTTPS listener.
	cfg := writeConfig(t, fmt.Sprintf("[server]\ntls_cert_file = %q\ntls_key_file = %q\n",
		filepath.Join(dir, "n1.pem"), filepath.Join(dir, "n1-key.pem")))
	p := startServe(t, cfg, filepath.Join(t.TempDir(), "data"))
	addr := strings.TrimPrefix(p.url, "http://")
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := cl.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS /healthz: %v\n%s", err, p.log())
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "ok") {
		t.Errorf("HTTPS /healthz: %d %s", resp.StatusCode, b)
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(p.url + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP answered on the HTTPS listener")
	}
}
