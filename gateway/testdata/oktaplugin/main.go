// Command oktaplugin is the gateway tests' plugin for the Okta Management
// API side:
//
//   - provisioning with request_comment "add:<group>" adds the target user
//     (by email) to the group in Okta through sdk.Okta (capability "okta");
//     "remove:<group>" removes them; "assign:<app id>" assigns them to
//     the app. A host error becomes a failure whose
//     message is the error.
//   - okta_event: succeeds with a message naming the event, so the audit
//     shows which events reached the plugin.
package main

import (
	"strings"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

func provision(req *sdk.Request) sdk.Decision {
	op, group, _ := strings.Cut(req.RequestComment, ":")
	var err error
	switch op {
	case "add":
		err = sdk.Okta.AddUserToGroup(req.TargetUser.Email, group)
	case "remove":
		err = sdk.Okta.RemoveUserFromGroup(req.TargetUser.Email, group)
	case "assign": // "assign:<app id>": assign the user to the app
		err = sdk.Okta.AssignUserToApp(req.TargetUser.Email, group)
	default:
		return sdk.Failure("unknown instruction " + req.RequestComment)
	}
	if err != nil {
		return sdk.Failure(err.Error())
	}
	return sdk.Success(op + " " + req.TargetUser.Email + " " + group)
}

func init() {
	sdk.HandleProvisioning(provision)
	sdk.HandleOktaEvent(func(ev *sdk.OktaEvent) sdk.Decision {
		return sdk.Success("saw " + ev.EventType + " " + ev.UUID)
	})
}
