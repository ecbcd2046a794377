package gateway_test

// Live reload: under load (no request fails, each gets the old or the new
// answer), refused reloads that change nothing, and SIGHUP on the real
// binary.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/store"
)

// reloadServer is a full gateway (hooks and pipeline) serving the config
// file Path, with reload enabled as `hookgate serve` enables it.
type reloadServer struct {
	*testServer
	Path string
}

func startReloadServer(t *testing.T, toml string) *reloadServer {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	ov := testOverrides(dir)
	cfg, err := config.Load(path, ov)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	quiet := quietLogger()
	st := openTestStore(t, cfg, quiet)
	ps, err := hook.LoadPlugins(context.Background(), gateway.PluginOptions(cfg), st, quiet)
	if err != nil {
		t.Fatal(err)
	}
	audit := store.NewAuditLog(st, store.AuditOptions{Logger: quiet})
	srv := buildFull(t, gateway.Options{Config: cfg, Store: st, Logger: quiet, Audit: audit, Deciders: ps.Deciders(),
		Reload: &gateway.ReloadOptions{
			Load:    func() (*config.Config, error) { return config.Load(path, ov) },
			Plugins: ps,
		}})
	url, served := serveLoopback(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	piped := make(chan error, 1)
	go func() { piped <- srv.RunWork(ctx) }()
	t.Cleanup(func() {
		shutdown(t, srv)
		<-served
		cancel()
		<-piped
		_ = audit.Close()
		if err := srv.ClosePlugins(); err != nil {
			t.Errorf("close plugins: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	ts := newTestServer(t, url, srv, st, cfg)
	ts.client.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	return &reloadServer{testServer: ts, Path: path}
}

type reloadAnswer struct {
	Status          string   `json:"status"`
	Generation      uint64   `json:"generation"`
	Plugins         []string `json:"plugins"`
	Error           string   `json:"error"`
	RestartRequired bool     `json:"restart_required"`
}

// reload writes toml to the config file and POSTs /v1/reload.
func (rs *reloadServer) reload(toml string) (int, reloadAnswer) {
	rs.t.Helper()
	if err := os.WriteFile(rs.Path, []byte(toml), 0o600); err != nil {
		rs.t.Fatal(err)
	}
	code, _, b := rs.do("POST", "/v1/reload", nil, "Authorization", "Bearer "+testAdminToken)
	var a reloadAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		rs.t.Fatalf("POST /v1/reload: %d %q: %v", code, b, err)
	}
	return code, a
}

// oncallTOML routes pre_approval for app aws to the oncall-preapproval
// example under the plugin name name, pre-approving members of group.
func oncallTOML(t testing.TB, name, group string) string {
	wd := buildWasm(t)
	return fmt.Sprintf(`
[[plugin]]
name = %q
path = %q
pool_size = 2
capabilities = ["log", "config", "identity"]
config = { group = %q }

[[route]]
kind = "pre_approval"
app_id = "aws"
plugin = %q

[plugins]
cache_dir = %q
`, name, filepath.Join(wd, "oncall-preapproval.wasm"), group, name, filepath.Join(wd, "cache"))
}

// preApprove asks for alice's pre-approval; any transport error or non-200
// is returned as an error (the load test counts those as dropped).
func (rs *reloadServer) preApprove(body []byte) (string, error) {
	req, err := http.NewRequest("POST", rs.URL+"/hooks/pre_approval", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", testHookSecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := rs.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}

// TestReloadUnderLoadDropsNothing reloads ten times between two configs
// that route pre_approval to differently named instances of the
// oncall-preapproval example with different groups, while eight clients
// keep asking (pools of 2, so calls queue for instances). Every answer must
// be exactly the old or the new generation's; a call that hit a closed
// plugin would answer the generic failure instead.
func TestReloadUnderLoadDropsNothing(t *testing.T) {
	cfgA := oncallTOML(t, "oncall-a", "oncall-engineers")
	cfgB := oncallTOML(t, "oncall-b", "platform-team")
	rs := startReloadServer(t, cfgA)
	rs.postOkta(fixture(t, "batch.json")) // alice is in oncall-engineers
	body := lumos(t, "pre_approval.json")

	ansA, err := rs.preApprove(body)
	if err != nil || !strings.Contains(ansA, `"APPROVED"`) || !strings.Contains(ansA, "oncall-engineers") {
		t.Fatalf("generation A answer %q, %v", ansA, err)
	}
	if code, a := rs.reload(cfgB); code != 200 || a.Generation != 2 || len(a.Plugins) != 1 || a.Plugins[0] != "oncall-b" {
		t.Fatalf("reload to B: %d %+v", code, a)
	}
	ansB, err := rs.preApprove(body)
	if err != nil || !strings.Contains(ansB, `"NOT_APPROVED"`) || !strings.Contains(ansB, "platform-team") {
		t.Fatalf("generation B answer %q, %v", ansB, err)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total int
	var bad []string
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				got, err := rs.preApprove(body)
				mu.Lock()
				total++
				if err != nil {
					bad = append(bad, err.Error())
				} else if got != ansA && got != ansB {
					bad = append(bad, got)
				}
				mu.Unlock()
			}
		})
	}
	const reloads = 10
	for i := range reloads {
		cfg, want := cfgA, ansA
		if i%2 == 1 {
			cfg, want = cfgB, ansB
		}
		if code, a := rs.reload(cfg); code != 200 || a.Generation != uint64(3+i) {
			t.Errorf("reload %d: %d %+v", i, code, a)
		}
		// Requests started after the swap get the new generation.
		if got, err := rs.preApprove(body); err != nil || got != want {
			t.Errorf("after reload %d: %q, %v; want %q", i, got, err, want)
		}
	}
	stop.Store(true)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d of %d requests during %d reloads failed or got neither answer; first: %s", len(bad), total, reloads, bad[0])
	}
	t.Logf("%d requests answered during %d reloads", total, reloads)

	// Only the current generation's plugin is loaded: the others were
	// closed once their requests finished.
	_, _, m := rs.do("GET", "/metrics", nil)
	if got := metricSum(t, m, "hookgate_plugin_pool_size"); got != 2 {
		t.Errorf("pool sizes summed over loaded plugins = %v, want 2 (one plugin)", got)
	}
	if got := metricSum(t, m, "hookgate_reloads_total", "outcome", "ok"); got != reloads+1 {
		t.Errorf("reloads ok = %v, want %d", got, reloads+1)
	}
}

// TestReloadRefusedChangesNothing: each broken config is refused with 422
// naming the key, and the running generation keeps answering as before.
func TestReloadRefusedChangesNothing(t *testing.T) {
	good := oncallTOML(t, "oncall-a", "oncall-engineers")
	rs := startReloadServer(t, good)
	rs.postOkta(fixture(t, "batch.json"))
	body := lumos(t, "pre_approval.json")
	before, err := rs.preApprove(body)
	if err != nil || !strings.Contains(before, `"APPROVED"`) {
		t.Fatalf("before: %q %v", before, err)
	}
	cases := []struct {
		name, toml, wantErr string
		restart             bool
	}{
		{"unknown key", good + "\n[hooks]\ntimout = \"5s\"\n", "hooks.timout", false},
		{"missing plugin file", strings.Replace(good, "oncall-preapproval.wasm", "no-such-plugin.wasm", 1),
			"plugin[0] (oncall-a).path", false},
		{"missing env secret", good + "\n[hooks]\nsecret_env = \"HOOKGATE_TEST_UNSET_SECRET\"\n", "hooks.secret_env", false},
		{"missing env in plugin config", strings.Replace(good, `group = "oncall-engineers"`, `group = "${HOOKGATE_TEST_UNSET_GROUP}"`, 1),
			"plugin[0] (oncall-a).config.group", false},
		{"route to unknown plugin", strings.Replace(good, "plugin = \"oncall-a\"", "plugin = \"nope\"", 1), "route", false},
		{"restart-only setting", good + "\n[server]\nshutdown_timeout = \"3s\"\n", "server.shutdown_timeout", true},
		// Fail closed: a key the reload code does not apply is refused
		// (queue.max_attempts is read once, by the worker pool).
		{"key unknown to reload", good + "\n[queue]\nmax_attempts = 7\n", "queue.max_attempts", true},
		{"bad module", strings.Replace(good, filepath.Join(buildWasm(t), "oncall-preapproval.wasm"), rs.Path, 1),
			"oncall-a", false},
		// Module limits are checked before compiling, in the serving
		// process: a module over one is refused, naming limit and value.
		{"module over max_functions", strings.Replace(good, "pool_size = 2\n", "pool_size = 2\nmax_functions = 10\n", 1),
			"functions, max_functions is 10", false},
		{"many-locals module", strings.Replace(good, filepath.Join(buildWasm(t), "oncall-preapproval.wasm"), manyLocalsWasm(t), 1),
			"declares 4294967295 or more locals, max_locals_per_function is 50000", false},
	}
	for _, c := range cases {
		code, a := rs.reload(c.toml)
		if code != 422 || a.Status != "refused" || !strings.Contains(a.Error, c.wantErr) || a.RestartRequired != c.restart || a.Generation != 1 {
			t.Errorf("%s: %d %+v; want 422 naming %q (restart_required=%v), generation 1", c.name, code, a, c.wantErr, c.restart)
		}
		if got, err := rs.preApprove(body); err != nil || got != before {
			t.Errorf("%s: after the refused reload the answer is %q, %v; want %q", c.name, got, err, before)
		}
	}
	if g := rs.Srv.Generation(); g.Seq != 1 || g.Config.Plugin[0].Name != "oncall-a" {
		t.Errorf("generation changed: %d %s", g.Seq, g.Config.Plugin[0].Name)
	}
	_, _, m := rs.do("GET", "/metrics", nil)
	if got := metricSum(t, m, "hookgate_reloads_total", "outcome", "refused"); got != float64(len(cases)) {
		t.Errorf("reloads refused = %v, want %d", got, len(cases))
	}
	// The admin token guards the endpoint.
	if code, _, _ := rs.do("POST", "/v1/reload", nil); code != 401 {
		t.Errorf("POST /v1/reload without auth: %d", code)
	}
	// And the good config still reloads.
	if code, a := rs.reload(good); code != 200 || a.Generation != 2 {
		t.Errorf("good reload: %d %+v", code, a)
	}
}

// manyLocalsWasm writes a 29-byte module whose one function declares
// 2^32-1 locals (run-length encoded) and returns its path.
func manyLocalsWasm(t *testing.T) string {
	wasm := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00" + // type () -> ()
		"\x03\x02\x01\x00" + // one function
		"\x0a\x0a\x01\x08\x01\xff\xff\xff\xff\x0f\x7f\x0b") // locals: 2^32-1 i32
	path := filepath.Join(t.TempDir(), "locals.wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSIGHUPReloadsBinary: the real binary picks up a changed route on
// SIGHUP, and logs a refused reload without changing anything.
func TestSIGHUPReloadsBinary(t *testing.T) {
	wd := buildWasm(t)
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	tomlFor := func(app string) string {
		return fmt.Sprintf(`
[[plugin]]
name = "hp"
path = %q
pool_size = 1
capabilities = ["config"]
config = { name = "route-%s" }

[[route]]
kind = "pre_approval"
app_id = %q
plugin = "hp"

[plugins]
cache_dir = %q
`, filepath.Join(wd, "hookplugin.wasm"), app, app, filepath.Join(wd, "cache"))
	}
	cfgPath := filepath.Join(dir, "gateway.toml")
	if err := os.WriteFile(cfgPath, []byte(tomlFor("aws")), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	b := startBinary(t, bin, cfgPath, filepath.Join(dir, "data"), addr)
	client := &http.Client{Timeout: 10 * time.Second}
	ask := func(app string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/hooks/pre_approval",
			strings.NewReader(string(hookBody(app, "", "a@example.com", ""))))
		req.Header.Set("Authorization", testHookSecret)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	generation := func() uint64 {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		var r struct{ Generation uint64 }
		_ = json.NewDecoder(resp.Body).Decode(&r)
		return r.Generation
	}
	if code, body := ask("aws"); code != 200 || !strings.Contains(body, "route-aws") {
		t.Fatalf("before SIGHUP, app aws: %d %s", code, body)
	}
	if code, _ := ask("gcp"); code != 404 {
		t.Fatalf("before SIGHUP, app gcp: %d, want 404 (no route)", code)
	}

	if err := os.WriteFile(cfgPath, []byte(tomlFor("gcp")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "generation 2 after SIGHUP", func() bool { return generation() == 2 })
	if code, body := ask("gcp"); code != 200 || !strings.Contains(body, "route-gcp") {
		t.Errorf("after SIGHUP, app gcp: %d %s", code, body)
	}
	if code, _ := ask("aws"); code != 404 {
		t.Errorf("after SIGHUP, app aws: %d, want 404 (route removed)", code)
	}

	// A broken file is refused (logged) and the server keeps serving gcp.
	if err := os.WriteFile(cfgPath, []byte(tomlFor("gcp")+"\n[hooks]\nbogus = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	refused := func() float64 {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		m, _ := io.ReadAll(resp.Body)
		return metricSum(t, m, "hookgate_reloads_total", "outcome", "refused")
	}
	eventually(t, "the refused reload to be counted", func() bool { return refused() == 1 })
	if code, body := ask("gcp"); code != 200 || !strings.Contains(body, "route-gcp") || generation() != 2 {
		t.Errorf("after a refused SIGHUP reload: %d %s generation %d", code, body, generation())
	}
}
