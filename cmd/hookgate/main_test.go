package main

// These tests run the real binary: built once with `go build` into a temp
// directory, started as `hookgate serve` on a loopback port over a temp data
// directory.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta/oktagen"
)

const (
	oktaSecret = "crash-okta-secret"
	adminToken = "crash-admin-token"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookgate-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "hookgate")
	gobin := "/usr/local/go/bin/go" // where the project machines keep it
	if p, err := exec.LookPath("go"); err == nil {
		gobin = p
	}
	cmd := exec.Command(gobin, "build", "-o", binPath, ".")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hookgate:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if examplesDir != "" {
		os.RemoveAll(examplesDir)
	}
	os.Exit(code)
}

// env is the test process environment without any HOOKGATE_ variable,
// plus extra.
func env(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKGATE_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

var secrets = []string{"HOOKGATE_OKTA_SECRET=" + oktaSecret, "HOOKGATE_HOOK_SECRET=x", "HOOKGATE_ADMIN_TOKEN=" + adminToken}

// proc is one running `hookgate serve`.
type proc struct {
	cmd    *exec.Cmd
	url    string
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan error
}

var listenLine = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServe starts `hookgate serve` on 127.0.0.1:0 over dataDir and waits
// for its "listening" log line.
func startServe(t testing.TB, cfgPath, dataDir string, extraEnv ...string) *proc {
	t.Helper()
	return startServeArgs(t, []string{"--config", cfgPath, "--listen", "127.0.0.1:0", "--data", dataDir}, extraEnv...)
}

// startServeArgs is startServe with the serve flags given.
func startServeArgs(t testing.TB, args []string, extraEnv ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan error, 1)}
	p.cmd = exec.Command(binPath, append([]string{"serve"}, args...)...)
	p.cmd.Env = env(append(append([]string(nil), secrets...), extraEnv...)...)
	// The server dies with the test binary even if the test is killed.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listenLine.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		close(addr)
		p.done <- p.cmd.Wait()
	}()
	var a string
	select {
	case v, ok := <-addr:
		if !ok {
			t.Fatalf("hookgate serve exited before listening:\n%s", p.log())
		}
		a = v
	case <-time.After(time.Minute): // a hang guard, not a performance assertion
		_ = p.cmd.Process.Kill()
		t.Fatalf("hookgate serve did not log its listening address:\n%s", p.log())
	}
	p.url = "http://" + a
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	})
	return p
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// kill SIGKILLs the process and waits for it to be gone.
func (p *proc) kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func writeConfig(t testing.TB, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCrashSafety: concurrent senders, SIGKILL mid-load, restart on the
// same data directory: every event whose batch got a 200 is in the store.
// Two kill cycles, then a graceful SIGTERM that must exit 0.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary under load")
	}
	cfg := writeConfig(t, "") // defaults; the test reads the info-level "listening" line
	data := filepath.Join(t.TempDir(), "data")
	const (
		senders  = 8
		perBatch = 20
		group    = 42
		cycles   = 2
	)
	client := &http.Client{Timeout: 10 * time.Second}
	var acked []int // user numbers whose membership add was acknowledged
	var mu sync.Mutex

	for cycle := 0; cycle < cycles; cycle++ {
		p := startServe(t, cfg, data)
		if cycle == 0 && !regexp.MustCompile(`level=WARN msg="weak secret" problem="hooks.secret_env: the secret in HOOKGATE_HOOK_SECRET is 1 characters long`).MatchString(p.log()) {
			t.Errorf("serve with a 1-character hook secret logged no WARN naming it:\n%s", p.log())
		}
		if cycle > 0 {
			checkAcked(t, client, p, group, acked)
		}
		var wg sync.WaitGroup
		var ackedThisCycle int
		enough := make(chan struct{})
		var once sync.Once
		for s := 0; s < senders; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := 0; b < 1000; b++ { // bounded: the kill ends it long before
					base := ((cycle*senders+s)*1000 + b) * perBatch
					evs := make([]oktagen.Event, perBatch)
					users := make([]int, perBatch)
					for i := range evs {
						n := base + i
						users[i] = n
						evs[i] = oktagen.MembershipAdd(oktagen.UUID(cycle, n),
							time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC).Add(time.Duration(n)*time.Millisecond), n, group)
					}
					req, _ := http.NewRequest("POST", p.url+"/events/okta",
						bytes.NewReader(oktagen.Envelope(fmt.Sprintf("c%d-s%d-b%d", cycle, s, b), evs...)))
					req.Header.Set("Authorization", oktaSecret)
					resp, err := client.Do(req)
					if err != nil {
						return // the server is gone
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						continue // not acknowledged: nothing promised
					}
					mu.Lock()
					acked = append(acked, users...)
					ackedThisCycle++
					if ackedThisCycle >= 40 {
						once.Do(func() { close(enough) })
					}
					mu.Unlock()
				}
			}()
		}
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-enough: // load is flowing: pull the plug while senders are mid-request
		case <-finished:
			t.Fatalf("load ended before 40 batches were acknowledged:\n%s", p.log())
		}
		p.kill(t)
		<-finished
		t.Logf("cycle %d: %d events acknowledged so far", cycle, len(acked))
	}

	p := startServe(t, cfg, data)
	checkAcked(t, client, p, group, acked)

	// Graceful shutdown: SIGTERM → exit 0 after closing the store.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-p.done; err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.log())
	}
	// With the server stopped the CLI reads the store directly.
	out, err := exec.Command(binPath, "users", "get", oktagen.Login(acked[0]), "--data", data).Output()
	if err != nil {
		t.Fatalf("users get: %v", err)
	}
	var u struct {
		ID     string
		Groups []string
	}
	if err := json.Unmarshal(out, &u); err != nil || u.ID != oktagen.UserID(acked[0]) || len(u.Groups) != 1 {
		t.Errorf("users get printed %s (%v)", out, err)
	}
}

// checkAcked asserts every acknowledged user is a member of the group, read
// through the admin API of the restarted server.
func checkAcked(t testing.TB, client *http.Client, p *proc, group int, acked []int) {
	t.Helper()
	req, _ := http.NewRequest("GET", p.url+"/v1/groups/"+oktagen.GroupID(group), nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var g struct{ Members []string }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&g) != nil {
		t.Fatalf("GET group after restart: %d", resp.StatusCode)
	}
	members := make(map[string]bool, len(g.Members))
	for _, m := range g.Members {
		members[m] = true
	}
	missing := 0
	for _, n := range acked {
		if !members[oktagen.UserID(n)] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged events lost across SIGKILL", missing, len(acked))
	}
	t.Logf("all %d acknowledged events present (%d members)", len(acked), len(g.Members))
}

// TestServeRejectsBadConfig: serve stops with a message naming the key.
func TestServeRejectsBadConfig(t *testing.T) {
	for _, c := range []struct {
		name, toml string
		env        []string
		want       []string
	}{
		{"unknown key", "[server]\nlisten = \":0\"\nlisten_port = 9\n", secrets, []string{"server.listen_port"}},
		{"bad value", "[log]\nlevel = \"loud\"\n", secrets, []string{"log.level"}},
		{"okta.oauth key file", "[okta]\norg_url = \"https://example.okta.com\"\n[okta.oauth]\nclient_id = \"0oaservice\"\nprivate_key_file = \"missing-okta-key.pem\"\n", secrets,
			[]string{"okta.oauth.private_key_file", "missing-okta-key.pem"}},
		{"missing secret", "", []string{"HOOKGATE_OKTA_SECRET=a", "HOOKGATE_HOOK_SECRET=b"},
			[]string{"admin.token_env", "HOOKGATE_ADMIN_TOKEN"}},
		{"equal secrets", "", []string{"HOOKGATE_OKTA_SECRET=same-secret-0123456789", "HOOKGATE_HOOK_SECRET=hook-secret-0123456789", "HOOKGATE_ADMIN_TOKEN=same-secret-0123456789"},
			[]string{"okta.secret_env (HOOKGATE_OKTA_SECRET) and admin.token_env (HOOKGATE_ADMIN_TOKEN) hold the same value"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(binPath, "serve", "--config", writeConfig(t, c.toml), "--data", t.TempDir())
			cmd.Env = env(c.env...)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if err == nil || !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("serve: err %v, want exit status 1; output:\n%s", err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output does not name %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestCommands: dispatch, help, version, unknown commands.
func TestCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "hookgate ") {
		t.Errorf("version: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "serve --config") {
		t.Errorf("help: %d %q", code, out.String())
	}
	errb.Reset()
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Errorf("unknown command: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"serve", "extra"}, &out, &errb); code != 2 {
		t.Errorf("serve extra: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"users", "get", "nobody", "--data", t.TempDir()}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not found") {
		t.Errorf("users get on an empty store: %d %q", code, errb.String())
	}
	// -h on a command with subcommands shows its synopsis (on stdout).
	for _, args := range [][]string{{"dlq", "-h"}, {"okta", "--help"}, {"plugin", "-h"}, {"users", "-h"}, {"help", "-h"}} {
		out.Reset()
		errb.Reset()
		if code := run(args, &out, &errb); code != 0 || !strings.Contains(out.String(), "usage:") || errb.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0 and the synopsis", args, code, out.String(), errb.String())
		}
	}
	// -h on every subcommand prints its flags and synopsis and is no error.
	for _, args := range [][]string{
		{"serve", "-h"}, {"users", "get", "-h"}, {"groups", "get", "--help"}, {"dlq", "list", "-h"},
		{"grants", "list", "-h"}, {"okta", "check", "-h"}, {"okta", "sync", "-h"}, {"plugin", "test", "-h"},
	} {
		errb.Reset()
		code := run(args, &out, &errb)
		if code != 0 || strings.Contains(errb.String(), "help requested") || !strings.Contains(errb.String(), "usage: hookgate "+args[0]) {
			t.Errorf("%v: exit %d, stderr %q; want 0 with the flags and the synopsis", args, code, errb.String())
		}
	}
}
