// Command zendesk-license is a hookgate plugin for the provisioning hook:
// it gives the target user a Zendesk agent license with the role named by
// each requested permission's value, through the Zendesk Support API.
//
// Config keys:
//
//	zendesk_url   the Zendesk instance, e.g. https://acme.zendesk.com
//	api_email     the admin the API token belongs to
//	api_token     the API token; write "${ZENDESK_API_TOKEN}" so it stays
//	              out of gateway.toml
//
// Permission values: "agent" or "admin" set the user's role; "custom:<id>"
// makes the user an agent with custom role <id> (Enterprise plans).
//
// Calls (Zendesk Support API v2, API token auth "<email>/token:<token>"):
//
//	GET /api/v2/users/search.json?query=email:<email>  -> {"users":[{"id":N,...}]}
//	PUT /api/v2/users/<id>.json  {"user":{"role":"agent","custom_role_id":M}}
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o zendesk-license.wasm .
// Needs capabilities: config, http, log.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

func init() {
	sdk.HandleProvisioning(provision)
}

type zendesk struct {
	base    string
	headers map[string]string
}

func provision(req *sdk.Request) sdk.Decision {
	zd := zendesk{base: strings.TrimRight(sdk.Config("zendesk_url"), "/")}
	email, token := sdk.Config("api_email"), sdk.Config("api_token")
	if zd.base == "" || email == "" || token == "" {
		sdk.Log.Error("config keys zendesk_url, api_email and api_token are required")
		return sdk.Failure("Zendesk provisioning is not configured; contact IT")
	}
	zd.headers = map[string]string{
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(email+"/token:"+token)),
		"Accept":        "application/json",
	}
	target := req.TargetUser.Email
	id, err := zd.findUser(target)
	if err != nil {
		sdk.Log.Error("zendesk user search for %s: %v", target, err)
		return sdk.Failure("could not look the user up in Zendesk")
	}
	if id == 0 {
		return sdk.Failure(fmt.Sprintf("%s has no Zendesk user; have them sign in to Zendesk once, then retry", target))
	}
	for _, p := range req.Permissions {
		update, err := roleUpdate(p.Value)
		if err != nil {
			return sdk.Failure(err.Error())
		}
		if err := zd.updateUser(id, update); err != nil {
			sdk.Log.Error("zendesk update of user %d (%s) to %s: %v", id, target, p.Value, err)
			return sdk.Failure(fmt.Sprintf("Zendesk refused the %q license", p.Value))
		}
		sdk.Log.Info("zendesk user %d (%s): %s license assigned", id, target, p.Value)
	}
	return sdk.Success("")
}

// roleUpdate maps a permission value to the Zendesk user fields to set.
func roleUpdate(value string) (map[string]any, error) {
	switch {
	case value == "agent" || value == "admin":
		return map[string]any{"role": value}, nil
	case strings.HasPrefix(value, "custom:"):
		n, err := strconv.ParseInt(strings.TrimPrefix(value, "custom:"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("permission %q: want custom:<role id>", value)
		}
		return map[string]any{"role": "agent", "custom_role_id": n}, nil
	}
	return nil, fmt.Errorf("permission %q is not a Zendesk license (want agent, admin or custom:<role id>)", value)
}

func (z zendesk) findUser(email string) (int64, error) {
	u := z.base + "/api/v2/users/search.json?query=" + url.QueryEscape("email:"+email)
	resp, err := sdk.HTTP.Get(u, z.headers)
	if err != nil {
		return 0, err
	}
	if resp.Status != 200 {
		return 0, fmt.Errorf("GET %s: HTTP %d", u, resp.Status)
	}
	var body struct {
		Users []struct {
			ID    int64  `json:"id"`
			Email string `json:"email"`
		} `json:"users"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return 0, fmt.Errorf("GET %s: %w", u, err)
	}
	for _, x := range body.Users {
		if strings.EqualFold(x.Email, email) {
			return x.ID, nil
		}
	}
	return 0, nil
}

func (z zendesk) updateUser(id int64, fields map[string]any) error {
	b, _ := json.Marshal(map[string]any{"user": fields})
	u := z.base + "/api/v2/users/" + strconv.FormatInt(id, 10) + ".json"
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range z.headers {
		h[k] = v
	}
	resp, err := sdk.HTTP.Do(sdk.HTTPRequest{Method: "PUT", URL: u, Headers: h, Body: b})
	if err != nil {
		return err
	}
	if resp.Status != 200 {
		return fmt.Errorf("PUT %s: HTTP %d: %.200s", u, resp.Status, resp.Body)
	}
	return nil
}
