// Command aws-grant is an example provisioning and deprovisioning plugin
// for time-boxed AWS role access that works with no outside service: it
// records each grant in the plugin's key/value store and logs it. The
// default gateway.toml routes both kinds for app "aws" here, so the Lumos
// provisioning.json fixture (access_length 43189 s) yields an active grant
// that the gateway deprovisions on its own when it expires.
//
// Optional config:
//
//	api_url   when set, each grant and revocation is also POSTed as JSON
//	          {"action":"grant"|"revoke","user","permissions","request_task_url"}
//	          to this URL (its host must be in allowed_hosts); a non-2xx
//	          answer fails the call, so the gateway retries the
//	          deprovisioning of an expired grant.
//	token     optional bearer token for api_url.
//
// Both handlers are idempotent: granting what is granted and revoking what
// is gone succeed.
package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

func init() {
	sdk.HandleProvisioning(func(req *sdk.Request) sdk.Decision { return apply(req, "grant") })
	sdk.HandleDeprovisioning(func(req *sdk.Request) sdk.Decision { return apply(req, "revoke") })
}

func apply(req *sdk.Request, action string) sdk.Decision {
	user := strings.ToLower(req.TargetUser.Email)
	if user == "" {
		return sdk.Failure("target_user.email is required")
	}
	perms := make([]string, 0, len(req.Permissions))
	for _, p := range req.Permissions {
		perms = append(perms, p.Value)
	}
	if api := sdk.Config("api_url"); api != "" {
		body, _ := json.Marshal(map[string]any{
			"action": action, "user": user, "permissions": perms, "request_task_url": req.RequestTaskURL,
		})
		h := map[string]string{}
		if tok := sdk.Config("token"); tok != "" {
			h["Authorization"] = "Bearer " + tok
		}
		resp, err := sdk.HTTP.Post(api, "application/json", body, h)
		if err != nil {
			return sdk.Failure(fmt.Sprintf("%s via %s: %v", action, api, err))
		}
		if resp.Status < 200 || resp.Status >= 300 {
			return sdk.Failure(fmt.Sprintf("%s via %s: HTTP %d", action, api, resp.Status))
		}
	}
	for _, p := range perms {
		key := "grant/" + user + "/" + p
		var err error
		if action == "grant" {
			err = sdk.KV.Set(key, []byte(req.RequestTaskURL), 0)
		} else {
			err = sdk.KV.Delete(key)
		}
		if err != nil {
			return sdk.Failure(fmt.Sprintf("%s %s: kv: %v", action, p, err))
		}
	}
	if action == "grant" {
		sdk.Log.Info("granted %s to %s (access_length %v s)", strings.Join(perms, ", "), user, deref(req.AccessLength))
		return sdk.Success("granted " + strings.Join(perms, ", "))
	}
	sdk.Log.Info("revoked %s from %s", strings.Join(perms, ", "), user)
	return sdk.Success("revoked " + strings.Join(perms, ", "))
}

func deref(p *int64) any {
	if p == nil {
		return "permanent"
	}
	return *p
}
