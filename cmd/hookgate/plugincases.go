package main

// `hookgate plugin test --cases cases.toml`: a plugin's test suite. Each
// [[case]] runs one call, exactly as `plugin test` does (a fresh in-memory
// store, optional Okta identity batch and kv seed, the gateway's validation
// and response table; for kind okta_event the case's one event applied to
// the store first, as the gateway does), then checks the response literal,
// message, HTTP status, log lines and kv state it expects. One PASS/FAIL line per case;
// the command fails when any case does.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/plugins"
	"github.com/hookgate/hookgate/store"
)

// caseFile is cases.toml: defaults at the top level, then [[case]] tables
// that override them. Relative paths resolve against the file's directory.
type caseFile struct {
	caseSettings
	Cases []testCase `toml:"case"`
}

// caseSettings are what a case runs with; each may be set at the top level
// (for every case) or in a case.
type caseSettings struct {
	// Plugin is the .wasm file; Name the plugin name (kv namespace, logs),
	// default the file name without .wasm.
	Plugin string `toml:"plugin"`
	Name   string `toml:"name"`
	Kind   string `toml:"kind"`
	// Identity is an Okta event hook delivery applied to the store first.
	Identity string `toml:"identity"`
	// Users are Okta users as GET /api/v1/users returns them (full
	// profiles), written after Identity.
	Users        string            `toml:"users"`
	Config       map[string]string `toml:"config"`
	Capabilities []string          `toml:"capabilities"`
	AllowHosts   []string          `toml:"allow_hosts"`
	Timeout      string            `toml:"timeout"`
	// KV seeds the plugin's key/value store before the call.
	KV map[string]string `toml:"kv"`
}

// testCase is one [[case]].
type testCase struct {
	caseSettings
	CaseName string `toml:"name"`
	// Payload is a JSON file; Body the JSON inline (one of the two).
	Payload string `toml:"payload"`
	Body    string `toml:"body"`

	// ExpectResponse is the response literal (APPROVED, PROVISIONED_USER,
	// ..., or "204"; for okta_event "success" or "failure"); ExpectMessage
	// a substring of the message; ExpectStatus the HTTP status (default:
	// not checked; not for okta_event).
	ExpectResponse string `toml:"expect_response"`
	ExpectMessage  string `toml:"expect_message"`
	ExpectStatus   int    `toml:"expect_status"`
	// ExpectError is a substring of the plugin error (a trap, a timeout, a
	// no_handler...); without it any plugin error fails the case.
	ExpectError string `toml:"expect_error"`
	// ExpectLogs are substrings each of which some log line must contain;
	// ExpectNoLogs substrings no line may contain.
	ExpectLogs   []string `toml:"expect_logs"`
	ExpectNoLogs []string `toml:"expect_no_logs"`
	// ExpectKV is the kv state after the call: key -> value, "" for absent.
	ExpectKV map[string]string `toml:"expect_kv"`
}

// errCasesFailed: some case failed (exit 1, after the summary).
var errCasesFailed = errors.New("test cases failed")

// merge returns s with every field c sets.
func (s caseSettings) merge(c caseSettings) caseSettings {
	if c.Plugin != "" {
		s.Plugin = c.Plugin
	}
	if c.Name != "" {
		s.Name = c.Name
	}
	if c.Kind != "" {
		s.Kind = c.Kind
	}
	if c.Identity != "" {
		s.Identity = c.Identity
	}
	if c.Users != "" {
		s.Users = c.Users
	}
	if c.Timeout != "" {
		s.Timeout = c.Timeout
	}
	if c.Capabilities != nil {
		s.Capabilities = c.Capabilities
	}
	if c.AllowHosts != nil {
		s.AllowHosts = c.AllowHosts
	}
	cfg := map[string]string{}
	for k, v := range s.Config {
		cfg[k] = v
	}
	for k, v := range c.Config {
		cfg[k] = v
	}
	s.Config = cfg
	kv := map[string]string{}
	for k, v := range s.KV {
		kv[k] = v
	}
	for k, v := range c.KV {
		kv[k] = v
	}
	s.KV = kv
	return s
}

// runPluginCases runs a case file; pluginOverride (--plugin) replaces its
// plugin path.
func runPluginCases(path, pluginOverride string, verbose bool, stdout, stderr io.Writer) error {
	var cf caseFile
	md, err := toml.DecodeFile(path, &cf)
	if err != nil {
		return fmt.Errorf("cases %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return fmt.Errorf("cases %s: unknown key %s", path, und[0])
	}
	if len(cf.Cases) == 0 {
		return fmt.Errorf("cases %s: no [[case]] tables", path)
	}
	base := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	hostLog := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if verbose {
		hostLog = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	passed, failed := 0, 0
	for i, c := range cf.Cases {
		name := c.CaseName
		if name == "" {
			name = fmt.Sprintf("case %d", i+1)
		}
		s := cf.caseSettings.merge(c.caseSettings)
		if pluginOverride != "" {
			s.Plugin = pluginOverride
		} else {
			s.Plugin = rel(s.Plugin)
		}
		s.Identity = rel(s.Identity)
		s.Users = rel(s.Users)
		start := time.Now()
		problems, err := runCase(hostLog, s, c, rel)
		d := time.Since(start)
		if err != nil {
			problems = append(problems, err.Error())
		}
		if len(problems) == 0 {
			passed++
			fmt.Fprintf(stdout, "PASS  %s (%s)\n", name, round(d))
			continue
		}
		failed++
		fmt.Fprintf(stdout, "FAIL  %s (%s)\n", name, round(d))
		for _, p := range problems {
			fmt.Fprintf(stdout, "      %s\n", strings.ReplaceAll(p, "\n", "\n      "))
		}
	}
	fmt.Fprintf(stdout, "%s: %d passed, %d failed\n", filepath.Base(path), passed, failed)
	if failed > 0 {
		return errCasesFailed
	}
	return nil
}

// caseOutcome is what one call produced.
type caseOutcome struct {
	reply hook.Reply
	out   hook.Outcome
	logs  []plugins.LogLine
}

// runCase runs one case and returns what did not match its expectations
// (err: the case could not run at all).
func runCase(hostLog *slog.Logger, s caseSettings, c testCase, rel func(string) string) ([]string, error) {
	if s.Plugin == "" {
		return nil, errors.New("no plugin (set plugin = \"x.wasm\" at the top of the file or in the case, or pass --plugin)")
	}
	event := s.Kind == plugins.KindOktaEvent
	if !slices.Contains(config.Kinds, s.Kind) && !event {
		return nil, fmt.Errorf("kind %q is not one of %s, %s", s.Kind, strings.Join(config.Kinds, ", "), plugins.KindOktaEvent)
	}
	if event && c.ExpectStatus != 0 {
		return nil, errors.New("expect_status: an okta_event call has no HTTP answer (expect_response is success or failure)")
	}
	var body []byte
	switch {
	case c.Payload != "" && c.Body != "":
		return nil, errors.New("set payload or body, not both")
	case c.Payload != "":
		b, err := os.ReadFile(rel(c.Payload))
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		body = b
	case c.Body != "":
		body = []byte(c.Body)
	default:
		return nil, errors.New("no payload or body")
	}
	var timeout time.Duration // zero: plugins.DefaultConfig's
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil {
			return nil, fmt.Errorf("timeout: %w", err)
		}
		timeout = d
	}
	pc := plugins.Config{
		Name: s.Name, Path: s.Plugin, Config: map[string]string{}, PoolSize: 1,
		Timeout: config.Duration{Duration: timeout}, AllowedHosts: s.AllowHosts,
		Capabilities: s.Capabilities,
	}
	if pc.Name == "" {
		pc.Name = pluginNameFrom(s.Plugin)
	}
	for k, v := range s.Config {
		pc.Config[k] = os.ExpandEnv(v)
	}
	if pc.Capabilities == nil {
		pc.Capabilities = []string{plugins.CapLog, plugins.CapConfig, plugins.CapKV, plugins.CapIdentity}
		if len(s.AllowHosts) > 0 {
			pc.Capabilities = append(pc.Capabilities, plugins.CapHTTP)
		}
	}

	st, err := store.Open("", store.Options{InMemory: true, Logger: hostLog})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if s.Identity != "" {
		if err := loadIdentity(st, s.Identity, io.Discard); err != nil {
			return nil, err
		}
	}
	if s.Users != "" {
		if err := loadUsers(st, s.Users, io.Discard); err != nil {
			return nil, err
		}
	}
	for k, v := range s.KV {
		if err := st.KVSet(pc.Name, k, []byte(v), 0); err != nil {
			return nil, fmt.Errorf("kv seed %q: %w", k, err)
		}
	}
	ctx := context.Background()
	host, err := plugins.NewHost(ctx, plugins.HostOptions{CacheDir: pluginTestCacheDir(), Logger: hostLog, Identity: st, KV: st})
	if err != nil {
		return nil, err
	}
	defer host.Close()
	p, err := host.Load(ctx, pc)
	if err != nil {
		return nil, err
	}
	kv := func(k string) (string, bool) {
		v, err := st.KVGet(pc.Name, k)
		return string(v), err == nil
	}
	if event {
		oc, err := runEventCase(ctx, p, st, body)
		if err != nil {
			return nil, err
		}
		return checkCase(c, oc, kv), nil
	}
	capd := &capturingDecider{p: p}
	d := hook.NewDispatcher(hook.DispatcherOptions{
		Routes:  []hook.Route{{Kind: s.Kind, Plugin: pc.Name}},
		Timeout: hook.DefaultHookTimeout,
		Plugins: map[string]hook.Decider{pc.Name: capd},
		Logger:  hostLog,
	})
	out, err := d.Dispatch(ctx, s.Kind, body, "cli")
	if err != nil {
		return nil, fmt.Errorf("the gateway refuses this payload before any plugin runs: %w", err)
	}
	oc := caseOutcome{reply: d.Responder().Reply(s.Kind, out), out: out}
	if capd.res != nil {
		oc.logs = capd.res.Logs
	}
	return checkCase(c, oc, kv), nil
}

// runEventCase runs an okta_event case: the payload (a delivery of one
// event, or the event) is applied to the store first, as the gateway does,
// then the plugin decides; the response is "success" or "failure" (the
// gateway retries the event later).
func runEventCase(ctx context.Context, p *plugins.Plugin, st *store.Store, body []byte) (caseOutcome, error) {
	b, err := oktaEventBatch(body)
	if err != nil {
		return caseOutcome{}, err
	}
	if n := len(b.Events) + len(b.Rejected); n != 1 {
		return caseOutcome{}, fmt.Errorf("okta_event payload: %d events; a case runs the plugin on one", n)
	}
	if err := applyEvents(st, b); err != nil {
		return caseOutcome{}, err
	}
	res, err := p.Call(ctx, plugins.KindOktaEvent, b.Events[0].Raw)
	var oc caseOutcome
	oc.out.Err = err
	if res != nil {
		oc.logs = res.Logs
		if err == nil {
			oc.out.Success, oc.out.Message = res.Decision.Success, res.Decision.Message
		}
	}
	oc.reply.Literal = "failure"
	if oc.out.Success {
		oc.reply.Literal = "success"
	}
	return oc, nil
}

// checkCase lists every expectation of c that oc does not meet.
func checkCase(c testCase, oc caseOutcome, kv func(string) (string, bool)) []string {
	var bad []string
	msg := oc.out.Message
	if oc.out.Err != nil {
		if c.ExpectError == "" {
			bad = append(bad, "plugin error: "+oc.out.Err.Error())
		} else if !strings.Contains(oc.out.Err.Error(), c.ExpectError) {
			bad = append(bad, fmt.Sprintf("plugin error %q does not contain %q", oc.out.Err.Error(), c.ExpectError))
		}
	} else if c.ExpectError != "" {
		bad = append(bad, fmt.Sprintf("want a plugin error containing %q, the plugin decided (success %v, message %q)", c.ExpectError, oc.out.Success, msg))
	}
	if c.ExpectResponse != "" && oc.reply.Literal != c.ExpectResponse {
		bad = append(bad, fmt.Sprintf("response %s, want %s (HTTP %d %s)", oc.reply.Literal, c.ExpectResponse, oc.reply.Status, oc.reply.Body))
	}
	if c.ExpectMessage != "" && !strings.Contains(msg, c.ExpectMessage) {
		bad = append(bad, fmt.Sprintf("message %q does not contain %q", msg, c.ExpectMessage))
	}
	if c.ExpectStatus != 0 && oc.reply.Status != c.ExpectStatus {
		bad = append(bad, fmt.Sprintf("HTTP status %d, want %d", oc.reply.Status, c.ExpectStatus))
	}
	lines := make([]string, len(oc.logs))
	for i, l := range oc.logs {
		lines[i] = l.Level.String() + " [" + l.Source + "] " + l.Message
	}
	for _, want := range c.ExpectLogs {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, want) }) {
			bad = append(bad, fmt.Sprintf("no log line contains %q (logs: %q)", want, lines))
		}
	}
	for _, no := range c.ExpectNoLogs {
		for _, l := range lines {
			if strings.Contains(l, no) {
				bad = append(bad, fmt.Sprintf("log line %q contains %q", l, no))
			}
		}
	}
	keys := make([]string, 0, len(c.ExpectKV))
	for k := range c.ExpectKV {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		want := c.ExpectKV[k]
		got, ok := kv(k)
		switch {
		case want == "" && ok:
			bad = append(bad, fmt.Sprintf("kv %q = %q, want it absent", k, got))
		case want != "" && !ok:
			bad = append(bad, fmt.Sprintf("kv %q absent, want %q", k, want))
		case want != "" && got != want:
			bad = append(bad, fmt.Sprintf("kv %q = %q, want %q", k, got, want))
		}
	}
	return bad
}
