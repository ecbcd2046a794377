package okta_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/gateway/okta"
)

// writeKey writes the test key as PKCS#8 PEM (what Okta's console
// generates) and returns the file.
func writeKey(t *testing.T) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(rsaKey(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "okta.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOptionsValidate: the defaults are valid; each bad value is reported
// naming its key relative to [okta], [okta.oauth]'s key file included
// (read and parsed, without any request to Okta).
func TestOptionsValidate(t *testing.T) {
	if err := okta.DefaultOptions().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	good := okta.DefaultOptions()
	good.OrgURL = "https://example.okta.com"
	good.OAuth = okta.OAuthOptions{ClientID: "0oaservice", PrivateKeyFile: writeKey(t), Scopes: []string{"okta.users.read"}}
	if err := good.Validate(); err != nil {
		t.Fatalf("OAuth with a good key: %v", err)
	}

	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		edit func(*okta.Options)
		want string
	}{
		"path":          {func(o *okta.Options) { o.Path = "events" }, `path: "events" must start with /`},
		"secret env":    {func(o *okta.Options) { o.SecretEnv = "MY-SECRET" }, `secret_env: "MY-SECRET" is not an environment variable name`},
		"token env":     {func(o *okta.Options) { o.APITokenEnv = "1TOKEN" }, `api_token_env: "1TOKEN" is not`},
		"body":          {func(o *okta.Options) { o.MaxBodyBytes = -1 }, "max_body_bytes: must be positive, got -1"},
		"catch-up":      {func(o *okta.Options) { o.CatchupInterval.Duration = -1 }, "catchup_interval: must not be negative"},
		"org http":      {func(o *okta.Options) { o.OrgURL = "http://example.okta.com" }, `org_url: "http://example.okta.com" must be https://`},
		"org path":      {func(o *okta.Options) { o.OrgURL = "https://example.okta.com/api" }, "org_url: \"https://example.okta.com/api\" must be just scheme://host"},
		"key missing":   {func(o *okta.Options) { o.OAuth.PrivateKeyFile = filepath.Join(t.TempDir(), "missing.pem") }, "oauth.private_key_file: open "},
		"key garbage":   {func(o *okta.Options) { o.OAuth.PrivateKeyFile = garbage }, "oauth.private_key_file: " + garbage + ": "},
		"key unset":     {func(o *okta.Options) { o.OAuth.PrivateKeyFile = "" }, "oauth.private_key_file: required with okta.oauth.client_id"},
		"no client id":  {func(o *okta.Options) { o.OAuth.ClientID = "" }, "oauth.client_id: required when [okta.oauth] sets private_key_file"},
		"scope":         {func(o *okta.Options) { o.OAuth.Scopes = []string{"okta.users.read okta.groups.read"} }, `oauth.scopes: "okta.users.read okta.groups.read" is not a scope name`},
		"client id sp.": {func(o *okta.Options) { o.OAuth.ClientID = "0oa x" }, `oauth.client_id: "0oa x" contains white space`},
	} {
		o := good
		c.edit(&o)
		err := o.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one starting %q", name, err, c.want)
		}
	}
}

// TestOptionsOr: zero fields take the defaults, set ones stay, and
// catchup_interval 0 stays 0 (it disables periodic catch-up).
func TestOptionsOr(t *testing.T) {
	def := okta.DefaultOptions()
	got := okta.Options{Path: "/okta", MaxBodyBytes: 10}.Or(def)
	if got.Path != "/okta" || got.MaxBodyBytes != 10 || got.AuthHeader != def.AuthHeader || got.SecretEnv != def.SecretEnv ||
		got.EventRetention != def.EventRetention || got.APITokenEnv != def.APITokenEnv || got.CatchupInterval.Duration != 0 {
		t.Errorf("Or: %+v", got)
	}
}
