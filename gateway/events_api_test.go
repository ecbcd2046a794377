package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktagen"
)

// eventJSON is one /v1/events element as a client sees it.
type eventJSON struct {
	UUID      string          `json:"uuid"`
	Type      string          `json:"eventType"`
	Published string          `json:"published"`
	Event     json.RawMessage `json:"event"`
}

// pageEvents follows Link rel="next" from path and returns every event.
func pageEvents(t *testing.T, ts *testServer, path string) []eventJSON {
	t.Helper()
	var all []eventJSON
	for pages := 0; path != ""; pages++ {
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
		var page []eventJSON
		code, h := ts.get(path, &page)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, code)
		}
		all = append(all, page...)
		path = ""
		if l := h.Get("Link"); l != "" {
			m := linkNext.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("Link %q", l)
			}
			path = m[1]
		}
	}
	return all
}

// TestEventsPagingThroughMoreThan1000: the whole log is readable page by
// page, newest first, every event exactly once, also while newer events
// keep arriving, and with equal published times (ordered by uuid).
func TestEventsPagingThroughMoreThan1000(t *testing.T) {
	ts := startServer(t, "")
	const n = 1203
	base := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	want := map[string]bool{}
	var evs []oktagen.Event
	for i := 0; i < n; i++ {
		// Pairs of events share a millisecond.
		e := oktagen.MembershipAdd(oktagen.UUID(16, i), base.Add(time.Duration(i/2)*time.Millisecond), i%40, i%7)
		want[e.UUID] = true
		evs = append(evs, e)
		if len(evs) == 200 || i == n-1 {
			ts.postOkta(oktagen.Envelope("page-"+strconv.Itoa(i), evs...))
			evs = evs[:0]
		}
	}
	var got []eventJSON
	path := "/v1/events?limit=250"
	for pages := 0; path != ""; pages++ {
		var page []eventJSON
		code, h := ts.get(path, &page)
		if code != http.StatusOK || len(page) > 250 {
			t.Fatalf("GET %s: %d, %d events", path, code, len(page))
		}
		got = append(got, page...)
		if pages == 0 {
			// Newer events arriving mid-way do not shift later pages.
			ts.postOkta(oktagen.Envelope("late", oktagen.MembershipAdd(oktagen.UUID(17, 1), base.Add(time.Hour), 1, 1)))
		}
		path = ""
		if l := h.Get("Link"); l != "" {
			m := linkNext.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("Link %q", l)
			}
			u, _ := url.Parse(m[1])
			if u.Query().Get("limit") != "250" {
				t.Fatalf("next link %q lost the limit", m[1])
			}
			path = m[1]
		}
		if pages > n {
			t.Fatal("paging does not end")
		}
	}
	if len(got) != n {
		t.Fatalf("paged %d events, want %d", len(got), n)
	}
	seen := map[string]bool{}
	for i, e := range got {
		if seen[e.UUID] {
			t.Fatalf("event %s listed twice", e.UUID)
		}
		seen[e.UUID] = true
		if !want[e.UUID] {
			t.Fatalf("unexpected event %s", e.UUID)
		}
		if i > 0 {
			p, _ := time.Parse(time.RFC3339Nano, e.Published)
			q, _ := time.Parse(time.RFC3339Nano, got[i-1].Published)
			if p.After(q) || p.Equal(q) && e.UUID > got[i-1].UUID {
				t.Fatalf("event %d (%s %s) out of order after %s %s", i, e.Published, e.UUID, got[i-1].Published, got[i-1].UUID)
			}
		}
	}
	// The type filter pages the same way.
	if typed := pageEvents(t, ts, "/v1/events?type=group.*&limit=1000"); len(typed) != n+1 {
		t.Fatalf("type=group.*: %d events, want %d", len(typed), n+1)
	}
}

// rawEvent is a System Log event in Okta's shape with published as given.
func rawEvent(uuid, typ, published, actor, outcome string, targets ...string) string {
	return `{"uuid":"` + uuid + `","published":"` + published + `","eventType":"` + typ + `","version":"0",` +
		`"severity":"INFO","displayMessage":"x","actor":` + actor + `,"outcome":` + outcome +
		`,"target":[` + strings.Join(targets, ",") + `]}`
}

func rawEnvelope(id string, events ...string) []byte {
	return []byte(`{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1",` +
		`"source":"https://example.okta.com/api/v1/eventHooks/who1","eventId":"` + id + `",` +
		`"eventTime":"2026-03-03T10:00:05.000Z","contentType":"application/json","data":{"events":[` +
		strings.Join(events, ",") + `]}}`)
}

const (
	okOutcome = `{"result":"SUCCESS","reason":null}`
	adminJSON = `{"id":"00uadmin","type":"User","alternateId":"ada.admin@example.com","displayName":"Ada"}`
)

func userJSON(id, login string) string {
	return `{"id":"` + id + `","type":"User","alternateId":"` + login + `","displayName":"U","detailEntry":null}`
}

// TestEventsPublishedExactAndFilters: published comes back byte for byte
// (0, 3 and 6 fractional digits), and type (exact, prefix.*), user (id,
// login or email against actor and targets) and since/until filter.
func TestEventsPublishedExactAndFilters(t *testing.T) {
	ts := startServer(t, "")
	pubs := map[string]string{
		"e1": "2026-03-03T10:00:00Z",
		"e2": "2026-03-03T10:00:01.340Z",
		"e3": "2026-03-03T10:00:02.123450Z",
		"e4": "2026-03-03T10:00:03.100Z",
	}
	group := `{"id":"00gstaff","type":"UserGroup","alternateId":"unknown","displayName":"staff"}`
	ts.postOkta(rawEnvelope("f1",
		rawEvent("e1", "user.lifecycle.create", pubs["e1"], adminJSON, okOutcome, userJSON("00ua", "a@example.com")),
		// A lockout by failed sign-ins: the user is the actor, no target.
		rawEvent("e2", "user.account.lock", pubs["e2"], userJSON("00ua", "a@example.com"), `{"result":"FAILURE","reason":"LOCKED_OUT"}`),
		rawEvent("e3", "group.user_membership.add", pubs["e3"], adminJSON, okOutcome, userJSON("00ub", "b@example.com"), group),
		// Actor named by id only matches user=b@example.com through the store.
		rawEvent("e4", "user.session.start", pubs["e4"], userJSON("00ub", "old-b@example.com"), okOutcome)))

	all := pageEvents(t, ts, "/v1/events")
	if len(all) != 4 {
		t.Fatalf("%d events, want 4", len(all))
	}
	for _, e := range all {
		if e.Published != pubs[e.UUID] {
			t.Errorf("event %s published %q, want %q exactly", e.UUID, e.Published, pubs[e.UUID])
		}
	}
	ids := func(path string) []string {
		var out []string
		for _, e := range pageEvents(t, ts, path) {
			out = append(out, e.UUID)
		}
		return out
	}
	for path, want := range map[string][]string{
		"/v1/events?type=user.*":                                                 {"e4", "e2", "e1"},
		"/v1/events?type=user.account.lock":                                      {"e2"},
		"/v1/events?type=user.account.*":                                         {"e2"},
		"/v1/events?type=user":                                                   nil,
		"/v1/events?user=a@example.com":                                          {"e2", "e1"},
		"/v1/events?user=A@EXAMPLE.COM":                                          {"e2", "e1"},
		"/v1/events?user=00ua":                                                   {"e2", "e1"},
		"/v1/events?user=b@example.com":                                          {"e4", "e3"},
		"/v1/events?user=ada.admin@example.com":                                  {"e3", "e1"},
		"/v1/events?user=nobody@example.com":                                     nil,
		"/v1/events?user=00ub&type=group.*":                                      {"e3"},
		"/v1/events?since=2026-03-03T10:00:01.34Z":                               {"e4", "e3", "e2"},
		"/v1/events?until=2026-03-03T10:00:03.1Z":                                {"e3", "e2", "e1"},
		"/v1/events?since=2026-03-03T10:00:01Z&until=2026-03-03T10:00:02.12345Z": {"e2"},
		"/v1/events?since=2026-03-03T10:00:00Z&limit=1":                          {"e4", "e3", "e2", "e1"},
	} {
		if got := ids(path); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
	for _, bad := range []string{"since=yesterday", "until=2026-13-01T00:00:00Z", "after=nope", "after=0123456789abcdef"} {
		if code, _ := ts.get("/v1/events?"+bad, nil); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
}

// TestUserByLoginNewestHolderHTTP: GET /v1/users/<login> answers the user
// id with the newest claim on the login, in both delivery orders.
func TestUserByLoginNewestHolderHTTP(t *testing.T) {
	old := rawEnvelope("o", rawEvent("o1", "user.lifecycle.activate", "2026-03-03T10:00:00.000Z", adminJSON, okOutcome,
		userJSON("00u1stale", "pat@example.com")))
	newer := rawEnvelope("n", rawEvent("n1", "user.lifecycle.create", "2026-03-03T11:00:00.000Z", adminJSON, okOutcome,
		userJSON("00u9fresh", "pat@example.com")))
	for _, order := range [][][]byte{{old, newer}, {newer, old}} {
		ts := startServer(t, "")
		for _, b := range order {
			ts.postOkta(b)
		}
		var u struct {
			ID     string  `json:"id"`
			Status *string `json:"status"`
		}
		if code, _ := ts.get("/v1/users/PAT@example.com", &u); code != http.StatusOK || u.ID != "00u9fresh" {
			t.Fatalf("GET /v1/users/<login>: %d %+v, want 00u9fresh", code, u)
		}
		if code, _ := ts.get("/v1/users/00u1stale", &u); code != http.StatusOK || u.ID != "00u1stale" {
			t.Fatalf("the older holder by id: %d %+v", code, u)
		}
	}
}
