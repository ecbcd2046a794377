package hook

import (
	"errors"
	"testing"
)

func TestResponderShapes(t *testing.T) {
	defaults := NewResponder(nil)
	over := NewResponder(map[string]*Responses{
		"provisioning":       {Use204: true},
		"deprovisioning":     {Success: "OK_GONE", Use204: false},
		"pre_approval":       {Success: "YES", Failure: "NO"},
		"request_validation": {},
	})
	fail := errors.New("wasm trap: unreachable")
	cases := []struct {
		name   string
		r      *Responder
		kind   string
		out    Outcome
		status int
		body   string
	}{
		{"provisioning success", defaults, "provisioning", Outcome{Success: true}, 200, `{"response":"PROVISIONED_USER"}`},
		{"provisioning failure", defaults, "provisioning", Outcome{Message: "no seat"}, 200, `{"response":"NO_PROVISIONING_ACTION","message":"no seat"}`},
		{"provisioning use_204", over, "provisioning", Outcome{Success: true, Message: "ignored"}, 204, ``},
		{"provisioning use_204 failure stays JSON", over, "provisioning", Outcome{}, 200, `{"response":"NO_PROVISIONING_ACTION"}`},
		{"deprovisioning success", defaults, "deprovisioning", Outcome{Success: true}, 200, `{"response":"DEPROVISIONED_USER"}`},
		{"deprovisioning override", over, "deprovisioning", Outcome{Success: true, Message: "m"}, 200, `{"response":"OK_GONE","message":"m"}`},
		{"deprovisioning failure", defaults, "deprovisioning", Outcome{}, 200, `{"response":"NO_DEPROVISIONING_ACTION"}`},
		{"pre_approval approve", defaults, "pre_approval", Outcome{Success: true, Message: "on call"}, 200, `{"response":"APPROVED","message":"on call"}`},
		{"pre_approval deny", defaults, "pre_approval", Outcome{}, 200, `{"response":"NOT_APPROVED"}`},
		{"pre_approval override", over, "pre_approval", Outcome{}, 200, `{"response":"NO"}`},
		{"request_validation valid", over, "request_validation", Outcome{Success: true}, 200, `{"response":"VALID"}`},
		{"request_validation invalid", defaults, "request_validation", Outcome{Message: "complete \"AWS 101\" first"}, 200, `{"response":"INVALID","message":"complete \"AWS 101\" first"}`},
		{"plugin error hides details", defaults, "pre_approval", Outcome{Err: fail, Message: "x"}, 200, `{"response":"NOT_APPROVED","message":"` + GenericFailureMessage + `"}`},
		{"plugin error is never a 204", over, "provisioning", Outcome{Err: fail, Success: true}, 200, `{"response":"NO_PROVISIONING_ACTION","message":"` + GenericFailureMessage + `"}`},
	}
	for _, c := range cases {
		rep := c.r.Reply(c.kind, c.out)
		if rep.Status != c.status || string(rep.Body) != c.body {
			t.Errorf("%s: got %d %s, want %d %s", c.name, rep.Status, rep.Body, c.status, c.body)
		}
	}
}

func BenchmarkReplyNoMessage(b *testing.B) {
	r := NewResponder(nil)
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Reply("pre_approval", Outcome{Success: true})
	}
}
