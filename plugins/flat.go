package plugins

import (
	"encoding/binary"
	"sort"

	"github.com/hookgate/hookgate/sdk/abi"
	"github.com/hookgate/hookgate/store"
)

// Input is one call's input.
type Input struct {
	// Raw is the JSON document (the Lumos request for the inline hook
	// kinds, the Okta LogEvent for KindOktaEvent). Always required: guests
	// without flat input get it.
	Raw []byte
	// Request, when set for an inline hook kind, is Raw as the caller
	// already parsed it (the gateway's one parse); the host passes it to
	// guests that accept flat input (abi.AppendFlatRequest), so nothing
	// parses the body twice.
	Request *abi.HookRequest
}

// Permission is one requested permission (abi.Permission).
type Permission = abi.Permission

func appendFlatString(dst []byte, s string) []byte { return abi.AppendFlatString(dst, s) }

// userGetFlat is the user_get selector flag asking for the flat user
// layout (ABI.md "Flat user records"): version byte 1, id, login, email,
// display_name, first_name, last_name as strings, a status presence byte
// and the status string, then groups and apps each as a u32 count and
// strings.
const userGetFlat = abi.UserGetFlat

// userGetProfile, with userGetFlat, asks for flat user layout version 2
// (ABI.md "Flat user records"): version 1's fields, then the user type and
// the four status timestamps as strings, the profile as a u32 count of
// (name string, type byte, raw JSON value string) and the admin roles as a
// u32 count of (type, label) strings.
const userGetProfile = abi.UserGetProfile

// flatUserResults and flatProfileResults let tests play a host that
// predates the flags.
var (
	flatUserResults    = true
	flatProfileResults = true
)

// profileTypeCodes are the type bytes of flat profile attributes.
var profileTypeCodes = abi.FlatProfileTypes

// appendFlatUserV2 appends flat layout version 2 of a user record.
func appendFlatUserV2(dst []byte, u *store.User) []byte {
	start := len(dst)
	dst = appendFlatUser(dst, u)
	dst[start] = abi.FlatUserVersion2
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
	dst = append(dst, abi.FlatVersion)
	for _, s := range [...]string{u.ID, u.Login, u.Email, u.DisplayName, u.FirstName, u.LastName} {
		dst = appendFlatString(dst, s)
	}
	if u.Status != nil {
		dst = appendFlatString(append(dst, 1), *u.Status)
	} else {
		dst = appendFlatString(append(dst, 0), "")
	}
	dst = abi.AppendFlatStrings(dst, u.Groups)
	return abi.AppendFlatStrings(dst, u.Apps)
}
