package config

import (
	"strings"
	"testing"
)

// TestSecretsDistinct: two equal serving secrets stop a serving load with an
// error naming both keys; short ones only warn; offline loads warn about
// both.
func TestSecretsDistinct(t *testing.T) {
	const long = "0123456789abcdef-"
	for _, c := range []struct {
		name            string
		okta, hook, adm string
		wantErr         []string // substrings; nil = loads
		wantWarn        []string
	}{
		{"distinct and long", "okta-" + long, "hook-" + long, "admin-" + long, nil, nil},
		{"okta = admin", "same-" + long, "hook-" + long, "same-" + long,
			[]string{"okta.secret_env (HOOKGATE_OKTA_SECRET) and admin.token_env (HOOKGATE_ADMIN_TOKEN) hold the same value"}, nil},
		{"hook = admin", "okta-" + long, "same-" + long, "same-" + long,
			[]string{"hooks.secret_env (HOOKGATE_HOOK_SECRET) and admin.token_env"}, nil},
		{"okta = hook", "x", "x", "admin-" + long, []string{"okta.secret_env (HOOKGATE_OKTA_SECRET) and hooks.secret_env"}, nil},
		{"short ones warn", "dev-okta-secret", "h", "admin-" + long, nil,
			[]string{"okta.secret_env: the secret in HOOKGATE_OKTA_SECRET is 15 characters", "hooks.secret_env: the secret in HOOKGATE_HOOK_SECRET is 1 characters"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("HOOKGATE_OKTA_SECRET", c.okta)
			t.Setenv("HOOKGATE_HOOK_SECRET", c.hook)
			t.Setenv("HOOKGATE_ADMIN_TOKEN", c.adm)
			cfg, err := Parse(nil, t.TempDir(), Overrides{})
			if c.wantErr == nil {
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				ws := strings.Join(cfg.SecretWarnings(), "\n")
				if len(c.wantWarn) == 0 && ws != "" {
					t.Errorf("unexpected warnings:\n%s", ws)
				}
				for _, w := range c.wantWarn {
					if !strings.Contains(ws, w) {
						t.Errorf("warnings do not say %q:\n%s", w, ws)
					}
				}
				return
			}
			if err == nil {
				t.Fatal("equal secrets accepted")
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q: %v", w, err)
				}
			}
			// Offline (okta check) loads, and warns instead.
			cfg, err = Parse(nil, t.TempDir(), Overrides{Offline: true})
			if err != nil {
				t.Fatalf("offline load: %v", err)
			}
			if ws := strings.Join(cfg.SecretWarnings(), "\n"); !strings.Contains(ws, "hold the same value") {
				t.Errorf("offline warnings do not name the equal secrets:\n%s", ws)
			}
		})
	}
}
