package abi

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// The flat layouts (ABI.md "Flat input", "Flat user records"): the host
// passes what it has already parsed as length-prefixed fields, so the guest
// reads it with a few slice operations instead of parsing JSON, which is
// the larger part of a simple plugin's time in wasm. A string is a u32
// little-endian length and the bytes (AppendFlatString, FlatReader.Str).
//
// Flat request (AppendFlatRequest, DecodeFlatRequest): version byte 1,
// app_id, instance_id, user_friendly_label, email, given_name,
// family_name, request_comment, request_task_url, access_length as a
// presence byte and an i64, the permissions as a u32 count and four
// strings each (label, value, type, source), and custom_fields as a
// string holding the object's raw JSON ("" when null or absent).
//
// Flat user, version 1: version byte, id, login, email, display_name,
// first_name, last_name, a status presence byte and the status string,
// then groups and apps each as a u32 count and strings. Version 2
// (UserGetProfile) goes on with the user type and the four status
// timestamps as strings, the profile as a u32 count of (name string, type
// byte, raw JSON value string) and the admin roles as a u32 count of
// (type, label) strings.

// Layout versions (the first byte).
const (
	FlatVersion      = 1
	FlatUserVersion2 = 2
)

// FlatProfileTypes are the type bytes of flat profile attributes, by the
// attribute type's name.
var FlatProfileTypes = map[string]byte{
	"string": 's', "number": 'n', "integer": 'i', "boolean": 'b', "array": 'a', "object": 'o',
}

// AppendFlatString appends s as a flat string.
func AppendFlatString(dst []byte, s string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// AppendFlatStrings appends a u32 count and the strings.
func AppendFlatStrings(dst []byte, list []string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(list)))
	for _, s := range list {
		dst = AppendFlatString(dst, s)
	}
	return dst
}

// AppendFlatRequest appends the flat layout of req to dst (its
// custom_fields as CustomFieldsObject gives them).
func AppendFlatRequest(dst []byte, req *HookRequest) []byte {
	dst = append(dst, FlatVersion)
	var app Application
	if req.Application != nil {
		app = *req.Application
	}
	var user TargetUser
	if req.TargetUser != nil {
		user = *req.TargetUser
	}
	for _, s := range [...]string{
		app.AppID, app.InstanceID, app.UserFriendlyLabel,
		user.Email, user.GivenName, user.FamilyName,
		req.RequestComment, req.RequestTaskURL,
	} {
		dst = AppendFlatString(dst, s)
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
		dst = AppendFlatString(dst, p.Label)
		dst = AppendFlatString(dst, p.Value)
		dst = AppendFlatString(dst, p.Type)
		dst = AppendFlatString(dst, p.Source)
	}
	cf := req.CustomFieldsObject()
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(cf)))
	return append(dst, cf...)
}

// FlatReader reads a flat layout from one string (a single copy of the
// host's buffer, so decoded strings stay valid after the call). The first
// failure sticks (Err) and makes every later read return zero values.
type FlatReader struct {
	b   string
	i   int
	err error
}

// NewFlatReader reads b (copied once).
func NewFlatReader(b []byte) *FlatReader { return &FlatReader{b: string(b)} }

// Err is the first failure, as "flat input: <what> at offset <n>".
func (r *FlatReader) Err() error { return r.err }

// Left is the number of unread bytes.
func (r *FlatReader) Left() int { return len(r.b) - r.i }

// Fail records what went wrong at the current offset and stops reading.
func (r *FlatReader) Fail(what string) {
	if r.err == nil {
		r.err = errors.New("flat input: " + what + " at offset " + strconv.Itoa(r.i))
	}
	r.i = len(r.b)
}

// End fails with "trailing bytes" unless everything was read.
func (r *FlatReader) End() error {
	if r.err == nil && r.i != len(r.b) {
		r.Fail("trailing bytes")
	}
	return r.err
}

// U8 reads a byte.
func (r *FlatReader) U8() byte {
	if r.i >= len(r.b) {
		r.Fail("truncated")
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

// U32 reads a little-endian u32.
func (r *FlatReader) U32() uint32 {
	if len(r.b)-r.i < 4 {
		r.Fail("truncated")
		return 0
	}
	b := r.b[r.i : r.i+4]
	r.i += 4
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// I64 reads a little-endian i64.
func (r *FlatReader) I64() int64 {
	if len(r.b)-r.i < 8 {
		r.Fail("truncated")
		return 0
	}
	lo, hi := r.U32(), r.U32()
	return int64(uint64(lo) | uint64(hi)<<32)
}

// Str reads a string.
func (r *FlatReader) Str() string {
	n := int(r.U32())
	if n > len(r.b)-r.i {
		r.Fail("string longer than the input")
		return ""
	}
	s := r.b[r.i : r.i+n]
	r.i += n
	return s
}

// Strs reads a u32 count and that many strings (never nil).
func (r *FlatReader) Strs() []string {
	n := r.U32()
	if uint64(n) > uint64(len(r.b)-r.i)/4 { // each string is at least 4 bytes
		r.Fail("list count larger than the input")
		return []string{}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.Str()
	}
	return out
}

// requestBox allocates a Request and its AccessLength together.
type requestBox struct {
	req          Request
	accessLength int64
}

// DecodeFlatRequest decodes the flat layout of a request. CustomFields is
// left nil; customFields is the object's raw JSON ("" when null or
// absent), for the caller's JSON decoder.
func DecodeFlatRequest(b []byte) (req *Request, customFields string, err error) {
	r := NewFlatReader(b)
	if v := r.U8(); v != FlatVersion && r.err == nil {
		return nil, "", errors.New("flat input: layout version " + strconv.Itoa(int(v)) + ", this sdk reads version 1")
	}
	box := &requestBox{}
	req = &box.req
	req.Application.AppID = r.Str()
	req.Application.InstanceID = r.Str()
	req.Application.UserFriendlyLabel = r.Str()
	req.TargetUser.Email = r.Str()
	req.TargetUser.GivenName = r.Str()
	req.TargetUser.FamilyName = r.Str()
	req.RequestComment = r.Str()
	req.RequestTaskURL = r.Str()
	if has := r.U8(); has != 0 {
		box.accessLength = r.I64()
		req.AccessLength = &box.accessLength
	} else {
		r.I64()
	}
	n := r.U32()
	if uint64(n) > uint64(r.Left())/16 { // each permission is at least 16 bytes
		r.Fail("permission count larger than the input")
	}
	if r.err == nil {
		req.Permissions = make([]Permission, n)
		for i := range req.Permissions {
			p := &req.Permissions[i]
			p.Label, p.Value, p.Type, p.Source = r.Str(), r.Str(), r.Str(), r.Str()
		}
	}
	customFields = r.Str()
	if err := r.End(); err != nil {
		return nil, "", err
	}
	return req, customFields, nil
}
