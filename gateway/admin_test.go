package gateway_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktagen"
	"github.com/hookgate/hookgate/store"
)

var linkNext = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// TestAdminPagination: ?limit= and ?after= walk every live user once, in
// id order, following the Link rel="next" header until it is absent.
func TestAdminPagination(t *testing.T) {
	ts := startServer(t, "")
	const n = 7
	evs := make([]oktagen.Event, n)
	for i := range evs {
		evs[i] = oktagen.MembershipAdd(oktagen.UUID(3, i), time.Date(2026, 3, 3, 9, 0, i, 0, time.UTC), i, i%3)
	}
	ts.postOkta(oktagen.Envelope("page", evs...))

	var ids []string
	path, pages := "/v1/users?limit=3", 0
	for path != "" {
		var page []store.User
		code, h := ts.get(path, &page)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, code)
		}
		pages++
		if len(page) > 3 {
			t.Fatalf("page of %d with limit=3", len(page))
		}
		for _, u := range page {
			ids = append(ids, u.ID)
		}
		path = ""
		if l := h.Get("Link"); l != "" {
			m := linkNext.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("Link header %q is not <...>; rel=\"next\"", l)
			}
			u, err := url.Parse(m[1])
			if err != nil || u.Query().Get("limit") != "3" || u.Query().Get("after") == "" {
				t.Fatalf("next link %q: want limit=3 and an after cursor", m[1])
			}
			path = m[1]
		}
		if pages > n {
			t.Fatal("pagination does not end")
		}
	}
	want := make([]string, n)
	for i := range want {
		want[i] = oktagen.UserID(i)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("paged ids %v, want %v (every user once, id order)", ids, want)
	}
	if pages != 3 {
		t.Errorf("%d pages for %d users at limit 3, want 3", pages, n)
	}

	// Default limit returns everything here, without a Link.
	var all []store.Group
	if code, h := ts.get("/v1/groups", &all); code != 200 || len(all) != 3 || h.Get("Link") != "" {
		t.Errorf("/v1/groups: %d, %d groups, Link %q", code, len(all), h.Get("Link"))
	}
	var apps []store.App
	if code, _ := ts.get("/v1/apps", &apps); code != 200 || apps == nil || len(apps) != 0 {
		t.Errorf("/v1/apps on no apps: %d %v, want 200 []", code, apps)
	}
	for _, bad := range []string{"0", "1001", "abc", "-1"} {
		if code, _ := ts.get("/v1/users?limit="+bad, nil); code != http.StatusBadRequest {
			t.Errorf("limit=%s: %d, want 400", bad, code)
		}
	}
}

// TestAdminEvents: /v1/events lists accepted events newest first, one per
// uuid whatever the duplicates, unknown types included, filterable by type.
func TestAdminEvents(t *testing.T) {
	ts := startServer(t, "")
	ts.postOkta(fixture(t, "batch.json"))
	ts.postOkta(fixture(t, "unknown_type.json"))
	ts.postOkta(fixture(t, "batch.json")) // Okta's retry

	var evs []store.EventRecord
	if code, _ := ts.get("/v1/events", &evs); code != 200 {
		t.Fatalf("/v1/events: %d", code)
	}
	if len(evs) != 14 {
		t.Fatalf("%d events, want 14 (13 in batch.json + 1 unknown type)", len(evs))
	}
	seen := map[string]bool{}
	for i, e := range evs {
		if seen[e.UUID] {
			t.Errorf("uuid %s listed twice", e.UUID)
		}
		seen[e.UUID] = true
		if i > 0 && e.Published.After(evs[i-1].Published) {
			t.Errorf("event %d (%s) is newer than event %d: want newest first", i, e.Published, i-1)
		}
		if len(e.Raw) == 0 {
			t.Errorf("event %s has no raw JSON for plugins", e.UUID)
		}
	}
	if evs[0].Type != "user.session.start" {
		t.Errorf("newest event is %s, want the unknown type user.session.start (10:10)", evs[0].Type)
	}
	var adds []store.EventRecord
	ts.get("/v1/events?type=group.user_membership.add", &adds)
	if len(adds) != 3 {
		t.Errorf("type filter: %d membership adds, want 3", len(adds))
	}
	for _, e := range adds {
		if e.Type != "group.user_membership.add" {
			t.Errorf("type filter returned %s", e.Type)
		}
	}
	var five []store.EventRecord
	ts.get("/v1/events?limit=5", &five)
	if len(five) != 5 || five[0].UUID != evs[0].UUID {
		t.Errorf("limit=5: %d events", len(five))
	}
	var rejected []store.Rejected
	if code, _ := ts.get("/v1/events/rejected", &rejected); code != 200 || rejected == nil || len(rejected) != 0 {
		t.Errorf("/v1/events/rejected with nothing rejected: %d %v, want 200 []", code, rejected)
	}
}

// TestAdminAuthAndErrors: bearer auth on every /v1 path (including unknown
// ones), 404 JSON for unknown ids and paths, 405 for a wrong method.
func TestAdminAuthAndErrors(t *testing.T) {
	ts := startServer(t, "")
	ts.postOkta(fixture(t, "batch.json"))
	for _, hdr := range [][]string{
		nil,
		{"Authorization", testAdminToken}, // no scheme
		{"Authorization", "Bearer " + testAdminToken + "x"},
		{"Authorization", "Basic " + testAdminToken},
		{"Authorization", "Bearer " + testOktaSecret}, // another secret
		{"X-API-Key", testAdminToken},
	} {
		for _, path := range []string{"/v1/users/" + alice, "/v1/users", "/v1/no-such-thing"} {
			code, h, b := ts.do("GET", path, nil, hdr...)
			if code != http.StatusUnauthorized || !strings.Contains(string(b), `"error"`) {
				t.Errorf("GET %s with %v: %d %q, want 401 JSON", path, hdr, code, b)
			}
			if h.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		}
	}
	// Lower-case scheme is accepted (RFC 9110: schemes are case-insensitive).
	if code, _, _ := ts.do("GET", "/v1/users/"+alice, nil, "Authorization", "bearer "+testAdminToken); code != 200 {
		t.Errorf("lower-case bearer: %d", code)
	}
	for path, want := range map[string]int{
		"/v1/users/00unobody00000000000":  404,
		"/v1/users/nobody@example.com":    404,
		"/v1/groups/00gnothere0000000000": 404,
		"/v1/apps/0oanothere0000000000":   404,
		"/v1/nothing":                     404,
		"/v1/users/" + alice + "/extra":   404,
		"/v1/users/" + alice + "/":        200, // a trailing slash is the same resource
	} {
		if code, _ := ts.get(path, nil); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	code, h, b := ts.do("DELETE", "/v1/users/"+alice, nil, "Authorization", "Bearer "+testAdminToken)
	if code != http.StatusMethodNotAllowed || h.Get("Allow") != "GET" || !strings.Contains(string(b), `"error"`) {
		t.Errorf("DELETE user: %d Allow=%q %q, want 405 Allow: GET", code, h.Get("Allow"), b)
	}
}
