package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktagen"
)

// examplePlugins are the Go example plugins the default gateway.toml
// serves.
var examplePlugins = []string{
	"attribute-preapproval", "aws-grant", "impersonation-deprovision", "oncall-preapproval",
	"terminate-revoke", "training-validation", "zendesk-license",
}

// The examples' directory is shared by the tests of one run and removed
// by TestMain.
var (
	examplesOnce sync.Once
	examplesDir  string
	examplesErr  string
)

// defaultSetup returns a directory holding the repository's gateway.toml
// beside build/plugins/<example>.wasm for the Go examples (built once per
// test binary run), so the default config runs unchanged.
func defaultSetup(t testing.TB) string {
	t.Helper()
	examplesOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hookgate-examples-")
		if err != nil {
			examplesErr = err.Error()
			return
		}
		examplesDir = dir
		pkgs := make([]string, len(examplePlugins))
		for i, n := range examplePlugins {
			pkgs[i] = "./examples/" + n
		}
		if _, err := buildWasm(filepath.Join(dir, "build", "plugins"), pkgs...); err != nil {
			examplesErr = err.Error()
			return
		}
		// The AssemblyScript examples the default config also routes:
		// their checked-in builds (as `make plugins` copies them without npm).
		asBuilds, _ := filepath.Glob("../../examples/as-*/as-*.wasm")
		for _, src := range asBuilds {
			b, err := os.ReadFile(src)
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, "build", "plugins", filepath.Base(src)), b, 0o600)
			}
			if err != nil {
				examplesErr = err.Error()
				return
			}
		}
		b, err := os.ReadFile("../../gateway.toml")
		if err != nil {
			examplesErr = err.Error()
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "gateway.toml"), b, 0o600); err != nil {
			examplesErr = err.Error()
		}
	})
	if examplesErr != "" {
		t.Fatal(examplesErr)
	}
	return examplesDir
}

// TestFastStart: a fresh data directory (cold compilation cache) and the
// default config with its example plugins. The listener must answer
// before the plugins are compiled: /healthz at once, an Okta delivery
// accepted and committed, an inline hook answered 503 JSON naming its
// plugin, /readyz 503 listing what is loading; then everything becomes
// ready and the [[on_event]] work enqueued meanwhile runs.
func TestFastStart(t *testing.T) {
	dir := defaultSetup(t)
	data := filepath.Join(t.TempDir(), "data")
	t.Setenv("ZENDESK_API_TOKEN", "test-token")
	exec0 := time.Now()
	p := startServe(t, filepath.Join(dir, "gateway.toml"), data)
	listening := time.Since(exec0)
	client := &http.Client{Timeout: 30 * time.Second}

	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", p.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, p.log())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// An inline hook first: its plugin cannot be compiled yet.
	body, err := os.ReadFile("../../../shared/fixtures/lumos/pre_approval.json")
	if err != nil {
		t.Fatal(err)
	}
	hook := func() (int, string, http.Header) {
		req, _ := http.NewRequest("POST", p.url+"/hooks/pre_approval", bytes.NewReader(body))
		req.Header.Set("Authorization", "x") // HOOKGATE_HOOK_SECRET=x (secrets)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("hook: %v\n%s", err, p.log())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	code, hb, hdr := hook()
	if code != 503 || !strings.Contains(hb, `"plugin":"oncall-preapproval"`) || !strings.Contains(hb, "still loading") || hdr.Get("Retry-After") == "" {
		t.Errorf("inline hook before its plugin is ready: %d %s (Retry-After %q), want 503 JSON naming the plugin", code, hb, hdr.Get("Retry-After"))
	}
	if code, b := get("/healthz"); code != 200 {
		t.Errorf("/healthz while loading: %d %s", code, b)
	}
	code, rb := get("/readyz")
	if code != 503 || !strings.Contains(rb, "still loading") {
		t.Errorf("/readyz while loading: %d %s, want 503 listing the loading plugins", code, rb)
	}

	// An Okta delivery with a deactivation terminate-revoke subscribes to.
	ev := oktagen.Event{UUID: oktagen.UUID(7, 1), Published: time.Now().UTC(), EventType: "user.lifecycle.deactivate",
		Targets: []oktagen.Target{oktagen.UserTarget(1)}}
	req, _ := http.NewRequest("POST", p.url+"/events/okta", bytes.NewReader(oktagen.Envelope("fast-1", ev)))
	req.Header.Set("Authorization", oktaSecret)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	accepted := time.Since(exec0)
	if resp.StatusCode != 200 {
		t.Fatalf("Okta POST while loading: %d\n%s", resp.StatusCode, p.log())
	}
	if accepted > 20*time.Second { // a hang guard; the figure is in the log
		t.Errorf("Okta POST accepted %v after exec", accepted)
	}
	if code, b := get("/v1/users/" + oktagen.UserID(1)); code != 200 {
		t.Errorf("user of the accepted event: %d %s", code, b)
	}

	// Ready within a generous bound, then the hook decides and the queued
	// event work has run (the plugin's HTTP targets are down, so it ran
	// and failed: an audit record either way).
	deadline := time.Now().Add(3 * time.Minute)
	for {
		code, rb = get("/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 3 min: %s\n%s", rb, p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	ready := time.Since(exec0)
	if code, hb, _ := hook(); code != 200 || !strings.Contains(hb, "response") {
		t.Errorf("inline hook once ready: %d %s", code, hb)
	}
	for {
		_, ab := get("/v1/audit?kind=okta_event")
		var recs struct {
			Records []json.RawMessage `json:"records"`
		}
		_ = json.Unmarshal([]byte(ab), &recs)
		if strings.Contains(ab, "terminate-revoke") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the event work enqueued while loading never ran: %s\n%s", ab, p.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("cold start, the example plugins: listening %v, first Okta POST accepted %v, /readyz %v after exec",
		listening.Round(time.Millisecond), accepted.Round(time.Millisecond), ready.Round(time.Millisecond))
}
