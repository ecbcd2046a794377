package okta

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// CheckItem is one line of a Check report.
type CheckItem struct {
	// Scope is the OAuth scope the line is about; "" for the credentials
	// line and "admin roles".
	Scope string `json:"scope,omitempty"`
	OK    bool   `json:"ok"`
	// Message says in plain words what works, or what is missing, what
	// stops working without it and what to do.
	Message string `json:"message"`
}

// Report is what `hookgate okta check` prints.
type Report struct {
	OrgURL string      `json:"orgUrl"`
	Auth   string      `json:"auth"` // ssws or oauth
	OK     bool        `json:"ok"`
	Items  []CheckItem `json:"items"`
	// Roles are the admin role types the credentials hold, when readable.
	Roles []string `json:"roles,omitempty"`
}

// String renders the report one item per line, "ok" or "FAIL" first.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Okta org %s (%s)\n", r.OrgURL, map[string]string{"ssws": "API token", "oauth": "OAuth 2.0 service app"}[r.Auth])
	for _, it := range r.Items {
		mark := "ok  "
		if !it.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "  %s %s\n", mark, it.Message)
	}
	if r.OK {
		b.WriteString("Everything hookgate needs is in place.\n")
	} else {
		b.WriteString("Some features will not work until the lines marked FAIL are fixed.\n")
	}
	return b.String()
}

// scopeNeed says, per scope, how check probes it and what breaks without it.
type scopeNeed struct {
	scope   string
	area    string // "users", for messages
	without string // what stops working
	probe   func(ctx context.Context, c *Client) error
}

var scopeNeeds = []scopeNeed{
	{"okta.users.manage", "users", "full sync of users will not work and plugins cannot look users up in Okta",
		func(ctx context.Context, c *Client) error {
			return c.probe(ctx, "/api/v1/users", url.Values{"limit": {"1"}})
		}},
	{"okta.groups.manage", "groups", "sync of groups and memberships and the plugin actions that add or remove group members will not work",
		func(ctx context.Context, c *Client) error {
			return c.probe(ctx, "/api/v1/groups", url.Values{"limit": {"1"}})
		}},
	{"okta.apps.manage", "apps", "sync of apps and app assignments and the plugin actions that assign or unassign apps will not work",
		func(ctx context.Context, c *Client) error {
			return c.probe(ctx, "/api/v1/apps", url.Values{"limit": {"1"}})
		}},
	{"okta.roles.read", "admin roles (the credentials' own, and users' for the sync's adminRoles)", "the sync cannot read users' admin roles (adminRoles then come only from user.account.privilege.grant/revoke events, so plugins cannot reliably tell Super Administrators apart) and check cannot tell which admin roles the credentials hold, so it cannot say whether plugin actions are allowed",
		func(ctx context.Context, c *Client) error {
			if _, err := c.ListMyRoles(ctx); err != nil {
				return err
			}
			return c.probe(ctx, "/api/v1/iam/assignees/users", url.Values{"limit": {"1"}})
		}},
	{"okta.logs.read", "the System Log", "System Log catch-up will not work",
		func(ctx context.Context, c *Client) error {
			return c.probe(ctx, "/api/v1/logs", url.Values{"limit": {"1"}, "since": {time.Now().Add(-time.Hour).UTC().Format(logTime)}})
		}},
	{"okta.schemas.read", "the user profile schema (custom attributes and their types)", "the sync cannot read the user schema: custom profile attributes are still stored, but with their values' JSON types (an integer attribute reads as a number) and without knowing which attributes are custom",
		func(ctx context.Context, c *Client) error {
			return c.probe(ctx, "/api/v1/meta/schemas/user/default", nil)
		}},
}

// granted reports whether scope is among have; a .manage scope also grants
// the matching .read.
func granted(have []string, scope string) bool {
	if slices.Contains(have, scope) {
		return true
	}
	if base, ok := strings.CutSuffix(scope, ".read"); ok {
		return slices.Contains(have, base+".manage")
	}
	return false
}

// Check verifies the client's credentials and every scope hookgate needs
// (RequiredScopes), with one cheap read per area, and returns a report in
// plain words. Problems are report lines, not errors: the error is non-nil
// only when ctx ended.
func Check(ctx context.Context, c *Client) (Report, error) {
	r := Report{OrgURL: c.base, Auth: c.AuthKind(), OK: true}
	add := func(it CheckItem) {
		r.Items = append(r.Items, it)
		if !it.OK {
			r.OK = false
		}
	}
	probeClient := c
	var have []string
	if c.oauth == nil {
		err := c.probe(ctx, "/api/v1/users/me", nil)
		if ctx.Err() != nil {
			return r, context.Cause(ctx)
		}
		if err != nil {
			add(CheckItem{Message: credentialProblem(c, err)})
			return r, nil
		}
		add(CheckItem{OK: true, Message: "API token accepted"})
	} else {
		tr, err := c.requestToken(ctx, c.oauth.Scopes)
		if ctx.Err() != nil {
			return r, context.Cause(ctx)
		}
		var ae *APIError
		switch {
		case err == nil:
			have = strings.Fields(tr.Scope)
		case errors.As(err, &ae) && ae.OAuthError == "invalid_scope":
			// Find out which scopes are granted, one token request each.
			for _, sc := range c.oauth.Scopes {
				if _, err := c.requestToken(ctx, []string{sc}); err == nil {
					have = append(have, sc)
				} else if ctx.Err() != nil {
					return r, context.Cause(ctx)
				}
			}
			if len(have) == 0 {
				add(CheckItem{Message: fmt.Sprintf("the app is granted none of the requested scopes (%s): grant them under Okta API Scopes of the app", ae.Short())})
				return r, nil
			}
			// Probe with a token for the granted scopes only (a token for
			// the full list cannot be had).
			probeClient = c.withScopes(have)
		default:
			add(CheckItem{Message: credentialProblem(c, err)})
			return r, nil
		}
		add(CheckItem{OK: true, Message: fmt.Sprintf("OAuth client %s accepted; granted scopes: %s", c.oauth.ClientID, strings.Join(have, " "))})
	}

	for _, n := range scopeNeeds {
		if c.oauth != nil && !granted(have, n.scope) {
			add(CheckItem{Scope: n.scope, Message: fmt.Sprintf("missing scope %s: %s. Grant it under Okta API Scopes of the app", n.scope, capitalize(n.without))})
			continue
		}
		err := n.probe(ctx, probeClient)
		if ctx.Err() != nil {
			return r, context.Cause(ctx)
		}
		if err == nil {
			add(CheckItem{Scope: n.scope, OK: true, Message: fmt.Sprintf("%s: %s can be read", n.scope, n.area)})
			continue
		}
		add(CheckItem{Scope: n.scope, Message: accessProblem(c, n, err)})
	}

	if roles, err := probeClient.ListMyRoles(ctx); err == nil {
		for _, ro := range roles {
			r.Roles = append(r.Roles, ro.Type)
		}
		switch {
		case len(roles) == 0 && c.oauth != nil:
			add(CheckItem{Message: "the service app has no admin role: Okta refuses Management API calls from an app without one. Assign one under the app's Admin roles tab (Read-Only Administrator for sync and catch-up; Group Membership Administrator and Application Administrator, or Super Administrator, for plugin actions)"})
		case !coversWrites(r.Roles):
			add(CheckItem{Message: fmt.Sprintf("admin roles %s may not allow plugin actions (changing group members and app assignments needs Super, Org, Group Membership or Application Administrator)", strings.Join(r.Roles, ", "))})
		case !slices.Contains(r.Roles, "SUPER_ADMIN"):
			add(CheckItem{OK: true, Message: "admin roles " + strings.Join(r.Roles, ", ") + " allow sync, catch-up and plugin actions, except on Super Administrators: Okta lets only a Super Administrator change their group memberships and app assignments (such actions fail with Okta's 403, explained)"})
		default:
			add(CheckItem{OK: true, Message: "admin roles " + strings.Join(r.Roles, ", ") + " allow sync, catch-up and plugin actions"})
		}
	}
	return r, nil
}

// coversWrites reports whether some role can change group members or app
// assignments.
func coversWrites(roles []string) bool {
	for _, ro := range roles {
		switch ro {
		case "SUPER_ADMIN", "ORG_ADMIN", "GROUP_MEMBERSHIP_ADMIN", "USER_ADMIN", "APP_ADMIN", "CUSTOM":
			return true
		}
	}
	return false
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// credentialProblem turns a failed first call into advice.
func credentialProblem(c *Client, err error) string {
	var ae *APIError
	if !errors.As(err, &ae) {
		return fmt.Sprintf("cannot reach %s (%v): check okta.org_url / HOOKGATE_OKTA_ORG_URL and the network", c.base, err)
	}
	if c.oauth == nil {
		switch ae.StatusCode {
		case 401:
			return fmt.Sprintf("API token rejected (%s): check %s", ae.Short(), c.tokenEnv)
		case 403:
			return fmt.Sprintf("API token accepted but not allowed to read users (%s): create the token as an admin (tokens act with their creator's admin role)", ae.Short())
		}
		return fmt.Sprintf("the API token check failed (%s)", ae.Short())
	}
	switch {
	case strings.Contains(ae.OAuthError, "dpop"):
		return fmt.Sprintf("the app requires DPoP (%s): hookgate does not send DPoP proofs yet; untick \"Require Demonstrating Proof of Possession (DPoP) header in token requests\" in the app's General settings", ae.Short())
	case ae.OAuthError == "invalid_client":
		return fmt.Sprintf("OAuth client rejected (%s): check okta.oauth.client_id, that the app's client authentication is \"Public key / Private key\" and that the public key of okta.oauth.private_key_file is registered on it (with key_id %q if set)", ae.Short(), c.oauth.KeyID)
	case ae.OAuthError == "unauthorized_client":
		return fmt.Sprintf("OAuth client not allowed the client credentials grant (%s): create an API Services app", ae.Short())
	}
	return fmt.Sprintf("the OAuth token request failed (%s)", ae.Short())
}

// accessProblem explains a failed probe of a granted scope.
func accessProblem(c *Client, n scopeNeed, err error) string {
	var ae *APIError
	if !errors.As(err, &ae) {
		return fmt.Sprintf("%s: reading %s failed (%v): %s", n.scope, n.area, err, n.without)
	}
	if ae.StatusCode == 403 {
		if c.oauth != nil {
			return fmt.Sprintf("%s is granted but Okta refused to read %s (%s): %s. Assign the app an admin role that covers %s", n.scope, n.area, ae.Short(), n.without, n.area)
		}
		return fmt.Sprintf("no access to %s (%s): %s. Use a token created by an admin whose role covers %s", n.area, ae.Short(), n.without, n.area)
	}
	return fmt.Sprintf("%s: reading %s failed (%s): %s", n.scope, n.area, ae.Short(), n.without)
}

// withScopes returns a client for the same org and credentials that asks
// for scopes (with its own token cache).
func (c *Client) withScopes(scopes []string) *Client {
	o := *c.oauth
	o.Scopes = scopes
	n := &Client{
		base: c.base, origin: c.origin, hc: c.hc, log: c.log, apiToken: c.apiToken, tokenEnv: c.tokenEnv,
		oauth: &o, maxTries: c.maxTries, maxWait: c.maxWait, initBO: c.initBO, sleep: c.sleep,
		buckets: map[string]time.Time{},
	}
	return n
}
