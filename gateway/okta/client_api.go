package okta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// APIUser is a user as the Management API returns it (/api/v1/users). Only
// the fields hookgate keeps are decoded.
type APIUser struct {
	ID            string         `json:"id"`
	Status        string         `json:"status"`
	Created       time.Time      `json:"created"`
	Activated     *time.Time     `json:"activated"`
	StatusChanged *time.Time     `json:"statusChanged"`
	LastUpdated   time.Time      `json:"lastUpdated"`
	Type          APIUserType    `json:"type"`
	Profile       APIUserProfile `json:"profile"`
	// Attrs is the whole profile, base and custom attributes, as raw JSON
	// (Okta leaves out attributes that are null).
	Attrs map[string]json.RawMessage `json:"-"`
}

// APIUserType is the user's type reference ({"id": "oty…"}).
type APIUserType struct {
	ID string `json:"id"`
}

// UnmarshalJSON decodes the user and keeps its whole profile in Attrs.
func (u *APIUser) UnmarshalJSON(b []byte) error {
	type plain APIUser
	var aux struct {
		plain
		Profile json.RawMessage `json:"profile"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*u = APIUser(aux.plain)
	if err := decodeProfile(aux.Profile, &u.Profile, &u.Attrs); err != nil {
		return fmt.Errorf("user %s profile: %w", u.ID, err)
	}
	return nil
}

// decodeProfile decodes a profile object (absent or null: nothing) into
// its typed fields and, whole, into attrs.
func decodeProfile(raw json.RawMessage, typed any, attrs *map[string]json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, typed); err != nil {
		return err
	}
	return json.Unmarshal(raw, attrs)
}

// APIUserProfile holds the user profile attributes hookgate keeps.
type APIUserProfile struct {
	Login       string `json:"login"`
	Email       string `json:"email"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	DisplayName string `json:"displayName"`
}

// Name is the display name, or "first last" when Okta has none (the
// displayName attribute is optional in Okta's base profile).
func (p APIUserProfile) Name() string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	return strings.TrimSpace(p.FirstName + " " + p.LastName)
}

// APIGroup is a group as /api/v1/groups returns it.
type APIGroup struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"` // OKTA_GROUP, APP_GROUP, BUILT_IN
	LastUpdated time.Time       `json:"lastUpdated"`
	Profile     APIGroupProfile `json:"profile"`
	// Attrs is the whole group profile as raw JSON.
	Attrs map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the group and keeps its whole profile in Attrs.
func (g *APIGroup) UnmarshalJSON(b []byte) error {
	type plain APIGroup
	var aux struct {
		plain
		Profile json.RawMessage `json:"profile"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*g = APIGroup(aux.plain)
	if err := decodeProfile(aux.Profile, &g.Profile, &g.Attrs); err != nil {
		return fmt.Errorf("group %s profile: %w", g.ID, err)
	}
	return nil
}

// APIGroupProfile is a group's name and description.
type APIGroupProfile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// APIApp is an app instance as /api/v1/apps returns it.
type APIApp struct {
	ID     string `json:"id"`
	Name   string `json:"name"`  // e.g. "amazon_aws"; the AppInstance alternateId
	Label  string `json:"label"` // e.g. "AWS"; the AppInstance displayName
	Status string `json:"status"`
}

// APIAppGroup is one entry of /api/v1/apps/{id}/groups (an
// ApplicationGroupAssignment); ID is the group's id.
type APIAppGroup struct {
	ID       string `json:"id"`
	Priority int    `json:"priority"`
}

// APIAppUser is one entry of /api/v1/apps/{id}/users; ID is the user's id
// and Scope is USER (direct) or GROUP (through a group assignment).
type APIAppUser struct {
	ID     string `json:"id"`
	Scope  string `json:"scope"`
	Status string `json:"status"`
	// Credentials.UserName is the user's name in the app (what events
	// carry as the AppUser target's alternateId).
	Credentials struct {
		UserName string `json:"userName"`
	} `json:"credentials"`
}

// APIRole is an admin role assignment (/api/v1/users/me/roles,
// /api/v1/users/{id}/roles, /oauth2/v1/clients/{id}/roles).
type APIRole struct {
	ID     string `json:"id"`
	Type   string `json:"type"` // SUPER_ADMIN, ORG_ADMIN, GROUP_MEMBERSHIP_ADMIN, APP_ADMIN, ..., CUSTOM
	Label  string `json:"label"`
	Status string `json:"status"`
	// AssignmentType is USER (direct) or GROUP (through a group).
	AssignmentType string `json:"assignmentType"`
}

// UserSchema is the part of /api/v1/meta/schemas/user/default hookgate
// reads: each attribute's declared type, base and custom.
type UserSchema struct {
	Definitions struct {
		Base   SchemaDefinition `json:"base"`
		Custom SchemaDefinition `json:"custom"`
	} `json:"definitions"`
}

// SchemaDefinition is one of the schema's definitions (base or custom).
type SchemaDefinition struct {
	Properties map[string]SchemaProperty `json:"properties"`
}

// SchemaProperty is one attribute of the schema.
type SchemaProperty struct {
	Title string `json:"title"`
	Type  string `json:"type"` // string, boolean, number, integer, array
	Items *struct {
		Type string `json:"type"`
	} `json:"items"`
}

// Types maps every attribute to its declared type.
func (s *UserSchema) Types() map[string]string {
	out := map[string]string{}
	for _, d := range []SchemaDefinition{s.Definitions.Base, s.Definitions.Custom} {
		for name, p := range d.Properties {
			out[name] = p.Type
		}
	}
	return out
}

// CustomAttributes lists the custom attribute names.
func (s *UserSchema) CustomAttributes() []string {
	out := make([]string, 0, len(s.Definitions.Custom.Properties))
	for name := range s.Definitions.Custom.Properties {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// UserSchema reads the default user schema (GET
// /api/v1/meta/schemas/user/default; scope okta.schemas.read).
func (c *Client) UserSchema(ctx context.Context) (*UserSchema, error) {
	var s UserSchema
	if _, err := c.do(ctx, apiRequest{method: http.MethodGet, url: c.apiURL("/api/v1/meta/schemas/user/default", nil)}, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// APIRoleAssignee is one entry of /api/v1/iam/assignees/users: a user
// that holds at least one admin role.
type APIRoleAssignee struct {
	ID  string `json:"id"`
	ORN string `json:"orn"`
}

// ListRoleAssignees pages through /api/v1/iam/assignees/users (scope
// okta.roles.read): the users holding admin roles. Okta answers an object
// {"value": [...], "_links": {"next": {"href": ...}}} rather than an
// array; a Link header next is followed too.
func (c *Client) ListRoleAssignees(ctx context.Context, fn PageFunc[APIRoleAssignee]) error {
	next := c.apiURL("/api/v1/iam/assignees/users", url.Values{"limit": {"100"}})
	for next != "" {
		var page struct {
			Value []APIRoleAssignee `json:"value"`
			Links struct {
				Next struct {
					Href string `json:"href"`
				} `json:"next"`
			} `json:"_links"`
		}
		meta, err := c.do(ctx, apiRequest{method: http.MethodGet, url: next}, &page)
		if err != nil {
			return err
		}
		if len(page.Value) == 0 {
			return nil
		}
		if err := fn(page.Value, meta.readAt); err != nil {
			return err
		}
		n := page.Links.Next.Href
		if n == "" {
			n = nextLink(meta.header)
		}
		if n == "" {
			return nil
		}
		if n == next {
			return fmt.Errorf("okta: GET /api/v1/iam/assignees/users: next link points at the same page")
		}
		u, err := url.Parse(n)
		if err != nil || u.Scheme+"://"+u.Host != c.origin {
			return fmt.Errorf("okta: GET /api/v1/iam/assignees/users: refusing next link %q outside the org %s", n, c.origin)
		}
		next = n
	}
	return nil
}

// ListUserRoles lists a user's admin role assignments (GET
// /api/v1/users/{id}/roles; scope okta.roles.read) and when Okta produced
// the answer.
func (c *Client) ListUserRoles(ctx context.Context, userID string) ([]APIRole, time.Time, error) {
	var roles []APIRole
	meta, err := c.do(ctx, apiRequest{method: http.MethodGet, url: c.apiURL("/api/v1/users/"+url.PathEscape(userID)+"/roles", nil)}, &roles)
	if err != nil {
		return nil, time.Time{}, err
	}
	return roles, meta.readAt, nil
}

// PageFunc receives one page of a listing and the time Okta produced it
// (see Sync for why that time matters). Returning an error stops paging.
type PageFunc[T any] func(items []T, readAt time.Time) error

// DefaultPageSize is the limit hookgate asks for on listings (Okta's
// maximum for users and groups is 200).
const DefaultPageSize = 200

func (c *Client) apiURL(path string, q url.Values) string {
	if len(q) == 0 {
		return c.base + path
	}
	return c.base + path + "?" + q.Encode()
}

// listPages GETs path and follows Link rel="next" until there is none,
// calling fn per page. A next link to another origin is refused, so a
// credential is never sent anywhere but the org.
func listPages[T any](ctx context.Context, c *Client, path string, q url.Values, fn PageFunc[T]) error {
	next := c.apiURL(path, q)
	for next != "" {
		var page []T
		meta, err := c.do(ctx, apiRequest{method: http.MethodGet, url: next}, &page)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			// The end; the System Log's polling requests always carry a
			// next link, and an empty page is how they say "nothing more".
			return nil
		}
		if err := fn(page, meta.readAt); err != nil {
			return err
		}
		n := nextLink(meta.header)
		if n == "" {
			return nil
		}
		if n == next {
			return fmt.Errorf("okta: GET %s: next link points at the same page", path)
		}
		u, err := url.Parse(n)
		if err != nil || u.Scheme+"://"+u.Host != c.origin {
			return fmt.Errorf("okta: GET %s: refusing next link %q outside the org %s", path, n, c.origin)
		}
		next = n
	}
	return nil
}

// nextLink finds rel="next" among the Link headers. Okta sends self and
// next as separate headers; comma-joined values are handled too.
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, part := range splitLinks(v) {
			part = strings.TrimSpace(part)
			if !strings.HasPrefix(part, "<") {
				continue
			}
			end := strings.Index(part, ">")
			if end < 0 {
				continue
			}
			target, params := part[1:end], part[end+1:]
			for _, p := range strings.Split(params, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
					if strings.EqualFold(rel, "next") {
						return target
					}
				}
			}
		}
	}
	return ""
}

// splitLinks splits a Link header value on the commas between entries (not
// those inside <...>).
func splitLinks(v string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '<':
			depth++
		case '>':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

func withLimit(q url.Values, limit int) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	if out.Get("limit") == "" {
		out.Set("limit", fmt.Sprint(limit))
	}
	return out
}

// ListUsers pages through /api/v1/users. q may carry filter/search/limit;
// note that without a filter Okta leaves DEPROVISIONED users out.
func (c *Client) ListUsers(ctx context.Context, q url.Values, fn PageFunc[APIUser]) error {
	return listPages(ctx, c, "/api/v1/users", withLimit(q, DefaultPageSize), fn)
}

// GetUser reads one user by id or login (GET /api/v1/users/{idOrLogin}).
func (c *Client) GetUser(ctx context.Context, idOrLogin string) (*APIUser, error) {
	u, _, err := c.GetUserAt(ctx, idOrLogin)
	return u, err
}

// GetUserAt is GetUser that also returns when Okta produced the answer
// (its Date header, truncated to the second): the stamp a lookup's writes
// carry, so that they never beat an event published after it.
func (c *Client) GetUserAt(ctx context.Context, idOrLogin string) (*APIUser, time.Time, error) {
	var u APIUser
	meta, err := c.do(ctx, apiRequest{method: http.MethodGet, url: c.apiURL("/api/v1/users/"+url.PathEscape(idOrLogin), nil)}, &u)
	if err != nil {
		return nil, time.Time{}, err
	}
	return &u, meta.readAt, nil
}

// ListGroups pages through /api/v1/groups.
func (c *Client) ListGroups(ctx context.Context, q url.Values, fn PageFunc[APIGroup]) error {
	return listPages(ctx, c, "/api/v1/groups", withLimit(q, DefaultPageSize), fn)
}

// ListGroupMembers pages through /api/v1/groups/{id}/users.
func (c *Client) ListGroupMembers(ctx context.Context, groupID string, fn PageFunc[APIUser]) error {
	return listPages(ctx, c, "/api/v1/groups/"+url.PathEscape(groupID)+"/users", withLimit(nil, DefaultPageSize), fn)
}

// ListApps pages through /api/v1/apps.
func (c *Client) ListApps(ctx context.Context, q url.Values, fn PageFunc[APIApp]) error {
	return listPages(ctx, c, "/api/v1/apps", withLimit(q, DefaultPageSize), fn)
}

// ListAppGroupAssignments pages through /api/v1/apps/{id}/groups.
func (c *Client) ListAppGroupAssignments(ctx context.Context, appID string, fn PageFunc[APIAppGroup]) error {
	return listPages(ctx, c, "/api/v1/apps/"+url.PathEscape(appID)+"/groups", withLimit(nil, DefaultPageSize), fn)
}

// ListAppUsers pages through /api/v1/apps/{id}/users (direct and
// group-derived assignments; see APIAppUser.Scope).
func (c *Client) ListAppUsers(ctx context.Context, appID string, fn PageFunc[APIAppUser]) error {
	return listPages(ctx, c, "/api/v1/apps/"+url.PathEscape(appID)+"/users", withLimit(nil, DefaultPageSize), fn)
}

// --- plugin actions ---

func (c *Client) send(ctx context.Context, method, path string, body any) error {
	r := apiRequest{method: method, url: c.apiURL(path, nil)}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("okta: %s %s: encoding body: %w", method, path, err)
		}
		r.body, r.contentType = b, "application/json"
	}
	_, err := c.do(ctx, r, nil)
	return err
}

// AddUserToGroup adds a user to a group (PUT /api/v1/groups/{g}/users/{u}).
func (c *Client) AddUserToGroup(ctx context.Context, groupID, userID string) error {
	return c.send(ctx, http.MethodPut, "/api/v1/groups/"+url.PathEscape(groupID)+"/users/"+url.PathEscape(userID), nil)
}

// RemoveUserFromGroup removes a user from a group (DELETE
// /api/v1/groups/{g}/users/{u}).
func (c *Client) RemoveUserFromGroup(ctx context.Context, groupID, userID string) error {
	return c.send(ctx, http.MethodDelete, "/api/v1/groups/"+url.PathEscape(groupID)+"/users/"+url.PathEscape(userID), nil)
}

// AssignAppToGroup assigns an app to a group (PUT
// /api/v1/apps/{app}/groups/{g}).
func (c *Client) AssignAppToGroup(ctx context.Context, appID, groupID string) error {
	return c.send(ctx, http.MethodPut, "/api/v1/apps/"+url.PathEscape(appID)+"/groups/"+url.PathEscape(groupID), struct{}{})
}

// UnassignAppFromGroup removes an app's group assignment (DELETE
// /api/v1/apps/{app}/groups/{g}).
func (c *Client) UnassignAppFromGroup(ctx context.Context, appID, groupID string) error {
	return c.send(ctx, http.MethodDelete, "/api/v1/apps/"+url.PathEscape(appID)+"/groups/"+url.PathEscape(groupID), nil)
}

// AssignUserToApp assigns a user directly to an app (POST
// /api/v1/apps/{app}/users with {"id": user}).
func (c *Client) AssignUserToApp(ctx context.Context, appID, userID string) error {
	return c.send(ctx, http.MethodPost, "/api/v1/apps/"+url.PathEscape(appID)+"/users", map[string]string{"id": userID})
}

// UnassignUserFromApp removes a user's direct app assignment (DELETE
// /api/v1/apps/{app}/users/{u}).
func (c *Client) UnassignUserFromApp(ctx context.Context, appID, userID string) error {
	return c.send(ctx, http.MethodDelete, "/api/v1/apps/"+url.PathEscape(appID)+"/users/"+url.PathEscape(userID), nil)
}

// --- probes used by Check ---

// probe GETs path (with limit=1 where listings are concerned) and discards
// the body: a cheap "may I read this?" question.
func (c *Client) probe(ctx context.Context, path string, q url.Values) error {
	_, err := c.do(ctx, apiRequest{method: http.MethodGet, url: c.apiURL(path, q)}, nil)
	return err
}

// ListMyRoles lists the admin roles of the credentials' owner: the API
// token's user (/api/v1/users/me/roles) or the OAuth service app
// (/oauth2/v1/clients/{clientId}/roles).
func (c *Client) ListMyRoles(ctx context.Context) ([]APIRole, error) {
	path := "/api/v1/users/me/roles"
	if c.oauth != nil {
		path = "/oauth2/v1/clients/" + url.PathEscape(c.oauth.ClientID) + "/roles"
	}
	var roles []APIRole
	if _, err := c.do(ctx, apiRequest{method: http.MethodGet, url: c.apiURL(path, nil)}, &roles); err != nil {
		return nil, err
	}
	return roles, nil
}
