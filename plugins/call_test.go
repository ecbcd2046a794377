package plugins

import (
	"strings"
	"testing"
)

func TestCallEcho(t *testing.T) {
	h := newHost(t, HostOptions{})
	p := load(t, h, kitchenConfig("kitchen"))
	res := call(t, p, "pre_approval", "echo")
	if !res.Decision.Success || res.Decision.Message != "alice.nguyen@example.com" {
		t.Fatalf("decision %+v, output %s", res.Decision, res.Output)
	}
	if !strings.Contains(string(res.Output), `"success":true`) {
		t.Fatalf("output %s", res.Output)
	}
}
