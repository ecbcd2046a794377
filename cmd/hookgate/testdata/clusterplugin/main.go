// Command clusterplugin is the cluster tests' plugin:
//
//	provisioning     kv[email] = request_comment, success
//	pre_approval     success with kv[email] as the message (read-your-writes)
//	deprovisioning   success
//	okta events      POST <config "url">/<event uuid> (the test's recorder
//	                 counts runs); success when it answers 2xx
package main

import (
	"fmt"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

func init() {
	sdk.HandleProvisioning(func(req *sdk.Request) sdk.Decision {
		if err := sdk.KV.Set(req.TargetUser.Email, []byte(req.RequestComment), 0); err != nil {
			return sdk.Failure("kv set: " + err.Error())
		}
		return sdk.Success("stored")
	})
	sdk.HandlePreApproval(func(req *sdk.Request) sdk.Decision {
		v, err := sdk.KV.Get(req.TargetUser.Email)
		if err != nil {
			return sdk.Failure("kv get: " + err.Error())
		}
		return sdk.Success(string(v))
	})
	sdk.HandleDeprovisioning(func(req *sdk.Request) sdk.Decision { return sdk.Success("revoked") })
	sdk.HandleOktaEvent(func(ev *sdk.OktaEvent) sdk.Decision {
		resp, err := sdk.HTTP.Post(sdk.Config("url")+"/"+ev.UUID, "text/plain", nil, nil)
		if err != nil {
			return sdk.Failure(err.Error())
		}
		if resp.Status/100 != 2 {
			return sdk.Failure(fmt.Sprintf("HTTP %d", resp.Status))
		}
		return sdk.Success("ran")
	})
}
