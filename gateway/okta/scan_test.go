package okta

import (
	"os"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktagen"
)

// TestFastPathTakesOktaShapedBodies: the fixtures and generated envelopes are
// decided by the single-pass parser, not handed to the encoding/json
// reference (otherwise the fast path would be dead code and the benchmark
// would measure the reference).
func TestFastPathTakesOktaShapedBodies(t *testing.T) {
	bodies := map[string][]byte{
		"oktagen": oktagen.Envelope("e", oktagen.MembershipAdd(oktagen.UUID(1, 1), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 1, 2)),
	}
	for _, p := range fxFiles(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bodies[p] = b
	}
	for name, body := range bodies {
		b, err := parseEnvelopeFast(body)
		if err != nil {
			if _, rerr := parseEnvelopeRef(body); rerr == nil {
				t.Errorf("%s: fast path declined a valid envelope", name)
			}
			continue
		}
		want, err := parseEnvelopeRef(body)
		if err != nil {
			t.Fatalf("%s: reference refuses what the fast path took: %v", name, err)
		}
		sameBatch(t, b, want)
	}
}

// TestFastPathDeclinesOddShapes: escaped keys, duplicates and wrong types go
// to the reference path rather than being guessed at.
func TestFastPathDeclinesOddShapes(t *testing.T) {
	for _, body := range []string{
		`{"eventType":"com.okta.event_hook","data":{"events":[]}} x`,
		`{"eventType":"com.okta.event_hook","data":{"events":[]}}` + "\x00",
		`{"event\u0054ype":"com.okta.event_hook","data":{"events":[]}}`,
		`{"eventType":"com.okta.event_hook","data":{"events":[]},"data":{"events":null}}`,
		`{"eventType":"com.okta.event_hook","eventId":7,"data":{"events":[]}}`,
		`{"eventType":"com.okta.event_hook","data":{"events":{}}}`,
	} {
		if _, err := parseEnvelopeFast([]byte(body)); err != errSlow {
			t.Errorf("%q: fast path did not decline (err %v)", body, err)
		}
	}
}

// BenchmarkParseEnvelope parses a 50-event generated envelope with
// ParseEnvelope (fast path) and with the encoding/json reference, and
// reports the reference/fast time ratio.
func BenchmarkParseEnvelope(b *testing.B) {
	evs := make([]oktagen.Event, 50)
	for i := range evs {
		evs[i] = oktagen.MembershipAdd(oktagen.UUID(3, i), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Second), i, i%10)
	}
	body := oktagen.Envelope("bench", evs...)
	var fast, ref time.Duration
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		t0 := time.Now()
		for b.Loop() {
			if _, err := ParseEnvelope(body); err != nil {
				b.Fatal(err)
			}
		}
		fast = time.Since(t0) / time.Duration(b.N)
	})
	b.Run("reference", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		t0 := time.Now()
		for b.Loop() {
			if _, err := parseEnvelopeRef(body); err != nil {
				b.Fatal(err)
			}
		}
		ref = time.Since(t0) / time.Duration(b.N)
	})
	if fast > 0 {
		b.Logf("50-event envelope: fast %v, reference %v, speed-up %.1fx", fast, ref, float64(ref)/float64(fast))
	}
}
