package okta

import (
	"encoding/json"
	"os"
	"testing"
)

// FuzzParseEnvelope: the parser never panics, and every event it accepts
// has a uuid, an eventType and a published time, passes Validate, and
// events plus rejected account for every element of data.events.
func FuzzParseEnvelope(f *testing.F) {
	for _, path := range fxFiles(f) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"eventType":"com.okta.event_hook","data":{"events":[null,1,"x",{},{"uuid":"u","eventType":"t","published":"2026-01-01T00:00:00Z","target":{}}]}}`))
	f.Add([]byte(`{"eventType":"com.okta.event_hook","data":{"events":[{"uuid":"u","eventType":"group.user_membership.add","published":"2026-01-01T00:00:00Z","target":[{"id":1}]}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseEnvelope(body)
		if err != nil {
			if b != nil {
				t.Fatal("batch returned with an error")
			}
			return
		}
		for _, ev := range b.Events {
			if ev.UUID == "" || ev.EventType == "" || ev.Published.IsZero() {
				t.Fatalf("accepted event without uuid/type/published: %+v", ev)
			}
			if err := Validate(ev); err != nil {
				t.Fatalf("accepted event fails Validate: %v", err)
			}
			if !json.Valid(ev.Raw) {
				t.Fatalf("raw event is not JSON: %q", ev.Raw)
			}
		}
		for _, r := range b.Rejected {
			if r.Reason == "" {
				t.Fatalf("rejected without a reason: %+v", r)
			}
		}
		var env Envelope
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("parser accepted what encoding/json refuses: %v", err)
		}
		if len(b.Events)+len(b.Rejected) != len(env.Data.Events) {
			t.Fatalf("%d events + %d rejected != %d elements", len(b.Events), len(b.Rejected), len(env.Data.Events))
		}
	})
}
