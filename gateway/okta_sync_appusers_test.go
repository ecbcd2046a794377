package gateway_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/hookgate/hookgate/gateway/api"
	"github.com/hookgate/hookgate/gateway/okta/oktatest"
)

// TestOktaSyncAppUsersOverAdminAPI: POST /v1/okta/sync?app_users=true
// makes the server's sync read app-user assignments too (as `hookgate okta
// sync --app-users` does directly); without it they are not read, and a
// bad value is a 400.
func TestOktaSyncAppUsersOverAdminAPI(t *testing.T) {
	org := oktatest.New(oktatest.Options{APIToken: orgToken})
	defer org.Close()
	org.SeedFixtureOrg() // dave is assigned to Slack directly
	ts := startOktaServer(t, "", newOrgClient(t, org, nil))
	auth := []string{"Authorization", "Bearer " + testAdminToken}

	if code, _, b := ts.do("POST", "/v1/okta/sync?app_users=maybe", nil, auth...); code != http.StatusBadRequest {
		t.Errorf("app_users=maybe: %d %s, want 400", code, b)
	}
	sync := func(path string) api.SyncStatus {
		t.Helper()
		code, _, b := ts.do("POST", path, nil, auth...)
		var started api.SyncStatus
		if err := json.Unmarshal(b, &started); err != nil || code != http.StatusAccepted {
			t.Fatalf("POST %s = %d %s, want 202", path, code, b)
		}
		var st api.SyncStatus
		eventually(t, "the sync to finish", func() bool { st = ts.syncStatus(); return st.State != api.SyncRunning })
		if st.State != api.SyncDone || st.Summary == nil {
			t.Fatalf("POST %s: final status %+v, want done", path, st)
		}
		if st.AppUsers != started.AppUsers {
			t.Errorf("POST %s: app_users %v at start, %v at the end", path, started.AppUsers, st.AppUsers)
		}
		return st
	}
	if st := sync("/v1/okta/sync"); st.AppUsers || st.Summary.AppUsers != 0 {
		t.Errorf("plain sync: app_users %v, %d app-user assignments; want neither", st.AppUsers, st.Summary.AppUsers)
	}
	if u := ts.user(oktatest.DaveID); u == nil || slices.Contains(u.Apps, oktatest.SlackID) {
		t.Errorf("dave after a plain sync = %+v, want known without the direct Slack assignment", u)
	}
	if st := sync("/v1/okta/sync?app_users=true"); !st.AppUsers || st.Summary.AppUsers != 1 {
		t.Errorf("app_users=true: app_users %v, %d app-user assignments; want true, 1", st.AppUsers, st.Summary.AppUsers)
	}
	if u := ts.user(oktatest.DaveID); u == nil || !slices.Contains(u.Apps, oktatest.SlackID) {
		t.Errorf("dave after app_users=true = %+v, want the direct Slack assignment", u)
	}
}
