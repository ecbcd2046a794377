package okta_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/gateway/okta/oktatest"
)

func failing(r okta.Report) []string {
	var out []string
	for _, it := range r.Items {
		if !it.OK {
			out = append(out, it.Message)
		}
	}
	return out
}

func runCheck(t *testing.T, c *okta.Client) okta.Report {
	t.Helper()
	r, err := okta.Check(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheckAllGood(t *testing.T) {
	for _, auth := range []string{"ssws", "oauth"} {
		t.Run(auth, func(t *testing.T) {
			var c *okta.Client
			if auth == "ssws" {
				c = newSSWS(t, newOrg(t, oktatest.Options{APIToken: testToken}), nil)
			} else {
				_, c = newOAuthOrg(t, nil)
			}
			r := runCheck(t, c)
			if !r.OK || len(failing(r)) != 0 {
				t.Fatalf("report:\n%s", r)
			}
			// credentials + 6 scopes + roles
			if len(r.Items) != 8 || len(r.Roles) != 1 || r.Roles[0] != "SUPER_ADMIN" {
				t.Errorf("report:\n%s roles %v", r, r.Roles)
			}
			if !strings.Contains(r.String(), "ok   okta.logs.read: the System Log can be read") {
				t.Errorf("report text:\n%s", r)
			}
		})
	}
}

func TestCheckBadToken(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken})
	c, _ := okta.NewClient(okta.ClientConfig{OrgURL: srv.URL, APIToken: "stale-token"})
	r := runCheck(t, c)
	want := "API token rejected (401 E0000011 Invalid token provided): check HOOKGATE_OKTA_API_TOKEN"
	if f := failing(r); r.OK || len(f) != 1 || f[0] != want {
		t.Fatalf("failing = %q, want [%q]", f, want)
	}
}

func TestCheckMissingScopes(t *testing.T) {
	srv, c := newOAuthOrg(t, []string{"okta.users.manage", "okta.groups.manage", "okta.apps.manage", "okta.roles.read"})
	r := runCheck(t, c)
	f := failing(r)
	want := []string{
		"missing scope okta.logs.read: System Log catch-up will not work. Grant it under Okta API Scopes of the app",
		"missing scope okta.schemas.read: The sync cannot read the user schema: custom profile attributes are still stored, but with their values' JSON types (an integer attribute reads as a number) and without knowing which attributes are custom. Grant it under Okta API Scopes of the app",
	}
	if r.OK || len(f) != 2 || f[0] != want[0] || f[1] != want[1] {
		t.Fatalf("failing = %q\nwant %q\nreport:\n%s", f, want, r)
	}
	// The granted areas were really probed, with a token for the granted
	// scopes only.
	probed := map[string]bool{}
	for _, req := range srv.Requests() {
		if req.Status == 200 {
			probed[req.Path] = true
		}
	}
	for _, p := range []string{"/api/v1/users", "/api/v1/groups", "/api/v1/apps", "/oauth2/v1/clients/0oaservice0000000001/roles"} {
		if !probed[p] {
			t.Errorf("%s was not probed successfully; requests: %+v", p, srv.Requests())
		}
	}
}

func TestCheckGrantedScopeButNoAdminRole(t *testing.T) {
	key := rsaKey(t)
	srv := newOrg(t, oktatest.Options{ClientID: "0oaservice0000000001", PublicKey: &key.PublicKey, Roles: []oktatest.Role{}})
	c, _ := okta.NewClient(okta.ClientConfig{OrgURL: srv.URL, OAuth: &okta.OAuthConfig{ClientID: "0oaservice0000000001", PrivateKey: key}})
	r := runCheck(t, c)
	f := failing(r)
	if len(f) != 1 || !strings.Contains(f[0], "no admin role") {
		t.Fatalf("failing = %q", f)
	}
}

func TestCheckWrongKey(t *testing.T) {
	key := rsaKey(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv := newOrg(t, oktatest.Options{ClientID: "0oaservice0000000001", PublicKey: &key.PublicKey})
	c, _ := okta.NewClient(okta.ClientConfig{OrgURL: srv.URL, OAuth: &okta.OAuthConfig{ClientID: "0oaservice0000000001", PrivateKey: other, KeyID: "k2"}})
	r := runCheck(t, c)
	f := failing(r)
	if len(f) != 1 || !strings.HasPrefix(f[0], "OAuth client rejected (401 invalid_client: ") || !strings.Contains(f[0], `key_id "k2"`) {
		t.Fatalf("failing = %q", f)
	}
}

func TestCheckUnreachableOrg(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken})
	url := srv.URL
	srv.Close()
	sl := &sleeps{}
	c, _ := okta.NewClient(okta.ClientConfig{OrgURL: url, APIToken: testToken, Sleep: sl.sleep, MaxAttempts: 2})
	r := runCheck(t, c)
	if f := failing(r); len(f) != 1 || !strings.HasPrefix(f[0], "cannot reach "+url) {
		t.Fatalf("failing = %q", f)
	}
}

// TestCheckSaysWhatProfilesLose: without okta.roles.read and
// okta.schemas.read, check says what the sync then cannot do; with them,
// that both can be read.
func TestCheckSaysWhatProfilesLose(t *testing.T) {
	_, c := newOAuthOrg(t, []string{"okta.users.manage", "okta.groups.manage", "okta.apps.manage", "okta.logs.read"})
	f := strings.Join(failing(runCheck(t, c)), "\n")
	for _, want := range []string{
		"missing scope okta.roles.read: The sync cannot read users' admin roles",
		"missing scope okta.schemas.read: The sync cannot read the user schema",
	} {
		if !strings.Contains(f, want) {
			t.Errorf("failing lines lack %q:\n%s", want, f)
		}
	}
	_, c = newOAuthOrg(t, nil)
	out := runCheck(t, c).String()
	for _, want := range []string{
		"ok   okta.roles.read: admin roles (the credentials' own, and users' for the sync's adminRoles) can be read",
		"ok   okta.schemas.read: the user profile schema (custom attributes and their types) can be read",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
