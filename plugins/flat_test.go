package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hookgate/hookgate/sdk/abi"
	"github.com/hookgate/hookgate/store"
)

// parsedInput parses raw the way the gateway hands requests over: the
// abi.HookRequest, custom_fields kept as raw JSON.
func parsedInput(t *testing.T, raw []byte) Input {
	t.Helper()
	var req abi.HookRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	return Input{Raw: raw, Request: &req}
}

// TestFlatInputMatchesJSON: for every request shape, the guest decodes
// the flat layout into exactly what it decodes from the JSON document.
func TestFlatInputMatchesJSON(t *testing.T) {
	p := load(t, newHost(t, HostOptions{}), kitchenConfig("flat"))
	if !p.flat {
		t.Fatal("the sdk-built kitchen plugin does not export " + exportCallFlat)
	}
	bodies := [][]byte{
		request("dump", "a@example.com"),
		[]byte(`{"application":{"app_id":"aws"},"permissions":[],"target_user":{"email":"b@example.com"},"request_comment":"dump","access_length":null}`),
		[]byte(`{"application":{"app_id":"a\"pp","instance_id":"i\\d","user_friendly_label":"Zoë ✓ \u00e9"},` +
			`"permissions":[{"label":"L1","value":"v1","type":"PERMISSION","source":"OKTA"},{"value":"v2"}],` +
			`"target_user":{"email":"c@example.com","given_name":"Ç","family_name":"\ud83d\ude00"},"access_length":0,` +
			`"request_comment":"dump","request_task_url":"https://x/y?z=1&w=2","custom_fields":{"ticket":"T-1","n":3,"nested":{"a":[1,true,null]}}}`),
	}
	matches, _ := filepath.Glob(filepath.Join("..", "..", "shared", "fixtures", "lumos", "*.json"))
	for _, f := range matches {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		m["request_comment"] = "dump"
		b, _ = json.Marshal(m)
		bodies = append(bodies, b)
	}
	if len(bodies) < 5 {
		t.Fatalf("only %d bodies: the Lumos fixtures were not found", len(bodies))
	}
	ctx := context.Background()
	for _, raw := range bodies {
		viaJSON, err := p.CallInput(ctx, "pre_approval", Input{Raw: raw})
		if err != nil {
			t.Fatalf("JSON input %s: %v", raw, err)
		}
		viaFlat, err := p.CallInput(ctx, "pre_approval", parsedInput(t, raw))
		if err != nil {
			t.Fatalf("flat input %s: %v", raw, err)
		}
		if !viaJSON.Decision.Success || viaJSON.Decision.Message != viaFlat.Decision.Message {
			t.Errorf("request %s\n JSON decoded as %s\n flat decoded as %s", raw, viaJSON.Decision.Message, viaFlat.Decision.Message)
		}
	}
}

// TestJSONInputWithoutFlatExport: a module without hookgate_call_flat
// (other languages, older SDKs) gets the JSON document even when the
// caller passes a parsed request.
func TestJSONInputWithoutFlatExport(t *testing.T) {
	cfg := kitchenConfig("noflat")
	cfg.PoolSize = 1
	p := load(t, newHost(t, HostOptions{}), cfg)
	inst := <-p.idle
	inst.callFlat = nil // as if the module did not export it
	p.idle <- inst
	in := parsedInput(t, request("dump", "a@example.com"))
	in.Request.TargetUser.Email = "flat@example.com" // differs from Raw: shows which one the guest read
	res, err := p.CallInput(context.Background(), "pre_approval", in)
	if err != nil || !bytes.Contains([]byte(res.Decision.Message), []byte(`"a@example.com"`)) {
		t.Fatalf("got %+v, %v; want the JSON document's email", res, err)
	}
}

// TestUserGetFlatMatchesJSON: the user record the guest reads through the
// flat result is the one it reads through JSON, which it falls back to on
// a host that does not know the flag.
func TestUserGetFlatMatchesJSON(t *testing.T) {
	st := openStore(t)
	seedIdentity(t, st)
	at := store.Stamp{Published: time.Now(), UUID: "s"}
	if err := st.ApplyIdentity(
		store.SetUserProfile("00ualice", store.ProfileFacts{Attrs: map[string]json.RawMessage{
			"department": json.RawMessage(`"Engineering"`), "isContractor": json.RawMessage(`false`),
			"clearance": json.RawMessage(`3`), "projects": json.RawMessage(`["atlas","zeus"]`),
			"manager": json.RawMessage(`{"id":"00umgr","name":"Grace \u00e9"}`),
		}, Types: map[string]string{"clearance": "integer"}}, at),
		store.TouchUser(store.UserFacts{ID: "00ualice", Type: "oty1", Created: "2026-01-05T10:00:00.000Z"}, at),
		store.SetUserRole("00ualice", store.AdminRole{Type: "SUPER_ADMIN", Label: "Super Administrator"}, true, at),
		store.SetUserStatus("00ualice", "SUSPENDED", at),
	); err != nil {
		t.Fatal(err)
	}
	h := newHost(t, HostOptions{Identity: st})
	get := func(p *Plugin, ref string) map[string]any {
		t.Helper()
		res, err := p.Call(context.Background(), "pre_approval", request("user:"+ref, "x@example.com"))
		if err != nil || !res.Decision.Success {
			t.Fatalf("user:%s: %+v, %v", ref, res, err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(res.Decision.Message), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	flat := load(t, h, kitchenConfig("flatuser"))
	flatUserResults = false
	t.Cleanup(func() { flatUserResults, flatProfileResults = true, true })
	cfg := kitchenConfig("jsonuser")
	cfg.PoolSize = 1
	old := load(t, h, cfg)
	flatUserResults, flatProfileResults = true, false
	cfg = kitchenConfig("flatv1user")
	cfg.PoolSize = 1
	v1 := load(t, h, cfg)
	for _, ref := range []string{"alice.nguyen@example.com", "bob.smith@example.com", "00ubob"} {
		flatUserResults, flatProfileResults = true, true
		viaFlat := get(flat, ref)
		flatUserResults = false
		viaJSON := get(old, ref)
		if !reflect.DeepEqual(viaFlat, viaJSON) {
			t.Errorf("user %s\n flat: %v\n JSON: %v", ref, viaFlat, viaJSON)
		}
		if viaFlat["id"] == "" || viaFlat["groups"] == nil {
			t.Errorf("user %s decoded as %v", ref, viaFlat)
		}
		// A host with flat records but without profiles (version 1).
		flatUserResults, flatProfileResults = true, false
		viaV1 := get(v1, ref)
		for k, v := range viaFlat {
			switch k {
			case "profile", "adminRoles", "type", "created", "activated", "statusChanged", "lastUpdated":
				continue
			}
			if !reflect.DeepEqual(viaV1[k], v) {
				t.Errorf("user %s: %s via flat v1 = %v, via v2 = %v", ref, k, viaV1[k], v)
			}
		}
	}
	flatUserResults, flatProfileResults = true, true
	a := get(flat, "00ualice")
	prof, _ := a["profile"].(map[string]any)
	want := map[string]any{
		"department":   map[string]any{"Type": "string", "JSON": `"Engineering"`},
		"clearance":    map[string]any{"Type": "integer", "JSON": `3`},
		"isContractor": map[string]any{"Type": "boolean", "JSON": `false`},
		"projects":     map[string]any{"Type": "array", "JSON": `["atlas","zeus"]`},
		"login":        map[string]any{"Type": "string", "JSON": `"alice.nguyen@example.com"`},
	}
	for k, w := range want {
		if !reflect.DeepEqual(prof[k], w) {
			t.Errorf("profile %s = %v, want %v", k, prof[k], w)
		}
	}
	if roles, _ := a["adminRoles"].([]any); len(roles) != 1 || a["type"] != "oty1" || a["created"] != "2026-01-05T10:00:00.000Z" {
		t.Errorf("alice: roles %v type %v created %v", a["adminRoles"], a["type"], a["created"])
	}
}
