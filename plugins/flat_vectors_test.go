package plugins

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

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
		req := &Request{
			Application:    Application{AppID: w.AppID, InstanceID: w.InstanceID, UserFriendlyLabel: w.UserFriendlyLabel},
			TargetUser:     TargetUser{Email: w.Email, GivenName: w.GivenName, FamilyName: w.FamilyName},
			AccessLength:   w.AccessLength,
			RequestComment: w.RequestComment, RequestTaskURL: w.RequestTaskURL,
			Permissions: w.Permissions,
		}
		got := hex.EncodeToString(appendFlat(nil, req, []byte(w.CustomFields)))
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
}
