package sdk

import (
	"errors"
	"strconv"

	"github.com/hookgate/hookgate/sdk/abi"
)

// The flat request (sdk/ABI.md, "Flat input"): the host passes an inline
// hook request it has already parsed as length-prefixed fields, so the
// guest reads it with a few slice operations instead of parsing JSON,
// which is the larger part of a simple plugin's time in wasm.

// decodeFlatRequest decodes the flat layout of a Request (abi.DecodeFlatRequest)
// and its custom_fields JSON.
func decodeFlatRequest(b []byte) (*Request, error) {
	req, cf, err := abi.DecodeFlatRequest(b)
	if err != nil {
		return nil, err
	}
	if cf != "" {
		jr := &jreader{b: cf}
		req.CustomFields = map[string]any{}
		jr.object(func(k string) { req.CustomFields[k] = jr.any() })
		if err := jr.end(); err != nil {
			return nil, errors.New("flat input: custom_fields: " + err.Error())
		}
	}
	return req, nil
}

// userGetFlat is user_get's flag for a flat result (ABI.md "Flat user
// records"); hosts before it answer codeInvalid, and the sdk then asks for
// JSON from then on.
const userGetFlat = abi.UserGetFlat

// userGetProfile, with userGetFlat, asks for flat layout version 2 (the
// profile, type, timestamps and admin roles too).
const userGetProfile = abi.UserGetProfile

// hostLacksFlatUser is set once the host refused userGetFlat,
// hostLacksFlatProfile once it refused userGetProfile.
var hostLacksFlatUser, hostLacksFlatProfile bool

// decodeFlatUser decodes the flat layout of a user record.
func decodeFlatUser(b []byte) (*User, error) {
	r := abi.NewFlatReader(b)
	v := r.U8()
	if v != abi.FlatVersion && v != abi.FlatUserVersion2 && r.Err() == nil {
		return nil, errors.New("flat user: layout version " + strconv.Itoa(int(v)) + ", this sdk reads versions 1 and 2")
	}
	u := &userBox{}
	u.u.ID, u.u.Login, u.u.Email = r.Str(), r.Str(), r.Str()
	u.u.DisplayName, u.u.FirstName, u.u.LastName = r.Str(), r.Str(), r.Str()
	if has := r.U8(); has != 0 {
		u.status = r.Str()
		u.u.Status = &u.status
	} else {
		r.Str()
	}
	u.u.Groups = r.Strs()
	u.u.Apps = r.Strs()
	if v == 2 {
		u.u.Type, u.u.Created, u.u.Activated = r.Str(), r.Str(), r.Str()
		u.u.StatusChanged, u.u.LastUpdated = r.Str(), r.Str()
		n := r.U32()
		if uint64(n) > uint64(r.Left())/9 { // name and value lengths and the type byte
			r.Fail("attribute count larger than the input")
		}
		if r.Err() == nil {
			u.u.Profile = make(Profile, n)
			for i := uint32(0); i < n && r.Err() == nil; i++ {
				name := r.Str()
				t := r.U8()
				u.u.Profile[name] = Attr{Type: attrTypeName(t), JSON: r.Str()}
			}
		}
		n = r.U32()
		if uint64(n) > uint64(r.Left())/8 {
			r.Fail("role count larger than the input")
		}
		if r.Err() == nil {
			u.u.AdminRoles = make([]AdminRole, n)
			for i := range u.u.AdminRoles {
				u.u.AdminRoles[i] = AdminRole{Type: r.Str(), Label: r.Str()}
			}
		}
	}
	if err := r.End(); err != nil {
		return nil, err
	}
	return &u.u, nil
}

// userBox allocates a User and its Status together.
type userBox struct {
	u      User
	status string
}
