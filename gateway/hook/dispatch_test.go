package hook

import (
	"context"
	"errors"
	"testing"

	"github.com/hookgate/hookgate/sdk/abi"
)

// decideFunc adapts a function to Decider for dispatcher unit tests.
type decideFunc func(ctx context.Context, kind string, raw []byte) (Decision, error)

func (f decideFunc) Decide(ctx context.Context, kind string, raw []byte, _ *HookRequest) (Decision, error) {
	return f(ctx, kind, raw)
}

// recordFunc adapts a function to SuccessRecorder (through a pointer, so a
// test can swap the function after building the dispatcher).
type recordFunc func(kind string, req *HookRequest, raw []byte, out Outcome) error

func (f *recordFunc) OnSuccess(kind string, req *HookRequest, raw []byte, out Outcome) error {
	return (*f)(kind, req, raw, out)
}

const provisioningBody = `{"application":{"app_id":"aws","instance_id":"i1","user_friendly_label":"AWS"},
 "permissions":[{"label":"RO","value":"ro","type":"PERMISSION","source":"MANUAL"}],
 "target_user":{"email":"alice.nguyen@example.com","given_name":"Alice","family_name":"Nguyen"},
 "access_length":60,"request_comment":"","request_task_url":"","custom_fields":null}`

// A provisioning whose grant cannot be recorded must not be reported as a
// success: the access would never expire.
func TestDispatchOnSuccessErrorAnswersFailure(t *testing.T) {
	routes := []Route{{Kind: abi.KindProvisioning, Plugin: "p"}}
	var onSuccess recordFunc
	d := NewDispatcher(DispatcherOptions{Routes: routes, Plugins: map[string]Decider{
		"p": decideFunc(func(context.Context, string, []byte) (Decision, error) {
			return Decision{Success: true, Message: "done"}, nil
		}),
	}, Recorder: &onSuccess})
	calls := 0
	onSuccess = func(string, *HookRequest, []byte, Outcome) error { calls++; return errors.New("disk full") }
	out, err := d.Dispatch(context.Background(), abi.KindProvisioning, []byte(provisioningBody), "test")
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || out.Success || out.Err == nil || out.Message != "" {
		t.Fatalf("calls=%d outcome=%+v, want one OnSuccess call and a failed outcome", calls, out)
	}
	if rep := d.Responder().Reply(abi.KindProvisioning, out); rep.Literal != "NO_PROVISIONING_ACTION" {
		t.Fatalf("literal %q, want NO_PROVISIONING_ACTION", rep.Literal)
	}

	onSuccess = func(string, *HookRequest, []byte, Outcome) error { return nil }
	out, err = d.Dispatch(context.Background(), abi.KindProvisioning, []byte(provisioningBody), "test")
	if err != nil || !out.Success || out.Err != nil {
		t.Fatalf("outcome=%+v err=%v, want success", out, err)
	}
}
