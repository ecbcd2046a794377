package config

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/gateway/okta"
)

// TestOktaOAuthCheckedAtLoad: [okta.oauth]'s key file is read and parsed
// when the file is loaded (serving and offline alike, since `hookgate okta
// check` and `okta sync` build the client), and a bad one is refused
// naming okta.oauth.private_key_file, together with the other errors.
func TestOktaOAuthCheckedAtLoad(t *testing.T) {
	t.Setenv("HOOKGATE_OKTA_ORG_URL", "")
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.pem")
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := func(keyFile string) []byte {
		return fmt.Appendf(nil, "[okta]\norg_url = \"https://example.okta.com\"\n[okta.oauth]\nclient_id = \"0oaservice\"\nprivate_key_file = %q\n", keyFile)
	}
	for _, offline := range []bool{true, false} {
		ov := Overrides{Offline: offline}
		if !offline {
			t.Setenv("HOOKGATE_OKTA_SECRET", "okta-secret-0123456789")
			t.Setenv("HOOKGATE_HOOK_SECRET", "hook-secret-0123456789")
			t.Setenv("HOOKGATE_ADMIN_TOKEN", "admin-token-0123456789")
		}
		if _, err := Parse(src(good), dir, ov); err != nil {
			t.Fatalf("offline %v, good key: %v", offline, err)
		}
		for _, f := range []string{bad, filepath.Join(dir, "missing.pem")} {
			_, err := Parse(append(src(f), "[log]\nlevel = \"loud\"\n"...), dir, ov)
			if err == nil || !strings.Contains(err.Error(), "okta.oauth.private_key_file: ") || !strings.Contains(err.Error(), f) ||
				!strings.Contains(err.Error(), "log.level") {
				t.Errorf("offline %v, key %s: err %v, want okta.oauth.private_key_file and log.level named", offline, f, err)
			}
		}
	}
	_, err = Parse([]byte("[okta.oauth]\nprivate_key_file = \"k.pem\"\n"), dir, Overrides{Offline: true})
	if err == nil || !strings.Contains(err.Error(), "okta.oauth.client_id: required") {
		t.Errorf("key file without client id: %v", err)
	}
}

// TestOktaDefaultsFromOnePlace: an empty file's [okta] is
// okta.DefaultOptions().
func TestOktaDefaultsFromOnePlace(t *testing.T) {
	t.Setenv("HOOKGATE_OKTA_ORG_URL", "")
	c, err := Parse(nil, t.TempDir(), Overrides{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Okta
	got.Secret = ""
	if want := okta.DefaultOptions(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("[okta]\n%+v\nwant\n%+v", got, want)
	}
}

// TestEveryErrorAtOnce: a bad value and a missing secret are reported by
// one load.
func TestEveryErrorAtOnce(t *testing.T) {
	t.Setenv("HOOKGATE_OKTA_SECRET", "okta-secret-0123456789")
	t.Setenv("HOOKGATE_HOOK_SECRET", "hook-secret-0123456789")
	t.Setenv("HOOKGATE_ADMIN_TOKEN", "")
	_, err := Parse([]byte("[log]\nlevel = \"loud\"\n[okta]\nmax_body_bytes = -1\n"), t.TempDir(), Overrides{})
	for _, want := range []string{"log.level: ", "okta.max_body_bytes: must be positive", "admin.token_env: environment variable HOOKGATE_ADMIN_TOKEN is not set"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err %v, want it to name %q", err, want)
		}
	}
}
