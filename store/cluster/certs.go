package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ServerName is the DNS name every node certificate carries and every
// node verifies when it dials a peer: membership is "holds a certificate
// the cluster's CA signed", whatever address the peer is reached at.
const ServerName = "hookgate-cluster"

// CertOptions are WriteCerts' inputs.
type CertOptions struct {
	// Nodes are the node ids; each gets <id>.pem and <id>-key.pem.
	Nodes []string
	// Hosts are extra DNS names or IPs put in every node certificate (so
	// the same files can serve the HTTPS listener); localhost, 127.0.0.1
	// and ::1 are always there.
	Hosts []string
	// Valid is the certificates' lifetime; default one year.
	Valid time.Duration
}

// WriteCerts writes a new CA (ca.pem, ca-key.pem) and a certificate and
// key per node (<id>.pem, <id>-key.pem) to dir, for trying a cluster out.
// Keys are ECDSA P-256, written 0600. Existing files are not overwritten.
func WriteCerts(dir string, o CertOptions) error {
	if len(o.Nodes) == 0 {
		return errors.New("cluster certs: no nodes")
	}
	if o.Valid <= 0 {
		o.Valid = 365 * 24 * time.Hour
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cluster certs: %w", err)
	}
	names := []string{"ca.pem", "ca-key.pem"}
	for _, n := range o.Nodes {
		names = append(names, n+".pem", n+"-key.pem")
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return fmt.Errorf("cluster certs: %s exists already; use an empty directory", filepath.Join(dir, n))
		}
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("cluster certs: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "hookgate cluster CA", Organization: []string{"hookgate"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(o.Valid),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("cluster certs: CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("cluster certs: CA: %w", err)
	}
	if err := writePEM(filepath.Join(dir, "ca.pem"), "CERTIFICATE", caDER, 0o644); err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, "ca-key.pem"), caKey); err != nil {
		return err
	}
	for _, node := range o.Nodes {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return fmt.Errorf("cluster certs: %w", err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: node, Organization: []string{"hookgate"}},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(o.Valid),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			DNSNames:     []string{node, ServerName, "localhost"},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		}
		for _, h := range o.Hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else if h != "" {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return fmt.Errorf("cluster certs: %s: %w", node, err)
		}
		if err := writePEM(filepath.Join(dir, node+".pem"), "CERTIFICATE", der, 0o644); err != nil {
			return err
		}
		if err := writeKey(filepath.Join(dir, node+"-key.pem"), key); err != nil {
			return err
		}
	}
	return nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	return n
}

func writeKey(path string, k *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return fmt.Errorf("cluster certs: %w", err)
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, b, mode); err != nil {
		return fmt.Errorf("cluster certs: %w", err)
	}
	return nil
}

// TLSFiles name a node's CA, certificate and key (PEM).
type TLSFiles struct {
	CA, Cert, Key string
}

// LoadTLS builds the mutual-TLS configuration of one node: it presents
// its own certificate, requires the peer's, and accepts only certificates
// the CA signed (server and client side alike; TLS 1.3 only).
func LoadTLS(f TLSFiles) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("cluster tls: node certificate %s / key %s: %w", f.Cert, f.Key, err)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("cluster tls: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("cluster tls: %s holds no PEM certificate", f.CA)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ServerName:   ServerName,
		MinVersion:   tls.VersionTLS13,
	}, nil
}
