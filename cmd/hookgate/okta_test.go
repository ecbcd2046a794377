package main

// `hookgate okta check` and `hookgate okta sync` as real commands (the
// built binary) against the oktatest stand-in org.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/gateway/okta/oktatest"
)

// The token reaches the binary through a variable that env() keeps (it
// strips HOOKGATE_*): okta.api_token_env names it.
const (
	orgTokenEnv = "OKTATEST_API_TOKEN"
	orgToken    = "oktatest-cli-token"
)

// runBin runs the built binary with args and environment, returning the
// exit code, stdout and stderr.
func runBin(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = environ
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

func orgConfig(t *testing.T, org *oktatest.Server, extra string) string {
	t.Helper()
	return writeConfig(t, fmt.Sprintf("[okta]\norg_url = %q\napi_token_env = %q\n%s", org.URL, orgTokenEnv, extra))
}

func TestOktaCheckCommand(t *testing.T) {
	org := oktatest.New(oktatest.Options{APIToken: orgToken})
	defer org.Close()
	cfg := orgConfig(t, org, "")

	// SSWS token: everything in place. No serving secret is set.
	code, out, errs := runBin(t, env(orgTokenEnv+"="+orgToken), "okta", "check", "--config", cfg)
	if code != 0 || !strings.Contains(out, "API token accepted") || !strings.Contains(out, "Everything hookgate needs is in place.") {
		t.Errorf("okta check with a good token: exit %d\n%s%s", code, out, errs)
	}
	// Short serving secrets in the environment: a hint, not a failure.
	code, out, errs = runBin(t, env(orgTokenEnv+"="+orgToken, "HOOKGATE_ADMIN_TOKEN=short"), "okta", "check", "--config", cfg)
	if code != 0 || !strings.Contains(out, "WARN admin.token_env: the secret in HOOKGATE_ADMIN_TOKEN is 5 characters long") {
		t.Errorf("okta check with a short admin token: exit %d, want 0 and a WARN hint\n%s%s", code, out, errs)
	}
	// A wrong token: plain words, exit 1.
	code, out, errs = runBin(t, env(orgTokenEnv+"=wrong"), "okta", "check", "--config", cfg)
	if code != 1 || !strings.Contains(out, "FAIL API token rejected") || !strings.Contains(out, orgTokenEnv) || !strings.Contains(errs, "problem(s) found") {
		t.Errorf("okta check with a wrong token: exit %d\n%s%s", code, out, errs)
	}
	// No credentials at all.
	code, _, errs = runBin(t, env(), "okta", "check", "--config", cfg)
	if code != 1 || !strings.Contains(errs, "no credentials") {
		t.Errorf("okta check without credentials: exit %d %s", code, errs)
	}

	// OAuth service app with private_key_jwt, missing okta.logs.read.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "okta.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	scopes := slices.DeleteFunc(slices.Clone(oktatest.AllScopes), func(s string) bool { return s == "okta.logs.read" })
	oorg := oktatest.New(oktatest.Options{ClientID: "0oaservice", PublicKey: &key.PublicKey, Scopes: scopes})
	defer oorg.Close()
	ocfg := writeConfig(t, fmt.Sprintf("[okta]\norg_url = %q\n\n[okta.oauth]\nclient_id = \"0oaservice\"\nkey_id = \"k1\"\nprivate_key_file = %q\n", oorg.URL, keyFile))
	code, out, errs = runBin(t, env(), "okta", "check", "--config", ocfg)
	if code != 1 || !strings.Contains(out, "OAuth 2.0 service app") || !strings.Contains(out, "FAIL missing scope okta.logs.read: System Log catch-up will not work") ||
		!strings.Contains(out, "ok   okta.users.manage") {
		t.Errorf("okta check, OAuth without okta.logs.read: exit %d\n%s%s", code, out, errs)
	}
	oorg.SetScopes(oktatest.AllScopes)
	code, out, errs = runBin(t, env(), "okta", "check", "--config", ocfg, "--json")
	var rep struct {
		OK   bool   `json:"ok"`
		Auth string `json:"auth"`
	}
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || !rep.OK || rep.Auth != "oauth" {
		t.Errorf("okta check --json, OAuth with every scope: exit %d\n%s%s", code, out, errs)
	}

	// Usage errors exit 2.
	if code, _, errs := runBin(t, env(), "okta", "frob"); code != 2 || !strings.Contains(errs, "usage: hookgate okta") {
		t.Errorf("okta frob: exit %d %s", code, errs)
	}
}

func TestOktaSyncCommand(t *testing.T) {
	org := oktatest.New(oktatest.Options{APIToken: orgToken, PageSize: 1})
	defer org.Close()
	org.SeedFixtureOrg()
	org.Fail429(1, true) // the client waits out a rate limit on the way
	cfg := orgConfig(t, org, "")
	withToken := env(orgTokenEnv + "=" + orgToken)

	// Direct into a stopped server's store; stdout is a pipe, so progress
	// comes as plain lines, then the summary.
	data := t.TempDir()
	code, out, errs := runBin(t, withToken, "okta", "sync", "--config", cfg, "--data", data)
	if code != 0 || !strings.Contains(out, "synced 4 users, 2 groups, 4 memberships, 2 apps, 2 app-group assignments") ||
		!strings.Contains(out, "users       4 users read") || !strings.Contains(out, "members     2/2 groups' members read") ||
		strings.Contains(out, "\r") {
		t.Fatalf("okta sync --data: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runBin(t, env(), "users", "get", "alice.nguyen@example.com", "--data", data)
	if code != 0 || !strings.Contains(out, oktatest.OncallID) || !strings.Contains(out, `"status": "ACTIVE"`) {
		t.Errorf("users get after the sync: exit %d\n%s%s", code, out, errs)
	}

	// Through a running server: POST /v1/okta/sync, poll, summary.
	data2 := t.TempDir()
	t.Setenv(orgTokenEnv, orgToken) // startServe's environment comes from ours
	p := startServe(t, cfg, data2)
	code, out, errs = runBin(t, env(append(secrets, orgTokenEnv+"="+orgToken)...), "okta", "sync", "--config", cfg, "--addr", p.url)
	if code != 0 || !strings.Contains(out, "sync started on "+p.url) || !strings.Contains(out, "synced 4 users, 2 groups") {
		t.Fatalf("okta sync through the server: exit %d\n%s%s\nserver log:\n%s", code, out, errs, p.log())
	}
	req, _ := http.NewRequest("GET", p.url+"/v1/groups/"+oktatest.PlatformID, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Members []string }
	_ = json.NewDecoder(resp.Body).Decode(&g)
	resp.Body.Close()
	if !slices.Equal(sortedCopy(g.Members), sortedCopy([]string{oktatest.BobID, oktatest.DaveID})) {
		t.Errorf("platform-team members through the server = %v, want bob and dave", g.Members)
	}
	if !strings.Contains(out, "0 app-user assignments") {
		t.Errorf("sync through the server without --app-users read app users:\n%s", out)
	}
	// --app-users reaches the server (?app_users=true): the fixture's one
	// direct app assignment (dave on Slack) is read.
	code, out, errs = runBin(t, env(append(secrets, orgTokenEnv+"="+orgToken)...), "okta", "sync", "--config", cfg, "--addr", p.url, "--app-users")
	if code != 0 || !strings.Contains(out, "1 app-user assignments") {
		t.Fatalf("okta sync --app-users through the server: exit %d\n%s%s\nserver log:\n%s", code, out, errs, p.log())
	}
	// The store is held by the server: --data says so.
	code, _, errs = runBin(t, withToken, "okta", "sync", "--config", cfg, "--data", data2)
	if code != 1 || !strings.Contains(errs, "without --data") {
		t.Errorf("okta sync --data on a served store: exit %d %s", code, errs)
	}
	// Without the admin token the server refuses, and the command says why.
	code, _, errs = runBin(t, withToken, "okta", "sync", "--config", cfg, "--addr", p.url)
	if code != 1 || !strings.Contains(errs, "HOOKGATE_ADMIN_TOKEN is not set") {
		t.Errorf("okta sync through the server without the admin token: exit %d %s", code, errs)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
