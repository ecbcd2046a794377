package sdk

import (
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/hookgate/hookgate/sdk/abi"
)

// hostErr builds the error for a negative host return code, fetching the
// host's message from the pending result.
func hostErr(op string, code int32) error {
	return &HostError{Op: op, Code: code, Message: fetchString(rawResultLen())}
}

// fetch copies the pending host result of n bytes into Go memory.
func fetch(n int32) []byte {
	if n <= 0 {
		return nil
	}
	buf := make([]byte, n)
	m := rawResultRead(buf)
	if m < 0 {
		return nil
	}
	return buf[:m]
}

// fetchString is fetch as a string, without a second copy.
func fetchString(n int32) string {
	b := fetch(n)
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// result turns a host return value into its result bytes or error.
func result(op string, n int32) ([]byte, error) {
	if n < 0 {
		return nil, hostErr(op, n)
	}
	return fetch(n), nil
}

// LookupConfig returns the plugin's config value for key (from its
// [[plugin]] config table, ${ENV} already expanded). Errors: ErrNotFound,
// ErrCapability (needs "config").
func LookupConfig(key string) (string, error) {
	n := rawConfigGet(key)
	if n < 0 {
		return "", hostErr("config_get", n)
	}
	return fetchString(n), nil
}

// Config returns the config value for key, or "" when it is unset or the
// plugin lacks the "config" capability (use LookupConfig to tell apart).
func Config(key string) string {
	v, _ := LookupConfig(key)
	return v
}

// Log levels understood by the host.
const (
	levelDebug = 0
	levelInfo  = 1
	levelWarn  = 2
	levelError = 3
)

// Logger writes to the gateway's structured log under the plugin's name;
// `hookgate plugin test` prints the lines. Logging is always allowed.
type Logger struct{}

// Log is the plugin's logger.
var Log Logger

func logf(level int32, format string, args []any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	rawLog(level, msg)
}

// Debug logs at debug level, formatting like fmt.Sprintf when args are given.
func (Logger) Debug(format string, args ...any) { logf(levelDebug, format, args) }

// Info logs at info level, formatting like fmt.Sprintf when args are given.
func (Logger) Info(format string, args ...any) { logf(levelInfo, format, args) }

// Warn logs at warn level, formatting like fmt.Sprintf when args are given.
func (Logger) Warn(format string, args ...any) { logf(levelWarn, format, args) }

// Error logs at error level, formatting like fmt.Sprintf when args are given.
func (Logger) Error(format string, args ...any) { logf(levelError, format, args) }

// KVStore is the plugin's private key/value store (capability "kv"), kept
// durably by the gateway under the plugin's name.
type KVStore struct{}

// KV is the plugin's key/value store.
var KV KVStore

// Get returns the value stored under key, or an error matching ErrNotFound.
func (KVStore) Get(key string) ([]byte, error) {
	b, err := result("kv_get", rawKVGet(key))
	if err == nil && b == nil {
		b = []byte{}
	}
	return b, err
}

// Set stores value under key; a positive ttl makes it expire after that long
// (rounded up to whole seconds), zero keeps it until deleted.
func (KVStore) Set(key string, value []byte, ttl time.Duration) error {
	_, err := result("kv_set", rawKVSet(key, value, ttlSeconds(ttl)))
	return err
}

// ttlSeconds rounds a positive ttl up to whole seconds (0: no expiry).
func ttlSeconds(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return int64((ttl + time.Second - 1) / time.Second)
}

// Incr adds delta to the decimal integer under key and returns the new
// value, atomically across every instance of the plugin (ABI 1.1): N
// concurrent Incr(key, 1) calls always add exactly N, which a Get then Set
// does not. A missing key counts as 0; the value is stored as decimal text
// (Get reads "42"). ttl applies when the key is created; an existing key
// keeps its expiry, so Incr with a ttl counts within a fixed window. A key
// holding anything else fails with ErrInvalid.
func (KVStore) Incr(key string, delta int64, ttl time.Duration) (int64, error) {
	n := rawKVIncr(key, delta, ttlSeconds(ttl))
	if n < 0 {
		return 0, hostErr("kv_incr", n)
	}
	b := fetch(n)
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("hookgate kv_incr: host answered %q: %w", b, err)
	}
	return v, nil
}

// CompareAndSet stores value under key only if the key currently holds
// old, atomically (ABI 1.1), and reports whether it stored. A missing key
// never matches (use SetIfAbsent). ttl is as for Set.
func (KVStore) CompareAndSet(key string, old, value []byte, ttl time.Duration) (bool, error) {
	return cas(key, 1, old, value, ttl)
}

// SetIfAbsent stores value under key only if the key is absent (never set,
// deleted or expired), atomically (ABI 1.1), and reports whether it stored.
func (KVStore) SetIfAbsent(key string, value []byte, ttl time.Duration) (bool, error) {
	return cas(key, 0, nil, value, ttl)
}

func cas(key string, expect int32, old, value []byte, ttl time.Duration) (bool, error) {
	n := rawKVCompareAndSet(key, expect, old, value, ttlSeconds(ttl))
	if n < 0 {
		return false, hostErr("kv_compare_and_set", n)
	}
	return n == 1, nil
}

// Delete removes key; deleting a missing key is not an error.
func (KVStore) Delete(key string) error {
	_, err := result("kv_delete", rawKVDelete(key))
	return err
}

// User is a user of the live identity state (mirrors Okta).
type User struct {
	ID          string `json:"id"`
	Login       string `json:"login"`
	Email       string `json:"email"`
	DisplayName string `json:"displayName"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	// Status is the Okta status (ACTIVE, SUSPENDED, DEPROVISIONED...), nil
	// until known.
	Status *string `json:"status"`
	// Groups are group ids; Apps are the ids of apps Okta logged an
	// app-user assignment for (direct, group- or rule-driven).
	Groups []string `json:"groups"`
	Apps   []string `json:"apps"`

	// Type is the Okta user type id; Created, Activated, StatusChanged and
	// LastUpdated are Okta's timestamps (RFC 3339). All "" until the
	// gateway has read the user from Okta (sync or lookup).
	Type          string `json:"type"`
	Created       string `json:"created"`
	Activated     string `json:"activated"`
	StatusChanged string `json:"statusChanged"`
	LastUpdated   string `json:"lastUpdated"`
	// Profile is every attribute of the user's Okta profile, base and
	// custom (department, title, employeeType, costCenter, manager, ...),
	// with typed accessors: Profile.String("department").
	Profile Profile `json:"profile"`
	// AdminRoles are the user's Okta admin role assignments.
	AdminRoles []AdminRole `json:"adminRoles"`
}

// AdminRole is an Okta admin role assignment: Type is SUPER_ADMIN,
// ORG_ADMIN, APP_ADMIN, USER_ADMIN, HELP_DESK_ADMIN, READ_ONLY_ADMIN, ...
// or CUSTOM, with Label naming the (custom) role.
type AdminRole struct {
	Type  string `json:"type"`
	Label string `json:"label"`
}

// IsSuperAdmin reports whether the user holds the SUPER_ADMIN role.
func (u *User) IsSuperAdmin() bool { return u.HasAdminRole("SUPER_ADMIN") }

// HasAdminRole reports whether the user holds an admin role of this type,
// or, for custom roles, with this label.
func (u *User) HasAdminRole(typeOrLabel string) bool {
	for _, r := range u.AdminRoles {
		if r.Type == typeOrLabel || (r.Type == "CUSTOM" && r.Label == typeOrLabel) {
			return true
		}
	}
	return false
}

// Group is a group of the live identity state.
type Group struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Members are user ids (nil in UserGroups results).
	Members []string `json:"members"`
	// Apps are assigned app ids (nil in UserGroups results).
	Apps []string `json:"apps"`
	// Type is OKTA_GROUP, APP_GROUP or BUILT_IN ("" until a sync; not in
	// UserGroups results).
	Type string `json:"type"`
	// Profile is the group's Okta profile (name, description and any
	// further attributes) from the last sync (nil in UserGroups results).
	Profile Profile `json:"profile"`
}

// Selectors for user_get (ABI.md).
const (
	byAny   = abi.UserByAny
	byID    = abi.UserByID
	byLogin = abi.UserByLogin
	byEmail = abi.UserByEmail
)

func getUser(by int32, ref string) (*User, error) {
	if !hostLacksFlatUser && !hostLacksFlatProfile {
		n := rawUserGet(by|userGetFlat|userGetProfile, ref)
		if n != codeInvalid {
			b, err := result("user_get", n)
			if err != nil {
				return nil, err
			}
			u, err := decodeFlatUser(b)
			if err != nil {
				return nil, fmt.Errorf("hookgate user_get: decode: %w", err)
			}
			return u, nil
		}
		hostLacksFlatProfile = true // a host before profiles: flat version 1 or JSON
	}
	if !hostLacksFlatUser {
		n := rawUserGet(by|userGetFlat, ref)
		if n != codeInvalid {
			b, err := result("user_get", n)
			if err != nil {
				return nil, err
			}
			u, err := decodeFlatUser(b)
			if err != nil {
				return nil, fmt.Errorf("hookgate user_get: decode: %w", err)
			}
			return u, nil
		}
		hostLacksFlatUser = true // an older host: the flag is an unknown selector
	}
	b, err := result("user_get", rawUserGet(by, ref))
	if err != nil {
		return nil, err
	}
	u, err := decodeUser(b)
	if err != nil {
		return nil, fmt.Errorf("hookgate user_get: decode: %w", err)
	}
	return u, nil
}

// LookupUser finds a user by id, login or email (an email with no match
// falls back to the login). Needs capability "identity"; a missing user is
// an error matching ErrNotFound.
func LookupUser(ref string) (*User, error) { return getUser(byAny, ref) }

// UserByID returns the user with this Okta id.
func UserByID(id string) (*User, error) { return getUser(byID, id) }

// UserByLogin returns the user with this login.
func UserByLogin(login string) (*User, error) { return getUser(byLogin, login) }

// UserByEmail returns the user with this email, falling back to the login.
func UserByEmail(email string) (*User, error) { return getUser(byEmail, email) }

// UserGroups returns the groups (id, name, description) the user (id, login
// or email) belongs to.
func UserGroups(userRef string) ([]Group, error) {
	b, err := result("user_groups", rawUserGroups(userRef))
	if err != nil {
		return nil, err
	}
	gs, err := decodeGroups(b)
	if err != nil {
		return nil, fmt.Errorf("hookgate user_groups: decode: %w", err)
	}
	return gs, nil
}

// LookupGroup returns a group by id or name.
func LookupGroup(ref string) (*Group, error) {
	b, err := result("group_get", rawGroupGet(ref))
	if err != nil {
		return nil, err
	}
	g, err := decodeGroup(b)
	if err != nil {
		return nil, fmt.Errorf("hookgate group_get: decode: %w", err)
	}
	return g, nil
}

// GroupMembers returns the users in the group (id or name).
func GroupMembers(groupRef string) ([]User, error) {
	b, err := result("group_members", rawGroupMembers(groupRef))
	if err != nil {
		return nil, err
	}
	us, err := decodeUsers(b)
	if err != nil {
		return nil, fmt.Errorf("hookgate group_members: decode: %w", err)
	}
	return us, nil
}

// IsMember reports whether the user (id, login or email) is in the group (id
// or name). Unknown users or groups are simply not members.
func IsMember(userRef, groupRef string) (bool, error) {
	n := rawIsMember(userRef, groupRef)
	if n < 0 {
		return false, hostErr("is_member", n)
	}
	return n == 1, nil
}

// HTTPRequest is an outbound request (capability "http"; the URL's host must
// be in the plugin's allowed_hosts).
type HTTPRequest struct {
	// Method defaults to GET.
	Method  string
	URL     string
	Headers map[string]string
	Body    []byte
}

// HTTPResponse is the answer to an HTTPRequest. Redirects within
// allowed_hosts are followed by the host.
type HTTPResponse struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// HTTPClient sends requests through the host.
type HTTPClient struct{}

// HTTP is the plugin's HTTP client.
var HTTP HTTPClient

// Do sends req and returns the response. Any status is a response, not an
// error; errors are ErrCapability, ErrDenied, ErrTooLarge, ErrTimeout or
// ErrUnavailable (connection failures).
func (HTTPClient) Do(req HTTPRequest) (*HTTPResponse, error) {
	if req.Method == "" {
		req.Method = "GET"
	}
	b, err := result("http_request", rawHTTPRequest(encodeHTTPRequest(req)))
	if err != nil {
		return nil, err
	}
	resp, err := decodeHTTPResponse(b)
	if err != nil {
		return nil, fmt.Errorf("hookgate http_request: decode: %w", err)
	}
	return resp, nil
}

// Get sends a GET with optional headers.
func (c HTTPClient) Get(url string, headers map[string]string) (*HTTPResponse, error) {
	return c.Do(HTTPRequest{Method: "GET", URL: url, Headers: headers})
}

// Post sends a POST of body with the given content type and optional headers.
func (c HTTPClient) Post(url, contentType string, body []byte, headers map[string]string) (*HTTPResponse, error) {
	h := make(map[string]string, len(headers)+1)
	for k, v := range headers {
		h[k] = v
	}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	return c.Do(HTTPRequest{Method: "POST", URL: url, Headers: h, Body: body})
}
