package okta

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktagen"
)

// FuzzParseEnvelope: the parser never panics, and every event it accepts
// has a uuid, an eventType and a published time, passes Validate, and
// events plus rejected account for every element of data.events. The fast
// single-pass parser and the encoding/json reference give the same result
// (error text, events field by field, rejections and their reasons).
//
// Seeds are the fixtures (several KB each). `make fuzz` caps minimization
// (-fuzzminimizetime): with the default 60 s per new input, the two workers
// of a 2-core machine spend a 10 s run minimizing and report 0 execs/s.
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
	f.Add([]byte(`{"eventType":"com.okta.event_hook","data":{"events":[{"UUID":"u","eventtype":"t","published":"2026-01-01T00:00:00Z","target":[{"ID":"x","type":"User","detailEntry":7}],"outcome":{"result":null,"reason":"\u0041"}}]}}`))
	f.Add([]byte(`{"eventType":"com.okta.event_hook","data":{"events":[{"uuid":"u","uuid":"v","eventType":"t","published":"2026-01-01T00:00:00Z"}]},"data":{}}`))
	f.Add([]byte(`{"eventType":"com.okta.event_hook","data":{"events":[{"uuid":"u","eventType":"user.account.lock","published":"2026-01-01T00:00:00.340Z","outcome":{"result":"FAILURE","reason":"LOCKED_OUT"},"actor":{"id":"00u1","type":"User","alternateId":"a@b","detailEntry":{"x":[1]}},"target":null},{"uuid":"v","eventType":"user.account.lock","published":"2026-01-01T00:00:00Z","actor":{"id":7},"outcome":{"reason":"LOCKED_OUT","result":"FAILURE"}},{"uuid":"w","eventType":"t","published":"2026-01-01T00:00:00.123456Z","actor":"x","ACTOR":null}]}}`))
	f.Add(oktagen.Envelope("e", oktagen.MembershipAdd(oktagen.UUID(1, 1), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 1, 2)))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseEnvelope(body)
		rb, rerr := parseEnvelopeRef(body)
		if (err == nil) != (rerr == nil) || err != nil && err.Error() != rerr.Error() {
			t.Fatalf("fast parser error %v, reference %v", err, rerr)
		}
		if err == nil {
			sameBatch(t, b, rb)
		}
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

// sameBatch fails unless the fast and the reference parser agree.
func sameBatch(t *testing.T, got, want *Batch) {
	t.Helper()
	if got.EnvelopeID != want.EnvelopeID || len(got.Events) != len(want.Events) || len(got.Rejected) != len(want.Rejected) {
		t.Fatalf("fast parser: id %q, %d events, %d rejected; reference: id %q, %d events, %d rejected",
			got.EnvelopeID, len(got.Events), len(got.Rejected), want.EnvelopeID, len(want.Events), len(want.Rejected))
	}
	for i, g := range got.Events {
		w := want.Events[i]
		if len(g.Target) == 0 && len(w.Target) == 0 {
			g, w = ptrWithoutTargets(g), ptrWithoutTargets(w)
		}
		if !bytes.Equal(g.Raw, w.Raw) || !reflect.DeepEqual(withoutRaw(g), withoutRaw(w)) || g.index != w.index {
			t.Fatalf("event %d: fast parser %+v, reference %+v", i, *g, *w)
		}
	}
	for i, g := range got.Rejected {
		w := want.Rejected[i]
		if g.Index != w.Index || g.Reason != w.Reason || !bytes.Equal(g.Raw, w.Raw) {
			t.Fatalf("rejected %d: fast parser %+v, reference %+v", i, g, w)
		}
	}
}

func ptrWithoutTargets(e *LogEvent) *LogEvent {
	c := *e
	c.Target = nil
	return &c
}

func withoutRaw(e *LogEvent) LogEvent {
	c := *e
	c.Raw = nil
	return c
}
