package gateway_test

// Restart safety with the real binary: queued event work and pending grant
// expiries survive kill -9; after restart every queued item runs and every
// past-due grant is revoked.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds cmd/hookgate into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	bin := filepath.Join(dir, "hookgate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/hookgate")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build hookgate: %v\n%s", err, b)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// binServer is one `hookgate serve` process.
type binServer struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

func startBinary(t *testing.T, bin, cfg, data, addr string) *binServer {
	t.Helper()
	out := &bytes.Buffer{}
	cmd := exec.Command(bin, "serve", "--config", cfg, "--data", data, "--listen", addr)
	cmd.Env = append(os.Environ(), "HOOKGATE_OKTA_SECRET="+testOktaSecret,
		"HOOKGATE_HOOK_SECRET=test-hook-secret", "HOOKGATE_ADMIN_TOKEN="+testAdminToken)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &binServer{cmd: cmd, out: out}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("hookgate output:\n%s", out.String())
		}
	})
	// /readyz waits for the plugins to compile (the listener opens first).
	eventuallyWithin(t, 2*time.Minute, "hookgate to be ready", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return b
}

func (b *binServer) kill9(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = b.cmd.Wait()
}

func TestRestartSafetyKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	zendesk, aws := newStandIn(t), newStandIn(t)
	// Before the crash nothing downstream succeeds: event work stays queued
	// (retrying) and no grant can be revoked.
	zendesk.setFail(func(received) int { return 503 })
	aws.setFail(func(r received) int {
		if r.Body["action"] == "revoke" {
			return 503
		}
		return 0
	})
	cfgPath := filepath.Join(dir, "gateway.toml")
	cfgText := strings.Replace(pipelineTOML(t, map[string]*standIn{"zendesk": zendesk}, aws, 1000),
		`max_backoff = "40ms"`, `max_backoff = "200ms"`, 1)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)
	ts := &testServer{t: t, URL: "http://" + addr, client: &http.Client{Timeout: 30 * time.Second}}
	p1 := startBinary(t, bin, cfgPath, data, addr)

	const users = 5
	var evs []map[string]any
	for i := range users {
		evs = append(evs, userEvent(fmt.Sprintf("crash-%d", i), "user.lifecycle.deactivate",
			fmt.Sprintf("00ucrash%d", i), fmt.Sprintf("u%d@example.com", i), time.Now()))
	}
	postOktaTo(t, ts, envelopeOf(evs...))
	// Grants: two expire at once (their deprovisioning is queued and
	// failing), two expire only after the crash (pending expiries).
	provisionTo(t, ts, "a@example.com", 1)
	provisionTo(t, ts, "b@example.com", 1)
	provisionTo(t, ts, "c@example.com", 4)
	provisionTo(t, ts, "d@example.com", 4)
	eventually(t, "event items and expired grants to be retrying", func() bool {
		var items []struct {
			Kind     string `json:"kind"`
			Attempts int    `json:"attempts"`
		}
		ts.admin("GET", "/v1/queue", &items)
		ev, gr := 0, 0
		for _, it := range items {
			if it.Attempts >= 1 && it.Kind == "okta_event" {
				ev++
			}
			if it.Attempts >= 1 && it.Kind == "deprovision-grant" {
				gr++
			}
		}
		return ev == users && gr == 2
	})
	active := ts.grants("?state=active")
	if len(active) != 4 {
		t.Fatalf("%d active grants before the crash, want 4", len(active))
	}
	var lastExpiry time.Time
	for _, g := range active {
		if g.ExpiresAt.After(lastExpiry) {
			lastExpiry = g.ExpiresAt
		}
	}
	p1.kill9(t)

	// Downstreams recover while the gateway is down.
	zendesk.setFail(nil)
	aws.setFail(nil)
	// Restart only once every grant is past due, so the late ones expired
	// while the gateway was down.
	eventually(t, "every grant to be past due", func() bool { return time.Now().After(lastExpiry) })
	startBinary(t, bin, cfgPath, data, addr)

	eventually(t, "every queued event to run after restart", func() bool {
		done := map[string]bool{}
		for _, r := range zendesk.requests() {
			if r.Status == 200 {
				done[r.Body["user_id"].(string)] = true
			}
		}
		return len(done) == users
	})
	eventually(t, "every grant to be revoked after restart", func() bool {
		return len(ts.grants("?state=revoked")) == 4
	})
	eventually(t, "the queue to drain", func() bool { return ts.queueLen() == 0 })
	if n := len(ts.dlq()); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// postOktaTo delivers an envelope to a gateway that is not a testServer
// started in-process.
func postOktaTo(t *testing.T, ts *testServer, body []byte) {
	t.Helper()
	code, _, b := ts.do("POST", "/events/okta", body, "Authorization", testOktaSecret, "Content-Type", "application/json")
	if code != 200 {
		t.Fatalf("POST /events/okta: %d %s", code, b)
	}
}

// provisionTo posts the Lumos provisioning fixture for user with
// access_length secs.
func provisionTo(t *testing.T, ts *testServer, user string, secs int) {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(lumosFixture(t, "provisioning.json"), &req); err != nil {
		t.Fatal(err)
	}
	req["access_length"] = secs
	req["target_user"].(map[string]any)["email"] = user
	body, _ := json.Marshal(req)
	code, _, b := ts.do("POST", "/hooks/provisioning", body, "Authorization", "test-hook-secret")
	if code != 200 || !bytes.Contains(b, []byte("PROVISIONED_USER")) {
		t.Fatalf("provisioning %s: %d %s", user, code, b)
	}
}
