package plugins

import (
	"encoding/binary"
	"sort"

	"github.com/hookgate/hookgate/store"
)

// The flat layout of an inline hook request (sdk/ABI.md, "Flat input"):
// version byte 1, then app_id, instance_id, user_friendly_label, email,
// given_name, family_name, request_comment, request_task_url as strings
// (u32 little-endian length, then the bytes), access_length as a presence
// byte and an i64, the permissions as a u32 count and four strings each
// (label, value, type, source), and custom_fields as a string holding the
// object's raw JSON ("" when null or absent). Guests that export
// hookgate_call_flat get this instead of the JSON document, and skip the
// JSON parsing that is most of a simple plugin's time in wasm.
const flatVersion = 1

// Input is one call's input.
type Input struct {
	// Raw is the JSON document (the Lumos request for the inline hook
	// kinds, the Okta LogEvent for KindOktaEvent). Always required: guests
	// without flat input get it.
	Raw []byte
	// Request, when set for an inline hook kind, is Raw already parsed by
	// the caller; the host passes it to guests that accept flat input. Its
	// CustomFields is ignored in favour of CustomFieldsJSON.
	Request *Request
	// CustomFieldsJSON is the raw JSON of the request's custom_fields
	// object, or nil when it is null or absent.
	CustomFieldsJSON []byte
}

func appendFlatString(dst []byte, s string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// appendFlat appends the flat layout of req to dst.
func appendFlat(dst []byte, req *Request, customFields []byte) []byte {
	dst = append(dst, flatVersion)
	for _, s := range [...]string{
		req.Application.AppID, req.Application.InstanceID, req.Application.UserFriendlyLabel,
		req.TargetUser.Email, req.TargetUser.GivenName, req.TargetUser.FamilyName,
		req.RequestComment, req.RequestTaskURL,
	} {
		dst = appendFlatString(dst, s)
	}
	var al int64
	if req.AccessLength != nil {
		dst, al = append(dst, 1), *req.AccessLength
	} else {
		dst = append(dst, 0)
	}
	dst = binary.LittleEndian.AppendUint64(dst, uint64(al))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(req.Permissions)))
	for _, p := range req.Permissions {
		dst = appendFlatString(dst, p.Label)
		dst = appendFlatString(dst, p.Value)
		dst = appendFlatString(dst, p.Type)
		dst = appendFlatString(dst, p.Source)
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(customFields)))
	return append(dst, customFields...)
}

// userGetFlat is the user_get selector flag asking for the flat user
// layout (ABI.md "Flat user records"): version byte 1, id, login, email,
// display_name, first_name, last_name as strings, a status presence byte
// and the status string, then groups and apps each as a u32 count and
// strings.
const userGetFlat = 0x100

// userGetProfile, with userGetFlat, asks for flat user layout version 2
// (ABI.md "Flat user records"): version 1's fields, then the user type and
// the four status timestamps as strings, the profile as a u32 count of
// (name string, type byte, raw JSON value string) and the admin roles as a
// u32 count of (type, label) strings.
const userGetProfile = 0x200

// flatUserResults and flatProfileResults let tests play a host that
// predates the flags.
var (
	flatUserResults    = true
	flatProfileResults = true
)

// profileTypeCodes are the type bytes of flat profile attributes.
var profileTypeCodes = map[string]byte{
	"string": 's', "number": 'n', "integer": 'i', "boolean": 'b', "array": 'a', "object": 'o',
}

// appendFlatUserV2 appends flat layout version 2 of a user record.
func appendFlatUserV2(dst []byte, u *store.User) []byte {
	start := len(dst)
	dst = appendFlatUser(dst, u)
	dst[start] = 2
	for _, s := range [...]string{u.Type, u.Created, u.Activated, u.StatusChanged, u.LastUpdated} {
		dst = appendFlatString(dst, s)
	}
	names := make([]string, 0, len(u.Profile))
	for k := range u.Profile {
		names = append(names, k)
	}
	sort.Strings(names)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(names)))
	for _, k := range names {
		dst = appendFlatString(dst, k)
		t := profileTypeCodes[u.ProfileTypes[k]]
		if t == 0 {
			t = profileTypeCodes[store.JSONType(u.Profile[k])]
		}
		dst = append(dst, t)
		dst = appendFlatString(dst, string(u.Profile[k]))
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(u.AdminRoles)))
	for _, r := range u.AdminRoles {
		dst = appendFlatString(dst, r.Type)
		dst = appendFlatString(dst, r.Label)
	}
	return dst
}

// appendFlatUser appends the flat layout of a user record.
func appendFlatUser(dst []byte, u *store.User) []byte {
	dst = append(dst, flatVersion)
	for _, s := range [...]string{u.ID, u.Login, u.Email, u.DisplayName, u.FirstName, u.LastName} {
		dst = appendFlatString(dst, s)
	}
	if u.Status != nil {
		dst = appendFlatString(append(dst, 1), *u.Status)
	} else {
		dst = appendFlatString(append(dst, 0), "")
	}
	for _, list := range [...][]string{u.Groups, u.Apps} {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(list)))
		for _, s := range list {
			dst = appendFlatString(dst, s)
		}
	}
	return dst
}
