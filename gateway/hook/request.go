package hook

// Parsing and validation of the inline access hook body (the Lumos request,
// the same for all four kinds). The plugin receives the body exactly as
// sent; the gateway parses it only to validate, route and audit.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/hookgate/hookgate/sdk/abi"
)

// utf8BOM is the byte order mark some HTTP clients put before a JSON body.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// TrimBOM drops a leading UTF-8 byte order mark. RFC 8259 lets a JSON
// parser ignore one; encoding/json does not, and would answer a body a
// client wrote through a BOM-adding encoder with a puzzling "invalid
// character 'ï'". Both the Okta and the inline hook handlers call it before
// parsing (the plugin then gets the body without it).
func TrimBOM(b []byte) []byte {
	return bytes.TrimPrefix(b, utf8BOM)
}

// HookRequest is the inline hook body as the gateway parses it, once: the
// ABI's own type (sdk/abi), handed to the plugin (flat input) and to grant
// recording as is.
type HookRequest = abi.HookRequest

// HookApplication is the request's application object.
type HookApplication = abi.Application

// HookPermission is one requested permission.
type HookPermission = abi.Permission

// HookTargetUser is the user access is requested for.
type HookTargetUser = abi.TargetUser

// BadRequestError is a hook body that does not parse or validate. Field
// names the offending JSON field ("application.app_id",
// "permissions[1].value"); it is "" for a body that is not JSON at all.
// It is also an ErrBadRequest.
type BadRequestError struct {
	Field  string
	Reason string
}

func (e *BadRequestError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Is makes errors.Is(err, ErrBadRequest) true.
func (e *BadRequestError) Is(target error) bool { return target == ErrBadRequest }

// MaxAccessLength is the longest access_length accepted, in seconds: 10
// years (365-day years). Anything longer is refused with a 400 naming the
// field, so a grant's expiry never overflows time.Duration (whose range
// ends near 292 years).
const MaxAccessLength = 10 * 365 * 24 * 3600

// ParseHookRequest decodes and validates an inline hook body. Unknown
// fields are ignored (the caller may add some); the fields the gateway and
// plugins rely on are checked:
//
//   - application: object, with a non-empty string app_id
//   - permissions: array (may be empty) of objects with a non-empty string value
//   - target_user: object, with a non-empty email containing "@"
//   - access_length: null, absent or an integer 0..MaxAccessLength seconds
//   - custom_fields: null, absent or an object
func ParseHookRequest(raw []byte) (*HookRequest, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, &BadRequestError{Reason: "empty body: want a JSON object"}
	}
	if trimmed[0] != '{' {
		return nil, &BadRequestError{Reason: "body must be a JSON object"}
	}
	r, ok := parseHookFast(trimmed) // request_fast.go: same result, a fraction of the cost
	if !ok {
		r = new(HookRequest)
		if err := json.Unmarshal(trimmed, r); err != nil {
			return nil, withPermissionIndex(trimmed, decodeError(err))
		}
	}
	switch {
	case r.Application == nil:
		return nil, &BadRequestError{"application", "required (an object with app_id)"}
	case r.Application.AppID == "":
		return nil, &BadRequestError{"application.app_id", "required (a non-empty string)"}
	case r.Permissions == nil:
		return nil, &BadRequestError{"permissions", "required (an array of objects with a value)"}
	case r.TargetUser == nil:
		return nil, &BadRequestError{"target_user", "required (an object with email)"}
	case r.TargetUser.Email == "":
		return nil, &BadRequestError{"target_user.email", "required (a non-empty string)"}
	case !strings.Contains(r.TargetUser.Email, "@"):
		return nil, &BadRequestError{"target_user.email", fmt.Sprintf("%q is not an email address", r.TargetUser.Email)}
	case r.AccessLength != nil && (*r.AccessLength < 0 || *r.AccessLength > MaxAccessLength):
		return nil, &BadRequestError{"access_length", fmt.Sprintf("must be null or 0..%d seconds (10 years), got %d", MaxAccessLength, *r.AccessLength)}
	}
	for i, p := range r.Permissions {
		if p.Value == "" {
			return nil, &BadRequestError{fmt.Sprintf("permissions[%d].value", i), "required (a non-empty string)"}
		}
	}
	if len(r.CustomFields) > 0 && r.CustomFields[0] != '{' && string(r.CustomFields) != "null" {
		return nil, &BadRequestError{"custom_fields", "must be an object or null"}
	}
	return r, nil
}

// decodeError turns an encoding/json error into a BadRequestError naming
// the field.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		// encoding/json names array elements' fields without the index
		// ("permissions.value"); say so in the conventional form.
		field = strings.Replace(field, "permissions.", "permissions[].", 1)
		want := jsonTypeName(te.Type)
		if field == "access_length" {
			want = "null or a non-negative integer (seconds)"
		}
		return &BadRequestError{field, fmt.Sprintf("got JSON %s, want %s", te.Value, want)}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &BadRequestError{Reason: fmt.Sprintf("body is not valid JSON at byte %d: %v", se.Offset, se)}
	}
	return &BadRequestError{Reason: "body is not valid JSON: " + err.Error()}
}

// withPermissionIndex puts the index of the offending permission into a
// decode error that encoding/json reported as "permissions[].<field>", so
// the caller reads "permissions[2].value" as for the other checks.
func withPermissionIndex(raw []byte, err error) error {
	var be *BadRequestError
	if !errors.As(err, &be) || !strings.HasPrefix(be.Field, "permissions[].") {
		return err
	}
	var body struct {
		Permissions []json.RawMessage `json:"permissions"`
	}
	if json.Unmarshal(raw, &body) != nil {
		return err
	}
	for i, p := range body.Permissions {
		var hp HookPermission
		if json.Unmarshal(p, &hp) != nil {
			be.Field = strings.Replace(be.Field, "[]", fmt.Sprintf("[%d]", i), 1)
			return be
		}
	}
	return err
}

func jsonTypeName(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64:
		return "an integer"
	case reflect.Bool:
		return "a boolean"
	}
	return t.String()
}
