package gateway_test

// Inline hooks end to end: a real fasthttp server on 127.0.0.1:0, real
// Badger in a temp dir, real .wasm builds of the example plugins and of
// the test plugin (gateway/testdata/hookplugin).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/store"
)

// dispatcherOptions is gateway.HookOptions(cfg) with the deciders, the
// audit log (nil: none) and the logger set.
func dispatcherOptions(cfg *config.Config, deciders map[string]hook.Decider, audit *store.AuditLog, logger *slog.Logger) hook.DispatcherOptions {
	o := gateway.HookOptions(cfg)
	o.Plugins, o.Audit, o.Logger = deciders, audit, logger
	return o
}

// hookWasmDir holds the test binary's plugin builds; wazeroCache is the shared
// compilation cache so each test server does not recompile every plugin.
var (
	hookWasmOnce sync.Once
	hookWasmDir  string
	hookWasmErr  error
)

// hookPlugins lists what buildWasm builds besides every examples/<name>:
// name -> package directory (relative to the gateway package).
var hookPlugins = map[string]string{
	"hookplugin": "./testdata/hookplugin",
}

// buildWasm builds every example and test plugin once per test binary, in parallel, with
// the standard toolchain, into a per-package directory under the system
// temp dir (reused across runs as a cache; each run rebuilds through Go's
// build cache and renames atomically).
func buildWasm(t testing.TB) string {
	t.Helper()
	hookWasmOnce.Do(func() {
		// One directory per checkout: worktrees of one machine building
		// different versions of a test plugin must not swap each other's.
		wd, _ := os.Getwd()
		hookWasmDir = filepath.Join(os.TempDir(), fmt.Sprintf("hookgate-gateway-test-wasm-%x", sha256.Sum256([]byte(wd)))[:len("hookgate-gateway-test-wasm-")+12])
		if hookWasmErr = os.MkdirAll(filepath.Join(hookWasmDir, "cache"), 0o755); hookWasmErr != nil {
			return
		}
		mains, _ := filepath.Glob("../examples/*/main.go")
		for _, m := range mains {
			hookPlugins[filepath.Base(filepath.Dir(m))] = filepath.Dir(m)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for name, dir := range hookPlugins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tmp := filepath.Join(hookWasmDir, fmt.Sprintf(".%s.%d.wasm", name, os.Getpid()))
				cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", tmp, dir)
				cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
				out, err := cmd.CombinedOutput()
				if err == nil {
					err = os.Rename(tmp, filepath.Join(hookWasmDir, name+".wasm"))
				}
				if err != nil {
					mu.Lock()
					hookWasmErr = fmt.Errorf("build %s: %v\n%s", dir, err, out)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		// The AssemblyScript examples: their checked-in builds (cmd/hookgate's
		// tests build them from source and keep these current).
		asBuilds, _ := filepath.Glob("../examples/as-*/as-*.wasm")
		for _, src := range asBuilds {
			b, err := os.ReadFile(src)
			if err == nil {
				err = os.WriteFile(filepath.Join(hookWasmDir, filepath.Base(src)), b, 0o644)
			}
			if err != nil {
				hookWasmErr = err
			}
		}
	})
	if hookWasmErr != nil {
		t.Fatal(hookWasmErr)
	}
	return hookWasmDir
}

// withWasm expands {{wasm}} in toml to the plugin build directory and, when
// toml has no [plugins] table, adds one on the shared compilation cache
// with the extra lines given.
func withWasm(t testing.TB, toml, extra string) string {
	t.Helper()
	wd := buildWasm(t)
	toml = strings.ReplaceAll(toml, "{{wasm}}", wd)
	if !strings.Contains(toml, "[plugins]") {
		toml += fmt.Sprintf("\n[plugins]\ncache_dir = %q\n", filepath.Join(wd, "cache")) + extra
	}
	return toml
}

// hookServer is a testServer with inline hooks enabled.
type hookServer struct {
	*testServer
	Audit *store.AuditLog
}

// startHookServer serves toml (plugin paths may use {{wasm}} for the build
// directory) with plugins loaded and /hooks enabled. onSuccess may be nil.
func startHookServer(t testing.TB, toml string) *hookServer {
	t.Helper()
	cfg := testConfig(t, withWasm(t, toml, ""))
	quiet := quietLogger()
	st := openTestStore(t, cfg, quiet)
	ps, err := hook.LoadPlugins(context.Background(), gateway.PluginOptions(cfg), st, quiet)
	if err != nil {
		st.Close()
		t.Fatalf("plugins: %v", err)
	}
	audit := store.NewAuditLog(st, store.AuditOptions{Logger: quiet})
	d := hook.NewDispatcher(dispatcherOptions(cfg, ps.Deciders(), audit, quiet))
	srv := gateway.New(cfg, st, quiet)
	srv.EnableHooks(d)
	url, done := serveLoopback(t, srv)
	t.Cleanup(func() {
		shutdown(t, srv)
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		audit.Close()
		ps.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &hookServer{testServer: newTestServer(t, url, srv, st, cfg), Audit: audit}
}

// hookReply is the JSON of a hook answer (or a hook error).
type hookReply struct {
	Response    string   `json:"response"`
	Message     string   `json:"message"`
	Error       string   `json:"error"`
	Field       string   `json:"field"`
	Kind        string   `json:"kind"`
	AppID       string   `json:"app_id"`
	Permissions []string `json:"permissions"`
}

// hook POSTs body to /hooks/kind with the hook secret.
func (hs *hookServer) hook(kind string, body []byte) (int, hookReply, []byte) {
	hs.t.Helper()
	code, _, b := hs.do("POST", "/hooks/"+kind, body, "Authorization", testHookSecret, "Content-Type", "application/json")
	var r hookReply
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r); err != nil {
			hs.t.Fatalf("POST /hooks/%s: %d %q is not JSON: %v", kind, code, b, err)
		}
	}
	return code, r, b
}

// lumos reads a Lumos fixture.
func lumos(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(fixturesDir(t)), "lumos", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hookBody builds a request body.
func hookBody(app, instance, email, comment string, perms ...string) []byte {
	ps := make([]map[string]string, len(perms))
	for i, p := range perms {
		ps[i] = map[string]string{"label": p, "value": p, "type": "PERMISSION", "source": "MANUAL"}
	}
	b, _ := json.Marshal(map[string]any{
		"application":     map[string]string{"app_id": app, "instance_id": instance, "user_friendly_label": app},
		"permissions":     ps,
		"target_user":     map[string]string{"email": email, "given_name": "T", "family_name": "U"},
		"access_length":   nil,
		"request_comment": comment,
		"custom_fields":   nil,
	})
	return b
}

// defaultConfig is the repository's gateway.toml with plugin paths pointing
// at this test binary's builds.
func defaultConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../gateway.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), `path = "build/plugins/`, `path = "{{wasm}}/`)
	if !strings.Contains(s, `path = "{{wasm}}/oncall-preapproval.wasm"`) {
		t.Fatal("gateway.toml does not route oncall-preapproval from build/plugins/")
	}
	return s
}

// TestHooksLumosFixturesDefaultConfig runs every Lumos fixture through the
// default gateway.toml after the Okta batch.json fixture and checks the
// responses of the fixtures README table.
func TestHooksLumosFixturesDefaultConfig(t *testing.T) {
	t.Setenv("ZENDESK_API_TOKEN", "zd-test-token")
	hs := startHookServer(t, defaultConfig(t))
	hs.postOkta(fixture(t, "batch.json"))

	cases := []struct {
		file, kind, response string
		message              bool // a message is required
	}{
		{"provisioning.json", "provisioning", "PROVISIONED_USER", false},
		{"deprovisioning.json", "deprovisioning", "DEPROVISIONED_USER", false},
		{"pre_approval.json", "pre_approval", "APPROVED", false},
		{"pre_approval_not_oncall.json", "pre_approval", "NOT_APPROVED", false},
		// No training API listens in the default config: the plugin fails
		// closed with a message for the requester.
		{"request_validation.json", "request_validation", "INVALID", true},
	}
	for _, c := range cases {
		code, r, raw := hs.hook(c.kind, lumos(t, c.file))
		if code != http.StatusOK || r.Response != c.response {
			t.Errorf("%s: got %d %s, want 200 response %s", c.file, code, raw, c.response)
		}
		if c.message && r.Message == "" {
			t.Errorf("%s: no message for the requester in %s", c.file, raw)
		}
	}
	// pre_approval: the message says why (from the plugin).
	_, r, _ := hs.hook("pre_approval", lumos(t, "pre_approval_not_oncall.json"))
	if !strings.Contains(r.Message, "oncall-engineers") {
		t.Errorf("not-on-call message %q does not name the group", r.Message)
	}
	_, r, _ = hs.hook("request_validation", lumos(t, "request_validation.json"))
	if !strings.Contains(r.Message, "prod-access-101") {
		t.Errorf("fail-closed message %q does not name the course", r.Message)
	}
	// The AssemblyScript twin, routed for app_id "aws-as", decides the same.
	for _, f := range []string{"pre_approval.json", "pre_approval_not_oncall.json"} {
		body := bytes.Replace(lumos(t, f), []byte(`"app_id": "aws"`), []byte(`"app_id": "aws-as"`), 1)
		_, goR, goRaw := hs.hook("pre_approval", lumos(t, f))
		code, asR, asRaw := hs.hook("pre_approval", body)
		if code != http.StatusOK || asR.Response != goR.Response || asR.Message != goR.Message {
			t.Errorf("%s via as-oncall-preapproval: %d %s, Go twin %s", f, code, asRaw, goRaw)
		}
	}
	// aws-grant kept the grant in its kv.
	if _, err := hs.Store.KVGet("aws-grant", "grant/alice.nguyen@example.com/arn:aws:iam::123456789012:role/oncall-breakglass"); err != nil {
		t.Logf("aws-grant kv (informational): %v", err)
	}
}

// TestHooksTrainingValidation stands up a training API on 127.0.0.1.
func TestHooksTrainingValidation(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.RequestURI())
		mu.Unlock()
		if r.URL.Path != "/v1/completions" || r.URL.Query().Get("course") != "sec-101" || r.Header.Get("Authorization") != "Bearer lms-token" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch r.URL.Query().Get("user") {
		case "alice@example.com":
			fmt.Fprint(w, `{"completed":true,"completed_at":"2025-01-31T10:00:00Z"}`)
		case "bob@example.com":
			fmt.Fprint(w, `{"completed":false}`)
		case "broken@example.com":
			http.Error(w, "oops", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	host := strings.TrimPrefix(api.URL, "http://")
	hs := startHookServer(t, fmt.Sprintf(`
[[plugin]]
name = "training-validation"
path = "{{wasm}}/training-validation.wasm"
capabilities = ["log", "config", "http"]
allowed_hosts = [%q]
config = { training_api = %q, course = "sec-101", token = "lms-token" }

[[route]]
kind = "request_validation"
plugin = "training-validation"
`, host, api.URL))
	for _, c := range []struct{ email, response, msg string }{
		{"alice@example.com", "VALID", ""},
		{"bob@example.com", "INVALID", `complete the "sec-101" training`},
		{"carol@example.com", "INVALID", `complete the "sec-101" training`},
		{"broken@example.com", "INVALID", "could not verify"},
	} {
		code, r, raw := hs.hook("request_validation", hookBody("github", "", c.email, "", "admin"))
		if code != 200 || r.Response != c.response || !strings.Contains(r.Message, c.msg) {
			t.Errorf("%s: got %d %s, want %s with message containing %q", c.email, code, raw, c.response, c.msg)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 4 {
		t.Errorf("training API saw %d requests, want 4: %v", len(asked), asked)
	}
}

// TestHooksZendeskLicense stands up a Zendesk-style API on 127.0.0.1.
func TestHooksZendeskLicense(t *testing.T) {
	t.Setenv("ZENDESK_API_TOKEN", "zd-secret")
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("it@example.com/token:zd-secret"))
	var mu sync.Mutex
	puts := map[string]string{}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != wantAuth {
			http.Error(w, `{"error":"Couldn't authenticate you"}`, http.StatusUnauthorized)
			return
		}
		switch {
		case r.Method == "GET" && r.URL.Path == "/api/v2/users/search.json":
			q := r.URL.Query().Get("query")
			if q == "email:dana@example.com" {
				fmt.Fprint(w, `{"users":[{"id":4242,"email":"dana@example.com","role":"end-user"}],"count":1}`)
				return
			}
			fmt.Fprint(w, `{"users":[],"count":0}`)
		case r.Method == "PUT" && r.URL.Path == "/api/v2/users/4242.json":
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			puts[r.URL.Path] = string(b)
			mu.Unlock()
			fmt.Fprintf(w, `{"user":{"id":4242,"role":"agent"}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	host := strings.TrimPrefix(api.URL, "http://")
	hs := startHookServer(t, fmt.Sprintf(`
[[plugin]]
name = "zendesk-license"
path = "{{wasm}}/zendesk-license.wasm"
capabilities = ["log", "config", "http"]
allowed_hosts = [%q]
config = { zendesk_url = %q, api_email = "it@example.com", api_token = "${ZENDESK_API_TOKEN}" }

[[route]]
kind = "provisioning"
app_id = "zendesk"
plugin = "zendesk-license"
`, host, api.URL))
	code, r, raw := hs.hook("provisioning", hookBody("zendesk", "", "dana@example.com", "", "custom:360001"))
	if code != 200 || r.Response != "PROVISIONED_USER" {
		t.Fatalf("got %d %s, want PROVISIONED_USER", code, raw)
	}
	mu.Lock()
	put := puts["/api/v2/users/4242.json"]
	mu.Unlock()
	if put != `{"user":{"custom_role_id":360001,"role":"agent"}}` {
		t.Errorf("PUT body = %s", put)
	}
	code, r, raw = hs.hook("provisioning", hookBody("zendesk", "", "nobody@example.com", "", "agent"))
	if code != 200 || r.Response != "NO_PROVISIONING_ACTION" || !strings.Contains(r.Message, "no Zendesk user") {
		t.Errorf("unknown user: got %d %s", code, raw)
	}
	code, r, raw = hs.hook("provisioning", hookBody("zendesk", "", "dana@example.com", "", "superuser"))
	if code != 200 || r.Response != "NO_PROVISIONING_ACTION" || !strings.Contains(r.Message, "not a Zendesk license") {
		t.Errorf("bad permission: got %d %s", code, raw)
	}
}

// TestHooksImpersonationDeprovision records revocations in kv.
func TestHooksImpersonationDeprovision(t *testing.T) {
	hs := startHookServer(t, `
[[plugin]]
name = "impersonation-deprovision"
path = "{{wasm}}/impersonation-deprovision.wasm"
capabilities = ["log", "config", "kv"]

[[route]]
kind = "deprovisioning"
app_id = "admin-console"
plugin = "impersonation-deprovision"
`)
	code, r, raw := hs.hook("deprovisioning", hookBody("admin-console", "", "Erin@Example.com", "", "customer:acme", "customer:globex"))
	if code != 200 || r.Response != "DEPROVISIONED_USER" {
		t.Fatalf("got %d %s", code, raw)
	}
	for _, scope := range []string{"customer:acme", "customer:globex"} {
		v, err := hs.Store.KVGet("impersonation-deprovision", "revoked/erin@example.com/"+scope)
		if err != nil {
			t.Fatalf("kv revoked/%s: %v", scope, err)
		}
		if _, err := time.Parse(time.RFC3339, string(v)); err != nil {
			t.Errorf("kv value %q is not a time", v)
		}
	}
}

// routingConfig loads the test plugin under several names; each answers
// success with its own name as the message.
const routingConfig = `
[[plugin]]
name = "p-default"
path = "{{wasm}}/hookplugin.wasm"
capabilities = ["config"]
config = { name = "p-default" }
[[plugin]]
name = "p-app"
path = "{{wasm}}/hookplugin.wasm"
capabilities = ["config"]
config = { name = "p-app" }
[[plugin]]
name = "p-instance"
path = "{{wasm}}/hookplugin.wasm"
capabilities = ["config"]
config = { name = "p-instance" }
[[plugin]]
name = "p-perm"
path = "{{wasm}}/hookplugin.wasm"
capabilities = ["config"]
config = { name = "p-perm" }
pool_size = 1
timeout = "300ms"

[[route]]
kind = "pre_approval"
plugin = "p-default"
[[route]]
kind = "pre_approval"
app_id = "aws"
plugin = "p-app"
[[route]]
kind = "pre_approval"
app_id = "aws"
instance_id = "i-1"
plugin = "p-instance"
[[route]]
kind = "pre_approval"
app_id = "aws"
permission = "admin"
plugin = "p-perm"
[[route]]
kind = "provisioning"
app_id = "aws"
plugin = "p-app"
[[route]]
kind = "provisioning"
app_id = "aws"
permission = "admin"
plugin = "p-perm"
[[route]]
kind = "deprovisioning"
app_id = "aws"
plugin = "p-app"
[[route]]
kind = "request_validation"
app_id = "aws"
plugin = "p-perm"

[responses.provisioning]
use_204 = true
[responses.request_validation]
success = "OK"
failure = "REJECTED"
`

func TestHooksRoutingPrecedence(t *testing.T) {
	hs := startHookServer(t, routingConfig)
	cases := []struct {
		name, app, inst string
		perms           []string
		plugin          string
	}{
		{"permission beats instance and app", "aws", "i-1", []string{"admin"}, "p-perm"},
		{"instance beats app", "aws", "i-1", []string{"read"}, "p-instance"},
		{"app beats default", "aws", "i-2", []string{"read"}, "p-app"},
		{"default for another app", "github", "", []string{"admin"}, "p-default"},
		{"several permissions on one plugin", "aws", "", []string{"read", "write"}, "p-app"},
	}
	for _, c := range cases {
		code, r, raw := hs.hook("pre_approval", hookBody(c.app, c.inst, "a@example.com", "", c.perms...))
		if code != 200 || r.Response != "APPROVED" || r.Message != c.plugin {
			t.Errorf("%s: got %d %s, want APPROVED from %s", c.name, code, raw, c.plugin)
		}
	}
	// Permissions routing to different plugins: 409 naming them.
	code, r, raw := hs.hook("pre_approval", hookBody("aws", "", "a@example.com", "", "read", "admin"))
	if code != http.StatusConflict || !strings.Contains(r.Error, `"admin" → plugin "p-perm"`) || !strings.Contains(r.Error, `"read" → plugin "p-app"`) {
		t.Errorf("conflict: got %d %s", code, raw)
	}
	// No route: 404 naming kind, app and permission.
	code, r, raw = hs.hook("provisioning", hookBody("github", "", "a@example.com", "", "repo:write"))
	if code != http.StatusNotFound || r.Kind != "provisioning" || r.AppID != "github" ||
		len(r.Permissions) != 1 || r.Permissions[0] != "repo:write" ||
		!strings.Contains(r.Error, `"provisioning"`) || !strings.Contains(r.Error, `"github"`) || !strings.Contains(r.Error, `"repo:write"`) {
		t.Errorf("no route: got %d %s", code, raw)
	}
}

func TestHooksResponseShapes(t *testing.T) {
	hs := startHookServer(t, routingConfig)
	cases := []struct {
		kind, comment string
		perms         []string
		status        int
		body          string
	}{
		// provisioning has use_204: success is an empty 204, failure JSON.
		{"provisioning", "ok:done", []string{"read"}, 204, ""},
		{"provisioning", "fail:no seat left", []string{"read"}, 200, `{"response":"NO_PROVISIONING_ACTION","message":"no seat left"}`},
		{"provisioning", "fail:", []string{"admin"}, 200, `{"response":"NO_PROVISIONING_ACTION"}`},
		{"deprovisioning", "ok:", []string{"read"}, 200, `{"response":"DEPROVISIONED_USER"}`},
		{"deprovisioning", "ok:gone", []string{"read"}, 200, `{"response":"DEPROVISIONED_USER","message":"gone"}`},
		{"deprovisioning", "fail:still there", []string{"read"}, 200, `{"response":"NO_DEPROVISIONING_ACTION","message":"still there"}`},
		{"pre_approval", "ok:", []string{"read"}, 200, `{"response":"APPROVED"}`},
		{"pre_approval", "fail:not on call", []string{"read"}, 200, `{"response":"NOT_APPROVED","message":"not on call"}`},
		// request_validation literals are overridden in the config.
		{"request_validation", "ok:", []string{"x"}, 200, `{"response":"OK"}`},
		{"request_validation", "fail:add a ticket", []string{"x"}, 200, `{"response":"REJECTED","message":"add a ticket"}`},
	}
	for _, c := range cases {
		code, _, raw := hs.hook(c.kind, hookBody("aws", "", "a@example.com", c.comment, c.perms...))
		if code != c.status || string(raw) != c.body {
			t.Errorf("%s %q: got %d %s, want %d %s", c.kind, c.comment, code, raw, c.status, c.body)
		}
	}
}

func TestHooksRefusals(t *testing.T) {
	hs := startHookServer(t, routingConfig+"\n[hooks]\nmax_body_bytes = 2048\n")
	good := hookBody("aws", "", "a@example.com", "")

	code, _, raw := hs.do("POST", "/hooks/pre_approval", good)
	if code != 401 || !strings.Contains(string(raw), "Authorization") {
		t.Errorf("no credentials: %d %s", code, raw)
	}
	code, _, raw = hs.do("POST", "/hooks/pre_approval", good, "Authorization", testHookSecret+"x")
	if code != 401 {
		t.Errorf("wrong credentials: %d %s", code, raw)
	}
	code, h, raw := hs.do("GET", "/hooks/pre_approval", nil, "Authorization", testHookSecret)
	if code != 405 || h.Get("Allow") != "POST" {
		t.Errorf("GET: %d %s allow=%q", code, raw, h.Get("Allow"))
	}
	code, r, raw := hs.hook("approval", good)
	if code != 404 || !strings.Contains(r.Error, `"approval"`) {
		t.Errorf("unknown kind: %d %s", code, raw)
	}
	big := bytes.Repeat([]byte("x"), 4096)
	code, _, raw = hs.do("POST", "/hooks/pre_approval", append([]byte(`{"request_comment":"`), append(big, `"}`...)...), "Authorization", testHookSecret)
	if code != 413 || !strings.Contains(string(raw), "2048") {
		t.Errorf("oversized: %d %s", code, raw)
	}
	for body, field := range map[string]string{
		`{"application":{"app_id":""},"permissions":[],"target_user":{"email":"a@b"}}`:                             "application.app_id",
		`{"application":{"app_id":"aws"},"permissions":[{"label":"x"}],"target_user":{"email":"a@b"}}`:             "permissions[0].value",
		`{"application":{"app_id":"aws"},"permissions":[],"target_user":{}}`:                                       "target_user.email",
		`{"application":{"app_id":"aws"},"permissions":[],"target_user":{"email":"a@b"},"access_length":-5}`:       "access_length",
		`{"application":{"app_id":"aws"},"permissions":[],"target_user":{"email":"a@b"},"access_length":"never"}`:  "access_length",
		`{"application":{"app_id":"aws"},"permissions":"admin","target_user":{"email":"a@b"}}`:                     "permissions",
		`{"application":{"app_id":"aws"},"permissions":[{"value":"a"},{"value":5}],"target_user":{"email":"a@b"}}`: "permissions[1].value",
		`not json`: "",
	} {
		code, r, raw := hs.hook("pre_approval", []byte(body))
		if code != 400 || r.Field != field || !strings.Contains(r.Error, field) {
			t.Errorf("%s: got %d %s, want 400 naming %q", body, code, raw, field)
		}
	}
	// The server still serves after all that.
	if code, r, raw := hs.hook("pre_approval", good); code != 200 || r.Response != "APPROVED" {
		t.Errorf("after refusals: %d %s", code, raw)
	}
}

// TestHooksPluginFailuresAnswerFailureLiteral: a plugin that loops forever
// or panics yields the failure literal with the generic message (no
// detail), the instance is replaced and the next call succeeds; the audit
// log keeps the detail.
func TestHooksPluginFailuresAnswerFailureLiteral(t *testing.T) {
	hs := startHookServer(t, routingConfig)
	// p-perm has pool_size 1 and timeout 300ms.
	for _, comment := range []string{"loop", "panic"} {
		code, r, raw := hs.hook("pre_approval", hookBody("aws", "", "mallory@example.com", comment, "admin"))
		if code != 200 || r.Response != "NOT_APPROVED" || r.Message != hook.GenericFailureMessage {
			t.Errorf("%s: got %d %s, want NOT_APPROVED with the generic message", comment, code, raw)
		}
		code, r, raw = hs.hook("pre_approval", hookBody("aws", "", "mallory@example.com", "", "admin"))
		if code != 200 || r.Response != "APPROVED" || r.Message != "p-perm" {
			t.Errorf("after %s: got %d %s, want the replaced instance to approve", comment, code, raw)
		}
	}
	var recs []store.AuditRecord
	hs.get("/v1/audit?user=mallory@example.com&limit=10", &recs)
	if len(recs) != 4 {
		t.Fatalf("audit: %d records, want 4: %+v", len(recs), recs)
	}
	// Newest first: approve, panic, approve, loop.
	if recs[1].Decision != "error" || !strings.Contains(recs[1].Error, "crash") ||
		recs[3].Decision != "error" || !strings.Contains(recs[3].Error, "timed out") {
		t.Errorf("audit errors: %+v / %+v", recs[1], recs[3])
	}
	if recs[0].Decision != "success" || recs[0].Plugin != "p-perm" || recs[0].Response != "APPROVED" {
		t.Errorf("audit newest: %+v", recs[0])
	}
}

func TestHooksAuditEndpoint(t *testing.T) {
	hs := startHookServer(t, routingConfig)
	hs.hook("pre_approval", hookBody("aws", "i-1", "alice@example.com", "", "read"))
	hs.hook("deprovisioning", hookBody("aws", "", "alice@example.com", "fail:nope", "read"))
	hs.hook("pre_approval", hookBody("aws", "", "bob@example.com", "", "read"))
	hs.hook("pre_approval", hookBody("github", "", "alice@example.com", "ok:second", "x"))
	hs.hook("provisioning", hookBody("nope", "", "alice@example.com", "", "x")) // no route

	var recs []store.AuditRecord
	if code, _ := hs.get("/v1/audit?user=alice@example.com&kind=pre_approval", &recs); code != 200 {
		t.Fatalf("GET /v1/audit: %d", code)
	}
	if len(recs) != 2 || recs[0].Message != "second" || recs[0].Plugin != "p-default" ||
		recs[1].Plugin != "p-instance" || recs[1].InstanceID != "i-1" || recs[1].Via != "lumos" ||
		len(recs[1].Permissions) != 1 || recs[1].Permissions[0] != "read" || recs[1].Duration <= 0 {
		t.Fatalf("alice pre_approval: %+v", recs)
	}
	recs = nil
	hs.get("/v1/audit?kind=deprovisioning", &recs)
	if len(recs) != 1 || recs[0].Decision != "failure" || recs[0].Response != "DEPROVISIONED_USER" && recs[0].Response != "NO_DEPROVISIONING_ACTION" {
		t.Fatalf("deprovisioning: %+v", recs)
	}
	recs = nil
	hs.get("/v1/audit?kind=provisioning", &recs)
	if len(recs) != 1 || recs[0].Decision != "no_route" || !strings.Contains(recs[0].Error, "no route") {
		t.Fatalf("provisioning: %+v", recs)
	}
	recs = nil
	hs.get("/v1/audit?limit=3", &recs)
	if len(recs) != 3 || recs[0].Kind != "provisioning" {
		t.Fatalf("limit 3: %+v", recs)
	}
	if code, _ := hs.get("/v1/audit?kind=bogus", nil); code != 400 {
		t.Errorf("bad kind: %d", code)
	}
	if code, _, _ := hs.do("GET", "/v1/audit", nil); code != 401 {
		t.Errorf("without token: %d", code)
	}
}

// TestHooksConcurrentBeyondPool sends many more concurrent calls than the
// plugin has instances; all queue and complete.
func TestHooksConcurrentBeyondPool(t *testing.T) {
	hs := startHookServer(t, routingConfig) // p-perm: pool_size 1
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, r, raw := hs.hook("pre_approval", hookBody("aws", "", fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("ok:call %d", i), "admin"))
			if code != 200 || r.Response != "APPROVED" || r.Message != fmt.Sprintf("call %d", i) {
				errs <- fmt.Sprintf("call %d: %d %s", i, code, raw)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestHooksBodyWithBOM: an inline hook body with a leading UTF-8 byte order
// mark is validated, routed and answered (the plugin gets it without the
// mark), not refused as "body must be a JSON object".
func TestHooksBodyWithBOM(t *testing.T) {
	hs := startHookServer(t, routingConfig)
	body := append([]byte("\xEF\xBB\xBF"), hookBody("aws", "", "a@example.com", "")...)
	if code, r, raw := hs.hook("pre_approval", body); code != 200 || r.Response != "APPROVED" {
		t.Errorf("BOM body: got %d %s, want 200 APPROVED", code, raw)
	}
}

// With hooks.durable_audit the reply waits for the audit commit: the record
// is readable straight from the store (no flush by the reader) as soon as
// the caller has its answer.
func TestHooksDurableAudit(t *testing.T) {
	hs := startHookServer(t, "[hooks]\ndurable_audit = true\n"+routingConfig)
	for i := 0; i < 5; i++ {
		user := fmt.Sprintf("durable%d@example.com", i)
		hs.hook("pre_approval", hookBody("aws", "", user, "", "read"))
		recs, err := hs.Store.ListAudit(store.AuditFilter{User: user})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].Decision != "success" {
			t.Fatalf("call %d: audit records in the store right after the reply: %+v", i, recs)
		}
	}
}
