package okta_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/gateway/okta/oktatest"
)

const testToken = "00Tz-test-api-token-0123456789abcdef"

// sleeps records the waits a client asked for without spending them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func newOrg(t *testing.T, opts oktatest.Options) *oktatest.Server {
	t.Helper()
	srv := oktatest.New(opts)
	t.Cleanup(srv.Close)
	return srv
}

func newSSWS(t *testing.T, srv *oktatest.Server, sl *sleeps) *okta.Client {
	t.Helper()
	cfg := okta.ClientConfig{OrgURL: srv.URL, APIToken: testToken}
	if sl != nil {
		cfg.Sleep = sl.sleep
	}
	c, err := okta.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func rsaKey(t *testing.T) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

func newOAuthOrg(t *testing.T, scopes []string) (*oktatest.Server, *okta.Client) {
	t.Helper()
	key := rsaKey(t)
	srv := newOrg(t, oktatest.Options{ClientID: "0oaservice0000000001", PublicKey: &key.PublicKey, Scopes: scopes})
	c, err := okta.NewClient(okta.ClientConfig{OrgURL: srv.URL, OAuth: &okta.OAuthConfig{ClientID: "0oaservice0000000001", PrivateKey: key, KeyID: "kid-1"}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func listAllUsers(t *testing.T, c *okta.Client, q url.Values) ([]okta.APIUser, int) {
	t.Helper()
	var users []okta.APIUser
	pages := 0
	err := c.ListUsers(context.Background(), q, func(p []okta.APIUser, readAt time.Time) error {
		if readAt.IsZero() {
			t.Error("page read time is zero")
		}
		pages++
		users = append(users, p...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return users, pages
}

func TestNewClientRejectsInsecureOrgURL(t *testing.T) {
	for _, u := range []string{"http://example.okta.com", "http://localhost:8080", "ftp://example.okta.com", "https://example.okta.com/api", ""} {
		if _, err := okta.NewClient(okta.ClientConfig{OrgURL: u, APIToken: "x"}); err == nil {
			t.Errorf("NewClient(%q) accepted it", u)
		}
	}
	for _, u := range []string{"https://example.okta.com", "https://example.okta.com/", "http://127.0.0.1:1234"} {
		if _, err := okta.NewClient(okta.ClientConfig{OrgURL: u, APIToken: "x"}); err != nil {
			t.Errorf("NewClient(%q): %v", u, err)
		}
	}
	if _, err := okta.NewClient(okta.ClientConfig{OrgURL: "https://example.okta.com"}); err == nil || !strings.Contains(err.Error(), "HOOKGATE_OKTA_API_TOKEN") {
		t.Errorf("no credentials: got %v, want an error naming HOOKGATE_OKTA_API_TOKEN", err)
	}
}

func TestPaginationFollowsLinkNext(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken, PageSize: 2})
	srv.SeedFixtureOrg()
	for i := range 3 {
		srv.AddUser(oktatest.User{ID: "00uextra0000000000" + string(rune('a'+i)), Login: "extra" + string(rune('a'+i)) + "@example.com"})
	}
	c := newSSWS(t, srv, nil)
	users, pages := listAllUsers(t, c, nil)
	// 4 fixture users + 3 extra, minus DEPROVISIONED carol = 6 users in 3 pages.
	if len(users) != 6 || pages != 3 {
		t.Fatalf("got %d users in %d pages, want 6 in 3", len(users), pages)
	}
	seen := map[string]bool{}
	for _, u := range users {
		if seen[u.ID] {
			t.Errorf("user %s listed twice", u.ID)
		}
		seen[u.ID] = true
	}
	if seen[oktatest.CarolID] {
		t.Error("DEPROVISIONED carol listed without a status filter")
	}
	dep, _ := listAllUsers(t, c, url.Values{"filter": {`status eq "DEPROVISIONED"`}})
	if len(dep) != 1 || dep[0].ID != oktatest.CarolID || dep[0].Profile.Login != "carol.diaz@example.com" {
		t.Fatalf("deprovisioned listing = %+v, want carol", dep)
	}
	// Bob has no displayName in Okta: Name falls back to first + last.
	for _, u := range users {
		if u.ID == oktatest.BobID && u.Profile.Name() != "Bob Okafor" {
			t.Errorf("bob's name = %q", u.Profile.Name())
		}
	}
}

func TestRetries429ThenSucceeds(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken})
	srv.SeedFixtureOrg()
	sl := &sleeps{}
	c := newSSWS(t, srv, sl)

	srv.Fail429(2, true)
	u, err := c.GetUser(context.Background(), oktatest.AliceID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Profile.Login != "alice.nguyen@example.com" {
		t.Fatalf("got %+v", u)
	}
	waits := sl.all()
	if len(waits) != 2 {
		t.Fatalf("waits = %v, want two (one per 429)", waits)
	}
	for _, d := range waits {
		// With X-Rate-Limit-Reset one second ahead (rounded up to the
		// second), the wait is the distance to the reset, not a guess.
		if d <= 0 || d > 2200*time.Millisecond {
			t.Errorf("wait %v is not the distance to X-Rate-Limit-Reset", d)
		}
	}

	// Without rate-limit headers the client falls back to its backoff.
	srv.Fail429(1, false)
	if _, err := c.GetUser(context.Background(), oktatest.BobID); err != nil {
		t.Fatal(err)
	}
	if w := sl.all(); len(w) != 3 || w[2] <= 0 {
		t.Fatalf("waits = %v, want a third, positive backoff wait", w)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken})
	sl := &sleeps{}
	c, err := okta.NewClient(okta.ClientConfig{OrgURL: srv.URL, APIToken: testToken, Sleep: sl.sleep, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	srv.FailStatus(503, 10)
	_, err = c.GetUser(context.Background(), oktatest.AliceID)
	var ae *okta.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 503 {
		t.Fatalf("err = %v, want the 503 APIError", err)
	}
	if n := len(sl.all()); n != 2 {
		t.Fatalf("%d waits, want 2 (3 attempts)", n)
	}
}

func TestWaitsWhenRateLimitWindowIsUsedUp(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken})
	srv.SeedFixtureOrg()
	sl := &sleeps{}
	c := newSSWS(t, srv, sl)
	srv.ExhaustNext(1)
	if _, err := c.GetUser(context.Background(), oktatest.AliceID); err != nil {
		t.Fatal(err)
	}
	if w := sl.all(); len(w) != 0 {
		t.Fatalf("waited %v before any answer said the window is used up", w)
	}
	// The answer said Remaining: 0; the next call on the bucket waits for
	// the reset first.
	if _, err := c.GetUser(context.Background(), oktatest.BobID); err != nil {
		t.Fatal(err)
	}
	w := sl.all()
	if len(w) != 1 || w[0] <= 0 {
		t.Fatalf("waits = %v, want one positive wait for the window reset", w)
	}
	// A different bucket is not held up by users' window.
	srv.ExhaustNext(1)
	_ = c.ListGroups(context.Background(), nil, func([]okta.APIGroup, time.Time) error { return nil })
	if _, err := c.GetUser(context.Background(), oktatest.BobID); err != nil {
		t.Fatal(err)
	}
	if w := sl.all(); len(w) != 1 {
		t.Fatalf("waits = %v: users waited for the groups window", w)
	}
}

func TestContextCancelStopsWaiting(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken})
	c := newSSWS(t, srv, nil) // real sleeps
	srv.Fail429(100, true)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// cancel once the first 429 has been served
		for len(srv.Requests()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := c.GetUser(ctx, oktatest.AliceID)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestErrorCarriesOktaErrorObject(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken})
	c := newSSWS(t, srv, nil)
	_, err := c.GetUser(context.Background(), "00unobody00000000000")
	if !okta.IsNotFound(err) {
		t.Fatalf("err = %v, want 404", err)
	}
	for _, want := range []string{"GET /api/v1/users/00unobody00000000000", "404", "E0000007", "Resource not found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	bad, _ := okta.NewClient(okta.ClientConfig{OrgURL: srv.URL, APIToken: "wrong"})
	_, err = bad.GetUser(context.Background(), oktatest.AliceID)
	if !okta.IsStatus(err, 401) || !strings.Contains(err.Error(), "E0000011 Invalid token provided") {
		t.Fatalf("err = %v, want 401 E0000011", err)
	}
}

func TestSSWSHeader(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken})
	c := newSSWS(t, srv, nil)
	_ = c.ListGroups(context.Background(), nil, func([]okta.APIGroup, time.Time) error { return nil })
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Auth != "SSWS "+testToken || reqs[0].Status != 200 {
		t.Fatalf("requests = %+v", reqs)
	}
}

func TestOAuthTokenIsCachedAndRefreshedOn401(t *testing.T) {
	srv, c := newOAuthOrg(t, nil)
	srv.SeedFixtureOrg()
	ctx := context.Background()
	for range 5 {
		if _, err := c.GetUser(ctx, oktatest.AliceID); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ListGroups(ctx, nil, func([]okta.APIGroup, time.Time) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := srv.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for 6 API calls, want 1 (cached)", n)
	}
	for _, r := range srv.Requests() {
		if r.Path != "/oauth2/v1/token" && !strings.HasPrefix(r.Auth, "Bearer ") {
			t.Errorf("API call %s with Authorization %q", r.Path, r.Auth)
		}
	}
	// A revoked/expired token: one 401, one new token, the call succeeds.
	srv.ExpireTokens()
	if _, err := c.GetUser(ctx, oktatest.BobID); err != nil {
		t.Fatal(err)
	}
	if n := srv.TokenRequests(); n != 2 {
		t.Fatalf("%d token requests after expiry, want 2", n)
	}
	scopes, err := c.GrantedScopes(ctx)
	if err != nil || len(scopes) != len(okta.RequiredScopes) {
		t.Fatalf("granted scopes = %v, %v", scopes, err)
	}
}

func TestOAuthWrongKeyIsRejected(t *testing.T) {
	key := rsaKey(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv := newOrg(t, oktatest.Options{ClientID: "0oaservice0000000001", PublicKey: &key.PublicKey})
	c, _ := okta.NewClient(okta.ClientConfig{OrgURL: srv.URL, OAuth: &okta.OAuthConfig{ClientID: "0oaservice0000000001", PrivateKey: other}})
	_, err = c.GetUser(context.Background(), oktatest.AliceID)
	if err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("err = %v, want invalid_client", err)
	}
	if n := srv.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests, want 1 (a 401 from the token endpoint is not retried)", n)
	}
}

func TestPluginActions(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken})
	srv.SeedFixtureOrg()
	c := newSSWS(t, srv, nil)
	ctx := context.Background()
	steps := []struct {
		name string
		do   func() error
		ok   func() bool
	}{
		{"add bob to oncall", func() error { return c.AddUserToGroup(ctx, oktatest.OncallID, oktatest.BobID) }, func() bool { return srv.IsMember(oktatest.OncallID, oktatest.BobID) }},
		{"remove alice from oncall", func() error { return c.RemoveUserFromGroup(ctx, oktatest.OncallID, oktatest.AliceID) }, func() bool { return !srv.IsMember(oktatest.OncallID, oktatest.AliceID) }},
		{"assign AWS to platform", func() error { return c.AssignAppToGroup(ctx, oktatest.AWSID, oktatest.PlatformID) }, func() bool { return srv.GroupHasApp(oktatest.AWSID, oktatest.PlatformID) }},
		{"unassign Slack from platform", func() error { return c.UnassignAppFromGroup(ctx, oktatest.SlackID, oktatest.PlatformID) }, func() bool { return !srv.GroupHasApp(oktatest.SlackID, oktatest.PlatformID) }},
		{"assign alice to Slack", func() error { return c.AssignUserToApp(ctx, oktatest.SlackID, oktatest.AliceID) }, func() bool { return srv.UserHasApp(oktatest.SlackID, oktatest.AliceID) }},
		{"unassign dave from Slack", func() error { return c.UnassignUserFromApp(ctx, oktatest.SlackID, oktatest.DaveID) }, func() bool { return !srv.UserHasApp(oktatest.SlackID, oktatest.DaveID) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !s.ok() {
			t.Errorf("%s: the org did not change", s.name)
		}
	}
	acts := srv.Actions()
	want := []string{"add_group_member", "remove_group_member", "assign_app_group", "unassign_app_group", "assign_app_user", "unassign_app_user"}
	if len(acts) != len(want) {
		t.Fatalf("actions = %+v", acts)
	}
	for i, a := range acts {
		if a.Kind != want[i] {
			t.Errorf("action %d = %s, want %s", i, a.Kind, want[i])
		}
	}
	err := c.AddUserToGroup(ctx, "00gnope0000000000000", oktatest.BobID)
	if !okta.IsNotFound(err) || !strings.Contains(err.Error(), "E0000007") {
		t.Fatalf("unknown group: %v", err)
	}
}
