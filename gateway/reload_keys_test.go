package gateway

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/gateway/config"
)

// TestReloadFailsClosed: a config key nobody taught the reload to apply —
// here a section that does not exist yet — is reported as changed, while a
// reloadable key is not; and the real config's restart-only keys are named
// with their full dotted path.
func TestReloadFailsClosed(t *testing.T) {
	type future struct {
		Hooks    config.Hooks `toml:"hooks"`
		NewThing struct {
			Knob int `toml:"knob"`
		} `toml:"new_thing"`
		derived  int
		Resolved string `toml:"-"`
	}
	var old, cur future
	cur.Hooks.Timeout.Duration = 3e9 // reloadable
	cur.NewThing.Knob = 1            // unknown to reload
	cur.derived, cur.Resolved = 1, "x"
	got := changedKeys(reflect.ValueOf(old), reflect.ValueOf(cur), "")
	if !slices.Equal(got, []string{"new_thing.knob"}) {
		t.Fatalf("changed keys %v, want [new_thing.knob]", got)
	}

	a, b := &config.Config{}, &config.Config{}
	b.Okta.OAuth.ClientID = "c"
	b.Queue.Workers = 9
	b.Route = []config.Route{{Kind: "pre_approval", Plugin: "p"}}
	b.Hooks.DurableAudit = true
	b.Plugins.MaxFunctions = 10
	err := restartOnly(a, b)
	var re *ReloadError
	if err == nil || !strings.Contains(err.Error(), "okta.oauth.client_id, queue.workers changed") ||
		!errorsAs(err, &re) || !re.RestartRequired {
		t.Fatalf("restartOnly = %v", err)
	}
	if err := restartOnly(a, a); err != nil {
		t.Fatalf("no change: %v", err)
	}
}

func errorsAs(err error, re **ReloadError) bool {
	r, ok := err.(*ReloadError)
	*re = r
	return ok
}
