package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hookgate/hookgate/plugins/policy"
	"github.com/hookgate/hookgate/sdk/abi"
	"github.com/hookgate/hookgate/store"
)

// Okta write actions a plugin may ask for with okta_action (capability
// "okta"; sdk/ABI.md section 4).
const (
	OktaAddUserToGroup       = abi.OktaAddUserToGroup
	OktaRemoveUserFromGroup  = abi.OktaRemoveUserFromGroup
	OktaAssignAppToGroup     = abi.OktaAssignAppToGroup
	OktaUnassignAppFromGroup = abi.OktaUnassignAppFromGroup
	OktaAssignUserToApp      = abi.OktaAssignUserToApp
	OktaUnassignUserFromApp  = abi.OktaUnassignUserFromApp
)

// oktaActionNeeds lists, per action, which of user, group and app it needs.
var oktaActionNeeds = map[string][3]bool{
	OktaAddUserToGroup:       {true, true, false},
	OktaRemoveUserFromGroup:  {true, true, false},
	OktaAssignAppToGroup:     {false, true, true},
	OktaUnassignAppFromGroup: {false, true, true},
	OktaAssignUserToApp:      {true, false, true},
	OktaUnassignUserFromApp:  {true, false, true},
}

// OktaActionRequest is the okta_action request document: the action and
// the references it needs (a user by id, login or email; a group by id or
// name; an app by id), resolved by the host through the identity store.
type OktaActionRequest struct {
	Action string `json:"action"`
	User   string `json:"user,omitempty"`
	Group  string `json:"group,omitempty"`
	App    string `json:"app,omitempty"`
	// Scope is the calling plugin's okta_groups / okta_apps, set by the
	// host (never by the guest). The backend refuses, with an error
	// wrapping ErrOktaOutOfScope, an action on a group or app outside it;
	// the zero Scope allows nothing.
	Scope policy.OktaScope `json:"-"`
}

// Validate checks the action is known and carries exactly the references
// it needs, so a backend only sees well-formed requests.
func (r OktaActionRequest) Validate() error {
	need, ok := oktaActionNeeds[r.Action]
	if !ok {
		return fmt.Errorf("unknown action %q (known: %s)", r.Action, strings.Join(abi.OktaActions, ", "))
	}
	for i, f := range []struct{ name, v string }{{"user", r.User}, {"group", r.Group}, {"app", r.App}} {
		switch {
		case need[i] && strings.TrimSpace(f.v) == "":
			return fmt.Errorf("action %s needs %q", r.Action, f.name)
		case !need[i] && f.v != "":
			return fmt.Errorf("action %s takes no %q", r.Action, f.name)
		}
	}
	return nil
}

// OktaActionResult is the okta_action success document: what was changed,
// by Okta id.
type OktaActionResult = abi.OktaActionResult

// OktaActions performs plugin actions on the Okta org (capability "okta").
// The gateway implements it over its Okta Management API client, resolving
// references through the identity store and auditing every action.
type OktaActions interface {
	// OktaAction performs req (already validated) for the named plugin.
	// Errors wrap store.ErrNotFound (an unknown user, group or app),
	// ErrOktaNotConfigured, ErrOktaDenied or ErrOktaInvalid; anything else
	// is reported to the guest as unavailable.
	OktaAction(ctx context.Context, plugin string, req OktaActionRequest) (*OktaActionResult, error)
}

// Errors an OktaActions implementation wraps so the host can pick the
// guest's error code.
var (
	// ErrOktaNotConfigured: the gateway has no Okta org (okta.org_url and
	// credentials); the guest gets ERR_UNAVAILABLE.
	ErrOktaNotConfigured = errors.New("no Okta org is configured in this gateway (set okta.org_url or HOOKGATE_OKTA_ORG_URL, and HOOKGATE_OKTA_API_TOKEN or [okta.oauth])")
	// ErrOktaDenied: Okta refused the action (403: the credentials' admin
	// role or scopes do not cover it); the guest gets ERR_DENIED.
	ErrOktaDenied = errors.New("the Okta API refused the action")
	// ErrOktaInvalid: Okta rejected the request as invalid (400); the
	// guest gets ERR_INVALID.
	ErrOktaInvalid = errors.New("the Okta API rejected the request")
	// ErrOktaOutOfScope: the group or app is not in the plugin's
	// okta_groups / okta_apps; nothing was sent to Okta and the guest
	// gets ERR_DENIED.
	ErrOktaOutOfScope = errors.New("outside the plugin's okta scope")
)

// okta_action(req_ptr, req_len) -> i32
func hOktaAction(p *Plugin, ctx context.Context, in *instance, stack []uint64) {
	const op = "okta_action"
	if !in.need(stack, op, capOkta) {
		return
	}
	backend := p.host.opts.Okta
	if backend == nil {
		in.fail(stack, op, codeUnavailable, "%v", ErrOktaNotConfigured)
		return
	}
	raw, ok := in.read(stack[0], stack[1])
	if !ok {
		badPointer(in, stack, op)
		return
	}
	var req OktaActionRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		in.fail(stack, op, codeInvalid, "request is not an okta_action document: %v", err)
		return
	}
	if err := req.Validate(); err != nil {
		in.fail(stack, op, codeInvalid, "%v", err)
		return
	}
	req.Scope = p.cfg.OktaScope
	res, err := backend.OktaAction(ctx, p.cfg.Name, req)
	if err != nil {
		code := codeUnavailable
		switch {
		case errors.Is(err, store.ErrNotFound):
			code = codeNotFound
		case errors.Is(err, ErrOktaDenied), errors.Is(err, ErrOktaOutOfScope):
			code = codeDenied
		case errors.Is(err, ErrOktaInvalid):
			code = codeInvalid
		case errors.Is(err, context.DeadlineExceeded):
			code = codeTimeout
		}
		in.fail(stack, op, code, "%s: %v", req.Action, err)
		return
	}
	marshalTo(in, stack, op, res)
}
