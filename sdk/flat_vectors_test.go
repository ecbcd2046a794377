package sdk

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// goldenVectors reads testdata/flat_vectors.json (shared with the host's
// and the AssemblyScript sdk's tests).
func goldenVectors(t *testing.T) (reqs []struct {
	Name string          `json:"name"`
	Hex  string          `json:"hex"`
	Want json.RawMessage `json:"want"`
}, users []struct {
	Name string `json:"name"`
	Hex  string `json:"hex"`
	Want User   `json:"want"`
}) {
	t.Helper()
	raw, err := os.ReadFile("testdata/flat_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Requests []struct {
			Name string          `json:"name"`
			Hex  string          `json:"hex"`
			Want json.RawMessage `json:"want"`
		} `json:"requests"`
		Users []struct {
			Name string `json:"name"`
			Hex  string `json:"hex"`
			Want User   `json:"want"`
		} `json:"users"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Requests) == 0 || len(v.Users) == 0 {
		t.Fatal("no vectors")
	}
	return v.Requests, v.Users
}

// TestFlatGoldenVectors: the Go sdk decodes every golden vector to its
// expected fields, and ABI.md quotes every vector's bytes.
func TestFlatGoldenVectors(t *testing.T) {
	reqs, users := goldenVectors(t)
	abi, err := os.ReadFile("ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(abi)), "")
	for _, c := range reqs {
		b, err := hex.DecodeString(c.Hex)
		if err != nil {
			t.Fatal(err)
		}
		req, err := decodeFlatRequest(b)
		if err != nil {
			t.Fatalf("request %q: %v", c.Name, err)
		}
		var want struct {
			AppID, InstanceID, Label, Email, Given, Family, Comment, TaskURL string
			AccessLength                                                     *int64
			Permissions                                                      []Permission
			CustomFields                                                     string
		}
		var w map[string]json.RawMessage
		_ = json.Unmarshal(c.Want, &w)
		for k, dst := range map[string]any{"app_id": &want.AppID, "instance_id": &want.InstanceID, "user_friendly_label": &want.Label,
			"email": &want.Email, "given_name": &want.Given, "family_name": &want.Family, "request_comment": &want.Comment,
			"request_task_url": &want.TaskURL, "access_length": &want.AccessLength, "permissions": &want.Permissions, "custom_fields": &want.CustomFields} {
			if err := json.Unmarshal(w[k], dst); err != nil {
				t.Fatalf("vector %q field %s: %v", c.Name, k, err)
			}
		}
		wantReq := &Request{
			Application:    Application{AppID: want.AppID, InstanceID: want.InstanceID, UserFriendlyLabel: want.Label},
			TargetUser:     TargetUser{Email: want.Email, GivenName: want.Given, FamilyName: want.Family},
			AccessLength:   want.AccessLength,
			RequestComment: want.Comment, RequestTaskURL: want.TaskURL,
			Permissions: want.Permissions,
		}
		if want.CustomFields != "" {
			if err := json.Unmarshal([]byte(want.CustomFields), &wantReq.CustomFields); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(req, wantReq) {
			t.Errorf("request %q:\n got %+v\nwant %+v", c.Name, req, wantReq)
		}
		if !strings.Contains(doc, c.Hex) {
			t.Errorf("ABI.md does not quote request vector %q", c.Name)
		}
	}
	for _, c := range users {
		b, err := hex.DecodeString(c.Hex)
		if err != nil {
			t.Fatal(err)
		}
		u, err := decodeFlatUser(b)
		if err != nil {
			t.Fatalf("user %q: %v", c.Name, err)
		}
		if !reflect.DeepEqual(u, &c.Want) {
			t.Errorf("user %q:\n got %+v\nwant %+v", c.Name, u, c.Want)
		}
		if !strings.Contains(doc, c.Hex) {
			t.Errorf("ABI.md does not quote user vector %q", c.Name)
		}
	}
}

// TestFlatGoldenVectorsV2: the Go sdk decodes each flat user record
// version 2 to the vector's fields, attributes as the host's compact JSON
// text with their types, and ABI.md quotes the bytes.
func TestFlatGoldenVectorsV2(t *testing.T) {
	raw, err := os.ReadFile("testdata/flat_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		UsersV2 []struct {
			Name string `json:"name"`
			Hex  string `json:"hex"`
			Want struct {
				User
				Profile      map[string]json.RawMessage `json:"profile"`
				ProfileTypes map[string]string          `json:"profileTypes"`
			} `json:"want"`
		} `json:"users_v2"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	abi, err := os.ReadFile("ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(abi)), "")
	if len(v.UsersV2) == 0 {
		t.Fatal("no vectors")
	}
	for _, c := range v.UsersV2 {
		b, err := hex.DecodeString(c.Hex)
		if err != nil {
			t.Fatal(err)
		}
		u, err := decodeFlatUser(b)
		if err != nil {
			t.Fatalf("user %q: %v", c.Name, err)
		}
		want := c.Want.User
		want.Profile = Profile{}
		for k, raw := range c.Want.Profile {
			var buf bytes.Buffer
			_ = json.Compact(&buf, raw)
			want.Profile[k] = Attr{Type: c.Want.ProfileTypes[k], JSON: buf.String()}
		}
		if !reflect.DeepEqual(u, &want) {
			t.Errorf("user %q:\n got %+v\nwant %+v", c.Name, u, want)
		}
		if !strings.Contains(doc, c.Hex) {
			t.Errorf("ABI.md does not quote user v2 vector %q", c.Name)
		}
	}
}
