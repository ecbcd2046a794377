package gateway

import (
	"testing"
	"time"
)

func TestMinuteRing(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 30, 0, time.UTC)
	r := newMinuteRing()
	r.now = func() time.Time { return now }
	r.events(5, 1)
	r.pluginCall(true, 0, 2*time.Millisecond, now)
	r.pluginCall(true, 1, 4*time.Millisecond, now)
	r.pluginCall(true, 3, 9*time.Millisecond, now) // a trap: error
	r.pluginCall(false, 1, time.Millisecond, now)  // an event plugin: no hook decision
	now = now.Add(time.Minute)
	r.events(2, 0)

	ms := r.last()
	if len(ms) != ringMinutes {
		t.Fatalf("%d minutes", len(ms))
	}
	cur, prev := ms[len(ms)-1], ms[len(ms)-2]
	if !cur.Start.Equal(time.Date(2026, 1, 1, 10, 1, 0, 0, time.UTC)) || cur.EventsAccepted != 2 || cur.PluginCalls != 0 {
		t.Errorf("current minute = %+v", cur)
	}
	if prev.EventsAccepted != 5 || prev.EventsRejected != 1 || prev.HookSuccess != 1 || prev.HookFailure != 1 ||
		prev.HookError != 1 || prev.PluginCalls != 4 || prev.PluginMeanMs != 4 || prev.PluginMaxMs != 9 {
		t.Errorf("previous minute = %+v", prev)
	}
	// An hour later the slot is reused: the old counts are gone, not added to.
	now = now.Add(59 * time.Minute)
	r.events(1, 0)
	ms = r.last()
	if got := ms[len(ms)-1]; got.EventsAccepted != 1 || got.HookSuccess != 0 {
		t.Errorf("reused slot = %+v", got)
	}
	for _, m := range ms[:len(ms)-1] {
		if m.EventsAccepted != 0 && !m.Start.Equal(time.Date(2026, 1, 1, 10, 1, 0, 0, time.UTC)) {
			t.Errorf("stale minute shown: %+v", m)
		}
	}
	if ms[0].Start.After(ms[1].Start) {
		t.Error("minutes not oldest first")
	}
}
