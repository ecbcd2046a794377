package gateway_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktagen"
	"github.com/hookgate/hookgate/store"
)

// TestAdminSearchAndStats: ?q= searches by prefix and its next-page link
// keeps the query; /v1/stats counts this minute's accepted events and the
// delivery, beside the store's queue and grant counts.
func TestAdminSearchAndStats(t *testing.T) {
	ts := startServer(t, "")
	var before struct {
		LastOktaDelivery *time.Time `json:"last_okta_delivery"`
	}
	if code, _ := ts.get("/v1/stats", &before); code != http.StatusOK || before.LastOktaDelivery != nil {
		t.Fatalf("stats before any delivery: %d %+v", code, before)
	}
	evs := make([]oktagen.Event, 12)
	for i := range evs {
		evs[i] = oktagen.MembershipAdd(oktagen.UUID(4, i), time.Date(2026, 3, 3, 9, 0, i, 0, time.UTC), i, 0)
	}
	ts.postOkta(oktagen.Envelope("search", evs...))

	// user1@, user10@, user11@ start with "USER1" (case-insensitive).
	var got []string
	path := "/v1/users?limit=2&q=USER1"
	for path != "" {
		var page []store.User
		code, h := ts.get(path, &page)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, code)
		}
		for _, u := range page {
			got = append(got, u.Login)
		}
		path = ""
		if m := linkNext.FindStringSubmatch(h.Get("Link")); m != nil {
			u, _ := url.Parse(m[1])
			if u.Query().Get("q") != "USER1" {
				t.Fatalf("next link %q lost the query", m[1])
			}
			path = m[1]
		}
		if len(got) > 12 {
			t.Fatal("search paging does not end")
		}
	}
	if len(got) != 3 || got[0] != oktagen.Login(1) || got[1] != oktagen.Login(10) || got[2] != oktagen.Login(11) {
		t.Errorf("q=USER1 found %v", got)
	}
	var groups []store.Group
	if code, _ := ts.get("/v1/groups?q="+oktagen.GroupID(0)[:5], &groups); code != http.StatusOK || len(groups) != 1 {
		t.Errorf("group search: %d %+v", code, groups)
	}

	var st struct {
		Generation       uint64           `json:"generation"`
		LastOktaDelivery *time.Time       `json:"last_okta_delivery"`
		Queue            store.QueueStats `json:"queue"`
		Grants           map[string]int   `json:"grants"`
		Minutes          []struct {
			Accepted int `json:"okta_events_accepted"`
		} `json:"minutes"`
	}
	if code, _ := ts.get("/v1/stats", &st); code != http.StatusOK {
		t.Fatalf("GET /v1/stats: %d", code)
	}
	if st.Generation != 1 || st.LastOktaDelivery == nil || time.Since(*st.LastOktaDelivery) > time.Minute || len(st.Minutes) != 60 {
		t.Fatalf("stats = %+v", st)
	}
	// The batch landed in this minute or, at a minute boundary, the one before.
	if n := st.Minutes[59].Accepted + st.Minutes[58].Accepted; n != len(evs) {
		t.Errorf("accepted in the last minutes = %d, want %d", n, len(evs))
	}
	if _, ok := st.Grants["active"]; !ok {
		t.Errorf("grants = %v", st.Grants)
	}
	var plugins []map[string]any
	if code, _ := ts.get("/v1/plugins", &plugins); code != http.StatusOK || len(plugins) != 0 {
		t.Errorf("plugins without any loaded: %d %v", code, plugins)
	}
}
