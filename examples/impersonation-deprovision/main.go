// Command impersonation-deprovision is a hookgate plugin for the
// deprovisioning hook of an internal admin tool's "impersonate customer"
// permission. Each permission value names an impersonation scope.
//
// It always records the revocation in its key/value store
// ("revoked/<email>/<scope>" with the time, kept for audit, and deletes
// "grant/<email>/<scope>"), so it works with no outside service. When the
// config key api_url is set, it first revokes the grant in the tool itself:
//
//	DELETE <api_url>/v1/impersonation-grants/<email>/<scope>  (200, 204 or 404 = revoked)
//
// with "Authorization: Bearer <api_token>" when api_token is set.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o impersonation-deprovision.wasm .
// Needs capabilities: config, kv (http when api_url is set; log optional).
package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

func init() {
	sdk.HandleDeprovisioning(deprovision)
}

func deprovision(req *sdk.Request) sdk.Decision {
	email := strings.ToLower(req.TargetUser.Email)
	api := strings.TrimRight(sdk.Config("api_url"), "/")
	for _, p := range req.Permissions {
		scope := p.Value
		if api != "" {
			if err := revokeRemote(api, email, scope); err != nil {
				sdk.Log.Error("revoke %s/%s: %v", email, scope, err)
				return sdk.Failure(fmt.Sprintf("the admin tool did not confirm revoking %q", scope))
			}
		}
		if err := sdk.KV.Delete("grant/" + email + "/" + scope); err != nil {
			sdk.Log.Error("kv delete: %v", err)
			return sdk.Failure("could not record the revocation")
		}
		stamp := []byte(time.Now().UTC().Format(time.RFC3339))
		if err := sdk.KV.Set("revoked/"+email+"/"+scope, stamp, 0); err != nil {
			sdk.Log.Error("kv set: %v", err)
			return sdk.Failure("could not record the revocation")
		}
		sdk.Log.Info("impersonation scope %s revoked for %s", scope, email)
	}
	return sdk.Success("")
}

func revokeRemote(api, email, scope string) error {
	u := api + "/v1/impersonation-grants/" + url.PathEscape(email) + "/" + url.PathEscape(scope)
	h := map[string]string{}
	if tok := sdk.Config("api_token"); tok != "" {
		h["Authorization"] = "Bearer " + tok
	}
	resp, err := sdk.HTTP.Do(sdk.HTTPRequest{Method: "DELETE", URL: u, Headers: h})
	if err != nil {
		return err
	}
	switch resp.Status {
	case 200, 204, 404:
		return nil
	}
	return fmt.Errorf("DELETE %s: HTTP %d", u, resp.Status)
}
