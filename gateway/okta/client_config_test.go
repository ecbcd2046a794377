package okta_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/gateway/okta/oktatest"
)

func TestNewClientFromConfig(t *testing.T) {
	key := rsaKey(t)
	srv := newOrg(t, oktatest.Options{APIToken: testToken, ClientID: "0oaservice0000000001", PublicKey: &key.PublicKey})
	srv.SeedFixtureOrg()

	t.Setenv("MY_OKTA_TOKEN", testToken)
	c, err := okta.NewClientFromConfig(okta.Options{OrgURL: srv.URL, APITokenEnv: "MY_OKTA_TOKEN"})
	if err != nil || c.AuthKind() != "ssws" {
		t.Fatalf("ssws from config: %v", err)
	}
	if _, err := c.GetUser(context.Background(), oktatest.AliceID); err != nil {
		t.Fatal(err)
	}

	der, err := x509.MarshalPKCS8PrivateKey(key) // what Okta's console generates
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "okta.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = okta.NewClientFromConfig(okta.Options{OrgURL: srv.URL, OAuth: okta.OAuthOptions{ClientID: "0oaservice0000000001", PrivateKeyFile: path}})
	if err != nil || c.AuthKind() != "oauth" {
		t.Fatalf("oauth from config: %v", err)
	}
	if _, err := c.GetUser(context.Background(), oktatest.AliceID); err != nil {
		t.Fatal(err)
	}

	if _, err := okta.NewClientFromConfig(okta.Options{OrgURL: srv.URL, OAuth: okta.OAuthOptions{ClientID: "x", PrivateKeyFile: filepath.Join(t.TempDir(), "missing.pem")}}); err == nil {
		t.Error("a missing key file was accepted")
	}
	t.Setenv("HOOKGATE_OKTA_API_TOKEN", "")
	if _, err := okta.NewClientFromConfig(okta.Options{OrgURL: srv.URL}); err == nil {
		t.Error("no credentials were accepted")
	}
}
