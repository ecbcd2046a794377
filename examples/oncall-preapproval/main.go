// Command oncall-preapproval is a hookgate plugin for the pre_approval hook:
// it pre-approves a request only when the target user is an active member of
// the Okta group named by the config key "group" (read from the gateway's
// live identity state). Everyone else goes through the normal approval flow.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o oncall-preapproval.wasm .
// Needs capabilities: config, identity (log optional).
package main

import (
	"errors"
	"fmt"

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
	user, err := sdk.LookupUser(email)
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return sdk.Deny(fmt.Sprintf("%s is not known to the identity provider; normal approval applies", email))
	case err != nil:
		sdk.Log.Error("user lookup for %s failed: %v", email, err)
		return sdk.Deny("could not check the on-call roster; normal approval applies")
	case user.Status != nil && *user.Status != "ACTIVE":
		return sdk.Deny(fmt.Sprintf("%s is %s; normal approval applies", email, *user.Status))
	}
	ok, err := sdk.IsMember(user.ID, group)
	if err != nil {
		sdk.Log.Error("is_member(%s, %s) failed: %v", email, group, err)
		return sdk.Deny("could not check the on-call roster; normal approval applies")
	}
	if !ok {
		return sdk.Deny(fmt.Sprintf("%s is not in %s; normal approval applies", email, group))
	}
	sdk.Log.Info("pre-approved %s: member of %s", email, group)
	return sdk.Approve(fmt.Sprintf("%s is on call (%s)", email, group))
}
