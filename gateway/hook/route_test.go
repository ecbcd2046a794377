package hook

import (
	"errors"
	"strings"
	"testing"
)

func TestRouterPrecedence(t *testing.T) {
	r := NewRouter([]Route{
		{Kind: "pre_approval", Plugin: "default"},
		{Kind: "pre_approval", AppID: "aws", Plugin: "app"},
		{Kind: "pre_approval", AppID: "aws", InstanceID: "i1", Plugin: "instance"},
		{Kind: "pre_approval", AppID: "aws", Permission: "admin", Plugin: "perm"},
		{Kind: "pre_approval", AppID: "aws", InstanceID: "i1", Permission: "root", Plugin: "inst-perm"},
		{Kind: "provisioning", AppID: "zendesk", Plugin: "zd"},
	})
	cases := []struct {
		name, kind, app, inst string
		perms                 []string
		plugin, level         string
	}{
		{"permission beats instance", "pre_approval", "aws", "i1", []string{"admin"}, "perm", "app+permission"},
		{"instance+permission beats all", "pre_approval", "aws", "i1", []string{"root"}, "inst-perm", "app+instance+permission"},
		{"instance+permission needs the instance", "pre_approval", "aws", "i2", []string{"root"}, "app", "app"},
		{"instance beats app", "pre_approval", "aws", "i1", []string{"read"}, "instance", "app+instance"},
		{"app beats default", "pre_approval", "aws", "other", []string{"read"}, "app", "app"},
		{"permission without instance", "pre_approval", "aws", "", []string{"admin"}, "perm", "app+permission"},
		{"default for unknown app", "pre_approval", "github", "x", []string{"admin"}, "default", "default"},
		{"no permissions uses app level", "pre_approval", "aws", "i1", nil, "instance", "app+instance"},
		{"other kind", "provisioning", "zendesk", "", []string{"agent"}, "zd", "app"},
		{"mixed permissions agreeing on one plugin take the most specific level", "pre_approval", "aws", "", []string{"read", "admin"}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := r.Resolve(c.kind, c.app, c.inst, c.perms)
			if c.plugin == "" {
				if !errors.Is(err, ErrRouteConflict) {
					t.Fatalf("got %+v, %v; want a conflict", m, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Plugin != c.plugin || m.Level != c.level {
				t.Fatalf("got %+v, want plugin %q level %q", m, c.plugin, c.level)
			}
		})
	}
}

func TestRouterMultiplePermissions(t *testing.T) {
	r := NewRouter([]Route{
		{Kind: "provisioning", AppID: "zendesk", Plugin: "zd"},
		{Kind: "provisioning", AppID: "zendesk", Permission: "agent", Plugin: "zd"},
		{Kind: "provisioning", AppID: "zendesk", Permission: "admin", Plugin: "zd-admin"},
		{Kind: "deprovisioning", AppID: "jira", Permission: "a", Plugin: "jira"},
	})
	m, err := r.Resolve("provisioning", "zendesk", "", []string{"light", "agent"})
	if err != nil || m.Plugin != "zd" || m.Level != "app+permission" {
		t.Fatalf("agreeing permissions: %+v, %v", m, err)
	}
	_, err = r.Resolve("provisioning", "zendesk", "", []string{"agent", "admin", "light"})
	var ce *RouteConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("want RouteConflictError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{`"admin" → plugin "zd-admin"`, `"agent", "light" → plugin "zd"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("conflict message %q lacks %q", msg, want)
		}
	}
	// A permission with no route refuses the whole request, naming it.
	_, err = r.Resolve("deprovisioning", "jira", "", []string{"a", "b"})
	var nr *NoRouteError
	if !errors.As(err, &nr) || !errors.Is(err, ErrNoRoute) {
		t.Fatalf("want NoRouteError, got %v", err)
	}
	if len(nr.Permissions) != 1 || nr.Permissions[0] != "b" {
		t.Fatalf("missing permissions = %v, want [b]", nr.Permissions)
	}
}

func TestRouterNoRouteNamesKindAppPermission(t *testing.T) {
	r := NewRouter([]Route{{Kind: "provisioning", AppID: "aws", Plugin: "p"}})
	_, err := r.Resolve("pre_approval", "aws", "0oa1", []string{"arn:role/x"})
	if !errors.Is(err, ErrNoRoute) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{`"pre_approval"`, `"aws"`, `"0oa1"`, `"arn:role/x"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %s", err, want)
		}
	}
	_, err = r.Resolve("provisioning", "github", "", nil)
	if !errors.Is(err, ErrNoRoute) || !strings.Contains(err.Error(), `"github"`) {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkRouterResolve(b *testing.B) {
	r := NewRouter([]Route{
		{Kind: "pre_approval", Plugin: "default"},
		{Kind: "pre_approval", AppID: "aws", Plugin: "app"},
		{Kind: "pre_approval", AppID: "aws", Permission: "admin", Plugin: "perm"},
	})
	perms := []string{"read", "write"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve("pre_approval", "aws", "i1", perms); err != nil {
			b.Fatal(err)
		}
	}
}
