package plugins

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/hookgate/hookgate/sdk/abi"
	"github.com/hookgate/hookgate/store"
)

// flatVectors is sdk/testdata/flat_vectors.json: the golden flat layouts
// (ABI.md, "Test vectors") every implementation checks.
type flatVectors struct {
	Requests []struct {
		Name string `json:"name"`
		Hex  string `json:"hex"`
		Want struct {
			AppID             string       `json:"app_id"`
			InstanceID        string       `json:"instance_id"`
			UserFriendlyLabel string       `json:"user_friendly_label"`
			Email             string       `json:"email"`
			GivenName         string       `json:"given_name"`
			FamilyName        string       `json:"family_name"`
			RequestComment    string       `json:"request_comment"`
			RequestTaskURL    string       `json:"request_task_url"`
			AccessLength      *int64       `json:"access_length"`
			Permissions       []Permission `json:"permissions"`
			CustomFields      string       `json:"custom_fields"`
		} `json:"want"`
	} `json:"requests"`
	Users []struct {
		Name string     `json:"name"`
		Hex  string     `json:"hex"`
		Want store.User `json:"want"`
	} `json:"users"`
	UsersV2 []struct {
		Name string     `json:"name"`
		Hex  string     `json:"hex"`
		Want store.User `json:"want"`
	} `json:"users_v2"`
}

// TestFlatGoldenVectors: the host encodes each vector's fields to exactly
// its golden bytes (HOOKGATE_PRINT_VECTORS=1 prints them, to write new
// vectors).
func TestFlatGoldenVectors(t *testing.T) {
	raw, err := os.ReadFile("../sdk/testdata/flat_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v flatVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Requests) == 0 || len(v.Users) == 0 {
		t.Fatal("no vectors")
	}
	print := os.Getenv("HOOKGATE_PRINT_VECTORS") != ""
	for _, c := range v.Requests {
		w := c.Want
		req := &abi.HookRequest{
			Application:    &abi.Application{AppID: w.AppID, InstanceID: w.InstanceID, UserFriendlyLabel: w.UserFriendlyLabel},
			TargetUser:     &abi.TargetUser{Email: w.Email, GivenName: w.GivenName, FamilyName: w.FamilyName},
			AccessLength:   w.AccessLength,
			RequestComment: w.RequestComment, RequestTaskURL: w.RequestTaskURL,
			Permissions: w.Permissions, CustomFields: json.RawMessage(w.CustomFields),
		}
		got := hex.EncodeToString(abi.AppendFlatRequest(nil, req))
		if print {
			t.Logf("request %q: %s", c.Name, got)
		}
		if got != c.Hex {
			t.Errorf("request %q: host encodes\n%s\nwant\n%s", c.Name, got, c.Hex)
		}
	}
	for _, c := range v.Users {
		u := c.Want
		got := hex.EncodeToString(appendFlatUser(nil, &u))
		if print {
			t.Logf("user %q: %s", c.Name, got)
		}
		if got != c.Hex {
			t.Errorf("user %q: host encodes\n%s\nwant\n%s", c.Name, got, c.Hex)
		}
	}
	if len(v.UsersV2) == 0 {
		t.Fatal("no version 2 user vectors")
	}
	for _, c := range v.UsersV2 {
		u := c.Want
		for k, raw := range u.Profile { // the store keeps values compact
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				t.Fatal(err)
			}
			u.Profile[k] = b.Bytes()
		}
		got := hex.EncodeToString(appendFlatUserV2(nil, &u))
		if print {
			t.Logf("user v2 %q: %s", c.Name, got)
		}
		if got != c.Hex {
			t.Errorf("user v2 %q: host encodes\n%s\nwant\n%s", c.Name, got, c.Hex)
		}
	}
}
