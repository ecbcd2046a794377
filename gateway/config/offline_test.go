package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOfflineLoad: an offline command loads a config whose serving secrets
// are unset and whose plugins are not built, but strict validation stays.
func TestOfflineLoad(t *testing.T) {
	for _, v := range []string{"HOOKGATE_OKTA_SECRET", "HOOKGATE_HOOK_SECRET", "HOOKGATE_ADMIN_TOKEN", "NOT_SET_TOKEN_VAR"} {
		t.Setenv(v, "")
	}
	src := `
[okta]
org_url = "https://example.okta.com"

[[plugin]]
name = "p"
path = "missing/p.wasm"
config = { token = "${NOT_SET_TOKEN_VAR}" }
`
	dir := t.TempDir()
	if _, err := Parse([]byte(src), dir, Overrides{}); err == nil || !strings.Contains(err.Error(), "plugin[0] (p).path") {
		t.Fatalf("serving load of a missing plugin: err %v, want one naming plugin[0] (p).path", err)
	}
	wasm := filepath.Join(dir, "p.wasm")
	if err := os.WriteFile(wasm, []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse([]byte(strings.Replace(src, "missing/p.wasm", wasm, 1)), dir, Overrides{}); err == nil {
		t.Fatal("serving load accepted unset secrets")
	} else {
		for _, key := range []string{"okta.secret_env", "admin.token_env", "hooks.secret_env"} {
			if !strings.Contains(err.Error(), key) {
				t.Errorf("serving load error %q does not name %s", err, key)
			}
		}
	}
	c, err := Parse([]byte(src), dir, Overrides{Offline: true})
	if err != nil {
		t.Fatalf("offline load: %v", err)
	}
	if c.Okta.OrgURL != "https://example.okta.com" || c.Admin.Token != "" || c.Plugin[0].Config["token"] != "" {
		t.Errorf("offline config = %+v", c.Okta)
	}
	for bad, key := range map[string]string{
		src + "\n[okta]\n":                                                         "", // duplicate table: a TOML error
		"[okta]\norg_ur = \"https://x.okta.com\"\n":                                "okta.org_ur",
		"[okta]\norg_url = \"http://example.okta.com\"\n":                          "okta.org_url",
		"[okta]\ncatchup_interval = \"soon\"\n":                                    "catchup_interval",
		"[[plugin]]\nname = \"p\"\npath = \"x.wasm\"\ncapabilities = [\"root\"]\n": "capabilities",
	} {
		_, err := Parse([]byte(bad), dir, Overrides{Offline: true})
		if err == nil || (key != "" && !strings.Contains(err.Error(), key)) {
			t.Errorf("offline load of %q: err %v, want one naming %q", bad, err, key)
		}
	}
}

// TestCatchupIntervalDefault: absent means 5m, an explicit 0s disables.
func TestCatchupIntervalDefault(t *testing.T) {
	for src, want := range map[string]time.Duration{
		"":                                     5 * time.Minute,
		"[okta]\ncatchup_interval = \"0s\"\n":  0,
		"[okta]\ncatchup_interval = \"30s\"\n": 30 * time.Second,
	} {
		c, err := Parse([]byte(src), t.TempDir(), Overrides{Offline: true})
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if got := c.Okta.CatchupInterval.Duration; got != want {
			t.Errorf("%q: catchup_interval = %v, want %v", src, got, want)
		}
	}
	if _, err := Parse([]byte("[okta]\ncatchup_interval = \"-1s\"\n"), t.TempDir(), Overrides{Offline: true}); err == nil || !strings.Contains(err.Error(), "okta.catchup_interval") {
		t.Errorf("negative interval: err %v, want one naming okta.catchup_interval", err)
	}
}
