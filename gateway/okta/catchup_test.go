package okta_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/gateway/okta/oktatest"
)

func TestCatchUpAppliesEventsTheHookNeverDelivered(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken, PageSize: 2})
	c := newSSWS(t, srv, nil)
	st := openStore(t)
	base := time.Now().Add(-30 * time.Minute).UTC().Truncate(time.Millisecond)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }

	delivered := []json.RawMessage{
		oktatest.Event("group.lifecycle.create", at(0), oktatest.GroupTarget(oktatest.Oncall)),
		oktatest.Event("user.lifecycle.create", at(1), oktatest.UserTarget(oktatest.Alice)),
		oktatest.Event("group.user_membership.add", at(2), oktatest.UserTarget(oktatest.Alice), oktatest.GroupTarget(oktatest.Oncall)),
	}
	missed := []json.RawMessage{
		// published before the watermark but inside the overlap: indexed late
		oktatest.Event("user.lifecycle.activate", at(1).Add(30*time.Second), oktatest.UserTarget(oktatest.Alice)),
		oktatest.Event("user.lifecycle.create", at(5), oktatest.UserTarget(oktatest.Bob)),
		oktatest.Event("group.user_membership.add", at(6), oktatest.UserTarget(oktatest.Bob), oktatest.GroupTarget(oktatest.Oncall)),
		oktatest.Event("group.application_assignment.add", at(7), oktatest.GroupTarget(oktatest.Oncall), oktatest.AppTarget(oktatest.AWS)),
		oktatest.Event("group.user_membership.remove", at(8), oktatest.UserTarget(oktatest.Alice), oktatest.GroupTarget(oktatest.Oncall)),
	}
	ignored := []json.RawMessage{
		oktatest.Event("user.session.start", at(9), oktatest.UserTarget(oktatest.Bob)), // not a modelled type
		// long before the watermark minus the overlap: outside the window
		oktatest.Event("user.lifecycle.suspend", at(-20), oktatest.UserTarget(oktatest.Carol)),
	}
	deliver(t, st, delivered...)
	for _, evs := range [][]json.RawMessage{delivered, missed, ignored} {
		if err := srv.AddLogEvents(evs...); err != nil {
			t.Fatal(err)
		}
	}

	res, err := okta.CatchUp(context.Background(), c, st, okta.CatchUpOptions{Overlap: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// Window: [at(2)-5m, now): every delivered and missed event, 4 pages of 2.
	if res.Accepted != len(missed) || res.Duplicates != len(delivered) || res.Rejected != 0 || res.Pages != 4 {
		t.Errorf("result = %+v, want %d accepted, %d duplicates in 4 pages", res, len(missed), len(delivered))
	}
	if !res.Since.Equal(at(2).Add(-5 * time.Minute)) {
		t.Errorf("since = %v, want the watermark %v minus the overlap", res.Since, at(2))
	}

	if s := statusOf(user(t, st, oktatest.AliceID)); s != "ACTIVE" {
		t.Errorf("alice = %s, want ACTIVE", s)
	}
	g := group(t, st, oktatest.OncallID)
	if len(g.Members) != 1 || g.Members[0] != oktatest.BobID || len(g.Apps) != 1 || g.Apps[0] != oktatest.AWSID {
		t.Errorf("oncall members %v apps %v, want [bob] [AWS]", g.Members, g.Apps)
	}
	if _, err := st.UserByID(oktatest.CarolID); err == nil {
		t.Error("an event older than the window was applied")
	}
	if evs, err := st.Events("user.session.start", 10); err != nil || len(evs) != 0 {
		t.Errorf("unmodelled type read: %v, %v", evs, err)
	}
	lap, _ := st.LastAppliedPublished()
	if !lap.Equal(at(8)) {
		t.Errorf("watermark = %v, want %v", lap, at(8))
	}

	// The request asked for the modelled types in ascending order.
	var logReq *oktatest.Request
	for _, r := range srv.Requests() {
		if r.Path == "/api/v1/logs" {
			logReq = &r
			break
		}
	}
	q, _ := url.ParseQuery(logReq.RawQuery)
	if q.Get("sortOrder") != "ASCENDING" || !strings.Contains(q.Get("filter"), `eventType eq "group.user_membership.add" or `) || q.Get("until") == "" {
		t.Errorf("System Log query = %v", q)
	}

	// A second run finds nothing new.
	res2, err := okta.CatchUp(context.Background(), c, st, okta.CatchUpOptions{})
	if err != nil || res2.Accepted != 0 {
		t.Errorf("second run: %+v, %v", res2, err)
	}
}

func TestCatchUpNeedsAStartingPoint(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken})
	c := newSSWS(t, srv, nil)
	st := openStore(t)
	res, err := okta.CatchUp(context.Background(), c, st, okta.CatchUpOptions{})
	if err != nil || res.Skipped == "" || len(srv.Requests()) != 0 {
		t.Fatalf("fresh store: %+v, %v, %d requests", res, err, len(srv.Requests()))
	}
}

// Plugin actions change Okta; the System Log then carries the events and
// catch-up brings them into the store even with no hook configured.
func TestCatchUpAfterSyncPicksUpPluginActions(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken, EmitEvents: true})
	srv.SeedFixtureOrg()
	c := newSSWS(t, srv, nil)
	st := openStore(t)
	runSync(t, c, st, okta.SyncOptions{})
	ctx := context.Background()
	if err := c.AddUserToGroup(ctx, oktatest.OncallID, oktatest.DaveID); err != nil {
		t.Fatal(err)
	}
	if err := c.UnassignAppFromGroup(ctx, oktatest.SlackID, oktatest.PlatformID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.IsMember(oktatest.DaveID, oktatest.OncallID); ok {
		t.Fatal("setup: the store knew before catch-up")
	}
	res, err := okta.CatchUp(ctx, c, st, okta.CatchUpOptions{Until: time.Now().Add(time.Second)})
	if err != nil || res.Accepted != 2 {
		t.Fatalf("catch-up: %+v, %v", res, err)
	}
	if ok, _ := st.IsMember(oktatest.DaveID, oktatest.OncallID); !ok {
		t.Error("dave not in oncall after catch-up")
	}
	if g := group(t, st, oktatest.PlatformID); len(g.Apps) != 0 {
		t.Errorf("platform-team apps = %v, want none", g.Apps)
	}
}

func TestCatchUpRecordsMalformedLogEvents(t *testing.T) {
	srv := newOrg(t, oktatest.Options{APIToken: testToken})
	c := newSSWS(t, srv, nil)
	st := openStore(t)
	now := time.Now().UTC()
	// a membership event without its User target
	bad := oktatest.Event("group.user_membership.add", now.Add(-time.Minute), oktatest.GroupTarget(oktatest.Oncall))
	if err := srv.AddLogEvents(bad); err != nil {
		t.Fatal(err)
	}
	res, err := okta.CatchUp(context.Background(), c, st, okta.CatchUpOptions{Since: now.Add(-time.Hour)})
	if err != nil || res.Rejected != 1 || res.Accepted != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	rj, err := st.RejectedEvents(10)
	if err != nil || len(rj) != 1 || !strings.HasPrefix(rj[0].EnvelopeID, "systemlog:") {
		t.Fatalf("rejected = %+v, %v", rj, err)
	}
}
