package main

// `hookgate plugin test`: the plugin author's inner loop. One call of a
// .wasm plugin on a payload file, with no server: a throw-away in-memory
// store (optionally loaded with an Okta event hook delivery so identity
// reads answer), the same validation, routing and response mapping as the
// gateway, and a report of the response, the plugin's log lines and the
// time taken.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/plugins"
	"github.com/hookgate/hookgate/plugins/modlimits"
	"github.com/hookgate/hookgate/store"
)

const pluginTestUsage = "plugin test --plugin X.wasm --kind KIND --payload F.json [--config k=v ...] [--identity okta-batch.json] [--users okta-users.json] [--allow-host h ...] [--cap c,...] [--timeout 2s] [--gateway-config gateway.toml]\n" +
	"       plugin test --cases cases.toml [--plugin X.wasm]\n" +
	"       " + pluginNewUsage

// errPluginFailed marks a plugin that errored, trapped or timed out: the
// report is printed and the command exits 1.
var errPluginFailed = errors.New("plugin call failed")

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// runPlugin dispatches `hookgate plugin <sub>`.
func runPlugin(args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) > 0 && args[0] == "test":
		return runPluginTest(args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "new":
		return runPluginNew(args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: want `hookgate %s`", errUsage, pluginTestUsage)
}

func runPluginTest(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plugin test", stderr)
	wasm := fs.String("plugin", "", "the plugin .wasm file")
	kind := fs.String("kind", "", "hook kind: provisioning, deprovisioning, pre_approval, request_validation or okta_event")
	payload := fs.String("payload", "", "JSON file: the Lumos request body (okta_event: an Okta event hook delivery or one event)")
	name := fs.String("name", "", "plugin name (kv namespace, logs); default: the file name without .wasm")
	identity := fs.String("identity", "", "Okta event hook delivery (JSON envelope) applied to the temporary store first")
	users := fs.String("users", "", "Okta users as GET /api/v1/users returns them (a JSON array; full profiles with custom attributes) written to the temporary store after --identity")
	caps := fs.String("cap", "", "capabilities to grant, comma-separated (default: log,config,kv,identity, plus http when --allow-host is given)")
	timeout := fs.Duration("timeout", plugins.DefaultConfig().Timeout.Duration, "the plugin call's timeout")
	verbose := fs.Bool("v", false, "also print host log lines (slog) to stderr")
	cases := fs.String("cases", "", "a test-case file (cases.toml): run each [[case]] and check its expectations; exit 1 if any fails")
	gwConfig := fs.String("gateway-config", "", "gateway.toml whose [responses.<kind>] overrides map the decision and whose [plugins] module limits apply, as the gateway would (default: the built-in response table and limits); secrets and plugin files need not exist")
	var cfgKV, hosts multiFlag
	fs.Var(&cfgKV, "config", "plugin config entry key=value (repeatable; ${ENV} is expanded)")
	fs.Var(&hosts, "allow-host", "host (default port), host:port or host:* the plugin may call over HTTP (repeatable; loopback and private addresses only when given literally, e.g. 127.0.0.1:8089)")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	if *cases != "" {
		return runPluginCases(*cases, *wasm, *verbose, stdout, stderr)
	}
	switch {
	case *wasm == "" || *kind == "" || *payload == "":
		return fmt.Errorf("%w: --plugin, --kind and --payload are required", errUsage)
	case !slices.Contains(config.Kinds, *kind) && *kind != plugins.KindOktaEvent:
		return fmt.Errorf("%w: --kind %q is not one of %s, %s", errUsage, *kind, strings.Join(config.Kinds, ", "), plugins.KindOktaEvent)
	}
	body, err := os.ReadFile(*payload)
	if err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	// The response table: the built-in one, or the gateway's file's.
	// The module limits: the defaults, or the file's [plugins] ones.
	responses := map[string]*config.Responses{}
	var limits modlimits.Limits
	if *gwConfig != "" {
		gc, err := config.Load(*gwConfig, config.Overrides{Offline: true})
		if err != nil {
			return fmt.Errorf("--gateway-config: %w", err)
		}
		responses = gc.Responses
		limits = gc.Plugins.Limits
	}

	pc := plugins.Config{
		Name:         *name,
		Path:         *wasm,
		Config:       map[string]string{},
		PoolSize:     1,
		Timeout:      config.Duration{Duration: *timeout},
		AllowedHosts: hosts,
		Limits:       limits,
	}
	if pc.Name == "" {
		pc.Name = pluginNameFrom(*wasm)
	}
	for _, kv := range cfgKV {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("%w: --config %q: want key=value", errUsage, kv)
		}
		pc.Config[k] = os.ExpandEnv(v)
	}
	if *caps == "" {
		pc.Capabilities = []string{plugins.CapLog, plugins.CapConfig, plugins.CapKV, plugins.CapIdentity}
		if len(hosts) > 0 {
			pc.Capabilities = append(pc.Capabilities, plugins.CapHTTP)
		}
	} else {
		for _, c := range strings.Split(*caps, ",") {
			pc.Capabilities = append(pc.Capabilities, strings.TrimSpace(c))
		}
	}
	// The checks Host.Load makes (plugins.Config.Validate), made now so
	// a bad flag is a usage error.
	if err := pc.Or(plugins.DefaultConfig()).Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}

	// Debug level: the plugin's debug lines are kept (and printed below).
	hostLog := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if *verbose {
		hostLog = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	st, err := store.Open("", store.Options{InMemory: true, Logger: hostLog})
	if err != nil {
		return err
	}
	defer st.Close()
	if *identity != "" {
		if err := loadIdentity(st, *identity, stdout); err != nil {
			return err
		}
	}
	if *users != "" {
		if err := loadUsers(st, *users, stdout); err != nil {
			return err
		}
	}

	ctx := context.Background()
	host, err := plugins.NewHost(ctx, plugins.HostOptions{CacheDir: pluginTestCacheDir(), Logger: hostLog, Identity: st, KV: st})
	if err != nil {
		return err
	}
	defer host.Close()
	loadStart := time.Now()
	p, err := host.Load(ctx, pc)
	if err != nil {
		return err
	}
	loadTime := time.Since(loadStart)

	if *kind == plugins.KindOktaEvent {
		return runOktaEventTest(ctx, p, st, body, loadTime, stdout)
	}

	// The gateway's own path: validation, a default route to this plugin,
	// the plugin call, the response table (--gateway-config's or the
	// default).
	capd := &capturingDecider{p: p}
	d := hook.NewDispatcher(hook.DispatcherOptions{
		Routes:    []hook.Route{{Kind: *kind, Plugin: pc.Name}},
		Timeout:   hook.DefaultHookTimeout,
		Responses: responses,
		Plugins:   map[string]hook.Decider{pc.Name: capd},
		Logger:    hostLog,
	})
	out, err := d.Dispatch(ctx, *kind, body, "cli")
	if err != nil {
		var be *hook.BadRequestError
		if errors.As(err, &be) {
			fmt.Fprintf(stdout, "response: HTTP 400 (the gateway refuses this payload before any plugin runs)\n%s\n", err)
			return fmt.Errorf("payload %s: %w", *payload, err)
		}
		return err
	}
	rep := d.Responder().Reply(*kind, out)
	fmt.Fprintf(stdout, "response: HTTP %d\n", rep.Status)
	if len(rep.Body) > 0 {
		fmt.Fprintf(stdout, "%s\n", rep.Body)
	}
	printLogs(stdout, capd.res)
	decision := "failure"
	switch {
	case out.Err != nil:
		decision = "error: " + out.Err.Error()
	case out.Success:
		decision = "success"
	}
	fmt.Fprintf(stdout, "decision: %s\n", decision)
	printTimes(stdout, loadTime, capd.res, out.Duration)
	if out.Err != nil {
		return errPluginFailed
	}
	return nil
}

// capturingDecider keeps the plugin's Result (logs, duration) of the one
// call.
type capturingDecider struct {
	p   *plugins.Plugin
	res *plugins.Result
}

// Decide calls the plugin and remembers its result.
func (c *capturingDecider) Decide(ctx context.Context, kind string, raw []byte, req *hook.HookRequest) (hook.Decision, error) {
	res, err := c.p.CallInput(ctx, kind, hook.PluginInput(raw, req))
	c.res = res
	if err != nil {
		return hook.Decision{}, err
	}
	return hook.Decision{Success: res.Decision.Success, Message: res.Decision.Message}, nil
}

// oktaEventBatch reads an okta_event payload: an Okta event hook delivery,
// or one System Log event (an object with eventType and no data), which is
// parsed as a delivery of one. Events the gateway would reject (no uuid,
// no published time...) are in the batch's Rejected.
func oktaEventBatch(body []byte) (*okta.Batch, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("okta_event payload: %w", err)
	}
	if probe["data"] == nil && probe["eventType"] != nil {
		env, err := json.Marshal(map[string]any{"eventType": "com.okta.event_hook", "eventId": "plugin-test",
			"data": map[string]any{"events": []json.RawMessage{body}}})
		if err != nil {
			return nil, err
		}
		body = env
	}
	b, err := okta.ParseEnvelope(body)
	if err != nil {
		return nil, fmt.Errorf("okta_event payload: want an Okta event hook delivery or one System Log event (an object with eventType): %w", err)
	}
	return b, nil
}

// applyEvents ingests the batch into the temporary store, as the gateway
// does before its [[on_event]] plugins run: the plugin's identity reads see
// the state after the event. A rejected event is an error (the gateway
// would not run a plugin on it).
func applyEvents(st *store.Store, b *okta.Batch) error {
	if len(b.Rejected) > 0 {
		r := b.Rejected[0]
		return fmt.Errorf("okta_event payload: event %d is rejected by the gateway: %s", r.Index+1, r.Reason)
	}
	if _, err := okta.Ingest(st, b, okta.IngestOptions{}); err != nil {
		return fmt.Errorf("okta_event payload: apply to the store: %w", err)
	}
	return nil
}

// runOktaEventTest applies an Okta delivery (or one event) to the store,
// runs the plugin on each event and prints each decision.
func runOktaEventTest(ctx context.Context, p *plugins.Plugin, st *store.Store, body []byte, loadTime time.Duration, stdout io.Writer) error {
	b, err := oktaEventBatch(body)
	if err != nil {
		return err
	}
	if err := applyEvents(st, b); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "events: %d applied to the temporary store first, as the gateway does before [[on_event]] plugins run\n", len(b.Events))
	failed := false
	for i, ev := range b.Events {
		fmt.Fprintf(stdout, "event %d: %s %s\n", i+1, ev.EventType, ev.UUID)
		res, err := p.Call(ctx, plugins.KindOktaEvent, ev.Raw)
		if err != nil {
			failed = true
			fmt.Fprintf(stdout, "decision: error: %v\n", err)
		} else {
			d, _ := json.Marshal(res.Decision)
			fmt.Fprintf(stdout, "decision: %s\n", d)
		}
		printLogs(stdout, res)
		printTimes(stdout, loadTime, res, resDuration(res))
	}
	if failed {
		return errPluginFailed
	}
	return nil
}

func resDuration(res *plugins.Result) time.Duration {
	if res == nil {
		return 0
	}
	return res.Duration
}

func printLogs(w io.Writer, res *plugins.Result) {
	if res == nil || len(res.Logs) == 0 {
		fmt.Fprintln(w, "logs: (none)")
		return
	}
	fmt.Fprintln(w, "logs:")
	for _, l := range res.Logs {
		fmt.Fprintf(w, "  %s %-5s [%s] %s\n", l.Time.Format("15:04:05.000"), l.Level, l.Source, l.Message)
	}
}

func printTimes(w io.Writer, load time.Duration, res *plugins.Result, total time.Duration) {
	call := time.Duration(0)
	if res != nil {
		call = res.Duration
	}
	fmt.Fprintf(w, "time: %s total, plugin call %s (load and compile %s, not counted)\n", round(total), round(call), round(load))
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(100 * time.Nanosecond)
}

// loadIdentity applies an Okta event hook delivery to the store.
func loadIdentity(st *store.Store, path string, stdout io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	batch, err := okta.ParseEnvelope(b)
	if err != nil {
		return fmt.Errorf("identity %s: %w", path, err)
	}
	res, err := okta.Ingest(st, batch, okta.IngestOptions{})
	if err != nil {
		return fmt.Errorf("identity %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "identity: %d Okta events applied from %s\n", res.Accepted, path)
	return nil
}

// loadUsers writes Management API user objects (full profiles) to the
// store, as a background lookup would.
func loadUsers(st *store.Store, path string, stdout io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("users: %w", err)
	}
	var us []okta.APIUser
	if err := json.Unmarshal(b, &us); err != nil {
		return fmt.Errorf("users %s: want a JSON array of Okta user objects: %w", path, err)
	}
	now := time.Now()
	for i := range us {
		if !store.ValidID(us[i].ID) {
			return fmt.Errorf("users %s: user %d: invalid id %q", path, i, us[i].ID)
		}
		if err := okta.WriteLookup(st, &us[i], now, nil); err != nil {
			return fmt.Errorf("users %s: %w", path, err)
		}
	}
	fmt.Fprintf(stdout, "users: %d Okta users with their profiles written from %s\n", len(us), path)
	return nil
}

// pluginTestCacheDir is wazero's compilation cache for repeated runs
// ("" = in memory when there is no user cache directory).
func pluginTestCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "hookgate", "wasm-cache")
}

// pluginNameFrom makes a plugin name (lower-case letters, digits, - and _;
// plugins.ValidName) from a .wasm file's name, for runs that give none.
func pluginNameFrom(path string) string {
	n := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, strings.TrimSuffix(filepath.Base(path), ".wasm"))
	n = strings.TrimLeft(n, "-_")
	if len(n) > 63 {
		n = n[:63]
	}
	if n == "" {
		n = "plugin"
	}
	return n
}
