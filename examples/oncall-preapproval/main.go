// Command oncall-preapproval is a hookgate plugin for the pre_approval hook:
// it pre-approves a request only when the target user is an active member of
// the Okta group named by the config key "group" (read from the gateway's
// live identity state). Everyone else goes through the normal approval flow.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o oncall-preapproval.wasm .
// Needs capabilities: config, identity (log optional).
//
// It is written for the hot path: every guest loop iteration and function
// call costs extra under the host's termination check, so it asks
// is_member first (with the email directly: is_member resolves a user
// reference itself) and fetches the user record only for members, whose
// status must be checked; and it builds messages by concatenation rather
// than fmt.
package main

import (
	"errors"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

func init() {
	sdk.HandlePreApproval(preApprove)
}

func preApprove(req *sdk.Request) sdk.Decision {
	group := sdk.Config("group")
	if group == "" {
		sdk.Log.Error("config key group is not set; nobody is pre-approved")
		return sdk.Deny("pre-approval is not configured; the request follows the normal approval flow")
	}
	email := req.TargetUser.Email
	// Unknown users are simply not members.
	ok, err := sdk.IsMember(email, group)
	if err != nil {
		sdk.Log.Error("is_member(" + email + ", " + group + ") failed: " + err.Error())
		return sdk.Deny("could not check the on-call roster; normal approval applies")
	}
	if !ok {
		return sdk.Deny(email + " is not in " + group + "; normal approval applies")
	}
	// A member: only an active one is pre-approved.
	user, err := sdk.LookupUser(email)
	switch {
	case errors.Is(err, sdk.ErrNotFound): // deleted between the two reads
		return sdk.Deny(email + " is not known to the identity provider; normal approval applies")
	case err != nil:
		sdk.Log.Error("user lookup for " + email + " failed: " + err.Error())
		return sdk.Deny("could not check the on-call roster; normal approval applies")
	case user.Status != nil && *user.Status != "ACTIVE":
		return sdk.Deny(email + " is " + *user.Status + "; normal approval applies")
	}
	sdk.Log.Info("pre-approved " + email + ": member of " + group)
	return sdk.Approve(email + " is on call (" + group + ")")
}
