package gateway_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktatest"
)

// TestCatchUpEventMetrics: events applied by System Log catch-up are
// counted in hookgate_okta_events_total with source="catchup", apart from
// the event hook's (source="hook"); a catch-up is not a hook delivery.
func TestCatchUpEventMetrics(t *testing.T) {
	org := oktatest.New(oktatest.Options{APIToken: orgToken, PageSize: 2})
	defer org.Close()
	ts := startOktaServer(t, "", newOrgClient(t, org, nil))

	base := time.Now().Add(-20 * time.Minute).UTC().Truncate(time.Millisecond)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	delivered := []json.RawMessage{
		oktatest.Event("group.lifecycle.create", at(0), oktatest.GroupTarget(oktatest.Oncall)),
		oktatest.Event("user.lifecycle.create", at(1), oktatest.UserTarget(oktatest.Alice)),
	}
	missed := []json.RawMessage{
		oktatest.Event("user.lifecycle.create", at(2), oktatest.UserTarget(oktatest.Bob)),
		oktatest.Event("group.user_membership.add", at(3), oktatest.UserTarget(oktatest.Bob), oktatest.GroupTarget(oktatest.Oncall)),
		oktatest.Event("group.application_assignment.add", at(4), oktatest.GroupTarget(oktatest.Oncall), oktatest.AppTarget(oktatest.AWS)),
	}
	env, _ := json.Marshal(map[string]any{
		"eventType": "com.okta.event_hook", "eventId": "delivered-1", "eventTime": at(1).Format(time.RFC3339),
		"data": map[string]any{"events": delivered},
	})
	ts.postOkta(env)
	if err := org.AddLogEvents(append(append([]json.RawMessage{}, delivered...), missed...)...); err != nil {
		t.Fatal(err)
	}
	res, err := ts.API.CatchUp(context.Background())
	if err != nil || res.Accepted != len(missed) || res.Duplicates != len(delivered) {
		t.Fatalf("catch-up = %+v, %v; want %d accepted, %d duplicates", res, err, len(missed), len(delivered))
	}

	_, _, m := ts.do("GET", "/metrics", nil)
	checks := []struct {
		kv   []string
		want float64
	}{
		{[]string{"source", "hook", "result", "accepted"}, 2},
		{[]string{"source", "hook", "result", "duplicate"}, 0},
		{[]string{"source", "catchup", "result", "accepted"}, 3},
		{[]string{"source", "catchup", "result", "duplicate"}, 2},
		{[]string{"source", "catchup", "type", "group.user_membership.add", "result", "accepted"}, 1},
		{[]string{"source", "catchup", "type", "user.lifecycle.create", "result", "duplicate"}, 1},
		{[]string{"result", "accepted"}, 5}, // summed over sources
	}
	for _, c := range checks {
		if got := metricSum(t, m, "hookgate_okta_events_total", c.kv...); got != c.want {
			t.Errorf("hookgate_okta_events_total%v = %v, want %v", c.kv, got, c.want)
		}
	}
	// Catch-up batches are not event hook deliveries.
	if got := metricSum(t, m, "hookgate_okta_batches_total", "outcome", "ok"); got != 1 {
		t.Errorf("hookgate_okta_batches_total{outcome=ok} = %v, want 1 (the hook delivery only)", got)
	}
}
