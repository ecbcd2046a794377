package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/store"
)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConfig(t *testing.T) {
	h := newHost(t, HostOptions{})
	p := load(t, h, kitchenConfig("cfg"))
	if res := call(t, p, "provisioning", "config:greeting"); !res.Decision.Success || res.Decision.Message != "hello" {
		t.Fatalf("config value: %+v", res.Decision)
	}
	res := call(t, p, "provisioning", "config:nope")
	if res.Decision.Success || !strings.Contains(res.Decision.Message, `config key "nope" not set`) {
		t.Fatalf("missing key: %+v", res.Decision)
	}
}

func TestLogsCaptured(t *testing.T) {
	h := newHost(t, HostOptions{})
	p := load(t, h, kitchenConfig("logs"))
	res := call(t, p, "deprovisioning", "log")
	var got []string
	for _, l := range res.Logs {
		got = append(got, l.Source+"/"+l.Level.String()+"/"+l.Message)
	}
	want := []string{
		"log/INFO/hello alice.nguyen@example.com",
		"log/WARN/careful",
		"stdout/INFO/to stdout",
		"stderr/WARN/to stderr",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("logs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The next call starts with no lines.
	if res := call(t, p, "deprovisioning", "echo"); len(res.Logs) != 0 {
		t.Fatalf("logs leaked into the next call: %+v", res.Logs)
	}
}

func TestKV(t *testing.T) {
	st := openStore(t)
	h := newHost(t, HostOptions{KV: st})
	p := load(t, h, kitchenConfig("kv-a"))
	other := load(t, h, kitchenConfig("kv-b"))

	if res := call(t, p, "provisioning", "kvget:k1"); res.Decision.Success || !strings.Contains(res.Decision.Message, "not found") {
		t.Fatalf("get before set: %+v", res.Decision)
	}
	call(t, p, "provisioning", "kvset:k1=v1")
	if res := call(t, p, "provisioning", "kvget:k1"); res.Decision.Message != "v1" {
		t.Fatalf("get: %+v", res.Decision)
	}
	if v, err := st.KVGet("kv-a", "k1"); err != nil || string(v) != "v1" {
		t.Fatalf("store sees %q, %v", v, err)
	}
	// Namespaced: the other plugin does not see it.
	if res := call(t, other, "provisioning", "kvget:k1"); res.Decision.Success {
		t.Fatalf("kv-b read kv-a's key: %+v", res.Decision)
	}
	// TTL.
	before := time.Now()
	call(t, p, "provisioning", "kvset:k2@1h=v2")
	exp, err := st.KVExpiresAt("kv-a", "k2")
	if err != nil {
		t.Fatal(err)
	}
	if exp.Before(before.Add(59*time.Minute)) || exp.After(before.Add(61*time.Minute)) {
		t.Fatalf("k2 expires at %v, want about an hour after %v", exp, before)
	}
	if exp, _ := st.KVExpiresAt("kv-a", "k1"); !exp.IsZero() {
		t.Fatalf("k1 without ttl expires at %v", exp)
	}
	call(t, p, "provisioning", "kvdel:k1")
	if _, err := st.KVGet("kv-a", "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	// A too-long key is refused with a clear error, not a crash.
	res := call(t, p, "provisioning", "kvget:"+strings.Repeat("k", store.MaxKVKeyBytes+1))
	if res.Decision.Success || !strings.Contains(res.Decision.Message, "exceeds") {
		t.Fatalf("long key: %+v", res.Decision)
	}
}

// TestKVQuota: a plugin at its kv_max_keys / kv_max_bytes gets ERR_TOO_LARGE
// with a message naming the quota and the keys to raise it; another plugin
// on the same store keeps writing; a delete makes room again.
func TestKVQuota(t *testing.T) {
	st := openStore(t)
	h := newHost(t, HostOptions{KV: st})
	cfg := kitchenConfig("kv-small")
	cfg.KVMaxKeys, cfg.KVMaxBytes = 2, 1000
	small := load(t, h, cfg)
	other := load(t, h, kitchenConfig("kv-other"))
	for _, k := range []string{"a", "b"} {
		if res := call(t, small, "provisioning", "kvset:"+k+"=v"); !res.Decision.Success {
			t.Fatalf("set %s: %+v", k, res.Decision)
		}
	}
	res := call(t, small, "provisioning", "kvset:c=v")
	if res.Decision.Success || !strings.Contains(res.Decision.Message, "quota of 2 keys / 1000 bytes") ||
		!strings.Contains(res.Decision.Message, "kv_max_keys / kv_max_bytes") {
		t.Fatalf("third key: %+v, want a quota error naming the limits", res.Decision)
	}
	if _, err := st.KVGet("kv-small", "c"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused key stored: %v", err)
	}
	res = call(t, small, "provisioning", "kvset:a="+strings.Repeat("x", 1000))
	if res.Decision.Success || !strings.Contains(res.Decision.Message, "quota") {
		t.Fatalf("value over kv_max_bytes: %+v", res.Decision)
	}
	for i := range 5 {
		if res := call(t, other, "provisioning", fmt.Sprintf("kvset:k%d=v", i)); !res.Decision.Success {
			t.Fatalf("another plugin blocked by kv-small's quota: %+v", res.Decision)
		}
	}
	call(t, small, "provisioning", "kvdel:a")
	if res := call(t, small, "provisioning", "kvset:c=v"); !res.Decision.Success {
		t.Fatalf("after a delete: %+v", res.Decision)
	}
}

func TestKVUnavailableWithoutStore(t *testing.T) {
	h := newHost(t, HostOptions{})
	p := load(t, h, kitchenConfig("kv-none"))
	res := call(t, p, "provisioning", "kvget:k")
	if res.Decision.Success || !strings.Contains(res.Decision.Message, "no key/value store") {
		t.Fatalf("%+v", res.Decision)
	}
}

// seedIdentity writes alice (in oncall-engineers) and bob (not) the way the
// Okta pipeline does.
func seedIdentity(t testing.TB, st *store.Store) {
	t.Helper()
	at := store.Stamp{Published: time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC), UUID: "seed"}
	var ch []store.IdentityChange
	for _, u := range []store.UserFacts{
		{ID: "00ualice", Login: "alice.nguyen@example.com", Email: "alice.nguyen@example.com", FirstName: "Alice"},
		{ID: "00ubob", Login: "bob.smith@example.com", Email: "bob@example.com", FirstName: "Bob"},
	} {
		ch = append(ch, store.TouchUser(u, at))
	}
	ch = append(ch,
		store.CreateGroup(store.GroupFacts{ID: "00goncall", Name: "oncall-engineers", Description: "pager"}, at),
		store.CreateGroup(store.GroupFacts{ID: "00gall", Name: "everyone"}, at))
	for _, m := range [][2]string{{"00goncall", "00ualice"}, {"00gall", "00ualice"}, {"00gall", "00ubob"}} {
		ch = append(ch, store.SetMembership(m[0], m[1], true, at))
	}
	err := st.ApplyIdentity(ch...)
	if err != nil {
		t.Fatal(err)
	}
}

func TestIdentity(t *testing.T) {
	st := openStore(t)
	seedIdentity(t, st)
	h := newHost(t, HostOptions{Identity: st})
	p := load(t, h, kitchenConfig("ident"))

	run := func(action, email string) Decision {
		t.Helper()
		res, err := p.Call(context.Background(), "pre_approval", request(action, email))
		if err != nil {
			t.Fatal(err)
		}
		return res.Decision
	}
	if d := run("member:oncall-engineers", "alice.nguyen@example.com"); !d.Success {
		t.Fatalf("alice by name: %+v", d)
	}
	if d := run("member:00goncall", "alice.nguyen@example.com"); !d.Success {
		t.Fatalf("alice by group id: %+v", d)
	}
	if d := run("member:oncall-engineers", "bob@example.com"); d.Success || d.Message != "member=false" {
		t.Fatalf("bob: %+v", d)
	}
	if d := run("member:oncall-engineers", "nobody@example.com"); d.Success || d.Message != "member=false" {
		t.Fatalf("unknown user: %+v", d)
	}
	d := run("user:bob.smith@example.com", "x") // login works where email differs
	var u store.User
	if err := json.Unmarshal([]byte(d.Message), &u); err != nil || u.ID != "00ubob" || u.Email != "bob@example.com" {
		t.Fatalf("user by login: %+v (%v)", d, err)
	}
	if d := run("user:nobody@example.com", "x"); d.Success || !strings.Contains(d.Message, "not found") {
		t.Fatalf("unknown user: %+v", d)
	}
	if d := run("groups:00ualice", "x"); d.Message != "everyone,oncall-engineers" && d.Message != "oncall-engineers,everyone" {
		t.Fatalf("alice's groups: %+v", d)
	}
	if d := run("members:everyone", "x"); d.Message != "alice.nguyen@example.com,bob.smith@example.com" {
		t.Fatalf("everyone's members: %+v", d)
	}
	if d := run("group:oncall-engineers", "x"); d.Message != "00goncall/oncall-engineers" {
		t.Fatalf("group: %+v", d)
	}
}

// httpServer answers on 127.0.0.1 and returns its host:port.
func httpServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestHTTP(t *testing.T) {
	other := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("should never be reached"))
	}))
	var addr string
	addr = httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Reply", r.Method+" "+r.Header.Get("X-Test")+" "+r.Header.Get("Content-Type"))
			fmt.Fprintf(w, "got %s", b)
		case "/redirect-same":
			http.Redirect(w, r, "http://"+addr+"/ok", http.StatusTemporaryRedirect)
		case "/redirect-away":
			http.Redirect(w, r, "http://"+other+"/ok", http.StatusFound)
		case "/big":
			w.Write([]byte(strings.Repeat("b", 4096)))
		case "/slow":
			time.Sleep(2 * time.Second)
		}
	}))
	_, port, _ := net.SplitHostPort(addr)
	h := newHost(t, HostOptions{})
	cfg := kitchenConfig("web")
	cfg.AllowedHosts = []string{"127.0.0.1:" + port}
	cfg.MaxHTTPResponseBytes = 1024
	cfg.HTTPTimeout.Duration = 300 * time.Millisecond
	p := load(t, h, cfg)

	cases := []struct {
		path, want string
		ok         bool
	}{
		{"http://" + addr + "/ok", `200 POST 1 application/json got {"user":"alice.nguyen@example.com"}`, true},
		{"http://" + addr + "/redirect-same", `200 POST 1 application/json got {"user":"alice.nguyen@example.com"}`, true},
		{"http://" + addr + "/redirect-away", `redirect to host "` + other + `" is not in allowed_hosts`, false},
		{"http://" + other + "/ok", `host "` + other + `" is not in allowed_hosts`, false},
		{"http://localhost:" + port + "/ok", `host "localhost:` + port + `" is not in allowed_hosts`, false},
		{"http://" + addr + "/big", "exceeds max_http_response_bytes 1024", false},
		{"http://" + addr + "/slow", "timed out (http_timeout 300ms)", false},
		{"ftp://" + addr + "/ok", "must be an absolute http:// or https:// URL", false},
	}
	for _, c := range cases {
		res := call(t, p, "provisioning", "http:"+c.path)
		if res.Decision.Success != c.ok || !strings.Contains(res.Decision.Message, c.want) {
			t.Errorf("%s: %+v, want success=%v and %q", c.path, res.Decision, c.ok, c.want)
		}
	}
}

func TestHostAllowed(t *testing.T) {
	cases := []struct {
		allowed []string
		url     string
		ok      bool
	}{
		{[]string{"api.example.com"}, "https://api.example.com/x", true},
		{[]string{"api.example.com"}, "https://api.example.com:443/x", true},
		{[]string{"api.example.com"}, "http://api.example.com/x", true},
		// No port: the scheme's default port only.
		{[]string{"API.example.com"}, "https://api.EXAMPLE.com:8443/x", false},
		{[]string{"api.example.com"}, "http://api.example.com:443/x", false},
		{[]string{"api.example.com:*"}, "https://api.example.com:8443/x", true},
		{[]string{"api.example.com:443"}, "https://api.example.com/x", true},
		{[]string{"api.example.com:443"}, "http://api.example.com/x", false},
		{[]string{"api.example.com"}, "https://evil.example.com/x", false},
		{[]string{"api.example.com"}, "https://api.example.com.evil.com/x", false},
		{[]string{"api.example.com"}, "https://api.example.com@evil.com/x", false},
		{[]string{"[::1]:8080"}, "http://[::1]:8080/x", true},
		{[]string{"::1"}, "http://[::1]/x", true},
		{[]string{"[::1]:*"}, "http://[::1]:9/x", true},
		{[]string{"127.0.0.1:8080"}, "http://[::ffff:127.0.0.1]:8080/x", true},
		{nil, "https://api.example.com/x", false},
	}
	for _, c := range cases {
		u, err := parseURL(c.url)
		if err != nil {
			t.Fatal(err)
		}
		a, err := parseAllowList(c.allowed)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.allows(u); got != c.ok {
			t.Errorf("%v %s: %v, want %v", c.allowed, c.url, got, c.ok)
		}
	}
	for _, bad := range []string{"api.example.com:http", "api.example.com:0", "api.example.com:70000", "https://api.example.com", "a:b:c", ""} {
		if _, err := parseAllowList([]string{bad}); err == nil {
			t.Errorf("allowed_hosts entry %q accepted", bad)
		}
	}
}

func TestOktaEvent(t *testing.T) {
	raw, err := os.ReadFile("../../shared/fixtures/okta/group.user_membership.add.json")
	if err != nil {
		t.Skip("fixture not available:", err)
	}
	var env struct {
		Data struct {
			Events []json.RawMessage `json:"events"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Data.Events) == 0 {
		t.Fatalf("fixture: %v", err)
	}
	h := newHost(t, HostOptions{})
	p := load(t, h, kitchenConfig("events"))
	res, err := p.Call(context.Background(), KindOktaEvent, env.Data.Events[0])
	if err != nil {
		t.Fatal(err)
	}
	want := "group.user_membership.add alice.nguyen@example.com 2026-03-03T09:03:00Z"
	if !res.Decision.Success || res.Decision.Message != want {
		t.Fatalf("%+v, want %q", res.Decision, want)
	}
}

// TestSDKHasNoHostDependencies checks a plugin build pulls only the
// standard library and the sdk.
func TestSDKHasNoHostDependencies(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./testdata/kitchen")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(pkg, "/")
		if !strings.Contains(first, ".") {
			continue // standard library
		}
		if pkg != "github.com/hookgate/hookgate/sdk" && pkg != "github.com/hookgate/hookgate/sdk/abi" && pkg != "github.com/hookgate/hookgate/plugins/testdata/kitchen" {
			t.Errorf("plugin build depends on %s", pkg)
		}
		for _, banned := range []string{"wazero", "fasthttp", "badger"} {
			if strings.Contains(pkg, banned) {
				t.Errorf("plugin build pulls %s", pkg)
			}
		}
	}
}
