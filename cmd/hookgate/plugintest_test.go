package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// buildPluginWasm builds the packages (relative to the repo root) to .wasm
// in dir, in parallel, and returns their paths in order.
func buildPluginWasm(t *testing.T, dir string, pkgs ...string) []string {
	t.Helper()
	out, err := buildWasm(dir, pkgs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// buildWasm is buildPluginWasm returning the error.
func buildWasm(dir string, pkgs ...string) ([]string, error) {
	out := make([]string, len(pkgs))
	errs := make([]error, len(pkgs))
	var wg sync.WaitGroup
	for i, pkg := range pkgs {
		out[i] = filepath.Join(dir, filepath.Base(pkg)+".wasm")
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out[i], pkg)
			cmd.Dir = "../.."
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = errors.New(pkg + ": " + err.Error() + "\n" + string(b))
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// TestPluginTestCommand runs `hookgate plugin test` as a real command.
func TestPluginTestCommand(t *testing.T) {
	dir := t.TempDir()
	w := buildPluginWasm(t, dir, "./examples/oncall-preapproval", "./gateway/testdata/hookplugin")
	oncall, hookplugin := w[0], w[1]
	fixtures := "../../../shared/fixtures"
	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(binPath, append([]string{"plugin", "test"}, args...)...)
		cmd.Env = append(env(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir)
		b, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(b), code
	}
	mustHave := func(out string, subs ...string) {
		t.Helper()
		for _, s := range subs {
			if !strings.Contains(out, s) {
				t.Errorf("output lacks %q:\n%s", s, out)
			}
		}
	}

	out, code := run("--plugin", oncall, "--kind", "pre_approval", "--payload", fixtures+"/lumos/pre_approval.json",
		"--config", "group=oncall-engineers", "--identity", fixtures+"/okta/batch.json")
	if code != 0 {
		t.Errorf("alice: exit %d", code)
	}
	mustHave(out, "identity: 13 Okta events applied",
		"response: HTTP 200\n"+`{"response":"APPROVED","message":"alice.nguyen@example.com is on call (oncall-engineers)"}`,
		"[log] pre-approved alice.nguyen@example.com: member of oncall-engineers", "decision: success", "time: ")

	out, code = run("--plugin", oncall, "--kind", "pre_approval", "--payload", fixtures+"/lumos/pre_approval_not_oncall.json",
		"--config", "group=oncall-engineers", "--identity", fixtures+"/okta/batch.json")
	if code != 0 {
		t.Errorf("bob: exit %d", code)
	}
	mustHave(out, `{"response":"NOT_APPROVED","message":"bob.okafor@example.com is not in oncall-engineers; normal approval applies"}`, "decision: failure")

	// --gateway-config maps the decision through the file's
	// [responses.<kind>] overrides; the file's plugins and secrets need not
	// exist (the offline load).
	gwToml := filepath.Join(dir, "gateway.toml")
	os.WriteFile(gwToml, []byte(`
[responses.pre_approval]
success = "ONCALL_OK"
failure = "ONCALL_NO"

[[plugin]]
name = "elsewhere"
path = "not-built-yet.wasm"
config = { token = "${HOOKGATE_TEST_UNSET_SECRET}" }

[[route]]
kind = "pre_approval"
plugin = "elsewhere"
`), 0o644)
	out, code = run("--plugin", oncall, "--kind", "pre_approval", "--payload", fixtures+"/lumos/pre_approval.json",
		"--config", "group=oncall-engineers", "--identity", fixtures+"/okta/batch.json", "--gateway-config", gwToml)
	if code != 0 {
		t.Errorf("alice with --gateway-config: exit %d\n%s", code, out)
	}
	mustHave(out, `{"response":"ONCALL_OK","message":"alice.nguyen@example.com is on call (oncall-engineers)"}`)
	out, _ = run("--plugin", oncall, "--kind", "pre_approval", "--payload", fixtures+"/lumos/pre_approval_not_oncall.json",
		"--config", "group=oncall-engineers", "--identity", fixtures+"/okta/batch.json", "--gateway-config", gwToml)
	mustHave(out, `{"response":"ONCALL_NO","message":"bob.okafor@example.com is not in oncall-engineers`)
	// A broken gateway config is refused naming the bad key.
	badToml := filepath.Join(dir, "bad-gateway.toml")
	os.WriteFile(badToml, []byte("[responses.pre_approval]\nsucess = \"X\"\n"), 0o644)
	out, code = run("--plugin", oncall, "--kind", "pre_approval", "--payload", fixtures+"/lumos/pre_approval.json",
		"--gateway-config", badToml)
	if code == 0 || !strings.Contains(out, "sucess") {
		t.Errorf("bad --gateway-config: exit %d, want failure naming the key:\n%s", code, out)
	}

	// Module limits are checked before compiling, naming the limit and
	// the value: the default ones, or --gateway-config's [plugins] ones.
	locals := filepath.Join(dir, "locals.wasm")
	os.WriteFile(locals, []byte("\x00asm\x01\x00\x00\x00"+
		"\x01\x04\x01\x60\x00\x00"+"\x03\x02\x01\x00"+
		"\x0a\x0a\x01\x08\x01\xff\xff\xff\xff\x0f\x7f\x0b"), 0o644) // one function, 2^32-1 locals
	out, code = run("--plugin", locals, "--kind", "pre_approval", "--payload", fixtures+"/lumos/pre_approval.json")
	if code != 1 {
		t.Errorf("many locals: exit %d, want 1", code)
	}
	mustHave(out, "declares 4294967295 or more locals, max_locals_per_function is 50000")
	limited := filepath.Join(dir, "limited.toml")
	os.WriteFile(limited, []byte("[plugins]\nmax_functions = 10\n"), 0o644)
	out, code = run("--plugin", oncall, "--kind", "pre_approval", "--payload", fixtures+"/lumos/pre_approval.json",
		"--gateway-config", limited)
	if code != 1 {
		t.Errorf("max_functions = 10: exit %d, want 1", code)
	}
	mustHave(out, "functions, max_functions is 10")

	// Without identity capability the plugin cannot read the roster and says so.
	out, _ = run("--plugin", oncall, "--kind", "pre_approval", "--payload", fixtures+"/lumos/pre_approval.json",
		"--config", "group=oncall-engineers", "--cap", "log,config")
	mustHave(out, `"response":"NOT_APPROVED"`, "could not check the on-call roster")

	// A panicking plugin: the gateway's failure answer, the detail, exit 1.
	panicky := filepath.Join(dir, "panic.json")
	os.WriteFile(panicky, []byte(`{"application":{"app_id":"x"},"permissions":[],"target_user":{"email":"a@example.com"},"request_comment":"panic"}`), 0o644)
	out, code = run("--plugin", hookplugin, "--kind", "provisioning", "--payload", panicky)
	if code != 1 {
		t.Errorf("panic: exit %d, want 1", code)
	}
	mustHave(out, `{"response":"NO_PROVISIONING_ACTION","message":"the access hook could not decide`, "decision: error:", "crash")

	// A payload the gateway would refuse: 400 naming the field, exit 1.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"application":{"app_id":"x"},"permissions":[],"target_user":{}}`), 0o644)
	out, code = run("--plugin", hookplugin, "--kind", "provisioning", "--payload", bad)
	if code != 1 {
		t.Errorf("bad payload: exit %d, want 1", code)
	}
	mustHave(out, "HTTP 400", "target_user.email")

	// Usage errors exit 2.
	if out, code = run("--plugin", oncall, "--kind", "approve", "--payload", bad); code != 2 {
		t.Errorf("bad kind: exit %d\n%s", code, out)
	}
}

// TestAttributePreapprovalExample runs examples/attribute-preapproval on
// its own fixtures with `hookgate plugin test`: Okta users with full
// profiles (--users) and group memberships (--identity); one approval and
// a denial for each condition.
func TestAttributePreapprovalExample(t *testing.T) {
	dir := t.TempDir()
	// Built once per test binary with the other examples (defaultSetup).
	wasm := filepath.Join(defaultSetup(t), "build", "plugins", "attribute-preapproval.wasm")
	td := "../../examples/attribute-preapproval/testdata/"
	for _, c := range []struct {
		payload, response, message string
	}{
		{"approve", "APPROVED", "alice.nguyen@example.com is in engineering with department Engineering"},
		{"deny_contractor", "NOT_APPROVED", "bob.smith@example.com is a contractor"},
		{"deny_department", "NOT_APPROVED", "department is Sales, not Engineering"},
		{"deny_not_member", "NOT_APPROVED", "dave.oduya@example.com is not in engineering"},
		{"deny_clearance", "NOT_APPROVED", "clearance below 2"},
		{"deny_unknown", "NOT_APPROVED", "not known to the identity provider"},
	} {
		t.Run(c.payload, func(t *testing.T) {
			cmd := exec.Command(binPath, "plugin", "test", "--plugin", wasm, "--kind", "pre_approval",
				"--payload", td+c.payload+".json", "--identity", td+"groups.json", "--users", td+"users.json",
				"--config", "group=engineering", "--config", "value=Engineering", "--config", "min_clearance=2")
			cmd.Env = append(env(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir)
			b, err := cmd.CombinedOutput()
			out := string(b)
			if err != nil && c.response == "APPROVED" {
				t.Fatalf("plugin test: %v\n%s", err, out)
			}
			if !strings.Contains(out, `"response":"`+c.response+`"`) || !strings.Contains(out, c.message) {
				t.Fatalf("want %s with %q:\n%s", c.response, c.message, out)
			}
			if !strings.Contains(out, "users: 5 Okta users") {
				t.Fatalf("users not loaded:\n%s", out)
			}
		})
	}
}
