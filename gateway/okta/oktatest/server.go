// Package oktatest is a stand-in Okta org for tests: a real HTTP server on
// 127.0.0.1 that answers the Management API endpoints hookgate uses, in the
// JSON shapes Okta documents (users, groups, apps, group members, app
// assignments, the System Log), with Link pagination, X-Rate-Limit headers,
// injectable 429s and 5xx, SSWS API tokens and an OAuth 2.0 token endpoint
// that verifies private_key_jwt client assertions.
//
// It deliberately does not import hookgate's okta package: it is written
// from Okta's documentation, so the client is tested against an independent
// reading of the wire format.
package oktatest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Scopes every token gets when Options.Scopes is nil.
var AllScopes = []string{
	"okta.users.manage", "okta.groups.manage", "okta.apps.manage",
	"okta.roles.read", "okta.logs.read", "okta.schemas.read",
}

// Options configures New. The zero value serves an empty org that accepts
// no credentials; set APIToken and/or ClientID+PublicKey.
type Options struct {
	// APIToken is the SSWS token accepted ("Authorization: SSWS <token>").
	APIToken string
	// ClientID and PublicKey enable OAuth: the token endpoint verifies the
	// client assertion's RS256 signature with PublicKey.
	ClientID  string
	PublicKey *rsa.PublicKey
	// Scopes are the scopes granted to the OAuth app. Default AllScopes.
	Scopes []string
	// TokenTTL is the access token lifetime. Default 1h.
	TokenTTL time.Duration
	// PageSize caps every listing page (a smaller limit param wins).
	// Default 200.
	PageSize int
	// RateLimit requests per RateWindow are allowed; beyond that the server
	// answers 429. Defaults 600 per minute.
	RateLimit  int
	RateWindow time.Duration
	// EmitEvents makes the plugin-action endpoints append the System Log
	// events Okta would write (group.user_membership.add, ...).
	EmitEvents bool
	// Roles are the admin roles of the credentials' owner. Default one
	// SUPER_ADMIN role.
	Roles []Role
}

// User is a user in the stand-in org.
type User struct {
	ID, Status                                     string
	Login, Email, FirstName, LastName, DisplayName string
	Created, LastUpdated                           time.Time
	// Activated is when the user was activated (zero: null).
	Activated time.Time
	// TypeID is the user type (default oty1example0000000001).
	TypeID string
	// Attrs are further profile attributes, base (department, title,
	// manager, employeeType, costCenter...) or custom, as JSON values.
	// A nil value is written as null.
	Attrs map[string]any
	// Roles are the user's admin role assignments.
	Roles []Role
}

// Group is a group in the stand-in org.
type Group struct {
	ID, Name, Description, Type string
}

// App is an app instance in the stand-in org.
type App struct {
	ID, Name, Label, Status string
}

// Role is an admin role assignment: Type SUPER_ADMIN, ORG_ADMIN,
// APP_ADMIN, ... or CUSTOM with the custom role's Label.
type Role struct {
	ID, Type, Label string
}

// SchemaAttr is a custom attribute of the user schema.
type SchemaAttr struct {
	Name, Title, Type string
	// ItemsType is the element type of an array attribute.
	ItemsType string
}

// Action is one recorded call of a state-changing endpoint.
type Action struct {
	Method string // PUT, DELETE, POST
	Kind   string // add_group_member, remove_group_member, assign_app_group, unassign_app_group, assign_app_user, unassign_app_user
	Group  string
	User   string
	App    string
	Status int // the HTTP status answered
}

// Request is one recorded request.
type Request struct {
	Method, Path, RawQuery, Auth string
	Status                       int
}

type token struct {
	exp    time.Time
	scopes map[string]bool
}

type logEntry struct {
	published time.Time
	uuid      string
	eventType string
	raw       json.RawMessage
}

// Server is the stand-in org. Its methods are safe for concurrent use with
// the requests it serves.
type Server struct {
	// URL is the org URL, http://127.0.0.1:<port>.
	URL string

	srv  *httptest.Server
	opts Options

	mu        sync.Mutex
	users     map[string]*User
	groups    map[string]*Group
	apps      map[string]*App
	members   map[string]map[string]bool   // group -> users
	appGroups map[string]map[string]bool   // app -> groups
	appUsers  map[string]map[string]string // app -> user -> scope
	logs      []logEntry
	tokens    map[string]token
	jtis      map[string]bool
	actions   []Action
	requests  []Request
	tokenReqs int
	schema    []SchemaAttr

	holdMu    sync.Mutex
	holdReads chan struct{} // while non-nil, GET /api/v1/users/{id} waits for it to close
	heldReads int

	windowStart time.Time
	windowUsed  int
	fail429     int
	fail429NoRL bool
	every429    int
	served      int
	failStatus  int
	failN       int
	exhaustN    int
}

// New starts the server on 127.0.0.1 and returns it; Close stops it.
func New(opts Options) *Server {
	if opts.Scopes == nil {
		opts.Scopes = AllScopes
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 200
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = 600
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = time.Minute
	}
	if opts.Roles == nil {
		opts.Roles = []Role{{ID: "ra1superadmin0000001", Type: "SUPER_ADMIN", Label: "Super Administrator"}}
	}
	s := &Server{
		opts:      opts,
		users:     map[string]*User{},
		groups:    map[string]*Group{},
		apps:      map[string]*App{},
		members:   map[string]map[string]bool{},
		appGroups: map[string]map[string]bool{},
		appUsers:  map[string]map[string]string{},
		tokens:    map[string]token{},
		jtis:      map[string]bool{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// --- seeding ---

// AddUser adds or replaces a user. Empty Status means ACTIVE.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.Status == "" {
		u.Status = "ACTIVE"
	}
	if u.Email == "" {
		u.Email = u.Login
	}
	if u.Created.IsZero() {
		u.Created = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	}
	if u.LastUpdated.IsZero() {
		u.LastUpdated = u.Created
	}
	s.users[u.ID] = &u
}

// UpdateUser changes a user in place (attributes, names, roles) and sets
// its lastUpdated to now; no event is written. It reports whether the
// user exists.
func (s *Server) UpdateUser(id string, fn func(*User)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return false
	}
	fn(u)
	u.LastUpdated = time.Now().UTC()
	return true
}

// AddSchemaAttr declares a custom attribute in the user schema.
func (s *Server) AddSchemaAttr(a SchemaAttr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schema = append(s.schema, a)
}

// HoldUserReads makes GET /api/v1/users/{id} answer at once (the user as
// it is now, with this moment's Date header) but deliver the answer only
// when the returned release is called, so a test can let an event
// overtake a lookup in flight. Held reports how many answers are waiting.
func (s *Server) HoldUserReads() (release func()) {
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	ch := make(chan struct{})
	s.holdReads = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			s.holdMu.Lock()
			s.holdReads = nil
			s.holdMu.Unlock()
			close(ch)
		})
	}
}

// Held is the number of user reads waiting on HoldUserReads.
func (s *Server) Held() int {
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	return s.heldReads
}

// SetUserStatus changes a user's status (no event is written).
func (s *Server) SetUserStatus(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[id]; u != nil {
		u.Status = status
	}
}

// DeleteUser removes a user and its memberships and assignments.
func (s *Server) DeleteUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users, id)
	for _, m := range s.members {
		delete(m, id)
	}
	for _, m := range s.appUsers {
		delete(m, id)
	}
}

// AddGroup adds or replaces a group. Empty Type means OKTA_GROUP.
func (s *Server) AddGroup(g Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.Type == "" {
		g.Type = "OKTA_GROUP"
	}
	s.groups[g.ID] = &g
}

// DeleteGroup removes a group with its memberships and app assignments.
func (s *Server) DeleteGroup(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.groups, id)
	delete(s.members, id)
	for _, m := range s.appGroups {
		delete(m, id)
	}
}

// AddApp adds or replaces an app. Empty Status means ACTIVE.
func (s *Server) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Status == "" {
		a.Status = "ACTIVE"
	}
	s.apps[a.ID] = &a
}

// AddMember puts a user in a group (no event is written).
func (s *Server) AddMember(groupID, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	setAdd(s.members, groupID, userID)
}

// RemoveMember takes a user out of a group (no event is written).
func (s *Server) RemoveMember(groupID, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.members[groupID], userID)
}

// AssignGroup assigns an app to a group (no event is written).
func (s *Server) AssignGroup(appID, groupID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	setAdd(s.appGroups, appID, groupID)
}

// AssignUser assigns a user directly to an app (no event is written).
func (s *Server) AssignUser(appID, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.appUsers[appID] == nil {
		s.appUsers[appID] = map[string]string{}
	}
	s.appUsers[appID][userID] = "USER"
}

func setAdd(m map[string]map[string]bool, k, v string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][v] = true
}

// IsMember reports whether the org has the user in the group.
func (s *Server) IsMember(groupID, userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.members[groupID][userID]
}

// GroupHasApp reports whether the app is assigned to the group.
func (s *Server) GroupHasApp(appID, groupID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appGroups[appID][groupID]
}

// UserHasApp reports whether the user is directly assigned to the app.
func (s *Server) UserHasApp(appID, userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.appUsers[appID][userID]
	return ok
}

// --- fault injection and observation ---

// Fail429 makes the next n API requests answer 429. With rateHeaders the
// answers carry X-Rate-Limit-Reset (one second ahead), as Okta's do;
// without, the client must fall back to its own backoff.
func (s *Server) Fail429(n int, rateHeaders bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail429, s.fail429NoRL = n, !rateHeaders
}

// Every429 makes every nth request answer 429 (0 turns it off).
func (s *Server) Every429(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.every429 = n
}

// FailStatus makes the next n API requests answer status (e.g. 503).
func (s *Server) FailStatus(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus, s.failN = status, n
}

// ExhaustNext makes the next n successful answers report
// X-Rate-Limit-Remaining: 0 with the window resetting one second later.
func (s *Server) ExhaustNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exhaustN = n
}

// ExpireTokens invalidates every access token issued so far, as a revoked
// or expired token would be.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]token{}
}

// SetScopes changes the scopes granted to the OAuth app from now on.
func (s *Server) SetScopes(scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Scopes = scopes
}

// SetPageSize changes the page size cap.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.PageSize = n
}

// Actions returns the recorded state-changing calls, in order.
func (s *Server) Actions() []Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.actions)
}

// Requests returns every request served (token requests included).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// TokenRequests counts calls of the OAuth token endpoint.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenReqs
}

// --- HTTP plumbing ---

type oktaErr struct {
	ErrorCode    string       `json:"errorCode"`
	ErrorSummary string       `json:"errorSummary"`
	ErrorLink    string       `json:"errorLink"`
	ErrorID      string       `json:"errorId"`
	ErrorCauses  []errorCause `json:"errorCauses"`
}

type errorCause struct {
	ErrorSummary string `json:"errorSummary"`
}

func randID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// writeJSON answers with v; the caller holds s.mu.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func (s *Server) writeErr(w http.ResponseWriter, status int, code, summary string, causes ...string) {
	e := oktaErr{ErrorCode: code, ErrorSummary: summary, ErrorLink: code, ErrorID: randID("oae", 10)}
	for _, c := range causes {
		e.ErrorCauses = append(e.ErrorCauses, errorCause{c})
	}
	if e.ErrorCauses == nil {
		e.ErrorCauses = []errorCause{}
	}
	s.writeJSON(w, status, e)
}

// rateHeaders writes the X-Rate-Limit trio and reports whether the request
// is over the limit. The caller holds s.mu.
func (s *Server) rateHeaders(w http.ResponseWriter, now time.Time) (over bool) {
	if now.Sub(s.windowStart) >= s.opts.RateWindow {
		s.windowStart, s.windowUsed = now, 0
	}
	s.windowUsed++
	remaining := s.opts.RateLimit - s.windowUsed
	reset := s.windowStart.Add(s.opts.RateWindow)
	if remaining < 0 {
		over, remaining = true, 0
	}
	if s.exhaustN > 0 && !over {
		s.exhaustN--
		remaining, reset = 0, now.Add(time.Second)
	}
	h := w.Header()
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(ceilUnix(reset), 10))
	return over
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) serve(w0 http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/users/") && strings.Count(r.URL.Path, "/") == 4 {
		s.holdMu.Lock()
		ch := s.holdReads
		if ch != nil {
			s.heldReads++
		}
		s.holdMu.Unlock()
		if ch != nil {
			// Answer now (the state and the Date header of this moment),
			// deliver once released: a lookup whose answer is older than
			// whatever happens meanwhile.
			rec := httptest.NewRecorder()
			rec.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
			s.serveLocked(rec, r)
			<-ch
			s.holdMu.Lock()
			s.heldReads--
			s.holdMu.Unlock()
			for k, v := range rec.Header() {
				w0.Header()[k] = v
			}
			w0.WriteHeader(rec.Code)
			_, _ = w0.Write(rec.Body.Bytes())
			return
		}
	}
	s.serveLocked(w0, r)
}

func (s *Server) serveLocked(w0 http.ResponseWriter, r *http.Request) {
	w := &statusRecorder{ResponseWriter: w0, status: 200}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), Status: w.status})
	}()
	now := time.Now()
	s.served++

	if s.fail429 > 0 || (s.every429 > 0 && s.served%s.every429 == 0) {
		if s.fail429 > 0 {
			s.fail429--
		}
		if !s.fail429NoRL {
			h := w.Header()
			h.Set("X-Rate-Limit-Limit", strconv.Itoa(s.opts.RateLimit))
			h.Set("X-Rate-Limit-Remaining", "0")
			h.Set("X-Rate-Limit-Reset", strconv.FormatInt(ceilUnix(now.Add(time.Second)), 10))
		}
		s.writeErr(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		return
	}
	if s.rateHeaders(w, now) {
		s.writeErr(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		return
	}
	if s.failN > 0 {
		s.failN--
		s.writeErr(w, s.failStatus, "E0000009", "Internal Server Error")
		return
	}

	if r.URL.Path == "/oauth2/v1/token" {
		s.token(w, r, now)
		return
	}
	p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	scope, ok := routeScope(r.Method, p)
	if !ok {
		s.writeErr(w, http.StatusNotFound, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	if !s.authorize(w, r, scope, now) {
		return
	}
	s.route(w, r, p, now)
}

// routeScope names the OAuth scope an endpoint needs.
func routeScope(method string, p []string) (string, bool) {
	if len(p) >= 2 && p[0] == "oauth2" && p[1] == "v1" {
		if len(p) == 5 && p[2] == "clients" && p[4] == "roles" && method == http.MethodGet {
			return "okta.roles.read", true
		}
		return "", false
	}
	if len(p) < 3 || p[0] != "api" || p[1] != "v1" {
		return "", false
	}
	read := method == http.MethodGet
	switch p[2] {
	case "users":
		if len(p) == 5 && p[4] == "roles" {
			return "okta.roles.read", read
		}
		return "okta.users.read", read
	case "groups":
		if read {
			return "okta.groups.read", true
		}
		return "okta.groups.manage", len(p) == 6 && p[4] == "users" && (method == http.MethodPut || method == http.MethodDelete)
	case "apps":
		if read {
			return "okta.apps.read", true
		}
		return "okta.apps.manage", len(p) >= 5
	case "logs":
		return "okta.logs.read", read
	case "iam":
		return "okta.roles.read", read && len(p) == 5 && p[3] == "assignees" && p[4] == "users"
	case "meta":
		return "okta.schemas.read", read
	}
	return "", false
}

func hasScope(granted map[string]bool, need string) bool {
	if granted[need] {
		return true
	}
	if m, ok := strings.CutSuffix(need, ".read"); ok {
		return granted[m+".manage"]
	}
	return false
}

// authorize checks the Authorization header against the SSWS token or an
// issued access token and its scopes.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, scope string, now time.Time) bool {
	auth := r.Header.Get("Authorization")
	kind, cred, _ := strings.Cut(auth, " ")
	switch {
	case kind == "SSWS" && s.opts.APIToken != "" && cred == s.opts.APIToken:
		return true
	case kind == "Bearer":
		t, ok := s.tokens[cred]
		if !ok || now.After(t.exp) {
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+s.URL+`/oauth2/v1/authorize", realm="`+s.URL+`", scope="`+scope+`", error="invalid_token", error_description="The access token is invalid.", resource="`+r.URL.Path+`"`)
			s.writeErr(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
			return false
		}
		if !hasScope(t.scopes, scope) {
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+s.URL+`/oauth2/v1/authorize", realm="`+s.URL+`", scope="`+scope+`", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", resource="`+r.URL.Path+`"`)
			s.writeErr(w, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
			return false
		}
		return true
	}
	s.writeErr(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
	return false
}

// page cuts a sorted id list at the after cursor and the limit, and writes
// Okta's Link headers (self, and next when more remain).
func (s *Server) page(w http.ResponseWriter, r *http.Request, ids []string) []string {
	sort.Strings(ids)
	q := r.URL.Query()
	limit := s.opts.PageSize
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 && l < limit {
		limit = l
	}
	if after := q.Get("after"); after != "" {
		i := sort.SearchStrings(ids, after)
		if i < len(ids) && ids[i] == after {
			i++
		}
		ids = ids[i:]
	}
	self := s.URL + r.URL.Path + "?" + q.Encode()
	w.Header().Add("Link", "<"+self+`>; rel="self"`)
	if len(ids) > limit {
		ids = ids[:limit]
		q.Set("after", ids[len(ids)-1])
		q.Set("limit", strconv.Itoa(limit))
		w.Header().Add("Link", "<"+s.URL+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
	}
	return ids
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, p []string, now time.Time) {
	n := len(p)
	switch {
	case p[0] == "oauth2": // /oauth2/v1/clients/{id}/roles
		s.writeJSON(w, 200, s.roleJSON())
	case p[2] == "users" && n == 3:
		s.listUsers(w, r)
	case p[2] == "users" && n == 4:
		if p[3] == "me" {
			s.writeJSON(w, 200, userJSON(s.URL, &User{ID: "00u11bGju0S48v4cQ5d7", Status: "ACTIVE", Login: "ada.admin@example.com", Email: "ada.admin@example.com", FirstName: "Ada", LastName: "Admin"}))
			return
		}
		u := s.findUser(p[3])
		if u == nil {
			s.notFound(w, p[3]+" (User)")
			return
		}
		s.writeJSON(w, 200, userJSON(s.URL, u))
	case p[2] == "users" && n == 5 && p[4] == "roles":
		if p[3] == "me" {
			s.writeJSON(w, 200, s.roleJSON())
			return
		}
		u := s.findUser(p[3])
		if u == nil {
			s.notFound(w, p[3]+" (User)")
			return
		}
		s.writeJSON(w, 200, rolesJSON(u.Roles))
	case p[2] == "iam" && n == 5:
		s.listAssignees(w, r)
	case p[2] == "groups" && n == 3:
		writePage(s, w, r, s.groups, func(id string) any { return groupJSON(s.URL, s.groups[id]) })
	case p[2] == "groups" && n == 4:
		g := s.groups[p[3]]
		if g == nil {
			s.notFound(w, p[3]+" (UserGroup)")
			return
		}
		s.writeJSON(w, 200, groupJSON(s.URL, g))
	case p[2] == "groups" && n == 5 && p[4] == "users":
		if s.groups[p[3]] == nil {
			s.notFound(w, p[3]+" (UserGroup)")
			return
		}
		writePage(s, w, r, s.members[p[3]], func(id string) any { return userJSON(s.URL, s.users[id]) })
	case p[2] == "groups" && n == 6 && p[4] == "users":
		s.groupMember(w, r, p[3], p[5], now)
	case p[2] == "apps" && n == 3:
		writePage(s, w, r, s.apps, func(id string) any { return appJSON(s.URL, s.apps[id]) })
	case p[2] == "apps" && n == 5 && p[4] == "groups":
		if s.apps[p[3]] == nil {
			s.notFound(w, p[3]+" (AppInstance)")
			return
		}
		writePage(s, w, r, s.appGroups[p[3]], func(id string) any { return appGroupJSON(s.URL, p[3], id) })
	case p[2] == "apps" && n == 6 && p[4] == "groups":
		s.appGroup(w, r, p[3], p[5], now)
	case p[2] == "apps" && n == 5 && p[4] == "users":
		if s.apps[p[3]] == nil {
			s.notFound(w, p[3]+" (AppInstance)")
			return
		}
		if r.Method == http.MethodPost {
			var body struct {
				ID string `json:"id"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.ID == "" {
				s.writeErr(w, 400, "E0000003", "The request body was not well-formed.")
				return
			}
			s.appUser(w, r, p[3], body.ID, now)
			return
		}
		writePage(s, w, r, s.appUsers[p[3]], func(id string) any { return appUserJSON(s.URL, p[3], s.users[id], s.appUsers[p[3]][id]) })
	case p[2] == "apps" && n == 6 && p[4] == "users" && r.Method == http.MethodDelete:
		s.appUser(w, r, p[3], p[5], now)
	case p[2] == "logs" && n == 3:
		s.listLogs(w, r, now)
	case p[2] == "meta" && n == 6 && p[3] == "schemas" && p[4] == "user":
		s.writeJSON(w, 200, map[string]any{
			"id": s.URL + "/meta/schemas/user/default", "$schema": "http://json-schema.org/draft-04/schema#",
			"name": "user", "title": "User", "type": "object",
			"definitions": map[string]any{"base": map[string]any{"id": "#base", "type": "object", "properties": map[string]any{
				"login":        map[string]any{"title": "Username", "type": "string", "required": true},
				"email":        map[string]any{"title": "Primary email", "type": "string", "required": true, "format": "email"},
				"firstName":    map[string]any{"title": "First name", "type": "string"},
				"lastName":     map[string]any{"title": "Last name", "type": "string"},
				"displayName":  map[string]any{"title": "Display name", "type": "string"},
				"department":   map[string]any{"title": "Department", "type": "string"},
				"title":        map[string]any{"title": "Title", "type": "string"},
				"employeeType": map[string]any{"title": "User type", "type": "string"},
				"costCenter":   map[string]any{"title": "Cost center", "type": "string"},
				"manager":      map[string]any{"title": "Manager", "type": "string"},
				"managerId":    map[string]any{"title": "ManagerId", "type": "string"},
			}}, "custom": map[string]any{"id": "#custom", "type": "object", "properties": s.customSchemaJSON()}},
		})
	default:
		s.writeErr(w, 404, "E0000022", "The endpoint does not support the provided HTTP method")
	}
}

func (s *Server) roleJSON() []any { return rolesJSON(s.opts.Roles) }

// customSchemaJSON renders the custom attributes as schema properties.
func (s *Server) customSchemaJSON() map[string]any {
	out := map[string]any{}
	for _, a := range s.schema {
		p := map[string]any{"title": a.Title, "type": a.Type, "mutability": "READ_WRITE", "scope": "NONE",
			"permissions": []any{map[string]any{"principal": "SELF", "action": "READ_ONLY"}}, "master": map[string]any{"type": "PROFILE_MASTER"}}
		if a.ItemsType != "" {
			p["items"] = map[string]any{"type": a.ItemsType}
		}
		out[a.Name] = p
	}
	return out
}

// listAssignees serves /api/v1/iam/assignees/users: the users holding
// admin roles, as {"value": [...], "_links": {"next": ...}}.
func (s *Server) listAssignees(w http.ResponseWriter, r *http.Request) {
	var ids []string
	for id, u := range s.users {
		if len(u.Roles) > 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	q := r.URL.Query()
	limit := s.opts.PageSize
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 && l < limit {
		limit = l
	}
	if after := q.Get("after"); after != "" {
		i := sort.SearchStrings(ids, after)
		if i < len(ids) && ids[i] == after {
			i++
		}
		ids = ids[i:]
	}
	links := map[string]any{}
	if len(ids) > limit {
		ids = ids[:limit]
		q.Set("after", ids[len(ids)-1])
		q.Set("limit", strconv.Itoa(limit))
		links["next"] = map[string]any{"href": s.URL + r.URL.Path + "?" + q.Encode()}
	}
	value := []any{}
	for _, id := range ids {
		value = append(value, map[string]any{
			"id": id, "orn": "orn:okta:directory:00o1example:users:" + id,
			"_links": map[string]any{"roles": map[string]any{"href": s.URL + "/api/v1/users/" + id + "/roles"}},
		})
	}
	s.writeJSON(w, 200, map[string]any{"value": value, "_links": links})
}

func hasRole(roles []Role, typ string) bool {
	for _, r := range roles {
		if r.Type == typ {
			return true
		}
	}
	return false
}

func rolesJSON(roles []Role) []any {
	out := []any{}
	for _, ro := range roles {
		out = append(out, map[string]any{
			"id": ro.ID, "label": ro.Label, "type": ro.Type, "status": "ACTIVE",
			"created": "2026-01-05T10:00:00.000Z", "lastUpdated": "2026-01-05T10:00:00.000Z", "assignmentType": "USER",
		})
	}
	return out
}

func (s *Server) findUser(ref string) *User {
	if u := s.users[ref]; u != nil {
		return u
	}
	for _, u := range s.users {
		if strings.EqualFold(u.Login, ref) {
			return u
		}
	}
	return nil
}

// writeItems answers a listing: one page of ids (see page), each rendered
// by item, as a JSON array (empty, never null).
func (s *Server) writeItems(w http.ResponseWriter, r *http.Request, ids []string, item func(id string) any) {
	out := []any{}
	for _, id := range s.page(w, r, ids) {
		out = append(out, item(id))
	}
	s.writeJSON(w, 200, out)
}

// writePage answers a listing of set's keys (see writeItems).
func writePage[V any](s *Server, w http.ResponseWriter, r *http.Request, set map[string]V, item func(id string) any) {
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	s.writeItems(w, r, ids, item)
}

// notFound answers Okta's 404 for a missing resource; what is its id and
// type, as Okta names them ("00g1 (UserGroup)").
func (s *Server) notFound(w http.ResponseWriter, what string) {
	s.writeErr(w, 404, "E0000007", "Not found: Resource not found: "+what)
}

// listUsers serves /api/v1/users: like Okta, DEPROVISIONED users are left
// out unless a filter on status asks for them.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	filter := r.URL.Query().Get("filter")
	var want map[string]bool
	if filter != "" {
		var err error
		want, err = parseEqFilter(filter, "status")
		if err != nil {
			s.writeErr(w, 400, "E0000031", "Invalid search criteria.", err.Error())
			return
		}
	}
	var ids []string
	for id, u := range s.users {
		if want != nil && !want[u.Status] || want == nil && u.Status == "DEPROVISIONED" {
			continue
		}
		ids = append(ids, id)
	}
	s.writeItems(w, r, ids, func(id string) any { return userJSON(s.URL, s.users[id]) })
}

// parseEqFilter reads `attr eq "a" or attr eq "b"` (parentheses allowed).
func parseEqFilter(f, attr string) (map[string]bool, error) {
	f = strings.NewReplacer("(", " ", ")", " ").Replace(f)
	out := map[string]bool{}
	for _, term := range strings.Split(f, " or ") {
		fs := strings.Fields(term)
		if len(fs) != 3 || fs[0] != attr || fs[1] != "eq" || len(fs[2]) < 2 || fs[2][0] != '"' || fs[2][len(fs[2])-1] != '"' {
			return nil, fmt.Errorf("unsupported filter term %q (want %s eq \"value\")", strings.TrimSpace(term), attr)
		}
		out[fs[2][1:len(fs[2])-1]] = true
	}
	return out, nil
}

func (s *Server) recordAction(a Action) { s.actions = append(s.actions, a) }

// edgeKind names an edge action by method: remove for DELETE, add otherwise.
func edgeKind(r *http.Request, add, remove string) string {
	if r.Method == http.MethodDelete {
		return remove
	}
	return add
}

// refuseMissing records act as a 404 and answers Okta's not-found error
// naming the first missing end of the edge: first unless firstFound.
func (s *Server) refuseMissing(w http.ResponseWriter, act Action, firstFound bool, first, second string) {
	what := first
	if firstFound {
		what = second
	}
	act.Status = 404
	s.recordAction(act)
	s.notFound(w, what)
}

func (s *Server) groupMember(w http.ResponseWriter, r *http.Request, gid, uid string, now time.Time) {
	kind := edgeKind(r, "add_group_member", "remove_group_member")
	g, u := s.groups[gid], s.users[uid]
	if g == nil || u == nil {
		s.refuseMissing(w, Action{Method: r.Method, Kind: kind, Group: gid, User: uid}, g != nil, gid+" (UserGroup)", uid+" (User)")
		return
	}
	if g.Type != "OKTA_GROUP" || (hasRole(u.Roles, "SUPER_ADMIN") && !hasRole(s.opts.Roles, "SUPER_ADMIN")) {
		// Okta: only a Super Administrator may change the group
		// memberships of a Super Administrator (custom admin roles
		// cannot); app groups are managed by their app.
		s.recordAction(Action{Method: r.Method, Kind: kind, Group: gid, User: uid, Status: 403})
		s.writeErr(w, 403, "E0000006", "You do not have permission to perform the requested action")
		return
	}
	s.recordAction(Action{Method: r.Method, Kind: kind, Group: gid, User: uid, Status: 204})
	if r.Method == http.MethodPut {
		setAdd(s.members, gid, uid)
		s.emit("group.user_membership.add", now, s.userTarget(u), groupTarget(g))
	} else {
		delete(s.members[gid], uid)
		s.emit("group.user_membership.remove", now, s.userTarget(u), groupTarget(g))
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) appGroup(w http.ResponseWriter, r *http.Request, aid, gid string, now time.Time) {
	kind := edgeKind(r, "assign_app_group", "unassign_app_group")
	a, g := s.apps[aid], s.groups[gid]
	if a == nil || g == nil {
		s.refuseMissing(w, Action{Method: r.Method, Kind: kind, Group: gid, App: aid}, a != nil, aid+" (AppInstance)", gid+" (UserGroup)")
		return
	}
	if r.Method == http.MethodPut {
		s.recordAction(Action{Method: r.Method, Kind: kind, Group: gid, App: aid, Status: 200})
		setAdd(s.appGroups, aid, gid)
		s.emit("group.application_assignment.add", now, groupTarget(g), appTarget(a))
		s.writeJSON(w, 200, appGroupJSON(s.URL, aid, gid))
		return
	}
	s.recordAction(Action{Method: r.Method, Kind: kind, Group: gid, App: aid, Status: 204})
	delete(s.appGroups[aid], gid)
	s.emit("group.application_assignment.remove", now, groupTarget(g), appTarget(a))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) appUser(w http.ResponseWriter, r *http.Request, aid, uid string, now time.Time) {
	kind := edgeKind(r, "assign_app_user", "unassign_app_user")
	a, u := s.apps[aid], s.users[uid]
	if a == nil || u == nil {
		s.refuseMissing(w, Action{Method: r.Method, Kind: kind, User: uid, App: aid}, a != nil, aid+" (AppInstance)", uid+" (User)")
		return
	}
	appUser := Target{ID: "0ua" + uid[3:], Type: "AppUser", AlternateID: u.Login, DisplayName: u.FirstName + " " + u.LastName}
	if r.Method == http.MethodPost {
		s.recordAction(Action{Method: r.Method, Kind: kind, User: uid, App: aid, Status: 200})
		if s.appUsers[aid] == nil {
			s.appUsers[aid] = map[string]string{}
		}
		s.appUsers[aid][uid] = "USER"
		s.emit("application.user_membership.add", now, appUser, appTarget(a), s.userTarget(u))
		s.writeJSON(w, 200, appUserJSON(s.URL, aid, u, "USER"))
		return
	}
	s.recordAction(Action{Method: r.Method, Kind: kind, User: uid, App: aid, Status: 204})
	delete(s.appUsers[aid], uid)
	s.emit("application.user_membership.remove", now, appUser, appTarget(a), s.userTarget(u))
	w.WriteHeader(http.StatusNoContent)
}

// --- JSON shapes (as documented for the Management API) ---

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func userJSON(base string, u *User) map[string]any {
	profile := map[string]any{
		"firstName": u.FirstName, "lastName": u.LastName, "mobilePhone": nil, "secondEmail": nil,
		"login": u.Login, "email": u.Email,
	}
	if u.DisplayName != "" {
		profile["displayName"] = u.DisplayName
	}
	for k, v := range u.Attrs {
		profile[k] = v
	}
	var activated any
	if !u.Activated.IsZero() {
		activated = ts(u.Activated)
	}
	typ := u.TypeID
	if typ == "" {
		typ = "oty1example0000000001"
	}
	return map[string]any{
		"id": u.ID, "status": u.Status, "created": ts(u.Created), "activated": activated,
		"statusChanged": ts(u.LastUpdated), "lastLogin": nil, "lastUpdated": ts(u.LastUpdated),
		"passwordChanged": nil, "type": map[string]any{"id": typ},
		"profile":     profile,
		"credentials": map[string]any{"provider": map[string]any{"type": "OKTA", "name": "OKTA"}},
		"_links":      map[string]any{"self": map[string]any{"href": base + "/api/v1/users/" + u.ID}},
	}
}

func groupJSON(base string, g *Group) map[string]any {
	return map[string]any{
		"id": g.ID, "created": "2026-01-05T10:00:00.000Z", "lastUpdated": "2026-01-05T10:00:00.000Z",
		"lastMembershipUpdated": "2026-01-05T10:00:00.000Z", "objectClass": []string{"okta:user_group"},
		"type": g.Type, "profile": map[string]any{"name": g.Name, "description": g.Description},
		"_links": map[string]any{
			"self":  map[string]any{"href": base + "/api/v1/groups/" + g.ID},
			"users": map[string]any{"href": base + "/api/v1/groups/" + g.ID + "/users"},
			"apps":  map[string]any{"href": base + "/api/v1/groups/" + g.ID + "/apps"},
		},
	}
}

func appJSON(base string, a *App) map[string]any {
	return map[string]any{
		"id": a.ID, "name": a.Name, "label": a.Label, "status": a.Status,
		"created": "2026-01-05T10:00:00.000Z", "lastUpdated": "2026-01-05T10:00:00.000Z",
		"accessibility": map[string]any{"selfService": false, "errorRedirectUrl": nil, "loginRedirectUrl": nil},
		"visibility":    map[string]any{"autoSubmitToolbar": false, "hide": map[string]any{"iOS": false, "web": false}},
		"features":      []string{}, "signOnMode": "SAML_2_0",
		"credentials": map[string]any{"userNameTemplate": map[string]any{"template": "${source.login}", "type": "BUILT_IN"}},
		"settings":    map[string]any{"app": map[string]any{}},
		"_links": map[string]any{
			"self":   map[string]any{"href": base + "/api/v1/apps/" + a.ID},
			"users":  map[string]any{"href": base + "/api/v1/apps/" + a.ID + "/users"},
			"groups": map[string]any{"href": base + "/api/v1/apps/" + a.ID + "/groups"},
		},
	}
}

func appGroupJSON(base, appID, groupID string) map[string]any {
	return map[string]any{
		"id": groupID, "lastUpdated": "2026-01-05T10:00:00.000Z", "priority": 0, "profile": map[string]any{},
		"_links": map[string]any{
			"app":   map[string]any{"href": base + "/api/v1/apps/" + appID},
			"self":  map[string]any{"href": base + "/api/v1/apps/" + appID + "/groups/" + groupID},
			"group": map[string]any{"href": base + "/api/v1/groups/" + groupID},
		},
	}
}

func appUserJSON(base, appID string, u *User, scope string) map[string]any {
	return map[string]any{
		"id": u.ID, "externalId": nil, "created": ts(u.Created), "lastUpdated": ts(u.LastUpdated),
		"scope": scope, "status": "PROVISIONED", "statusChanged": ts(u.LastUpdated), "passwordChanged": nil,
		"syncState": "DISABLED", "credentials": map[string]any{"userName": u.Login}, "profile": map[string]any{},
		"_links": map[string]any{
			"app":  map[string]any{"href": base + "/api/v1/apps/" + appID},
			"user": map[string]any{"href": base + "/api/v1/users/" + u.ID},
		},
	}
}
