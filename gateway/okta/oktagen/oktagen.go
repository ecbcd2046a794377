// Package oktagen builds synthetic Okta Event Hook envelopes in the wire
// shape of ../shared/fixtures/okta (the fields that carry state plus the
// usual LogEvent furniture). Tests, the crash-safety test and the ingest
// benchmark use it to generate many distinct events cheaply; it is not
// used by the gateway itself.
package oktagen

import (
	"fmt"
	"strconv"
	"time"
)

// Target is one LogEvent target.
type Target struct {
	ID, Type, AlternateID, DisplayName string
}

// Event describes one LogEvent to generate.
type Event struct {
	UUID      string
	Published time.Time
	EventType string
	Targets   []Target
}

// UserID returns a 20-character Okta-style user id for n.
func UserID(n int) string { return fmt.Sprintf("00u%017d", n) }

// GroupID returns a 20-character Okta-style group id for n.
func GroupID(n int) string { return fmt.Sprintf("00g%017d", n) }

// UUID returns a deterministic, unique, uuid-shaped string for (run, n).
func UUID(run, n int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(run), uint64(n))
}

// Login returns the login of generated user n.
func Login(n int) string { return "user" + strconv.Itoa(n) + "@example.com" }

// UserTarget is the User target of generated user n.
func UserTarget(n int) Target {
	return Target{ID: UserID(n), Type: "User", AlternateID: Login(n), DisplayName: "User " + strconv.Itoa(n)}
}

// GroupTarget is the UserGroup target of generated group n.
func GroupTarget(n int) Target {
	return Target{ID: GroupID(n), Type: "UserGroup", AlternateID: "unknown", DisplayName: "group-" + strconv.Itoa(n)}
}

// MembershipAdd is a group.user_membership.add of user u to group g.
func MembershipAdd(uuid string, published time.Time, u, g int) Event {
	return Event{UUID: uuid, Published: published, EventType: "group.user_membership.add",
		Targets: []Target{UserTarget(u), GroupTarget(g)}}
}

// AppendEvent appends e as LogEvent JSON to dst.
func AppendEvent(dst []byte, e Event) []byte {
	dst = append(dst, `{"uuid":`...)
	dst = strconv.AppendQuote(dst, e.UUID)
	dst = append(dst, `,"published":"`...)
	dst = e.Published.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	dst = append(dst, `","eventType":`...)
	dst = strconv.AppendQuote(dst, e.EventType)
	dst = append(dst, `,"version":"0","displayMessage":"generated","severity":"INFO",`...)
	dst = append(dst, `"actor":{"id":"00u11bGju0S48v4cQ5d7","type":"User","alternateId":"ada.admin@example.com","displayName":"Ada Admin","detailEntry":null},`...)
	dst = append(dst, `"outcome":{"result":"SUCCESS","reason":null},"target":[`...)
	for i, t := range e.Targets {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"id":`...)
		dst = strconv.AppendQuote(dst, t.ID)
		dst = append(dst, `,"type":`...)
		dst = strconv.AppendQuote(dst, t.Type)
		dst = append(dst, `,"alternateId":`...)
		dst = strconv.AppendQuote(dst, t.AlternateID)
		dst = append(dst, `,"displayName":`...)
		dst = strconv.AppendQuote(dst, t.DisplayName)
		dst = append(dst, `,"detailEntry":null}`...)
	}
	dst = append(dst, `],"transaction":{"type":"WEB","id":"gen","detail":{}},"debugContext":{"debugData":{}},"legacyEventType":null}`...)
	return dst
}

// Envelope returns a com.okta.event_hook envelope carrying events.
func Envelope(eventID string, events ...Event) []byte {
	b := make([]byte, 0, 256+700*len(events))
	b = append(b, `{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1",`...)
	b = append(b, `"source":"https://example.okta.com/api/v1/eventHooks/who4hkgt8Ds2qLm0x5d7","eventId":`...)
	b = strconv.AppendQuote(b, eventID)
	b = append(b, `,"data":{"events":[`...)
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendEvent(b, e)
	}
	b = append(b, `]},"eventTime":"`...)
	b = time.Now().UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, `","contentType":"application/json"}`...)
	return b
}
