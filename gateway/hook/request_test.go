package hook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const lumosFixtures = "../../../shared/fixtures/lumos"

// lumosBodies reads the five Lumos fixtures, by file name.
func lumosBodies(t testing.TB) map[string][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(lumosFixtures, "*.json"))
	if len(files) != 5 {
		t.Fatalf("found %d Lumos fixtures in %s, want 5", len(files), lumosFixtures)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}

func TestParseHookRequestFixtures(t *testing.T) {
	for f, b := range lumosBodies(t) {
		r, err := ParseHookRequest(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if r.Application.AppID != "aws" || len(r.Permissions) != 1 || r.TargetUser.Email == "" {
			t.Fatalf("%s: parsed %+v", f, r)
		}
	}
}

func TestParseHookRequestNamesTheBadField(t *testing.T) {
	const ok = `"application":{"app_id":"aws"},"permissions":[{"value":"p"}],"target_user":{"email":"a@example.com"}`
	cases := []struct{ body, field, reason string }{
		{``, "", "empty body"},
		{`[1]`, "", "JSON object"},
		{`{"application":`, "", "not valid JSON"},
		{`{"permissions":[],"target_user":{"email":"a@b"}}`, "application", "required"},
		{`{"application":{},"permissions":[],"target_user":{"email":"a@b"}}`, "application.app_id", "required"},
		{`{"application":{"app_id":7},"permissions":[],"target_user":{"email":"a@b"}}`, "application.app_id", "want a string"},
		{`{"application":"aws","permissions":[],"target_user":{"email":"a@b"}}`, "application", "want an object"},
		{`{"application":{"app_id":"aws"},"target_user":{"email":"a@b"}}`, "permissions", "required"},
		{`{"application":{"app_id":"aws"},"permissions":{},"target_user":{"email":"a@b"}}`, "permissions", "want an array"},
		{`{"application":{"app_id":"aws"},"permissions":["x"],"target_user":{"email":"a@b"}}`, "permissions", "want an object"},
		{`{"application":{"app_id":"aws"},"permissions":[{"value":"a"},{"label":"b"}],"target_user":{"email":"a@b"}}`, "permissions[1].value", "required"},
		{`{"application":{"app_id":"aws"},"permissions":[{"value":3}],"target_user":{"email":"a@b"}}`, "permissions[0].value", "want a string"},
		{`{"application":{"app_id":"aws"},"permissions":[]}`, "target_user", "required"},
		{`{"application":{"app_id":"aws"},"permissions":[],"target_user":{}}`, "target_user.email", "required"},
		{`{"application":{"app_id":"aws"},"permissions":[],"target_user":{"email":"bob"}}`, "target_user.email", "not an email"},
		{`{` + ok + `,"access_length":-1}`, "access_length", "0..315360000 seconds"},
		{`{` + ok + `,"access_length":315360001}`, "access_length", "0..315360000 seconds"},
		{`{` + ok + `,"access_length":9223372037}`, "access_length", "0..315360000 seconds"},
		{`{` + ok + `,"access_length":9223372036854775807}`, "access_length", "0..315360000 seconds"},
		{`{` + ok + `,"access_length":9223372036854775808}`, "access_length", "non-negative integer"},
		{`{` + ok + `,"access_length":1.5}`, "access_length", "non-negative integer"},
		{`{` + ok + `,"access_length":"3600"}`, "access_length", "non-negative integer"},
		{`{` + ok + `,"custom_fields":[1]}`, "custom_fields", "object or null"},
	}
	for _, c := range cases {
		_, err := ParseHookRequest([]byte(c.body))
		var be *BadRequestError
		if !errors.As(err, &be) || !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: got %v, want a BadRequestError", c.body, err)
			continue
		}
		if be.Field != c.field || !strings.Contains(be.Reason, c.reason) {
			t.Errorf("%s: got field %q reason %q, want field %q reason containing %q", c.body, be.Field, be.Reason, c.field, c.reason)
		}
	}
	for _, good := range []string{
		`{` + ok + `}`,
		`{` + ok + `,"access_length":null,"custom_fields":null}`,
		`{` + ok + `,"access_length":0,"custom_fields":{"a":1},"extra":true}`,
		`{` + ok + `,"access_length":315360000}`,
		`{"application":{"app_id":"aws"},"permissions":[],"target_user":{"email":"a@b"}}`,
	} {
		if _, err := ParseHookRequest([]byte(good)); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
}
