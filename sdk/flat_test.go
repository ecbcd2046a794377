package sdk

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// flat builds the flat layout (ABI.md "Flat input") independently of the
// host's encoder; plugins/flat_test.go checks the two agree through wasm.
func flat(strs []string, access *int64, perms [][4]string, custom string) []byte {
	b := []byte{1}
	str := func(s string) { b = binary.LittleEndian.AppendUint32(b, uint32(len(s))); b = append(b, s...) }
	for _, s := range strs {
		str(s)
	}
	if access != nil {
		b = append(b, 1)
		b = binary.LittleEndian.AppendUint64(b, uint64(*access))
	} else {
		b = append(b, 0)
		b = binary.LittleEndian.AppendUint64(b, 0)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(perms)))
	for _, p := range perms {
		for _, s := range p {
			str(s)
		}
	}
	str(custom)
	return b
}

func TestDecodeFlatRequest(t *testing.T) {
	al := int64(3600)
	in := flat([]string{"aws", "prod", "AWS", "a@example.com", "A", "B", "why", "https://t"}, &al,
		[][4]string{{"Admin", "admin", "PERMISSION", "OKTA"}, {"", "ro", "", ""}}, `{"ticket":"T-1","n":2}`)
	got, err := decodeFlatRequest(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &Request{
		Application:    Application{AppID: "aws", InstanceID: "prod", UserFriendlyLabel: "AWS"},
		TargetUser:     TargetUser{Email: "a@example.com", GivenName: "A", FamilyName: "B"},
		RequestComment: "why", RequestTaskURL: "https://t", AccessLength: &al,
		Permissions:  []Permission{{Label: "Admin", Value: "admin", Type: "PERMISSION", Source: "OKTA"}, {Value: "ro"}},
		CustomFields: map[string]any{"ticket": "T-1", "n": float64(2)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// Strings must not alias the input buffer, which the next call reuses.
	for i := range in {
		in[i] = 'X'
	}
	if got.TargetUser.Email != "a@example.com" {
		t.Fatalf("decoded strings alias the input: %q", got.TargetUser.Email)
	}

	empty := flat(make([]string, 8), nil, nil, "")
	if got, err := decodeFlatRequest(empty); err != nil || got.AccessLength != nil || len(got.Permissions) != 0 || got.CustomFields != nil {
		t.Fatalf("empty request: %+v, %v", got, err)
	}
}

func TestDecodeFlatRequestRefusesBadInput(t *testing.T) {
	good := flat(make([]string, 8), nil, nil, "")
	for name, c := range map[string]struct {
		in   []byte
		want string
	}{
		"empty":          {nil, "truncated"},
		"version":        {append([]byte{2}, good[1:]...), "layout version 2"},
		"truncated":      {good[:len(good)-1], "truncated"},
		"trailing":       {append(append([]byte(nil), good...), 0), "trailing bytes"},
		"long string":    {append([]byte{1, 0xff, 0xff, 0xff, 0x7f}, good[5:]...), "longer than the input"},
		"many perms":     {append(good[:len(good)-8:len(good)-8], 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0), "permission count"},
		"bad custom":     {flat(make([]string, 8), nil, nil, `{"a":`), "custom_fields"},
		"custom not obj": {flat(make([]string, 8), nil, nil, `[1]`), "custom_fields"},
	} {
		if _, err := decodeFlatRequest(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one containing %q", name, err, c.want)
		}
	}
}

// FuzzDecodeFlatRequest: arbitrary bytes never panic the decoder.
func FuzzDecodeFlatRequest(f *testing.F) {
	al := int64(5)
	f.Add(flat([]string{"a", "b", "c", "d", "e", "f", "g", "h"}, &al, [][4]string{{"1", "2", "3", "4"}}, `{"x":[1]}`))
	f.Add(flat(make([]string, 8), nil, nil, ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeFlatRequest(b)
	})
}

func flatUser(strs []string, status *string, groups, apps []string) []byte {
	b := []byte{1}
	str := func(s string) { b = binary.LittleEndian.AppendUint32(b, uint32(len(s))); b = append(b, s...) }
	for _, s := range strs {
		str(s)
	}
	if status != nil {
		b = append(b, 1)
		str(*status)
	} else {
		b = append(b, 0)
		str("")
	}
	for _, l := range [][]string{groups, apps} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(l)))
		for _, s := range l {
			str(s)
		}
	}
	return b
}

func TestDecodeFlatUser(t *testing.T) {
	active := "ACTIVE"
	got, err := decodeFlatUser(flatUser([]string{"00u1", "a@x", "a@x.com", "A X", "A", "X"}, &active, []string{"g1", "g2"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &User{ID: "00u1", Login: "a@x", Email: "a@x.com", DisplayName: "A X", FirstName: "A", LastName: "X",
		Status: &active, Groups: []string{"g1", "g2"}, Apps: []string{}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	stub, err := decodeFlatUser(flatUser(make([]string, 6), nil, nil, nil))
	if err != nil || stub.Status != nil || stub.Groups == nil || stub.Apps == nil {
		t.Fatalf("stub user: %+v, %v (status must be nil, lists empty not nil)", stub, err)
	}
	good := flatUser(make([]string, 6), nil, nil, nil)
	for name, in := range map[string][]byte{
		"version":   append([]byte{9}, good[1:]...),
		"truncated": good[:len(good)-2],
		"trailing":  append(append([]byte(nil), good...), 1),
		"count":     append(good[:len(good)-4:len(good)-4], 0xff, 0xff, 0xff, 0x0f),
	} {
		if _, err := decodeFlatUser(in); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// FuzzDecodeFlatUser: arbitrary bytes never panic the decoder.
func FuzzDecodeFlatUser(f *testing.F) {
	s := "ACTIVE"
	f.Add(flatUser([]string{"a", "b", "c", "d", "e", "f"}, &s, []string{"g"}, []string{"h"}))
	f.Fuzz(func(t *testing.T, b []byte) { decodeFlatUser(b) })
}
