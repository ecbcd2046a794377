// Command terminate-revoke is an [[on_event]] example plugin: when Okta
// reports that a user was deactivated, suspended or is being deleted, it
// revokes the user's access in every downstream system listed in its config,
// through allow-listed HTTP APIs, and logs a confirmation per system.
//
// Config (gateway.toml [[plugin]] config):
//
//	systems          comma-separated names, e.g. "zendesk,slack"
//	<name>_url       URL of the system's revocation API; {user_id}, {login}
//	                 and {email} are replaced (URL-escaped)
//	<name>_method    HTTP method, default POST (DELETE works too)
//	<name>_token     optional bearer token (use "${ENV}" to keep it out of
//	                 the file)
//
// The body sent is JSON {"user_id","login","email","reason","event_uuid"},
// with an Idempotency-Key header of "<event uuid>:<system>".
//
// The gateway delivers events at least once (a crash mid-run re-runs the
// event), so the plugin is idempotent: a system that already confirmed this
// event is remembered in the plugin's key/value store and skipped, and a
// 404 from a system ("no such user") counts as already revoked. Any other
// non-2xx answer fails the run; the gateway retries it with backoff and
// dead-letters it after queue.max_attempts.
package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

// revokeTypes are the event types that mean "take all access away".
var revokeTypes = map[string]bool{
	"user.lifecycle.deactivate":       true,
	"user.lifecycle.suspend":          true,
	"user.lifecycle.delete.initiated": true,
}

// doneTTL is how long a confirmed revocation is remembered for dedupe.
const doneTTL = 30 * 24 * time.Hour

func init() {
	sdk.HandleOktaEvent(handle)
}

func handle(ev *sdk.OktaEvent) sdk.Decision {
	if !revokeTypes[ev.EventType] {
		return sdk.Success("ignored " + ev.EventType)
	}
	users := ev.Targets("User")
	if len(users) == 0 {
		return sdk.Success("no User target in " + ev.EventType)
	}
	target := users[0]
	login, email := target.AlternateID, target.AlternateID
	if u, err := sdk.UserByID(target.ID); err == nil && u != nil {
		if u.Login != "" {
			login = u.Login
		}
		if u.Email != "" {
			email = u.Email
		}
	}
	var done, failed []string
	for _, sys := range strings.Split(sdk.Config("systems"), ",") {
		sys = strings.TrimSpace(sys)
		if sys == "" {
			continue
		}
		if err := revoke(sys, ev, target.ID, login, email); err != nil {
			sdk.Log.Error("revocation of %s in %s failed: %v", login, sys, err)
			failed = append(failed, sys+": "+err.Error())
			continue
		}
		done = append(done, sys)
	}
	if len(failed) > 0 {
		return sdk.Failure(fmt.Sprintf("revoked %s in [%s]; failed in [%s]", login,
			strings.Join(done, ", "), strings.Join(failed, "; ")))
	}
	return sdk.Success(fmt.Sprintf("revoked %s (%s) in [%s] after %s", login, target.ID,
		strings.Join(done, ", "), ev.EventType))
}

// revoke calls one system's API unless this event already revoked there.
func revoke(sys string, ev *sdk.OktaEvent, userID, login, email string) error {
	doneKey := "done/" + ev.UUID + "/" + sys
	if _, err := sdk.KV.Get(doneKey); err == nil {
		sdk.Log.Info("revocation of %s in %s already confirmed for event %s", login, sys, ev.UUID)
		return nil
	}
	tmpl := sdk.Config(sys + "_url")
	if tmpl == "" {
		return fmt.Errorf("config %s_url is not set", sys)
	}
	u := strings.NewReplacer(
		"{user_id}", url.PathEscape(userID),
		"{login}", url.PathEscape(login),
		"{email}", url.PathEscape(email),
	).Replace(tmpl)
	method := sdk.Config(sys + "_method")
	if method == "" {
		method = "POST"
	}
	body, _ := json.Marshal(map[string]string{
		"user_id": userID, "login": login, "email": email,
		"reason": ev.EventType, "event_uuid": ev.UUID,
	})
	headers := map[string]string{
		"Content-Type":    "application/json",
		"Idempotency-Key": ev.UUID + ":" + sys,
	}
	if tok := sdk.Config(sys + "_token"); tok != "" {
		headers["Authorization"] = "Bearer " + tok
	}
	resp, err := sdk.HTTP.Do(sdk.HTTPRequest{Method: method, URL: u, Headers: headers, Body: body})
	if err != nil {
		return err
	}
	switch {
	case resp.Status == 404:
		sdk.Log.Info("%s has no user %s: nothing to revoke", sys, login)
	case resp.Status >= 200 && resp.Status < 300:
		sdk.Log.Info("revoked %s in %s (HTTP %d) after %s", login, sys, resp.Status, ev.EventType)
	default:
		return fmt.Errorf("HTTP %d: %s", resp.Status, truncate(string(resp.Body), 200))
	}
	if err := sdk.KV.Set(doneKey, []byte(time.Now().UTC().Format(time.RFC3339)), doneTTL); err != nil {
		// The revocation happened; a failed marker only risks one more
		// (idempotent) call on a retry.
		sdk.Log.Warn("could not remember revocation in %s: %v", sys, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
