package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktagen"
)

// TestRunawayPluginRealBinary: the real binary with a hand-written plugin
// whose call never ends (an endless loop of 8 MiB memory.copy and
// table.fill, plugins/testdata/wat/bulkloop.wat). While the call runs,
// Okta deliveries are answered without waiting for it (each within a
// generous 250 ms, or 3x the slowest delivery before the call on a loaded
// machine); then SIGTERM ends the process within server.shutdown_timeout
// (plus a margin for closing the store), the call still in flight.
func TestRunawayPluginRealBinary(t *testing.T) {
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Skip("wat2wasm (Debian package wabt, installed by .ci/run) is not installed")
	}
	dir := t.TempDir()
	wasm := filepath.Join(dir, "bulkloop.wasm")
	if out, err := exec.Command("wat2wasm", "-o", wasm, "../../plugins/testdata/wat/bulkloop.wat").CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, out)
	}
	const shutdownTimeout = 2 * time.Second
	cfg := writeConfig(t, fmt.Sprintf(`
[server]
shutdown_timeout = "%s"

[hooks]
timeout = "14s"

[plugins]
cache_dir = %q

[[plugin]]
name = "runaway"
path = %q
pool_size = 1
timeout = "12s"

[[route]]
kind = "pre_approval"
plugin = "runaway"
`, shutdownTimeout, filepath.Join(dir, "cache"), wasm))
	p := startServe(t, cfg, filepath.Join(dir, "data"))
	client := &http.Client{Timeout: 30 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := client.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after a minute:\n%s", p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	batch := 0
	postOkta := func() time.Duration {
		t.Helper()
		batch++
		body := oktagen.Envelope(fmt.Sprintf("runaway-%d", batch),
			oktagen.MembershipAdd(oktagen.UUID(9, batch), time.Now(), batch, 1))
		req, _ := http.NewRequest("POST", p.url+"/events/okta", bytes.NewReader(body))
		req.Header.Set("Authorization", oktaSecret)
		start := time.Now()
		resp, err := client.Do(req)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("Okta POST: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("Okta POST: %d", resp.StatusCode)
		}
		return took
	}
	var before time.Duration
	for range 5 {
		before = max(before, postOkta())
	}

	lumos, err := os.ReadFile("../../../shared/fixtures/lumos/pre_approval.json")
	if err != nil {
		t.Fatal(err)
	}
	hook := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("POST", p.url+"/hooks/pre_approval", bytes.NewReader(lumos))
		req.Header.Set("Authorization", "x")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			hook <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		hook <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	time.Sleep(300 * time.Millisecond) // the call is running (its timeout is 12 s)
	var during time.Duration
	for range 10 {
		during = max(during, postOkta())
	}
	t.Logf("Okta POST while the runaway call runs: worst %s (before it: worst %s)", during, before)
	select {
	case h := <-hook:
		t.Fatalf("the runaway call ended early: %s", h)
	default:
	}
	if during > 250*time.Millisecond && during > 3*before {
		t.Errorf("an Okta delivery waited %s while the runaway plugin ran (%s before)", during, before)
	}

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	select {
	case exitErr = <-p.done:
	case <-time.After(30 * time.Second): // a hang guard
		t.Fatalf("still running 30 s after SIGTERM (shutdown_timeout %s):\n%s", shutdownTimeout, p.log())
	}
	took := time.Since(start)
	var answer string
	select {
	case answer = <-hook:
	case <-time.After(5 * time.Second):
		answer = "(no answer)"
	}
	t.Logf("SIGTERM with the runaway call in flight: exited after %s (%v); the hook got %s", took, exitErr, answer)
	if took > shutdownTimeout+3*time.Second {
		t.Errorf("exit took %s, shutdown_timeout is %s:\n%s", took, shutdownTimeout, p.log())
	}
	if exitErr != nil {
		t.Errorf("exit: %v\n%s", exitErr, p.log())
	}
	if strings.Contains(answer, "APPROVED") && !strings.Contains(answer, "NOT_APPROVED") {
		t.Errorf("the runaway call was answered as a success: %s", answer)
	}
}
