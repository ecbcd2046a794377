package main

// The operator console, end to end: the real `hookgate serve` binary on
// 127.0.0.1 with real example plugins, the Okta batch.json fixture applied
// through the event hook, a local stand-in for the downstream system the
// terminate-revoke plugin calls, and Debian's Chromium driven by chromedp
// (one browser for every step). Plus plain HTTP checks of the session
// cookie, the security headers and CSRF.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hookgate/hookgate/gateway/okta/oktatest"
)

// XSS payloads: if either ever became markup, the page would hold an <img>
// or an extra <script>, and (were CSP ever loosened) the title would change.
const (
	xssGroupName = `<img src=x onerror="window.__xss=1;document.title='pwned-img'">`
	xssUserName  = `<script>window.__xss=2;document.title='pwned-script'</script>`
	xssUserID    = "00uXSSXSSXSSXSSXSSX1"
	xssGroupID   = "00gXSSXSSXSSXSSXSSX1"
	aliceID      = "00uq2bQsGEKuDyxue5d7"
)

// consoleEnv is the running system the console test drives.
type consoleEnv struct {
	t      *testing.T
	p      *proc
	cfg    string // the gateway.toml path
	client *http.Client
	fail   *atomic.Bool // the stand-in downstream API answers 500 while set
}

// startConsoleEnv builds the example plugins, starts the stand-in API and
// `hookgate serve`, and applies the fixtures.
func startConsoleEnv(t *testing.T) *consoleEnv {
	t.Helper()
	wasm := buildPluginWasm(t, t.TempDir(), "./examples/oncall-preapproval", "./examples/aws-grant", "./examples/terminate-revoke")
	fail := new(atomic.Bool)
	fail.Store(true)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if fail.Load() {
			http.Error(w, `{"error":"revocation API down for maintenance"}`, http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(api.Close)
	host := strings.TrimPrefix(api.URL, "http://")
	cache := filepath.Join(os.TempDir(), "hookgate-console-test-wasm-cache")
	cfg := writeConfig(t, fmt.Sprintf(`
[log]
level = "info"

[plugins]
cache_dir = %q

[[plugin]]
name = "oncall-preapproval"
path = %q
capabilities = ["log", "config", "identity"]
config = { group = "oncall-engineers" }

[[plugin]]
name = "aws-grant"
path = %q
capabilities = ["log", "config", "kv"]

[[plugin]]
name = "terminate-revoke"
path = %q
capabilities = ["log", "config", "kv", "identity", "http"]
allowed_hosts = [%q]
config = { systems = "downstream", downstream_url = "http://%s/revoke/{email}" }

[[route]]
kind = "pre_approval"
app_id = "aws"
plugin = "oncall-preapproval"

[[route]]
kind = "provisioning"
app_id = "aws"
plugin = "aws-grant"

[[route]]
kind = "deprovisioning"
app_id = "aws"
plugin = "aws-grant"

[[on_event]]
types = ["user.lifecycle.deactivate"]
plugin = "terminate-revoke"

[queue]
max_attempts = 1
initial_backoff = "50ms"
`, cache, wasm[0], wasm[1], wasm[2], host, host))
	e := &consoleEnv{t: t, p: startServe(t, cfg, filepath.Join(t.TempDir(), "data")), cfg: cfg, fail: fail,
		client: &http.Client{Timeout: 20 * time.Second}}

	// Plugins compile in the background after the port opens (a cold
	// cache on a loaded machine takes a while): wait until ready.
	deadline := time.Now().Add(3 * time.Minute) // a hang guard
	for {
		resp, err := e.client.Get(e.p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready:\n%s", e.p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Identity state: the batch fixture, then a group and a user whose
	// names are markup, the user in the group.
	e.okta(readShared(t, "okta/batch.json"))
	e.okta(xssEnvelope())
	// A pre-approval decision for the audit page, a grant to revoke.
	if code, body := e.post("/hooks/pre_approval", readShared(t, "lumos/pre_approval.json"), "Authorization", "x"); code != 200 || !bytes.Contains(body, []byte("APPROVED")) {
		t.Fatalf("pre_approval: %d %s", code, body)
	}
	if code, body := e.post("/hooks/provisioning", readShared(t, "lumos/provisioning.json"), "Authorization", "x"); code != 200 {
		t.Fatalf("provisioning: %d %s", code, body)
	}
	// A dead letter: batch.json ends with Carol's deactivation, and
	// terminate-revoke's one allowed attempt fails on the stand-in.
	e.waitAPI("a dead letter", "/v1/dlq", func(b []byte) bool { return bytes.Contains(b, []byte(`"plugin":"terminate-revoke"`)) })
	return e
}

func readShared(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../../shared/fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// xssEnvelope is an Okta delivery adding the markup-named user to the
// markup-named group.
func xssEnvelope() []byte {
	ev := map[string]any{
		"uuid": "b0b0b0b0-0000-4000-8000-000000000055", "published": "2026-03-03T11:00:00.000Z",
		"eventType": "group.user_membership.add", "version": "0", "displayMessage": "Add user to group membership",
		"actor":   map[string]any{"id": "00u11bGju0S48v4cQ5d7", "type": "User", "alternateId": "ada.admin@example.com", "displayName": "Ada Admin"},
		"outcome": map[string]any{"result": "SUCCESS"},
		"target": []any{
			map[string]any{"id": xssUserID, "type": "User", "alternateId": "mallory@example.com", "displayName": xssUserName},
			map[string]any{"id": xssGroupID, "type": "UserGroup", "alternateId": "unknown", "displayName": xssGroupName},
		},
	}
	b, _ := json.Marshal(map[string]any{
		"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
		"eventId": "xss-delivery-1", "data": map[string]any{"events": []any{ev}},
	})
	return b
}

func (e *consoleEnv) post(path string, body []byte, hdr ...string) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.p.url+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (e *consoleEnv) okta(body []byte) {
	e.t.Helper()
	if code, b := e.post("/events/okta", body, "Authorization", oktaSecret); code != 200 {
		e.t.Fatalf("okta delivery: %d %s", code, b)
	}
}

// waitAPI polls an admin API path until ok holds for its body.
func (e *consoleEnv) waitAPI(what, path string, ok func([]byte) bool) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a hang guard
	var last []byte
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", e.p.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := e.client.Do(req)
		if err == nil {
			last, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if ok(last) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("no %s at %s: last answer %s\n%s", what, path, last, e.p.log())
}

// browser starts one headless Chromium for the whole test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/chromium"); serr != nil {
			t.Skip("chromium is not installed (.ci/run installs it)")
		}
		path = "/usr/bin/chromium"
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	// A hang guard for the whole browser session, not a performance bound.
	ctx, cancelTimeout := context.WithTimeout(bctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs chromedp steps, failing the test with what is on screen.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	// A hang guard per step group, not a performance bound.
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i, st := range steps {
		err := chromedp.Do(sctx, st)
		// A node looked up just before the document was replaced (a load
		// finishing) is gone: look it up again. The step did not act.
		for try := 0; err != nil && staleNode(err) && try < 5; try++ {
			time.Sleep(100 * time.Millisecond)
			err = chromedp.Do(sctx, st)
		}
		if err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			t.Fatalf("%s (step %d): %v\nat %s:\n%s", what, i, err, loc, body)
		}
	}
	if err := chromedp.Do(sctx); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
	}
}

// staleNode reports a DevTools error about a node id of a replaced
// document.
func staleNode(err error) bool {
	m := err.Error()
	return strings.Contains(m, "Could not find node with given id") || strings.Contains(m, "No node with given id")
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds: for steps after
// which the old page would satisfy a plain WaitVisible.
func waitFor(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a hang guard
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s (last error %v):\n%s", js, err, pageText(t, ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// location is the page's URL.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// pageText returns the visible text of the page's <main>.
func pageText(t *testing.T, ctx context.Context) string {
	t.Helper()
	do(t, ctx, "wait for the page", chromedp.WaitReady(chromedp.CSS("body")))
	return eval[string](t, ctx, `document.querySelector("main") ? document.querySelector("main").innerText : document.body.innerText`)
}

// consoleCookies are the browser's cookies for the console.
func consoleCookies(t *testing.T, ctx context.Context, base string) []*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/ui/"}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Cookies
}

type css = chromedp.CSS

func TestConsoleInBrowser(t *testing.T) {
	e := startConsoleEnv(t)
	ctx := browser(t)
	base := e.p.url

	t.Run("no session redirects to sign-in", func(t *testing.T) {
		do(t, ctx, "open /ui/users", chromedp.Navigate(base+"/ui/users?q=alice"),
			chromedp.WaitVisible(css(`input[type="password"][name="token"]`)))
		loc := location(t, ctx)
		n := eval[int](t, ctx, `document.querySelectorAll('form[action="/ui/login"] button[type="submit"]').length`)
		if !strings.Contains(loc, "/ui/?next=") || n != 1 {
			t.Fatalf("at %s with %d submit buttons, want the sign-in page", loc, n)
		}
	})

	t.Run("wrong token refused", func(t *testing.T) {
		do(t, ctx, "sign in wrong", chromedp.Navigate(base+"/ui/"),
			chromedp.SendKeys(css(`input[name="token"]`), "not-the-token"),
			chromedp.Submit(css(`input[name="token"]`)),
			chromedp.WaitVisible(css(`p[role="alert"]`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "Wrong admin token") {
			t.Fatalf("after a wrong token: %s", txt)
		}
		if c := consoleCookies(t, ctx, base); len(c) != 0 {
			t.Fatalf("a wrong token left cookies: %+v", c[0])
		}
	})

	t.Run("sign in", func(t *testing.T) {
		do(t, ctx, "sign in", chromedp.Navigate(base+"/ui/users?q=alice"),
			chromedp.WaitVisible(css(`input[name="token"]`)),
			chromedp.SendKeys(css(`input[name="token"]`), adminToken),
			chromedp.Submit(css(`input[name="token"]`)),
			chromedp.WaitVisible(css(`form.search`)))
		if loc := location(t, ctx); !strings.HasSuffix(loc, "/ui/users?q=alice") {
			t.Fatalf("after sign-in at %s, want back at /ui/users?q=alice", loc)
		}
		cookies := consoleCookies(t, ctx, base)
		if len(cookies) != 1 || !cookies[0].HTTPOnly || cookies[0].SameSite != network.CookieSameSiteStrict ||
			cookies[0].Path != "/ui/" || cookies[0].Session {
			t.Fatalf("session cookie = %+v, want one HttpOnly SameSite=Strict expiring cookie on /ui/", cookies)
		}
		if stored := eval[string](t, ctx, `JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie`); strings.Contains(stored, adminToken) || strings.Contains(stored, "hookgate_session") {
			t.Fatalf("token or session readable by page script: %s", stored)
		}
	})

	t.Run("search alice and open her page", func(t *testing.T) {
		alice := css(`a[href="/ui/users/` + aliceID + `"]`)
		// Start from a search that does not list her, so her link can only
		// come from the new search.
		do(t, ctx, "search page", chromedp.Navigate(base+"/ui/users?q=nobody"), chromedp.WaitVisible(css(`#q`)))
		eval[bool](t, ctx, `(document.querySelector("#q").value = "", true)`)
		do(t, ctx, "search",
			chromedp.SendKeys(css(`#q`), "alice"),
			chromedp.Submit(css(`#q`)),
			chromedp.WaitVisible(alice),
			chromedp.Click(alice),
			chromedp.WaitVisible(css(`ul.refs a[href^="/ui/groups/"]`)))
		txt := pageText(t, ctx)
		for _, want := range []string{"Alice Nguyen", "ACTIVE", "oncall-engineers", "group.user_membership.add", "pre_approval"} {
			if !strings.Contains(txt, want) {
				t.Errorf("alice's page lacks %q:\n%s", want, txt)
			}
		}
		// The group link leads to a page listing her.
		do(t, ctx, "open group", chromedp.Click(css(`ul.refs a[href^="/ui/groups/"]`)))
		waitFor(t, ctx, `location.pathname.startsWith("/ui/groups/") && document.querySelector("main h1").innerText === "oncall-engineers"`)
		do(t, ctx, "alice is a member", chromedp.WaitVisible(alice))
	})

	t.Run("pre-approval decision in the audit page", func(t *testing.T) {
		do(t, ctx, "audit", chromedp.Navigate(base+"/ui/audit?kind=pre_approval"), chromedp.WaitVisible(css(`table`)))
		txt := pageText(t, ctx)
		for _, want := range []string{"alice.nguyen@example.com", "oncall-preapproval", "success", "APPROVED"} {
			if !strings.Contains(txt, want) {
				t.Errorf("audit page lacks %q:\n%s", want, txt)
			}
		}
		// The record's details include the plugin's own log line.
		if all := eval[string](t, ctx, `document.querySelector("main").textContent`); !strings.Contains(all, "INFO pre-approved alice.nguyen@example.com: member of oncall-engineers") {
			t.Errorf("audit details lack the plugin's log line:\n%s", all)
		}
		// Filters narrow it: no pre-approval failed; the event plugin did.
		do(t, ctx, "audit failures", chromedp.Navigate(base+"/ui/audit?kind=pre_approval&decision=failure"), chromedp.WaitVisible(css(`table`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "No audit records") {
			t.Errorf("kind=pre_approval&decision=failure shows records:\n%s", txt)
		}
		do(t, ctx, "audit by plugin", chromedp.Navigate(base+"/ui/audit?plugin=terminate-revoke&decision=failure"), chromedp.WaitVisible(css(`table`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "revocation API down") || strings.Contains(txt, "oncall-preapproval") {
			t.Errorf("plugin=terminate-revoke&decision=failure:\n%s", txt)
		}
	})

	t.Run("replay a dead letter", func(t *testing.T) {
		do(t, ctx, "dlq", chromedp.Navigate(base+"/ui/dlq"), chromedp.WaitVisible(css(`#dead button[type="submit"]`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "terminate-revoke") || !strings.Contains(txt, "500") {
			t.Fatalf("dead letter page:\n%s", txt)
		}
		// Drop asks first: the confirm page, then cancel.
		do(t, ctx, "drop asks", chromedp.Click(css(`#dead a.danger`)), chromedp.WaitVisible(css(`form.actions button.danger`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "Are you sure") {
			t.Fatalf("drop did not ask: %s", txt)
		}
		do(t, ctx, "cancel", chromedp.Click(css(`form.actions a.button`)), chromedp.WaitVisible(css(`#dead button[type="submit"]`)))

		e.fail.Store(false) // the downstream system is back
		do(t, ctx, "replay", chromedp.Click(css(`#dead button[type="submit"]`)), chromedp.WaitVisible(css(`p.flash`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "replayed as queue item") {
			t.Fatalf("after replay:\n%s", txt)
		}
		deadline := time.Now().Add(30 * time.Second) // a hang guard
		for {
			txt := pageText(t, ctx)
			if strings.Contains(txt, "Nothing is stuck") && strings.Contains(txt, "The queue is empty") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the replayed item did not leave:\n%s", txt)
			}
			time.Sleep(100 * time.Millisecond)
			do(t, ctx, "reload dlq", chromedp.Navigate(base+"/ui/dlq"))
		}
	})

	t.Run("revoke a grant", func(t *testing.T) {
		do(t, ctx, "grants", chromedp.Navigate(base+"/ui/grants?state=active"), chromedp.WaitVisible(css(`button.danger`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "alice.nguyen@example.com") || !strings.Contains(txt, "active") {
			t.Fatalf("grants page:\n%s", txt)
		}
		do(t, ctx, "revoke", chromedp.Click(css(`button.danger`)), chromedp.WaitVisible(css(`p.flash`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "is revoked") || !strings.Contains(txt, "No grants") {
			t.Fatalf("after revoke:\n%s", txt)
		}
		do(t, ctx, "revoked list", chromedp.Navigate(base+"/ui/grants?state=revoked"), chromedp.WaitVisible(css(`table`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "by admin") {
			t.Fatalf("revoked grants:\n%s", txt)
		}
	})

	t.Run("markup from Okta renders as text", func(t *testing.T) {
		type probe struct {
			Title   string `json:"title"`
			Flag    bool   `json:"flag"`
			Imgs    int    `json:"imgs"`
			Scripts int    `json:"scripts"`
			Text    string `json:"text"`
		}
		for _, p := range []struct{ path, want string }{
			{"/ui/users?q=" + url.QueryEscape("<script"), xssUserName},
			{"/ui/users/" + xssUserID, xssUserName},
			{"/ui/users/" + xssUserID, xssGroupName}, // her groups, the event's targets
			{"/ui/groups?q=" + url.QueryEscape("<img"), xssGroupName},
			{"/ui/groups/" + xssGroupID, xssGroupName},
			{"/ui/groups/" + xssGroupID, xssUserName}, // the member list
			{"/ui/events", xssUserName},
			{"/ui/events", xssGroupName},
		} {
			do(t, ctx, p.path, chromedp.Navigate(base+p.path), chromedp.WaitReady(css("main")))
			res := eval[probe](t, ctx, `({title: document.title, flag: window.__xss !== undefined,
				imgs: document.querySelectorAll("img").length,
				scripts: Array.from(document.scripts).filter(s => !s.src.endsWith("/ui/static/console.js")).length,
				text: document.body.innerText})`)
			if res.Flag || strings.HasPrefix(res.Title, "pwned") || res.Imgs != 0 || res.Scripts != 0 {
				t.Errorf("%s: markup became HTML: title %q flag %v imgs %d scripts %d", p.path, res.Title, res.Flag, res.Imgs, res.Scripts)
			}
			if !strings.Contains(res.Text, p.want) {
				t.Errorf("%s does not show %q as text:\n%s", p.path, p.want, res.Text)
			}
		}
	})

	t.Run("overview, plugins and okta pages", func(t *testing.T) {
		do(t, ctx, "overview", chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(css(`figure.chart svg`)))
		txt := pageText(t, ctx)
		for _, want := range []string{"ready", "gen 1", "restart", "Okta events accepted per minute", "Hook decisions per minute", "Plugin call latency"} {
			if !strings.Contains(txt, want) {
				t.Errorf("overview lacks %q:\n%s", want, txt)
			}
		}
		if bars := eval[int](t, ctx, `document.querySelectorAll("figure.chart rect").length`); bars == 0 {
			t.Errorf("no chart bars after events and hook decisions")
		}
		if shot := os.Getenv("HOOKGATE_CONSOLE_SCREENSHOT"); shot != "" {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(shot, png, 0o644); err != nil {
				t.Fatal(err)
			}
			// And a user page at a phone's width, beside it.
			do(t, ctx, "phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/ui/users/"+aliceID),
				chromedp.WaitVisible(css(`main h1`)))
			if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(strings.TrimSuffix(shot, ".png")+"-phone.png", png, 0o644); err != nil {
				t.Fatal(err)
			}
			do(t, ctx, "laptop", chromedp.EmulateViewport(1280, 900))
		}
		do(t, ctx, "plugins", chromedp.Navigate(base+"/ui/plugins"), chromedp.WaitVisible(css(`table`)))
		txt = pageText(t, ctx)
		for _, want := range []string{"oncall-preapproval", "aws-grant", "terminate-revoke", "revocation API down"} {
			if !strings.Contains(txt, want) {
				t.Errorf("plugins page lacks %q:\n%s", want, txt)
			}
		}
		do(t, ctx, "reload", chromedp.Click(css(`form[action="/ui/reload"] button`)), chromedp.WaitVisible(css(`p.flash`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "Reloaded: generation 2") {
			t.Errorf("after reload:\n%s", txt)
		}
		// A broken gateway.toml: the reload is refused, saying why.
		good, err := os.ReadFile(e.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.cfg, append(append([]byte(nil), good...), "\n[hooks]\nbogus_key = 1\n"...), 0o600); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "refused reload", chromedp.Navigate(base+"/ui/plugins"), chromedp.WaitVisible(css(`form[action="/ui/reload"] button`)),
			chromedp.Click(css(`form[action="/ui/reload"] button`)), chromedp.WaitVisible(css(`p.flash.bad`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "Reload refused; generation 2 keeps serving") || !strings.Contains(txt, "bogus_key") {
			t.Errorf("after a refused reload:\n%s", txt)
		}
		if err := os.WriteFile(e.cfg, good, 0o600); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "okta", chromedp.Navigate(base+"/ui/okta"), chromedp.WaitVisible(css(`main h1`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "org_url") {
			t.Errorf("okta page without an org should say how to configure one:\n%s", txt)
		}
	})

	t.Run("sign out", func(t *testing.T) {
		do(t, ctx, "sign out", chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(css(`form.signout button`)),
			chromedp.Click(css(`form.signout button`)),
			chromedp.WaitVisible(css(`input[name="token"]`)),
			chromedp.Navigate(base+"/ui/grants"),
			chromedp.WaitVisible(css(`input[name="token"]`)))
	})

	t.Run("CSRF and headers over plain HTTP", func(t *testing.T) { checkConsoleHTTP(t, base) })

	// A second gateway, connected to a stand-in Okta org: start a sync from
	// the Okta page and watch it finish. (Cookies ignore ports, so this runs
	// after the first gateway's session ended.)
	t.Run("okta sync", func(t *testing.T) {
		org := oktatest.New(oktatest.Options{APIToken: orgToken})
		defer org.Close()
		org.SeedFixtureOrg()
		t.Setenv(orgTokenEnv, orgToken)
		p := startServe(t, orgConfig(t, org, "catchup_interval = \"0s\"\n"), filepath.Join(t.TempDir(), "data"))
		do(t, ctx, "sign in", chromedp.Navigate(p.url+"/ui/okta"),
			chromedp.WaitVisible(css(`input[name="token"]`)),
			chromedp.SendKeys(css(`input[name="token"]`), adminToken),
			chromedp.Submit(css(`input[name="token"]`)),
			chromedp.WaitVisible(css(`form[action="/ui/okta/sync"] button`)))
		do(t, ctx, "start sync", chromedp.Click(css(`form[action="/ui/okta/sync"] button`)), chromedp.WaitVisible(css(`p.flash`)))
		if txt := pageText(t, ctx); !strings.Contains(txt, "Okta sync started") {
			t.Fatalf("after starting a sync:\n%s", txt)
		}
		deadline := time.Now().Add(30 * time.Second) // a hang guard
		for {
			txt := pageText(t, ctx)
			if strings.Contains(txt, "State\tdone") || strings.Contains(txt, "State\ndone") {
				if !strings.Contains(txt, "users") || !strings.Contains(txt, "System Log catch-up") {
					t.Errorf("finished sync page:\n%s", txt)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the sync did not finish:\n%s", txt)
			}
			time.Sleep(100 * time.Millisecond)
			do(t, ctx, "reload okta", chromedp.Navigate(p.url+"/ui/okta"))
		}
		do(t, ctx, "synced user", chromedp.Navigate(p.url+"/ui/users?q=alice"), chromedp.WaitVisible(css(`a[href="/ui/users/`+aliceID+`"]`)))
	})
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

// checkConsoleHTTP signs in with a plain HTTP client and checks that
// state-changing requests need the session's CSRF token, and the headers.
func checkConsoleHTTP(t *testing.T, base string) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := func(path string, v url.Values, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}

	// Signed out: pages redirect to sign-in, actions are refused.
	if resp, _ := get("/ui/dlq"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), base+"/ui/?next=") {
		t.Errorf("signed-out GET /ui/dlq: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := form("/ui/reload", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("signed-out POST /ui/reload: %d, want 403", resp.StatusCode)
	}
	if resp := form("/ui/login", url.Values{"token": {"wrong"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", resp.StatusCode)
	}
	resp := form("/ui/login", url.Values{"token": {adminToken}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "path=/ui/", "max-age="} {
		if !strings.Contains(strings.ToLower(sc), strings.ToLower(want)) {
			t.Errorf("session cookie %q lacks %s", sc, want)
		}
	}
	page, body := get("/ui/plugins")
	if page.StatusCode != 200 {
		t.Fatalf("GET /ui/plugins: %d", page.StatusCode)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
	} {
		if got := page.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field on /ui/plugins:\n%s", body)
	}
	token := m[1]
	wrong := strings.Repeat("0", 64)
	for _, v := range []url.Values{{}, {"csrf": {wrong}}, {"csrf": {token[:63]}}} {
		if resp := form("/ui/reload", v); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /ui/reload with csrf %q: %d, want 403", v.Get("csrf"), resp.StatusCode)
		}
		if resp := form("/ui/logout", v); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /ui/logout with csrf %q: %d, want 403", v.Get("csrf"), resp.StatusCode)
		}
	}
	// The right token but from another site: refused too.
	if resp := form("/ui/reload", url.Values{"csrf": {token}}, "Origin", "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d, want 403", resp.StatusCode)
	}
	// Still signed in (the refusals did nothing), and the token works.
	if resp := form("/ui/reload", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /ui/reload with the token: %d, want 303", resp.StatusCode)
	}
	if resp := form("/ui/logout", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-out: %d", resp.StatusCode)
	}
	if resp, _ := get("/ui/plugins"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign-out GET /ui/plugins: %d, want a redirect to sign-in", resp.StatusCode)
	}
}
