package abi

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

// TestFlatRequestRoundTrip: what the host encodes the guest decodes to the
// same request.
func TestFlatRequestRoundTrip(t *testing.T) {
	al := int64(3600)
	in := &HookRequest{
		Application:  &Application{AppID: "aws", InstanceID: "i", UserFriendlyLabel: "AWS ✓"},
		Permissions:  []Permission{{Label: "L", Value: "admin", Type: "PERMISSION", Source: "OKTA"}, {Value: "ro"}},
		TargetUser:   &TargetUser{Email: "a@example.com", GivenName: "A", FamilyName: "B"},
		AccessLength: &al, RequestComment: "why", RequestTaskURL: "https://t",
		CustomFields: json.RawMessage(` {"ticket":"T-1"} `),
	}
	got, cf, err := DecodeFlatRequest(AppendFlatRequest(nil, in))
	if err != nil {
		t.Fatal(err)
	}
	want := &Request{Application: *in.Application, Permissions: in.Permissions, TargetUser: *in.TargetUser,
		AccessLength: &al, RequestComment: "why", RequestTaskURL: "https://t"}
	if !reflect.DeepEqual(got, want) || cf != `{"ticket":"T-1"}` {
		t.Fatalf("got %+v %q\nwant %+v", got, cf, want)
	}
	in.CustomFields = json.RawMessage("null")
	if _, cf, err := DecodeFlatRequest(AppendFlatRequest(nil, in)); err != nil || cf != "" {
		t.Fatalf("null custom_fields: %q %v", cf, err)
	}
	b := AppendFlatRequest(nil, in)
	if _, _, err := DecodeFlatRequest(b[:len(b)-1]); err == nil {
		t.Fatal("truncated input decoded")
	}
}

func TestHookKinds(t *testing.T) {
	for _, k := range HookKinds {
		if !IsHookKind(k) {
			t.Errorf("%s not a hook kind", k)
		}
	}
	if IsHookKind(KindOktaEvent) || slices.Contains(HookKinds, KindOktaEvent) {
		t.Error("okta_event is not an inline hook kind")
	}
}
