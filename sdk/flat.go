package sdk

import (
	"errors"
	"strconv"
)

// The flat request (sdk/ABI.md, "Flat input"): the host passes an inline
// hook request it has already parsed as length-prefixed fields, so the
// guest reads it with a few slice operations instead of parsing JSON,
// which is the larger part of a simple plugin's time in wasm.

// flatVersion is the layout version the first byte carries.
const flatVersion = 1

// flatReader reads the flat layout from one string (a single copy of the
// host's buffer, so decoded strings stay valid after the call).
type flatReader struct {
	b   string
	i   int
	err error
}

func (r *flatReader) fail(what string) {
	if r.err == nil {
		r.err = errors.New("flat input: " + what + " at offset " + strconv.Itoa(r.i))
	}
	r.i = len(r.b)
}

func (r *flatReader) u8() byte {
	if r.i >= len(r.b) {
		r.fail("truncated")
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

func (r *flatReader) u32() uint32 {
	if len(r.b)-r.i < 4 {
		r.fail("truncated")
		return 0
	}
	b := r.b[r.i : r.i+4]
	r.i += 4
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func (r *flatReader) i64() int64 {
	if len(r.b)-r.i < 8 {
		r.fail("truncated")
		return 0
	}
	lo, hi := r.u32(), r.u32()
	return int64(uint64(lo) | uint64(hi)<<32)
}

func (r *flatReader) str() string {
	n := int(r.u32())
	if n > len(r.b)-r.i {
		r.fail("string longer than the input")
		return ""
	}
	s := r.b[r.i : r.i+n]
	r.i += n
	return s
}

// decodeFlatRequest decodes the flat layout of a Request.
func decodeFlatRequest(b []byte) (*Request, error) {
	r := &flatReader{b: string(b)}
	if v := r.u8(); v != flatVersion && r.err == nil {
		return nil, errors.New("flat input: layout version " + strconv.Itoa(int(v)) + ", this sdk reads version 1")
	}
	box := &requestBox{}
	req := &box.req
	req.Application.AppID = r.str()
	req.Application.InstanceID = r.str()
	req.Application.UserFriendlyLabel = r.str()
	req.TargetUser.Email = r.str()
	req.TargetUser.GivenName = r.str()
	req.TargetUser.FamilyName = r.str()
	req.RequestComment = r.str()
	req.RequestTaskURL = r.str()
	if has := r.u8(); has != 0 {
		box.accessLength = r.i64()
		req.AccessLength = &box.accessLength
	} else {
		r.i64()
	}
	n := r.u32()
	if uint64(n) > uint64(len(r.b)-r.i)/16 { // each permission is at least 16 bytes
		r.fail("permission count larger than the input")
	}
	if r.err == nil {
		req.Permissions = make([]Permission, n)
		for i := range req.Permissions {
			p := &req.Permissions[i]
			p.Label, p.Value, p.Type, p.Source = r.str(), r.str(), r.str(), r.str()
		}
	}
	if cf := r.str(); cf != "" && r.err == nil {
		jr := &jreader{b: cf}
		req.CustomFields = map[string]any{}
		jr.object(func(k string) { req.CustomFields[k] = jr.any() })
		if err := jr.end(); err != nil {
			return nil, errors.New("flat input: custom_fields: " + err.Error())
		}
	}
	if r.err == nil && r.i != len(r.b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, r.err
	}
	return req, nil
}

// userGetFlat is user_get's flag for a flat result (ABI.md "Flat user
// records"); hosts before it answer codeInvalid, and the sdk then asks for
// JSON from then on.
const userGetFlat = 0x100

// userGetProfile, with userGetFlat, asks for flat layout version 2 (the
// profile, type, timestamps and admin roles too).
const userGetProfile = 0x200

// hostLacksFlatUser is set once the host refused userGetFlat,
// hostLacksFlatProfile once it refused userGetProfile.
var hostLacksFlatUser, hostLacksFlatProfile bool

// decodeFlatUser decodes the flat layout of a user record.
func decodeFlatUser(b []byte) (*User, error) {
	r := &flatReader{b: string(b)}
	v := r.u8()
	if v != flatVersion && v != 2 && r.err == nil {
		return nil, errors.New("flat user: layout version " + strconv.Itoa(int(v)) + ", this sdk reads versions 1 and 2")
	}
	u := &userBox{}
	u.u.ID, u.u.Login, u.u.Email = r.str(), r.str(), r.str()
	u.u.DisplayName, u.u.FirstName, u.u.LastName = r.str(), r.str(), r.str()
	if has := r.u8(); has != 0 {
		u.status = r.str()
		u.u.Status = &u.status
	} else {
		r.str()
	}
	u.u.Groups = r.strs()
	u.u.Apps = r.strs()
	if v == 2 {
		u.u.Type, u.u.Created, u.u.Activated = r.str(), r.str(), r.str()
		u.u.StatusChanged, u.u.LastUpdated = r.str(), r.str()
		n := r.u32()
		if uint64(n) > uint64(len(r.b)-r.i)/9 { // name and value lengths and the type byte
			r.fail("attribute count larger than the input")
		}
		if r.err == nil {
			u.u.Profile = make(Profile, n)
			for i := uint32(0); i < n && r.err == nil; i++ {
				name := r.str()
				t := r.u8()
				u.u.Profile[name] = Attr{Type: attrTypeName(t), JSON: r.str()}
			}
		}
		n = r.u32()
		if uint64(n) > uint64(len(r.b)-r.i)/8 {
			r.fail("role count larger than the input")
		}
		if r.err == nil {
			u.u.AdminRoles = make([]AdminRole, n)
			for i := range u.u.AdminRoles {
				u.u.AdminRoles[i] = AdminRole{Type: r.str(), Label: r.str()}
			}
		}
	}
	if r.err == nil && r.i != len(r.b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, r.err
	}
	return &u.u, nil
}

// userBox allocates a User and its Status together.
type userBox struct {
	u      User
	status string
}

// strs reads a u32 count and that many strings (never nil).
func (r *flatReader) strs() []string {
	n := r.u32()
	if uint64(n) > uint64(len(r.b)-r.i)/4 { // each string is at least 4 bytes
		r.fail("list count larger than the input")
		return []string{}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}
