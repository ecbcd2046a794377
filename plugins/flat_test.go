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

	"github.com/hookgate/hookgate/store"
)

// parsedInput parses raw the way the gateway hands requests over: the
// Request plus custom_fields as raw JSON.
func parsedInput(t *testing.T, raw []byte) Input {
	t.Helper()
	var req struct {
		Request
		CustomFields json.RawMessage `json:"custom_fields"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	in := Input{Raw: raw, Request: &req.Request}
	if cf := bytes.TrimSpace(req.CustomFields); len(cf) > 0 && string(cf) != "null" {
		in.CustomFieldsJSON = cf
	}
	return in
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
	if err := st.Write(func(tx *store.Tx) error {
		return tx.SetUserStatus("00ualice", "SUSPENDED", store.Stamp{Published: time.Now(), UUID: "s"})
	}); err != nil {
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
	t.Cleanup(func() { flatUserResults = true })
	cfg := kitchenConfig("jsonuser")
	cfg.PoolSize = 1
	old := load(t, h, cfg)
	for _, ref := range []string{"alice.nguyen@example.com", "bob.smith@example.com", "00ubob"} {
		flatUserResults = true
		viaFlat := get(flat, ref)
		flatUserResults = false
		viaJSON := get(old, ref)
		if !reflect.DeepEqual(viaFlat, viaJSON) {
			t.Errorf("user %s\n flat: %v\n JSON: %v", ref, viaFlat, viaJSON)
		}
		if viaFlat["id"] == "" || viaFlat["groups"] == nil {
			t.Errorf("user %s decoded as %v", ref, viaFlat)
		}
	}
}
