// Command attribute-preapproval is a hookgate plugin for the pre_approval
// hook that decides on Okta profile attributes and a group together:
// a request is pre-approved only when the target user
//
//   - is ACTIVE and a member of the Okta group named by config "group",
//   - has the profile attribute named by config "attribute" (default
//     "department", a base attribute) equal to config "value", and
//   - is not a contractor: the custom boolean attribute named by config
//     "contractor_attribute" (default "isContractor") is not true,
//
// and, when config "min_clearance" is set, the custom number attribute
// "clearance" is at least that. Everyone else goes through the normal
// approval flow, with a message saying which condition failed.
//
// The attributes come from the gateway's copy of the Okta profile (full
// sync, and background lookups after user.account.update_profile), read
// with the SDK's typed accessors.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o attribute-preapproval.wasm .
// Needs capabilities: config, identity (log optional).
// Try it: hookgate plugin test --plugin attribute-preapproval.wasm --kind pre_approval \
//
//	--payload testdata/approve.json --users testdata/users.json \
//	--identity testdata/groups.json --config group=engineering --config value=Engineering
package main

import (
	"errors"
	"strconv"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

func init() {
	sdk.HandlePreApproval(preApprove)
}

func configOr(key, def string) string {
	if v := sdk.Config(key); v != "" {
		return v
	}
	return def
}

func preApprove(req *sdk.Request) sdk.Decision {
	group, value := sdk.Config("group"), sdk.Config("value")
	if group == "" || value == "" {
		sdk.Log.Error("config keys group and value must be set; nobody is pre-approved")
		return sdk.Deny("pre-approval is not configured; the request follows the normal approval flow")
	}
	attr := configOr("attribute", "department")
	contractorAttr := configOr("contractor_attribute", "isContractor")

	email := req.TargetUser.Email
	user, err := sdk.LookupUser(email)
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return sdk.Deny(email + " is not known to the identity provider; normal approval applies")
	case err != nil:
		sdk.Log.Error("user lookup for " + email + " failed: " + err.Error())
		return sdk.Deny("could not read the user's profile; normal approval applies")
	case user.Status != nil && *user.Status != "ACTIVE":
		return sdk.Deny(email + " is " + *user.Status + "; normal approval applies")
	}
	if got := user.Profile.String(attr); got != value {
		if got == "" {
			got = "unset"
		}
		return sdk.Deny(email + ": " + attr + " is " + got + ", not " + value + "; normal approval applies")
	}
	if user.Profile.Bool(contractorAttr) {
		return sdk.Deny(email + " is a contractor (" + contractorAttr + "); normal approval applies")
	}
	if min := sdk.Config("min_clearance"); min != "" {
		want, err := strconv.ParseFloat(min, 64)
		if err != nil {
			sdk.Log.Error("config min_clearance " + strconv.Quote(min) + " is not a number")
			return sdk.Deny("pre-approval is misconfigured; normal approval applies")
		}
		if got, ok := user.Profile.Number("clearance"); !ok || got < want {
			return sdk.Deny(email + ": clearance below " + min + "; normal approval applies")
		}
	}
	ok, err := sdk.IsMember(user.ID, group)
	if err != nil {
		sdk.Log.Error("is_member(" + email + ", " + group + ") failed: " + err.Error())
		return sdk.Deny("could not check group membership; normal approval applies")
	}
	if !ok {
		return sdk.Deny(email + " is not in " + group + "; normal approval applies")
	}
	sdk.Log.Info("pre-approved " + email + ": " + attr + "=" + value + " and member of " + group)
	return sdk.Approve(email + " is in " + group + " with " + attr + " " + value)
}
