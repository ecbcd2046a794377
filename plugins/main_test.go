package plugins

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/internal/duration"
)

// guests are the test plugins under testdata/, built once per test binary.
var guests = []string{"kitchen", "badabi", "badimport"}

var (
	wasmDir  string // built .wasm files
	cacheDir string // shared compilation cache
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookgate-plugins-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wasmDir = filepath.Join(dir, "wasm")
	cacheDir = filepath.Join(dir, "cache")
	if err := buildGuests(wasmDir, guests); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	if err := buildWAT(wasmDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildGuests compiles testdata/<name> to dir/<name>.wasm in parallel with
// the standard toolchain.
func buildGuests(dir string, names []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", filepath.Join(dir, name+".wasm"), "./testdata/"+name)
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("build testdata/%s: %v\n%s", name, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// watMissing is set when wabt's wat2wasm is not installed (.ci/run
// installs it); the tests of hand-written modules then skip.
var watMissing bool

// buildWAT assembles testdata/wat/<name>.wat to dir/<name>.wasm.
func buildWAT(dir string) error {
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		watMissing = true
		return nil
	}
	files, err := filepath.Glob("testdata/wat/*.wat")
	if err != nil {
		return err
	}
	for _, f := range files {
		out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(f), ".wat")+".wasm")
		if b, err := exec.Command("wat2wasm", "-o", out, f).CombinedOutput(); err != nil {
			return fmt.Errorf("wat2wasm %s: %v\n%s", f, err, b)
		}
	}
	return nil
}

// watPath is the built testdata/wat/<name>.wat; it skips the test when
// wat2wasm is missing.
func watPath(t testing.TB, name string) string {
	t.Helper()
	if watMissing {
		t.Skip("wat2wasm (Debian package wabt, installed by .ci/run) is not installed")
	}
	return wasmPath(name)
}

func wasmPath(name string) string { return filepath.Join(wasmDir, name+".wasm") }

// newHost returns a host over the shared cache with the given options,
// closed at the end of the test.
func newHost(t testing.TB, opts HostOptions) *Host {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = cacheDir
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h, err := NewHost(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// kitchenConfig is a [[plugin]] for the kitchen guest with every capability
// but okta; tests adjust it.
func kitchenConfig(name string) Config {
	return Config{
		Name:         name,
		Path:         wasmPath("kitchen"),
		PoolSize:     2,
		Timeout:      duration.Of(5 * time.Second),
		MemoryLimit:  512,
		Capabilities: []string{"log", "config", "kv", "identity", "http"},
		Config:       map[string]string{"greeting": "hello", "group": "oncall-engineers"},
	}
}

func load(t testing.TB, h *Host, cfg Config) *Plugin {
	t.Helper()
	p, err := h.Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// request builds a Lumos request whose request_comment drives the kitchen.
func request(action, email string) []byte {
	return []byte(`{"application":{"app_id":"aws","instance_id":"0oauAvkhqZlFVNOUV5d7","user_friendly_label":"AWS"},` +
		`"permissions":[{"label":"Admin","value":"admin","type":"PERMISSION","source":"OKTA"}],` +
		`"target_user":{"email":"` + email + `","given_name":"A","family_name":"B"},` +
		`"access_length":3600,"request_comment":` + quote(action) + `,"request_task_url":"https://example.com/t","custom_fields":null}`)
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// call runs kind/action and fails the test on error.
func call(t testing.TB, p *Plugin, kind, action string) *Result {
	t.Helper()
	res, err := p.Call(context.Background(), kind, request(action, "alice.nguyen@example.com"))
	if err != nil {
		t.Fatalf("%s %q: %v (logs %v)", kind, action, err, res.Logs)
	}
	return res
}
