package plugins

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// afterFailure checks the plugin recovered: the next call succeeds (it
// may wait for the background replacement) and the pool is whole again.
func afterFailure(t *testing.T, p *Plugin) {
	t.Helper()
	res := call(t, p, "pre_approval", "echo")
	if !res.Decision.Success {
		t.Fatalf("call after failure: %+v", res.Decision)
	}
	if s := p.Stats(); s.Replaced < 1 {
		t.Fatalf("stats %+v: want at least one replaced instance", s)
	}
}

func TestInfiniteLoopTimesOut(t *testing.T) {
	h := newHost(t, HostOptions{})
	cfg := kitchenConfig("loop")
	cfg.PoolSize = 1
	cfg.Timeout.Duration = 200 * time.Millisecond
	p := load(t, h, cfg)
	res, err := p.Call(context.Background(), "pre_approval", request("loop", "a@example.com"))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "plugin loop: pre_approval") || !strings.Contains(err.Error(), "200ms") {
		t.Fatalf("error lacks context: %v", err)
	}
	if res == nil {
		t.Fatal("nil result on error")
	}
	afterFailure(t, p)
}

func TestCallerDeadlineWhileQueued(t *testing.T) {
	h := newHost(t, HostOptions{})
	cfg := kitchenConfig("queued")
	cfg.PoolSize = 1
	cfg.Timeout.Duration = 300 * time.Millisecond
	p := load(t, h, cfg)
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		close(started)
		_, err := p.Call(context.Background(), "pre_approval", request("loop", "a@example.com"))
		done <- err
	}()
	<-started
	// Wait until the looping call holds the only instance.
	for p.Stats().InUse == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := p.Call(ctx, "pre_approval", request("echo", "a@example.com"))
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "waiting for a free instance") {
		t.Fatalf("queued call: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrTimeout) {
		t.Fatalf("looping call: %v", err)
	}
	afterFailure(t, p)
}

func TestMemoryBomb(t *testing.T) {
	h := newHost(t, HostOptions{})
	cfg := kitchenConfig("bomb")
	cfg.PoolSize = 1
	cfg.MemoryLimit = 256 // 16 MiB
	p := load(t, h, cfg)
	res, err := p.Call(context.Background(), "pre_approval", request("bomb", "a@example.com"))
	if !errors.Is(err, ErrMemory) {
		t.Fatalf("err %v, want ErrMemory (logs %v)", err, res.Logs)
	}
	if !strings.Contains(err.Error(), "256 pages") {
		t.Fatalf("error does not name the limit: %v", err)
	}
	afterFailure(t, p)
}

func TestPanicTraps(t *testing.T) {
	h := newHost(t, HostOptions{})
	cfg := kitchenConfig("panics")
	cfg.PoolSize = 1
	p := load(t, h, cfg)
	res, err := p.Call(context.Background(), "pre_approval", request("panic:boom", "a@example.com"))
	if !errors.Is(err, ErrTrap) {
		t.Fatalf("err %v, want ErrTrap", err)
	}
	var sawPanic bool
	for _, l := range res.Logs {
		if l.Source == "stderr" && strings.Contains(l.Message, "kitchen panics: boom") {
			sawPanic = true
		}
	}
	if !sawPanic {
		t.Fatalf("panic message not in logs: %+v", res.Logs)
	}
	afterFailure(t, p)
}

func TestExitTraps(t *testing.T) {
	h := newHost(t, HostOptions{})
	p := load(t, h, kitchenConfig("exits"))
	_, err := p.Call(context.Background(), "provisioning", request("exit", "a@example.com"))
	if !errors.Is(err, ErrTrap) || !strings.Contains(err.Error(), "code 3") {
		t.Fatalf("err %v, want ErrTrap with exit code 3", err)
	}
	afterFailure(t, p)
}

func TestHugeOutput(t *testing.T) {
	h := newHost(t, HostOptions{})
	cfg := kitchenConfig("huge")
	cfg.MaxOutputBytes = 1 << 20
	p := load(t, h, cfg)
	_, err := p.Call(context.Background(), "pre_approval", request("huge", "a@example.com"))
	if !errors.Is(err, ErrOutputTooLarge) || !strings.Contains(err.Error(), "max_output_bytes is 1048576") {
		t.Fatalf("err %v, want ErrOutputTooLarge naming the cap", err)
	}
	// The instance is healthy and kept.
	call(t, p, "pre_approval", "echo")
	if s := p.Stats(); s.Replaced != 0 {
		t.Fatalf("stats %+v: a too-large output should not discard the instance", s)
	}
}

func TestNoHandler(t *testing.T) {
	h := newHost(t, HostOptions{})
	p := load(t, h, kitchenConfig("nohandler"))
	_, err := p.Call(context.Background(), "request_validation", request("echo", "a@example.com"))
	if !errors.Is(err, ErrNoHandler) || !strings.Contains(err.Error(), `"request_validation"`) || !strings.Contains(err.Error(), "pre_approval") {
		t.Fatalf("err %v, want ErrNoHandler naming the kind and the handled kinds", err)
	}
	if strings.Count(err.Error(), "no handler") != 1 {
		t.Errorf("err %q says \"no handler\" more than once", err)
	}
}

func TestBadInputReportedByGuest(t *testing.T) {
	h := newHost(t, HostOptions{})
	p := load(t, h, kitchenConfig("badinput"))
	_, err := p.Call(context.Background(), "pre_approval", []byte(`{"application":`))
	if !errors.Is(err, ErrGuest) || !strings.Contains(err.Error(), "decode request") {
		t.Fatalf("err %v, want ErrGuest about decoding", err)
	}
}

func TestCapabilityNotGranted(t *testing.T) {
	h := newHost(t, HostOptions{})
	cfg := kitchenConfig("nocaps")
	cfg.Capabilities = nil
	p := load(t, h, cfg)
	for action, capName := range map[string]string{
		"config:greeting":           "config",
		"kvget:k":                   "kv",
		"member:oncall-engineers":   "identity",
		"http:http://127.0.0.1:1/x": "http",
	} {
		res := call(t, p, "pre_approval", action)
		want := `capability "` + capName + `" not granted to plugin "nocaps"`
		if res.Decision.Success || !strings.Contains(res.Decision.Message, want) {
			t.Errorf("%s: decision %+v, want failure containing %q", action, res.Decision, want)
		}
		var noted bool
		for _, l := range res.Logs {
			noted = noted || (l.Source == "host" && strings.Contains(l.Message, want))
		}
		if !noted {
			t.Errorf("%s: host did not log the refusal: %+v", action, res.Logs)
		}
	}
	// Logging needs no capability.
	res := call(t, p, "pre_approval", "log")
	if len(res.Logs) == 0 {
		t.Fatal("log without the log capability produced no lines")
	}
}

func TestUnknownABIVersionRefused(t *testing.T) {
	h := newHost(t, HostOptions{})
	cfg := kitchenConfig("badabi")
	cfg.Path = wasmPath("badabi")
	_, err := h.Load(context.Background(), cfg)
	if !errors.Is(err, ErrABIVersion) {
		t.Fatalf("err %v, want ErrABIVersion", err)
	}
	for _, want := range []string{"badabi", "badabi.wasm", "ABI version 99", "ABI version 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestUnknownImportRefused(t *testing.T) {
	h := newHost(t, HostOptions{})
	cfg := kitchenConfig("badimport")
	cfg.Path = wasmPath("badimport")
	_, err := h.Load(context.Background(), cfg)
	if !errors.Is(err, ErrBadModule) || !strings.Contains(err.Error(), "hookgate.role_assign") {
		t.Fatalf("err %v, want ErrBadModule naming hookgate.role_assign", err)
	}
}

func TestNotWasmRefused(t *testing.T) {
	h := newHost(t, HostOptions{})
	bad := filepath.Join(t.TempDir(), "junk.wasm")
	if err := os.WriteFile(bad, []byte("not wasm at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := kitchenConfig("junk")
	cfg.Path = bad
	_, err := h.Load(context.Background(), cfg)
	if !errors.Is(err, ErrBadModule) || !strings.Contains(err.Error(), "junk.wasm") {
		t.Fatalf("err %v, want ErrBadModule naming the file", err)
	}
	// The author is told how to build one.
	if !strings.Contains(err.Error(), "not a WebAssembly module") || !strings.Contains(err.Error(), "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared") {
		t.Errorf("err %v does not say how to build a plugin", err)
	}
	cfg.Path = filepath.Join(t.TempDir(), "missing.wasm")
	if _, err := h.Load(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "missing.wasm") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestLogFloodCapped(t *testing.T) {
	h := newHost(t, HostOptions{})
	p := load(t, h, kitchenConfig("flood"))
	res := call(t, p, "pre_approval", "logflood")
	if len(res.Logs) != maxLogLinesPerCall+1 {
		t.Fatalf("%d lines, want %d plus a truncation note", len(res.Logs), maxLogLinesPerCall)
	}
	last := res.Logs[len(res.Logs)-1]
	if last.Source != "host" || !strings.Contains(last.Message, "dropped") {
		t.Fatalf("last line %+v", last)
	}
}

func TestConcurrentCallsBeyondPool(t *testing.T) {
	h := newHost(t, HostOptions{})
	cfg := kitchenConfig("busy")
	cfg.PoolSize = 2
	p := load(t, h, cfg)
	const n = 3 * 2
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := "user" + string(rune('a'+i)) + "@example.com"
			res, err := p.Call(context.Background(), "pre_approval", request("echo", email))
			if err == nil && res.Decision.Message != email {
				err = errors.New("wrong answer " + res.Decision.Message + " for " + email)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := p.Stats()
	if s.Calls != n || s.Failures != 0 || s.Idle != 2 || s.InUse != 0 || s.Waiting != 0 {
		t.Fatalf("stats after calls: %+v", s)
	}
}

func TestClose(t *testing.T) {
	h := newHost(t, HostOptions{})
	p := load(t, h, kitchenConfig("closing"))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Call(context.Background(), "pre_approval", request("echo", "a@example.com")); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// TestCommandBuildRefused: the commonest build mistake, a Go plugin built
// without -buildmode=c-shared (a WASI command whose runtime is never
// initialised, so its exports abort), is refused with a message that says
// to add the flag, not only "wasm error: unreachable".
func TestCommandBuildRefused(t *testing.T) {
	out := filepath.Join(t.TempDir(), "kitchen-command.wasm")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/kitchen")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	h := newHost(t, HostOptions{})
	cfg := kitchenConfig("kitchen-command")
	cfg.Path = out
	_, err := h.Load(context.Background(), cfg)
	if !errors.Is(err, ErrBadModule) || !strings.Contains(err.Error(), "WASI command") || !strings.Contains(err.Error(), "-buildmode=c-shared") {
		t.Fatalf("err %v, want ErrBadModule telling to build with -buildmode=c-shared", err)
	}
}
