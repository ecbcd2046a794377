package gateway_test

// Test harness shared by the gateway's HTTP tests: a real gateway.Server on
// 127.0.0.1:0 over a real Badger in t.TempDir(), driven by net/http (a
// client independent of the fasthttp server under test).

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/store"
)

const (
	testOktaSecret = "test-okta-secret"
	testHookSecret = "test-hook-secret"
	testAdminToken = "test-admin-token"
)

func TestMain(m *testing.M) {
	// config.Parse reads the secrets from these (default names).
	os.Setenv("HOOKGATE_OKTA_SECRET", testOktaSecret)
	os.Setenv("HOOKGATE_HOOK_SECRET", testHookSecret)
	os.Setenv("HOOKGATE_ADMIN_TOKEN", testAdminToken)
	os.Exit(m.Run())
}

// testServer is one running gateway.
type testServer struct {
	t      testing.TB
	URL    string
	Srv    *gateway.Server
	Store  *store.Store
	Config *config.Config
	client *http.Client
}

// startServer serves gateway.toml text toml (may be empty: defaults) on a
// fresh temp Badger. It is shut down and the store closed at cleanup.
func startServer(t testing.TB, toml string) *testServer {
	t.Helper()
	cfg := testConfig(t, toml)
	quiet := quietLogger()
	st := openTestStore(t, cfg, quiet)
	srv := gateway.New(cfg, st, quiet)
	url, done := serveLoopback(t, srv)
	t.Cleanup(func() {
		shutdown(t, srv)
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return newTestServer(t, url, srv, st, cfg)
}

// --- building blocks of the start* harnesses ---

// testConfig parses gateway.toml text toml for a test server: listening
// on 127.0.0.1:0, Badger in a fresh temp dir.
func testConfig(t testing.TB, toml string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(toml), dir, testOverrides(dir))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// testOverrides are a test server's overrides: 127.0.0.1:0 and dir/data.
func testOverrides(dir string) config.Overrides {
	return config.Overrides{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "data")}
}

// quietLogger discards every log line.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// debugLogger is quietLogger, or with -v every line down to debug on stderr.
func debugLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return quietLogger()
}

// openTestStore opens cfg's Badger directory; the caller closes it.
func openTestStore(t testing.TB, cfg *config.Config, log *slog.Logger) *store.Store {
	t.Helper()
	st, err := store.Open(cfg.Server.DataDir, store.Options{Logger: log})
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	return st
}

// serveLoopback serves srv on 127.0.0.1:0 and returns its base URL and the
// channel that gets Serve's result.
func serveLoopback(t testing.TB, srv *gateway.Server) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), served
}

// shutdown stops srv gracefully (requests in flight finish, 10s at most).
func shutdown(t testing.TB, srv *gateway.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// newTestServer is the testServer for a gateway serving at url, with a
// net/http client.
func newTestServer(t testing.TB, url string, srv *gateway.Server, st *store.Store, cfg *config.Config) *testServer {
	return &testServer{t: t, URL: url, Srv: srv, Store: st, Config: cfg, client: &http.Client{Timeout: 30 * time.Second}}
}

// do sends one request; headers are name, value pairs.
func (ts *testServer) do(method, path string, body []byte, headers ...string) (int, http.Header, []byte) {
	ts.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, r)
	if err != nil {
		ts.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// postOkta delivers an envelope with the right Authorization header and
// requires a 200 with an empty body.
func (ts *testServer) postOkta(body []byte) {
	ts.t.Helper()
	code, _, b := ts.do("POST", ts.Config.Okta.Path, body, "Authorization", testOktaSecret, "Content-Type", "application/json")
	if code != http.StatusOK || len(b) != 0 {
		ts.t.Fatalf("POST %s: got %d %q, want 200 with empty body", ts.Config.Okta.Path, code, b)
	}
}

// get reads an admin API path with the bearer token and decodes a 200 into
// out (if non-nil). It returns the status code and headers.
func (ts *testServer) get(path string, out any) (int, http.Header) {
	ts.t.Helper()
	code, h, b := ts.do("GET", path, nil, "Authorization", "Bearer "+testAdminToken)
	if code == http.StatusOK && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			ts.t.Fatalf("GET %s: decode %q: %v", path, b, err)
		}
	}
	if code != http.StatusOK {
		// Every non-200 from the admin API is a JSON error object.
		var e struct{ Error string }
		if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
			ts.t.Errorf("GET %s: %d with body %q, want a JSON {\"error\": ...}", path, code, b)
		}
	}
	return code, h
}

// user reads /v1/users/{ref}; nil when 404.
func (ts *testServer) user(ref string) *store.User {
	return getRecord[store.User](ts, "/v1/users/"+ref)
}

// group reads /v1/groups/{id}; nil when 404.
func (ts *testServer) group(id string) *store.Group {
	return getRecord[store.Group](ts, "/v1/groups/"+id)
}

// app reads /v1/apps/{id}; nil when 404.
func (ts *testServer) app(id string) *store.App { return getRecord[store.App](ts, "/v1/apps/"+id) }

// getRecord reads one admin API record; nil when 404, any other status
// fails the test.
func getRecord[T any](ts *testServer, path string) *T {
	ts.t.Helper()
	var v T
	switch code, _ := ts.get(path, &v); code {
	case http.StatusOK:
		return &v
	case http.StatusNotFound:
		return nil
	default:
		ts.t.Fatalf("GET %s: %d", path, code)
		return nil
	}
}

// fixturesDir finds ../shared/fixtures/okta by walking up from the package
// directory to the directory that holds both the repo and shared/. A
// missing fixtures directory fails the test: the fixtures are the authority
// on semantics and must not be skipped silently.
func fixturesDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "fixtures", "okta")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("shared/fixtures/okta not found above the package directory: the repo must be cloned beside shared/")
		}
		dir = parent
	}
}

// fixture reads one fixture file.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// envelope is the wire envelope, for tests that edit fixtures.
type envelope struct {
	EventType string `json:"eventType"`
	EventID   string `json:"eventId"`
	Data      struct {
		Events []map[string]any `json:"events"`
	} `json:"data"`
	EventTime string `json:"eventTime"`
}

// fixtureEvents returns the LogEvents of a fixture as generic maps.
func fixtureEvents(t *testing.T, name string) []map[string]any {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(fixture(t, name), &e); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return e.Data.Events
}

// wrap puts events into an envelope.
func wrap(t *testing.T, eventID string, events ...map[string]any) []byte {
	t.Helper()
	e := envelope{EventType: "com.okta.event_hook", EventID: eventID, EventTime: "2026-03-03T12:00:00.000Z"}
	e.Data.Events = events
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withEvent copies ev with the given uuid and published time and, if
// targetID is not empty, every target of type targetType re-pointed at
// (targetID, displayName).
func withEvent(ev map[string]any, uuid, published, targetType, targetID, displayName string) map[string]any {
	b, _ := json.Marshal(ev)
	var c map[string]any
	_ = json.Unmarshal(b, &c)
	c["uuid"] = uuid
	c["published"] = published
	if targetID != "" {
		for _, tg := range c["target"].([]any) {
			m := tg.(map[string]any)
			if m["type"] == targetType {
				m["id"] = targetID
				m["displayName"] = displayName
			}
		}
	}
	return c
}

func status(u *store.User) string {
	if u == nil || u.Status == nil {
		return "<null>"
	}
	return *u.Status
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mustContain(t *testing.T, body []byte, sub string) {
	t.Helper()
	if !strings.Contains(string(body), sub) {
		t.Errorf("body %q does not contain %q", body, sub)
	}
}
