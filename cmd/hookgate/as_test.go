package main

// The AssemblyScript examples, built from source with the SDK's pinned
// compiler, against their Go twins: the same answer on every Lumos fixture
// through `hookgate plugin test` and through a real `hookgate serve`.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	asOnce  sync.Once
	asDir   string
	asErr   error
	asSkip  string
	asNames = []string{"as-oncall-preapproval", "as-zendesk-license"}
)

// asTwins maps each AssemblyScript example to its Go twin.
var asTwins = map[string]string{
	"as-oncall-preapproval": "oncall-preapproval",
	"as-zendesk-license":    "zendesk-license",
}

// ascPath installs the SDK's pinned compiler (npm ci, from npm's cache when
// warm) and returns the asc path relative to the repository root.
func ascPath() (string, error) {
	const asc = "sdk/assemblyscript/node_modules/.bin/asc"
	if _, err := os.Stat("../../" + asc); err == nil {
		return asc, nil
	}
	cmd := exec.Command("npm", "ci", "--prefer-offline", "--no-audit", "--no-fund")
	cmd.Dir = "../../sdk/assemblyscript"
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci in sdk/assemblyscript: %v\n%s", err, out)
	}
	return asc, nil
}

// buildASExamples compiles every AssemblyScript example once per test
// binary, in parallel, exactly as the Makefile does.
func buildASExamples(t *testing.T) string {
	t.Helper()
	asOnce.Do(func() {
		if _, err := exec.LookPath("npm"); err != nil {
			if _, err := os.Stat("../../sdk/assemblyscript/node_modules/.bin/asc"); err != nil {
				asSkip = "npm is not installed (.ci/run installs it): AssemblyScript builds skipped"
				return
			}
		}
		var asc string
		if asc, asErr = ascPath(); asErr != nil {
			return
		}
		if asDir, asErr = os.MkdirTemp(filepath.Dir(binPath), "as-"); asErr != nil {
			return
		}
		names := append(slices.Clone(asNames), "as-kitchen")
		errs := make([]error, len(names))
		var wg sync.WaitGroup
		for i, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				src := "examples/" + n + "/assembly/index.ts"
				if n == "as-kitchen" {
					src = "cmd/hookgate/testdata/as-kitchen/assembly/index.ts"
				}
				cmd := exec.Command(asc, src, "-o", filepath.Join(asDir, n+".wasm"),
					"-O3", "--use", "abort=sdk/assemblyscript/assembly/abort/abort")
				cmd.Dir = "../.."
				if out, err := cmd.CombinedOutput(); err != nil {
					errs[i] = fmt.Errorf("asc %s: %v\n%s", n, err, out)
				}
			}()
		}
		wg.Wait()
		asErr = errors.Join(errs...)
	})
	if asSkip != "" {
		t.Skip(asSkip)
	}
	if asErr != nil {
		t.Fatal(asErr)
	}
	return asDir
}

// TestASExamplesCheckedInBuildsAreCurrent: `make` copies the checked-in
// builds where npm is absent, so they must be what the sources compile to.
func TestASExamplesCheckedInBuildsAreCurrent(t *testing.T) {
	t.Parallel()
	dir := buildASExamples(t)
	for _, n := range asNames {
		built, err := os.ReadFile(filepath.Join(dir, n+".wasm"))
		if err != nil {
			t.Fatal(err)
		}
		in, err := os.ReadFile("../../examples/" + n + "/" + n + ".wasm")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(built, in) {
			t.Errorf("examples/%s/%s.wasm is stale: run `make as-plugins && cp build/plugins/%s.wasm examples/%s/`", n, n, n, n)
		}
	}
}

// zendeskStandIn is a Zendesk Support API speaking the documented wire
// format: alice and dana have Zendesk users.
func zendeskStandIn(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String()+" "+r.Header.Get("Authorization")+" "+string(b))
		mu.Unlock()
		switch {
		case r.Method == "GET" && r.URL.Path == "/api/v2/users/search.json":
			switch r.URL.Query().Get("query") {
			case "email:alice.nguyen@example.com":
				fmt.Fprint(w, `{"users":[{"id":1001,"email":"Alice.Nguyen@example.com","role":"end-user"}],"count":1}`)
			case "email:dana@example.com":
				fmt.Fprint(w, `{"users":[{"id":4242,"email":"dana@example.com","role":"end-user"}],"count":1}`)
			default:
				fmt.Fprint(w, `{"users":[],"count":0}`)
			}
		case r.Method == "PUT" && strings.HasPrefix(r.URL.Path, "/api/v2/users/"):
			fmt.Fprint(w, `{"user":{"id":1,"role":"agent"}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		return out
	}
}

// twinPayloads are the Lumos fixtures (kind from the file name) plus
// zendesk-specific requests, as (kind, path).
func twinPayloads(t *testing.T) [][2]string {
	t.Helper()
	fixtures, _ := filepath.Glob("../../../shared/fixtures/lumos/*.json")
	if len(fixtures) < 5 {
		t.Fatalf("only %d Lumos fixtures found", len(fixtures))
	}
	var out [][2]string
	for _, f := range fixtures {
		kind := strings.TrimSuffix(filepath.Base(f), ".json")
		kind = strings.TrimSuffix(kind, "_not_oncall")
		out = append(out, [2]string{kind, f})
	}
	dir := t.TempDir()
	for i, body := range []string{
		zendeskBody("dana@example.com", "custom:360001"),
		zendeskBody("dana@example.com", "admin"),
		zendeskBody("nobody@example.com", "agent"),
		zendeskBody("dana@example.com", "custom:x"),
	} {
		p := filepath.Join(dir, fmt.Sprintf("zendesk-%d.json", i))
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]string{"provisioning", p})
	}
	return out
}

func zendeskBody(email, perm string) string {
	return `{"application":{"app_id":"zendesk","instance_id":"0oaZ","user_friendly_label":"Zendesk"},` +
		`"permissions":[{"label":"L","value":"` + perm + `","type":"PERMISSION","source":"OKTA"}],` +
		`"target_user":{"email":"` + email + `","given_name":"D","family_name":"E"},"access_length":null,` +
		`"request_comment":"","request_task_url":"","custom_fields":null}`
}

var literal = regexp.MustCompile(`"response":"([A-Z_]+)"`)

// TestASExamplesMatchGoTwinsInPluginTest runs each AssemblyScript example
// and its Go twin with `hookgate plugin test` on every payload: the same
// HTTP answer, and the same Zendesk calls.
func TestASExamplesMatchGoTwinsInPluginTest(t *testing.T) {
	t.Parallel()
	asd := buildASExamples(t)
	dir := t.TempDir()
	gow := buildPluginWasm(t, dir, "./examples/oncall-preapproval", "./examples/zendesk-license")
	goWasm := map[string]string{"oncall-preapproval": gow[0], "zendesk-license": gow[1]}
	zd, calls := zendeskStandIn(t)
	zdHost := strings.TrimPrefix(zd.URL, "http://")
	identity := "../../../shared/fixtures/okta/batch.json"
	run := func(wasm, kind, payload string) string {
		t.Helper()
		cmd := exec.Command(binPath, "plugin", "test", "--plugin", wasm, "--name", "twin", "--kind", kind, "--payload", payload,
			"--identity", identity, "--config", "group=oncall-engineers",
			"--config", "zendesk_url="+zd.URL, "--config", "api_email=it@example.com", "--config", "api_token=zd-secret",
			"--allow-host", zdHost, "--cap", "log,config,identity,http")
		cmd.Env = append(env(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir)
		out, _ := cmd.CombinedOutput()
		// The answer: from "response:" to "logs:".
		s := string(out)
		i, j := strings.Index(s, "response:"), strings.Index(s, "logs:")
		if i < 0 || j < i {
			t.Fatalf("%s %s %s: no response in:\n%s", wasm, kind, payload, s)
		}
		return s[i:j]
	}
	outcomes := map[string]bool{}
	for as, goName := range asTwins {
		for _, pl := range twinPayloads(t) {
			want := run(goWasm[goName], pl[0], pl[1])
			goCalls := calls()
			got := run(filepath.Join(asd, as+".wasm"), pl[0], pl[1])
			asCalls := calls()
			if got != want {
				t.Errorf("%s vs %s on %s %s:\n AS: %s\n Go: %s", as, goName, pl[0], filepath.Base(pl[1]), got, want)
			}
			if strings.Join(asCalls, "\n") != strings.Join(goCalls, "\n") {
				t.Errorf("%s vs %s on %s: Zendesk saw\n AS: %q\n Go: %q", as, goName, filepath.Base(pl[1]), asCalls, goCalls)
			}
			if m := literal.FindStringSubmatch(got); m != nil {
				outcomes[as+" "+m[1]] = true
			}
		}
	}
	// Not vacuous: each twin both succeeded and failed somewhere.
	for _, k := range []string{"as-oncall-preapproval APPROVED", "as-oncall-preapproval NOT_APPROVED",
		"as-zendesk-license PROVISIONED_USER", "as-zendesk-license NO_PROVISIONING_ACTION"} {
		if !outcomes[k] {
			t.Errorf("no payload gave %s (outcomes %v)", k, outcomes)
		}
	}
}

// TestASExamplesMatchGoTwinsOnServer serves each twin set from a real
// `hookgate serve` (identity from the Okta fixture batch) and compares the
// answers to every payload.
func TestASExamplesMatchGoTwinsOnServer(t *testing.T) {
	t.Parallel()
	asd := buildASExamples(t)
	dir := t.TempDir()
	gow := buildPluginWasm(t, dir, "./examples/oncall-preapproval", "./examples/zendesk-license")
	zd, _ := zendeskStandIn(t)
	cache := filepath.Join(dir, "wasm-cache")
	serve := func(oncall, zendesk string) *proc {
		cfg := writeConfig(t, fmt.Sprintf(`
[hooks]
secret_env = "HOOKGATE_HOOK_SECRET"
[plugins]
cache_dir = %q
pool_size = 1

[[plugin]]
name = "oncall"
path = %q
capabilities = ["log", "config", "identity"]
config = { group = "oncall-engineers" }

[[plugin]]
name = "zendesk"
path = %q
capabilities = ["log", "config", "http"]
allowed_hosts = [%q]
config = { zendesk_url = %q, api_email = "it@example.com", api_token = "zd-secret" }

[[route]]
kind = "pre_approval"
plugin = "oncall"
[[route]]
kind = "provisioning"
plugin = "zendesk"
[[route]]
kind = "deprovisioning"
plugin = "zendesk"
[[route]]
kind = "request_validation"
plugin = "oncall"
`, cache, oncall, zendesk, strings.TrimPrefix(zd.URL, "http://"), zd.URL))
		p := startServe(t, cfg, filepath.Join(t.TempDir(), "data"))
		waitReady(t, p)
		batch, err := os.ReadFile("../../../shared/fixtures/okta/batch.json")
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", p.url+"/events/okta", bytes.NewReader(batch))
		req.Header.Set("Authorization", oktaSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("okta batch: %v %v\n%s", err, resp, p.log())
		}
		resp.Body.Close()
		return p
	}
	goSrv := serve(gow[0], gow[1])
	asSrv := serve(filepath.Join(asd, "as-oncall-preapproval.wasm"), filepath.Join(asd, "as-zendesk-license.wasm"))
	client := &http.Client{Timeout: 20 * time.Second}
	hook := func(p *proc, kind, payload string) string {
		body, err := os.ReadFile(payload)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", p.url+"/hooks/"+kind, bytes.NewReader(body))
		req.Header.Set("Authorization", "x")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	approved := false
	for _, pl := range twinPayloads(t) {
		want, got := hook(goSrv, pl[0], pl[1]), hook(asSrv, pl[0], pl[1])
		if got != want {
			t.Errorf("%s %s: AS answered %s, Go %s", pl[0], filepath.Base(pl[1]), got, want)
		}
		approved = approved || strings.Contains(got, `"APPROVED"`)
	}
	if !approved {
		t.Error("no payload was approved: the identity batch did not reach the servers")
	}
}

// waitReady polls /readyz until the server's plugins have loaded (the
// listener opens before they compile).
func waitReady(t *testing.T, p *proc) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang guard
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz never answered 200 (%v):\n%s", p.url, err, p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestASKitchen: an AssemblyScript plugin that throws reaches the SDK's
// abort handler, which logs the message and location at error level and
// traps: the call fails (the gateway's failure answer) with the line in its
// logs. And the SDK's identity reads (userGroups, lookupGroup,
// groupMembers, lookupUser) answer the Okta fixture state, through a
// --cases file.
func TestASKitchen(t *testing.T) {
	t.Parallel()
	asd := buildASExamples(t)
	dir := t.TempDir()
	body := func(comment string) string {
		p := filepath.Join(dir, comment+".json")
		os.WriteFile(p, []byte(`{"application":{"app_id":"x"},"permissions":[],"target_user":{"email":"a@example.com"},"request_comment":"`+comment+`"}`), 0o644)
		return p
	}
	cmd := exec.Command(binPath, "plugin", "test", "--plugin", filepath.Join(asd, "as-kitchen.wasm"), "--kind", "pre_approval", "--payload", body("throw"))
	cmd.Env = append(env(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1:\n%s", err, out)
	}
	for _, want := range []string{`"response":"NOT_APPROVED"`, "ERROR [log] abort: boom for a@example.com at cmd/hookgate/testdata/as-kitchen/assembly/index.ts:", "decision: error:"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	identityPath, _ := filepath.Abs("../../../shared/fixtures/okta/batch.json")
	cases := filepath.Join(dir, "cases.toml")
	os.WriteFile(cases, []byte(fmt.Sprintf(`plugin = %q
kind = "pre_approval"
[[case]]
name = "throws"
payload = %q
expect_error = "unreachable"
expect_logs = ["abort: boom"]
[[case]]
name = "fine"
payload = %q
expect_response = "APPROVED"
[[case]]
name = "userGroups"
identity = %q
body = '{"application":{"app_id":"x"},"permissions":[],"target_user":{"email":"alice.nguyen@example.com"},"request_comment":"groups"}'
expect_response = "APPROVED"
expect_message = "oncall-engineers"
[[case]]
name = "lookupGroup"
identity = %[4]q
body = '{"application":{"app_id":"x"},"permissions":[],"target_user":{"email":"alice.nguyen@example.com"},"request_comment":"group"}'
expect_message = "00g9I8I2YXF3R9IKb5d7 oncall-engineers 2 members"
[[case]]
name = "groupMembers"
identity = %[4]q
body = '{"application":{"app_id":"x"},"permissions":[],"target_user":{"email":"alice.nguyen@example.com"},"request_comment":"members"}'
expect_message = "alice.nguyen@example.com,carol.diaz@example.com"
[[case]]
name = "lookupUser"
identity = %[4]q
body = '{"application":{"app_id":"x"},"permissions":[],"target_user":{"email":"alice.nguyen@example.com"},"request_comment":"user"}'
expect_message = "00uq2bQsGEKuDyxue5d7 Alice Nguyen ACTIVE 1 groups"
[[case]]
name = "okta_event: the event is applied before the plugin runs"
kind = "okta_event"
body = '{"uuid":"e-1","published":"2026-06-01T00:00:00.000Z","eventType":"group.user_membership.add","target":[{"id":"00unew","type":"User","alternateId":"new.hire@example.com","displayName":"New Hire"},{"id":"00g9I8I2YXF3R9IKb5d7","type":"UserGroup","alternateId":"unknown","displayName":"oncall-engineers"}]}'
identity = %[4]q
expect_response = "success"
expect_message = "group.user_membership.add new.hire@example.com member of oncall-engineers: yes"
[[case]]
name = "okta_event: a removal"
kind = "okta_event"
body = '{"uuid":"e-2","published":"2026-06-01T00:00:00.000Z","eventType":"group.user_membership.remove","target":[{"id":"00uq2bQsGEKuDyxue5d7","type":"User","alternateId":"alice.nguyen@example.com","displayName":"Alice"},{"id":"00g9I8I2YXF3R9IKb5d7","type":"UserGroup","alternateId":"unknown","displayName":"oncall-engineers"}]}'
identity = %[4]q
expect_response = "success"
expect_message = "alice.nguyen@example.com member of oncall-engineers: no"
[[case]]
name = "okta_event: identity refused"
kind = "okta_event"
capabilities = ["log"]
body = '{"uuid":"e-3","published":"2026-06-01T00:00:00.000Z","eventType":"group.user_membership.add","target":[{"id":"00unew","type":"User","alternateId":"new.hire@example.com"},{"id":"00g1","type":"UserGroup","displayName":"g"}]}'
expect_response = "failure"
expect_message = 'capability "identity" not granted'
[[case]]
name = "identity refused without the capability"
identity = %[4]q
capabilities = ["log"]
body = '{"application":{"app_id":"x"},"permissions":[],"target_user":{"email":"alice.nguyen@example.com"},"request_comment":"groups"}'
expect_response = "NOT_APPROVED"
expect_message = 'capability "identity" not granted'
`, filepath.Join(asd, "as-kitchen.wasm"), body("throw"), body("ok"), identityPath)), 0o644)
	cmd = exec.Command(binPath, "plugin", "test", "--cases", cases)
	cmd.Env = append(env(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "10 passed, 0 failed") {
		t.Errorf("cases: %v\n%s", err, out)
	}

	// okta_event cases the runner refuses: an HTTP status expectation, a
	// delivery of two events, an event the gateway would reject.
	ev := `{"uuid":"e-%d","published":"2026-06-01T00:00:00.000Z","eventType":"user.session.start"}`
	two := fmt.Sprintf(`{"eventType":"com.okta.event_hook","eventId":"x","data":{"events":[%s,%s]}}`, fmt.Sprintf(ev, 1), fmt.Sprintf(ev, 2))
	os.WriteFile(cases, []byte(fmt.Sprintf(`plugin = %q
kind = "okta_event"
[[case]]
name = "status"
body = '%s'
expect_status = 200
[[case]]
name = "two events"
body = '%s'
[[case]]
name = "no uuid"
body = '{"published":"2026-06-01T00:00:00.000Z","eventType":"user.session.start"}'
[[case]]
name = "fine"
body = '%[2]s'
expect_response = "success"
expect_message = "no user and group in user.session.start"
`, filepath.Join(asd, "as-kitchen.wasm"), fmt.Sprintf(ev, 1), two)), 0o644)
	cmd = exec.Command(binPath, "plugin", "test", "--cases", cases)
	cmd.Env = append(env(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir)
	out, err = cmd.CombinedOutput()
	for _, want := range []string{"FAIL  status", "expect_status: an okta_event call has no HTTP answer", "FAIL  two events", "2 events; a case runs the plugin on one",
		"FAIL  no uuid", "rejected by the gateway", "PASS  fine", "1 passed, 3 failed"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("refused okta_event cases: output lacks %q (%v):\n%s", want, err, out)
		}
	}
}
