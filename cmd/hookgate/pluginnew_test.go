package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPluginNew: `hookgate plugin new` for each language, for an inline
// hook kind and for okta_event, in a temp dir (outside the repository),
// then `make` and `make test` (its cases.toml through `plugin test
// --cases`) pass as generated; a case file with a wrong expectation fails
// naming the case.
func TestPluginNew(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is required:", err)
	}
	// The inline-hook template's cases, and the okta_event template's.
	type tmpl struct {
		pass          []string // PASS lines of the generated cases
		kvOK, kvBad   string   // an expect_kv line, and a wrong one
		first, second string   // the first and second case names
		lastPass      string   // the third case (stays passing)
		kvWant        string   // the kv difference reported
	}
	inline := tmpl{[]string{"PASS  a member of the group", "PASS  not a member"},
		`expect_kv = { decisions = "42" }`, `expect_kv = { decisions = "43" }`, "a member of the group", "not a member",
		"without the identity capability", `kv "decisions" = "42", want "43"`}
	event := tmpl{[]string{"PASS  a join to the group", "PASS  another event", "PASS  without the kv capability"},
		`expect_kv = { joins = "41" }`, `expect_kv = { joins = "43" }`, "a join to the group", "another event",
		"without the kv capability", `kv "joins" = "41", want "43"`}
	for _, c := range []struct {
		lang, kind, success string
		tmpl
	}{
		{"go", "pre_approval", "APPROVED", inline},
		{"assemblyscript", "provisioning", "PROVISIONED_USER", inline},
		{"go", "okta_event", "success", event},
		{"assemblyscript", "okta_event", "success", event},
	} {
		t.Run(c.lang+"/"+c.kind, func(t *testing.T) {
			t.Parallel()
			if c.lang == "assemblyscript" {
				if _, err := exec.LookPath("npm"); err != nil {
					t.Skip("npm is not installed (.ci/run installs it)")
				}
			}
			dir := t.TempDir()
			home := t.TempDir()
			name := "my-" + c.lang + "-plugin"
			out, err := runIn(dir, nil, binPath, "plugin", "new", name, "--lang", c.lang, "--kind", c.kind)
			if err != nil {
				t.Fatalf("plugin new: %v\n%s", err, out)
			}
			proj := filepath.Join(dir, name)
			// No network for Go (the sdk is vendored; GOPROXY=off proves it);
			// npm works from its cache once the sdk's own install warmed it.
			// The Go build cache stays the test's own (a fresh one rebuilds the
			// standard library); hookgate's compile cache is fresh.
			gocache, _ := exec.Command("go", "env", "GOCACHE").Output()
			menv := []string{"HOOKGATE=" + binPath, "GOPROXY=off", "GOFLAGS=-mod=mod", "GOCACHE=" + strings.TrimSpace(string(gocache)),
				"XDG_CACHE_HOME=" + filepath.Join(home, "cache")}
			out, err = runIn(proj, menv, "make", "test")
			if err != nil {
				t.Fatalf("make test: %v\n%s", err, out)
			}
			for _, want := range append(c.pass, "cases.toml: 3 passed, 0 failed") {
				if !strings.Contains(out, want) {
					t.Errorf("make test output lacks %q:\n%s", want, out)
				}
			}
			if _, err := os.Stat(filepath.Join(proj, name+".wasm")); err != nil {
				t.Error(err)
			}
			// A wrong expectation fails the run and names the case.
			casesPath := filepath.Join(proj, "cases.toml")
			b, _ := os.ReadFile(casesPath)
			bad := strings.Replace(string(b), c.kvOK, c.kvBad, 1)
			bad = strings.Replace(bad, `name = "`+c.first+`"`, `name = "wrongly expected"`, 1)
			bad = strings.Replace(bad, `expect_response = "`+c.success+`"`, `expect_response = "SOMETHING_ELSE"`, 1)
			if bad == string(b) {
				t.Fatal("cases.toml template changed; update this test")
			}
			os.WriteFile(casesPath, []byte(bad), 0o644)
			out, err = runIn(proj, menv, binPath, "plugin", "test", "--cases", "cases.toml")
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("wrong expectations: %v, want exit 1\n%s", err, out)
			}
			for _, want := range []string{
				"FAIL  wrongly expected", "response " + c.success + ", want SOMETHING_ELSE",
				"FAIL  " + c.second, c.kvWant,
				"PASS  " + c.lastPass, "cases.toml: 1 passed, 2 failed",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestPluginCasesErrors: a case file naming an unknown key, and a case
// expecting a plugin error (no handler for the kind).
func TestPluginCasesErrors(t *testing.T) {
	dir := t.TempDir()
	w := buildPluginWasm(t, dir, "./examples/oncall-preapproval")
	cases := filepath.Join(dir, "cases.toml")
	os.WriteFile(cases, []byte(`plugin = "oncall-preapproval.wasm"
kind = "pre_approval"
identity = "../../../shared/fixtures/okta/batch.json"
config = { group = "oncall-engineers" }

[[case]]
name = "no handler for provisioning"
kind = "provisioning"
body = '{"application":{"app_id":"x"},"permissions":[],"target_user":{"email":"a@example.com"}}'
expect_error = "no handler for kind"
expect_response = "NO_PROVISIONING_ACTION"
`), 0o644)
	abs, _ := filepath.Abs("../../../shared/fixtures/okta/batch.json")
	b, _ := os.ReadFile(cases)
	os.WriteFile(cases, []byte(strings.Replace(string(b), "../../../shared/fixtures/okta/batch.json", abs, 1)), 0o644)
	out, err := runIn(dir, []string{"XDG_CACHE_HOME=" + filepath.Join(dir, "cache")}, binPath, "plugin", "test", "--cases", cases, "--plugin", w[0])
	if err != nil || !strings.Contains(out, "PASS  no handler for provisioning") {
		t.Errorf("expect_error case: %v\n%s", err, out)
	}
	os.WriteFile(cases, []byte("plugin = \"x.wasm\"\nkindd = \"pre_approval\"\n[[case]]\nbody = \"{}\"\n"), 0o644)
	out, err = runIn(dir, nil, binPath, "plugin", "test", "--cases", cases)
	if err == nil || !strings.Contains(out, "kindd") {
		t.Errorf("unknown key: %v, want an error naming it\n%s", err, out)
	}
}

// runIn runs a command in dir with the test environment plus extra.
func runIn(dir string, extra []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(env(), extra...)
	b, err := cmd.CombinedOutput()
	return string(b), err
}
