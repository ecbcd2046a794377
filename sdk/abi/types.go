package abi

import (
	"bytes"
	"encoding/json"
	"time"
)

// Application identifies the app access is requested for.
type Application struct {
	AppID             string `json:"app_id"`
	InstanceID        string `json:"instance_id"`
	UserFriendlyLabel string `json:"user_friendly_label"`
}

// Permission is one permission (role, group, entitlement) in the request.
type Permission struct {
	Label  string `json:"label"`
	Value  string `json:"value"`
	Type   string `json:"type"`
	Source string `json:"source"`
}

// TargetUser is the user access is requested for.
type TargetUser struct {
	Email      string `json:"email"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
}

// Request is the body of an inline access hook (the same for all four
// kinds) as a plugin reads it.
type Request struct {
	Application Application  `json:"application"`
	Permissions []Permission `json:"permissions"`
	TargetUser  TargetUser   `json:"target_user"`
	// AccessLength is the requested duration in seconds; nil means
	// permanent.
	AccessLength   *int64 `json:"access_length"`
	RequestComment string `json:"request_comment"`
	RequestTaskURL string `json:"request_task_url"`
	// CustomFields are the app's intake fields; nil when it has none.
	CustomFields map[string]any `json:"custom_fields"`
}

// HookRequest is the same body as the host parses it, once, at the edge:
// the gateway validates and routes on it, records grants from it and hands
// it to the plugin (flat layout) without parsing the body again.
// Application and TargetUser are nil when the body lacks them (the
// gateway refuses such requests); CustomFields stays raw JSON.
type HookRequest struct {
	Application *Application `json:"application"`
	Permissions []Permission `json:"permissions"`
	TargetUser  *TargetUser  `json:"target_user"`
	// AccessLength is the requested duration in seconds; nil means
	// permanent (JSON null or absent).
	AccessLength *int64 `json:"access_length"`
	// CustomFields is kept raw: any JSON object, or null.
	CustomFields   json.RawMessage `json:"custom_fields"`
	RequestComment string          `json:"request_comment"`
	RequestTaskURL string          `json:"request_task_url"`
}

// PermissionValues returns the permissions' values in request order.
func (r *HookRequest) PermissionValues() []string {
	v := make([]string, len(r.Permissions))
	for i, p := range r.Permissions {
		v[i] = p.Value
	}
	return v
}

// CustomFieldsObject is the raw custom_fields object, or nil when it is
// null or absent.
func (r *HookRequest) CustomFieldsObject() []byte {
	t := bytes.TrimSpace(r.CustomFields)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return t
}

// Decision is every kind's answer: success or failure plus an optional
// message. The gateway maps it to the caller's wire literals
// (PROVISIONED_USER, APPROVED, ...); for KindOktaEvent a failure means
// "retry later".
type Decision struct {
	Success bool   `json:"success"`
	Message string `json:"message,omitempty"`
}

// Output is the guest's output document: a Decision, or an error.
type Output struct {
	Success *bool        `json:"success"`
	Message string       `json:"message"`
	Error   *OutputError `json:"error"`
}

// OutputError is the error of an Output (Code GuestNoHandler,
// GuestBadInput or the plugin's own).
type OutputError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// OktaActor is an Okta System Log actor or target.
type OktaActor struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	AlternateID string         `json:"alternateId"`
	DisplayName string         `json:"displayName"`
	DetailEntry map[string]any `json:"detailEntry"`
}

// OktaOutcome is an Okta event's outcome.
type OktaOutcome struct {
	Result string `json:"result"`
	Reason string `json:"reason"`
}

// OktaEvent is one Okta System Log event (the LogEvent object), the input
// of KindOktaEvent (extra fields pass through in the JSON).
type OktaEvent struct {
	UUID           string       `json:"uuid"`
	Published      time.Time    `json:"published"`
	EventType      string       `json:"eventType"`
	DisplayMessage string       `json:"displayMessage"`
	Severity       string       `json:"severity"`
	Outcome        *OktaOutcome `json:"outcome"`
	Actor          OktaActor    `json:"actor"`
	Target         []OktaActor  `json:"target"`
	// Raw is the whole event JSON as delivered, for fields not modelled
	// here.
	Raw []byte `json:"-"`
}

// Targets returns the event's targets of the given Okta type ("User",
// "UserGroup", "AppInstance"...).
func (e *OktaEvent) Targets(typ string) []OktaActor {
	var out []OktaActor
	for _, t := range e.Target {
		if t.Type == typ {
			out = append(out, t)
		}
	}
	return out
}

// GroupSummary is a group as user_groups returns it.
type GroupSummary struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// HTTPMessage is the JSON of http_request's request and of its response.
type HTTPMessage struct {
	Method     string            `json:"method,omitempty"`
	URL        string            `json:"url,omitempty"`
	Status     int               `json:"status,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body,omitempty"`
	BodyBase64 string            `json:"body_base64,omitempty"`
}

// OktaActionRequest is the okta_action request document: the action and
// the references it needs (a user by id, login or email; a group by id or
// name; an app by id), resolved by the host through its identity store.
type OktaActionRequest struct {
	Action string `json:"action"`
	User   string `json:"user,omitempty"`
	Group  string `json:"group,omitempty"`
	App    string `json:"app,omitempty"`
}

// OktaActionResult is the okta_action success document: what was changed,
// by Okta id.
type OktaActionResult struct {
	Action  string `json:"action"`
	UserID  string `json:"user_id,omitempty"`
	GroupID string `json:"group_id,omitempty"`
	AppID   string `json:"app_id,omitempty"`
	// Message says what was done in plain words (also in the audit log).
	Message string `json:"message"`
}
