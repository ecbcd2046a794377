package sdk

import (
	"reflect"
	"testing"
)

func TestProfileAccessors(t *testing.T) {
	u, err := decodeUser([]byte(`{"id":"00u1","login":"a@x","profileTypes":{"clearance":"integer"},
		"profile":{"department":"R\u0026D","isContractor":true,"clearance":3,"ratio":-1.5e2,"projects":["atlas",7,"zeus"],
		"manager":{"id":"00um"},"nick":null,"login":"a@x"},
		"adminRoles":[{"type":"CUSTOM","label":"Help desk lite"},{"type":"SUPER_ADMIN","label":"Super Administrator"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p := u.Profile
	if p.String("department") != "R&D" || p.String("clearance") != "" || p.String("missing") != "" {
		t.Errorf("String: %q %q", p.String("department"), p.String("clearance"))
	}
	if !p.Bool("isContractor") || p.Bool("department") || p.Bool("missing") {
		t.Error("Bool")
	}
	if n, ok := p.Number("clearance"); !ok || n != 3 || p["clearance"].Type != "integer" {
		t.Errorf("Number clearance %v %v %q", n, ok, p["clearance"].Type)
	}
	if n, ok := p.Number("ratio"); !ok || n != -150 {
		t.Errorf("Number ratio %v %v", n, ok)
	}
	if _, ok := p.Number("department"); ok {
		t.Error("a string is a number")
	}
	if got := p.Strings("projects"); !reflect.DeepEqual(got, []string{"atlas", "zeus"}) {
		t.Errorf("Strings %v", got)
	}
	if got := p.Strings("department"); !reflect.DeepEqual(got, []string{"R&D"}) {
		t.Errorf("Strings of a string %v", got)
	}
	if p.Has("nick") || !p.Has("manager") || p["manager"].Type != "object" {
		t.Error("Has")
	}
	if !u.IsSuperAdmin() || !u.HasAdminRole("Help desk lite") || u.HasAdminRole("ORG_ADMIN") {
		t.Errorf("roles %v", u.AdminRoles)
	}
}
