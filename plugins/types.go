package plugins

import "time"

// KindOktaEvent is the kind of a call carrying one Okta System Log event to
// an [[on_event]] plugin. The inline hook kinds are config.Kinds.
const KindOktaEvent = "okta_event"

// The payload types below are mirrored in sdk/sdk.go on purpose: the guest
// SDK must not import this package (it would pull wazero, fasthttp and
// Badger into every plugin build). Change both sides together; sdk/ABI.md
// is the contract between them.

// Application identifies the app access is requested for (Lumos request).
type Application struct {
	AppID             string `json:"app_id"`
	InstanceID        string `json:"instance_id"`
	UserFriendlyLabel string `json:"user_friendly_label"`
}

// Permission is one requested permission (Lumos request).
type Permission struct {
	Label  string `json:"label"`
	Value  string `json:"value"`
	Type   string `json:"type"`
	Source string `json:"source"`
}

// TargetUser is the user access is requested for (Lumos request).
type TargetUser struct {
	Email      string `json:"email"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
}

// Request is the inline access hook body (the same for all four kinds); it
// is the input document of those kinds. sdk.Request mirrors it.
type Request struct {
	Application Application  `json:"application"`
	Permissions []Permission `json:"permissions"`
	TargetUser  TargetUser   `json:"target_user"`
	// AccessLength is the requested duration in seconds; nil is permanent.
	AccessLength   *int64 `json:"access_length"`
	RequestComment string `json:"request_comment"`
	RequestTaskURL string `json:"request_task_url"`
	// CustomFields may be null (the app has no intake fields).
	CustomFields map[string]any `json:"custom_fields"`
}

// OktaActor is an Okta LogEvent actor or target.
type OktaActor struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	AlternateID string         `json:"alternateId"`
	DisplayName string         `json:"displayName"`
	DetailEntry map[string]any `json:"detailEntry"`
}

// OktaOutcome is a LogEvent outcome.
type OktaOutcome struct {
	Result string  `json:"result"`
	Reason *string `json:"reason"`
}

// OktaEvent is the part of an Okta LogEvent plugins rely on; the input of
// kind KindOktaEvent is the whole LogEvent JSON (extra fields pass through).
type OktaEvent struct {
	UUID      string       `json:"uuid"`
	Published time.Time    `json:"published"`
	EventType string       `json:"eventType"`
	Outcome   *OktaOutcome `json:"outcome"`
	Actor     OktaActor    `json:"actor"`
	Target    []OktaActor  `json:"target"`
}

// Decision is every kind's output: success or failure plus an optional
// message. The gateway maps it to the caller's literals; for
// KindOktaEvent a failure means "retry later".
type Decision struct {
	Success bool   `json:"success"`
	Message string `json:"message,omitempty"`
}

// wireOutput is the guest's output document: a Decision, or an error.
type wireOutput struct {
	Success *bool      `json:"success"`
	Message string     `json:"message"`
	Error   *wireError `json:"error"`
}

type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// wireHTTP is the JSON of http_request's request and response (ABI.md).
type wireHTTP struct {
	Method     string            `json:"method,omitempty"`
	URL        string            `json:"url,omitempty"`
	Status     int               `json:"status,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body,omitempty"`
	BodyBase64 string            `json:"body_base64,omitempty"`
}

// groupSummary is a group as user_groups returns it.
type groupSummary struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}
