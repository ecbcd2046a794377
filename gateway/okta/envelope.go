// Package okta holds hookgate's side of Okta: the Event Hook wire types and
// their parser (envelope.go), how each System Log event changes identity
// state (apply.go), the one-transaction batch pipeline (ingest.go) and the
// Management API client (client*.go).
package okta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hookgate/hookgate/store"
)

// EventHookType is the envelope eventType of every Okta Event Hook delivery.
const EventHookType = "com.okta.event_hook"

// Target types found in System Log event targets.
const (
	TargetUser        = "User"
	TargetUserGroup   = "UserGroup"
	TargetAppInstance = "AppInstance"
	TargetAppUser     = "AppUser"
)

// OutcomeSuccess is the outcome.result of an event that took effect.
const OutcomeSuccess = "SUCCESS"

// maxTokenLen bounds uuid and eventType: they become store keys.
const maxTokenLen = 256

// Envelope is an Okta Event Hook delivery as it arrives on the wire
// (https://developer.okta.com/docs/concepts/event-hooks/). Times are kept as
// sent; only the events carry state.
type Envelope struct {
	EventType          string       `json:"eventType"`
	EventTypeVersion   string       `json:"eventTypeVersion"`
	CloudEventsVersion string       `json:"cloudEventsVersion"`
	Source             string       `json:"source"`
	EventID            string       `json:"eventId"`
	EventTime          string       `json:"eventTime"`
	ContentType        string       `json:"contentType"`
	Data               EnvelopeData `json:"data"`
}

// EnvelopeData is the envelope's data object: the System Log events, kept
// raw so that one malformed event can be rejected on its own.
type EnvelopeData struct {
	Events []json.RawMessage `json:"events"`
}

// LogEvent is one Okta System Log event, reduced to the fields hookgate
// reads, plus the raw JSON it was parsed from (kept for the event log and
// plugins).
type LogEvent struct {
	UUID           string    `json:"uuid"`
	Published      time.Time `json:"published"`
	EventType      string    `json:"eventType"`
	Version        string    `json:"version"`
	DisplayMessage string    `json:"displayMessage"`
	Outcome        Outcome   `json:"outcome"`
	// Actor is who performed the action (an admin, the user themself, or
	// Okta's SystemPrincipal). Only user.account.lock reads it: a lockout
	// by failed sign-ins names the locked user as the actor and has no
	// target. A malformed actor reads as empty.
	Actor  Target   `json:"actor"`
	Target []Target `json:"target"`
	// PublishedText is published exactly as Okta sent it (Okta writes
	// milliseconds; re-encoding the parsed time would drop trailing zeros),
	// for the event log.
	PublishedText string `json:"-"`
	// Raw is the event exactly as received (not re-encoded): the actor,
	// debugContext and every other field hookgate does not read are only
	// here, for the event log and plugins.
	Raw json.RawMessage `json:"-"`

	index int // position in the envelope's data.events
}

// Outcome is the event's outcome; an empty Result means Okta sent none.
type Outcome struct {
	Result string `json:"result"`
	Reason string `json:"reason"`
}

// Target is a target of a System Log event, reduced to the fields that carry
// state (detailEntry stays in LogEvent.Raw). Targets are found by Type (see
// TargetOf), never by position.
type Target struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
}

// TargetOf returns the first target of the given type (compared
// case-insensitively), or nil when the event has none.
func (e *LogEvent) TargetOf(typ string) *Target {
	for i := range e.Target {
		if strings.EqualFold(e.Target[i].Type, typ) {
			return &e.Target[i]
		}
	}
	return nil
}

// Succeeded reports whether the event took effect in Okta: outcome.result
// is SUCCESS or absent.
func (e *LogEvent) Succeeded() bool {
	return e.Outcome.Result == "" || strings.EqualFold(e.Outcome.Result, OutcomeSuccess)
}

// Index is the event's position in its envelope's data.events (0 for events
// not parsed from an envelope).
func (e *LogEvent) Index() int { return e.index }

// Batch is a parsed delivery: the well-formed events in envelope order and
// the malformed ones set aside with their reasons.
type Batch struct {
	EnvelopeID string
	Events     []*LogEvent
	Rejected   []RejectedEvent
}

// RejectedEvent is one element of data.events that is not a usable event.
type RejectedEvent struct {
	Index  int
	Reason string
	Raw    json.RawMessage
}

// ErrInvalidEvent marks an event that cannot be applied (a missing field or
// a required target). The parser rejects such events; Validate reports it.
var ErrInvalidEvent = errors.New("invalid event")

// ParseEnvelope parses an Event Hook delivery. It fails (the caller answers
// 400 with the message) only when the body is not an envelope: invalid JSON,
// not an object, eventType other than com.okta.event_hook, or data.events
// missing or not an array. A malformed element of data.events goes to
// Batch.Rejected with a reason and the others are kept. Unknown event types
// are ordinary events.
//
// Bodies in the shape Okta sends are scanned once (scan.go); anything else
// is decided by the encoding/json reference path, with the same result.
func ParseEnvelope(body []byte) (*Batch, error) {
	if b, err := parseEnvelopeFast(body); err == nil {
		return b, nil
	}
	return parseEnvelopeRef(body)
}

// parseEnvelopeRef is the encoding/json reference implementation of
// ParseEnvelope: it words every refusal and decides every body the fast
// path declines.
func parseEnvelopeRef(body []byte) (*Batch, error) {
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, describeJSONError("envelope", body, err)
	}
	if env.EventType == "" {
		return nil, fmt.Errorf("eventType: missing (want %q)", EventHookType)
	}
	if env.EventType != EventHookType {
		return nil, fmt.Errorf("eventType %q is not %s", env.EventType, EventHookType)
	}
	if env.Data.Events == nil {
		return nil, errors.New("data.events: missing")
	}
	b := &Batch{EnvelopeID: env.EventID, Events: make([]*LogEvent, 0, len(env.Data.Events))}
	for i, raw := range env.Data.Events {
		ev, err := parseEvent(raw)
		if err != nil {
			b.Rejected = append(b.Rejected, RejectedEvent{Index: i, Reason: err.Error(), Raw: raw})
			continue
		}
		ev.index = i
		b.Events = append(b.Events, ev)
	}
	return b, nil
}

// describeJSONError turns a decoding error into a message naming the
// problem and where it is.
func describeJSONError(what string, body []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return fmt.Errorf("%s: empty body", what)
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at offset %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Errorf("%s: want a JSON object, got %s", what, te.Value)
		}
		return fmt.Errorf("%s: want %s, got %s", te.Field, jsonKind(te.Type.String()), te.Value)
	default:
		return fmt.Errorf("%s: %v", what, err)
	}
}

func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "string"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "object"
	default:
		return goType
	}
}

// wireEvent is a LogEvent as decoded in the first pass: the fields that
// carry state are checked strictly, the others leniently (a strange value in
// displayMessage must not lose an event).
type wireEvent struct {
	UUID           json.RawMessage `json:"uuid"`
	Published      json.RawMessage `json:"published"`
	EventType      json.RawMessage `json:"eventType"`
	Version        json.RawMessage `json:"version"`
	DisplayMessage json.RawMessage `json:"displayMessage"`
	Outcome        json.RawMessage `json:"outcome"`
	Actor          json.RawMessage `json:"actor"`
	Target         json.RawMessage `json:"target"`
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// requiredString decodes a required string field.
func requiredString(name string, raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", fmt.Errorf("%s: missing", name)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s: want a string", name)
	}
	if s == "" {
		return "", fmt.Errorf("%s: empty", name)
	}
	return s, nil
}

// looseString decodes an optional string field; other values read as "".
func looseString(raw json.RawMessage) string {
	var s string
	if !isNull(raw) {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// Published times outside this range are refused: the store orders events
// by UnixNano.
var (
	minPublished = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxPublished = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// parseEvent decodes and validates one element of data.events with
// encoding/json: the reference for parseEventFast, and the path for events
// it declines.
func parseEvent(raw json.RawMessage) (*LogEvent, error) {
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("event: not a JSON object")
	}
	var w wireEvent
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("event: %v", err)
	}
	ev := &LogEvent{Raw: raw}
	var err error
	if ev.UUID, err = requiredString("uuid", w.UUID); err != nil {
		return nil, err
	}
	if len(ev.UUID) > maxTokenLen {
		return nil, fmt.Errorf("uuid: longer than %d bytes", maxTokenLen)
	}
	if ev.EventType, err = requiredString("eventType", w.EventType); err != nil {
		return nil, err
	}
	if len(ev.EventType) > maxTokenLen {
		return nil, fmt.Errorf("eventType: longer than %d bytes", maxTokenLen)
	}
	pub, err := requiredString("published", w.Published)
	if err != nil {
		return nil, err
	}
	if ev.Published, err = time.Parse(time.RFC3339Nano, pub); err != nil {
		return nil, fmt.Errorf("published %q: not an RFC 3339 time", pub)
	}
	ev.Published = ev.Published.UTC()
	ev.PublishedText = pub
	if ev.Published.Before(minPublished) || !ev.Published.Before(maxPublished) {
		return nil, fmt.Errorf("published %q: out of range", pub)
	}
	ev.Version = looseString(w.Version)
	ev.DisplayMessage = looseString(w.DisplayMessage)
	if !isNull(w.Outcome) {
		var o struct{ Result, Reason json.RawMessage }
		if err := json.Unmarshal(w.Outcome, &o); err != nil {
			return nil, errors.New("outcome: want an object")
		}
		if !isNull(o.Result) {
			if err := json.Unmarshal(o.Result, &ev.Outcome.Result); err != nil {
				return nil, errors.New("outcome.result: want a string")
			}
		}
		ev.Outcome.Reason = looseString(o.Reason)
	}
	if !isNull(w.Actor) {
		if err := json.Unmarshal(w.Actor, &ev.Actor); err != nil {
			ev.Actor = Target{} // an odd actor must not lose the event
		}
	}
	if !isNull(w.Target) {
		if t := bytes.TrimLeft(w.Target, " \t\r\n"); t[0] != '[' {
			return nil, errors.New("target: want an array")
		}
		if err := json.Unmarshal(w.Target, &ev.Target); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return nil, fmt.Errorf("target: %s: want %s, got %s", te.Field, jsonKind(te.Type.String()), te.Value)
			}
			return nil, fmt.Errorf("target: %v", err)
		}
	}
	if err := Validate(ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// requiredTargets lists, per state-changing event type, the target types it
// cannot be applied without. application.user_membership.* also needs a
// User or, failing that, an AppUser target, and user.account.lock a User
// target or a User actor (both checked in Validate).
// user.lifecycle.password_mass_expiry needs none: it changes the User
// targets it has, if any (see apply.go).
var requiredTargets = map[string][]string{
	"group.lifecycle.create":                      {TargetUserGroup},
	"group.lifecycle.delete":                      {TargetUserGroup},
	"group.profile.update":                        {TargetUserGroup},
	"group.user_membership.add":                   {TargetUser, TargetUserGroup},
	"group.user_membership.remove":                {TargetUser, TargetUserGroup},
	"group.application_assignment.add":            {TargetUserGroup, TargetAppInstance},
	"group.application_assignment.remove":         {TargetUserGroup, TargetAppInstance},
	"group.application_assignment.update":         {TargetUserGroup, TargetAppInstance},
	"user.lifecycle.create":                       {TargetUser},
	"user.lifecycle.activate":                     {TargetUser},
	"user.lifecycle.reactivate":                   {TargetUser},
	"user.lifecycle.deactivate":                   {TargetUser},
	"user.lifecycle.suspend":                      {TargetUser},
	"user.lifecycle.unsuspend":                    {TargetUser},
	"user.lifecycle.delete.initiated":             {TargetUser},
	"user.lifecycle.delete.completed":             {TargetUser},
	"user.lifecycle.password_mass_expiry":         nil,
	"user.account.lock":                           nil,
	"user.account.unlock":                         {TargetUser},
	"user.account.unlock_by_admin":                {TargetUser},
	"user.account.expire_password":                {TargetUser},
	"user.account.reset_password":                 {TargetUser},
	"user.account.update_profile":                 {TargetUser},
	"user.account.privilege.grant":                {TargetUser},
	"user.account.privilege.revoke":               {TargetUser},
	"application.user_membership.add":             {TargetAppInstance},
	"application.user_membership.remove":          {TargetAppInstance},
	"application.user_membership.update":          {TargetAppInstance},
	"application.user_membership.change_username": {TargetAppInstance},
}

// StateChanging reports whether hookgate applies events of this type to
// identity state.
func StateChanging(eventType string) bool {
	_, ok := requiredTargets[eventType]
	return ok
}

// ModelledEventTypes returns the event types Apply models, sorted.
func ModelledEventTypes() []string {
	out := make([]string, 0, len(requiredTargets))
	for t := range requiredTargets {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// TookEffect reports whether the event changed something in Okta: it
// succeeded (see Succeeded), or it is a user.account.lock whose outcome is
// FAILURE with reason LOCKED_OUT, the way Okta logs a lockout by failed
// sign-ins (the sign-in failed; the account was locked).
func (e *LogEvent) TookEffect() bool {
	return e.Succeeded() || e.EventType == "user.account.lock" && strings.EqualFold(e.Outcome.Reason, "LOCKED_OUT")
}

// Validate checks that ev can be logged and applied: uuid, eventType and
// published are set, and a state-changing event that took effect has each
// target type its type needs, with an id the store accepts. Events that did
// not take effect change nothing, so their targets are not checked. Errors
// wrap ErrInvalidEvent.
func Validate(ev *LogEvent) error {
	switch {
	case ev.UUID == "":
		return fmt.Errorf("%w: uuid: missing", ErrInvalidEvent)
	case ev.EventType == "":
		return fmt.Errorf("%w: eventType: missing", ErrInvalidEvent)
	case ev.Published.IsZero():
		return fmt.Errorf("%w: published: missing", ErrInvalidEvent)
	}
	need, ok := requiredTargets[ev.EventType]
	if !ok || !ev.TookEffect() {
		return nil
	}
	for _, typ := range need {
		if err := checkTarget(ev, typ); err != nil {
			return err
		}
	}
	switch {
	case strings.HasPrefix(ev.EventType, "application.user_membership."):
		if ev.TargetOf(TargetUser) != nil {
			return checkTarget(ev, TargetUser)
		}
		au := ev.TargetOf(TargetAppUser)
		if au == nil || au.AlternateID == "" {
			return fmt.Errorf("%w: target: no %s target (nor an %s with an alternateId) for %s",
				ErrInvalidEvent, TargetUser, TargetAppUser, ev.EventType)
		}
	case ev.EventType == "user.account.lock":
		if ev.TargetOf(TargetUser) != nil {
			return checkTarget(ev, TargetUser)
		}
		if !strings.EqualFold(ev.Actor.Type, TargetUser) {
			return fmt.Errorf("%w: target: no %s target (nor a %s actor) for %s",
				ErrInvalidEvent, TargetUser, TargetUser, ev.EventType)
		}
		if !store.ValidID(ev.Actor.ID) {
			return fmt.Errorf("%w: actor: invalid id %q", ErrInvalidEvent, ev.Actor.ID)
		}
	case ev.EventType == "user.lifecycle.password_mass_expiry":
		for i := range ev.Target {
			if t := &ev.Target[i]; strings.EqualFold(t.Type, TargetUser) && !store.ValidID(t.ID) {
				return fmt.Errorf("%w: target %s: invalid id %q", ErrInvalidEvent, TargetUser, t.ID)
			}
		}
	}
	return nil
}

func checkTarget(ev *LogEvent, typ string) error {
	t := ev.TargetOf(typ)
	if t == nil {
		return fmt.Errorf("%w: target: no %s target for %s", ErrInvalidEvent, typ, ev.EventType)
	}
	if !store.ValidID(t.ID) {
		return fmt.Errorf("%w: target %s: invalid id %q", ErrInvalidEvent, typ, t.ID)
	}
	return nil
}
