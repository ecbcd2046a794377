package sdk

import (
	"fmt"

	"github.com/hookgate/hookgate/sdk/abi"
)

// OktaAction is a request to change the Okta org (capability "okta"). The
// gateway resolves User (Okta id, login or email), Group (id or name) and
// App (Okta app id) through its identity store, calls the Okta Management
// API with its own credentials (rate limits and retries included) and
// writes an audit record. Action is one of the Okta* action constants.
type OktaAction = abi.OktaActionRequest

// Okta actions (ABI.md, okta_action).
const (
	OktaAddUserToGroup       = abi.OktaAddUserToGroup
	OktaRemoveUserFromGroup  = abi.OktaRemoveUserFromGroup
	OktaAssignAppToGroup     = abi.OktaAssignAppToGroup
	OktaUnassignAppFromGroup = abi.OktaUnassignAppFromGroup
	OktaAssignUserToApp      = abi.OktaAssignUserToApp
	OktaUnassignUserFromApp  = abi.OktaUnassignUserFromApp
)

// OktaResult says what an action changed, by Okta id.
type OktaResult = abi.OktaActionResult

// OktaClient performs Okta write actions through the gateway.
type OktaClient struct{}

// Okta is the plugin's Okta client. Every method needs capability "okta"
// and an Okta org configured in the gateway. Errors: ErrCapability,
// ErrNotFound (unknown user, group or app), ErrDenied (Okta refused: the
// gateway's credentials lack the admin role or scope), ErrInvalid,
// ErrTimeout, ErrUnavailable (no Okta org configured, or Okta failed).
var Okta OktaClient

// Do performs one action and returns what it changed.
func (OktaClient) Do(a OktaAction) (*OktaResult, error) {
	in := appendStr([]byte(`{"action":`), a.Action)
	for _, f := range [...]struct{ k, v string }{{"user", a.User}, {"group", a.Group}, {"app", a.App}} {
		if f.v != "" {
			in = append(in, ',')
			in = appendStr(in, f.k)
			in = append(in, ':')
			in = appendStr(in, f.v)
		}
	}
	in = append(in, '}')
	b, err := result("okta_action", rawOktaAction(in))
	if err != nil {
		return nil, err
	}
	r := newReaderOwned(b)
	var res OktaResult
	r.object(func(k string) {
		switch {
		case eq(k, "action"):
			res.Action = r.str()
		case eq(k, "user_id"):
			res.UserID = r.str()
		case eq(k, "group_id"):
			res.GroupID = r.str()
		case eq(k, "app_id"):
			res.AppID = r.str()
		case eq(k, "message"):
			res.Message = r.str()
		default:
			r.skip()
		}
	})
	if err := r.end(); err != nil {
		return nil, fmt.Errorf("hookgate okta_action: decode: %w", err)
	}
	return &res, nil
}

func (o OktaClient) do(action, user, group, app string) error {
	_, err := o.Do(OktaAction{Action: action, User: user, Group: group, App: app})
	return err
}

// AddUserToGroup adds the user (id, login or email) to the group (id or
// name). Adding a member again succeeds.
func (o OktaClient) AddUserToGroup(user, group string) error {
	return o.do(OktaAddUserToGroup, user, group, "")
}

// RemoveUserFromGroup removes the user from the group.
func (o OktaClient) RemoveUserFromGroup(user, group string) error {
	return o.do(OktaRemoveUserFromGroup, user, group, "")
}

// AssignAppToGroup assigns the app (Okta app id) to the group (id or name),
// so every member gets it.
func (o OktaClient) AssignAppToGroup(app, group string) error {
	return o.do(OktaAssignAppToGroup, "", group, app)
}

// UnassignAppFromGroup removes the app's assignment to the group.
func (o OktaClient) UnassignAppFromGroup(app, group string) error {
	return o.do(OktaUnassignAppFromGroup, "", group, app)
}

// AssignUserToApp assigns the app directly to the user.
func (o OktaClient) AssignUserToApp(user, app string) error {
	return o.do(OktaAssignUserToApp, user, "", app)
}

// UnassignUserFromApp removes the user's direct assignment to the app.
func (o OktaClient) UnassignUserFromApp(user, app string) error {
	return o.do(OktaUnassignUserFromApp, user, "", app)
}
