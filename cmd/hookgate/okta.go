package main

// `hookgate okta check` and `hookgate okta sync`: the Okta Management API
// from the command line. Both read gateway.toml offline (the serving
// secrets need not be set). sync goes through a running server's admin API
// when one answers (Badger is single-process), else it opens the store.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hookgate/hookgate/gateway/api"
	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/store"
)

const oktaUsage = "okta check [--config gateway.toml] [--json]\n       hookgate okta sync [--config gateway.toml] [--addr URL] [--data DIR] [--app-users]"

func runOkta(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want check or sync", errUsage)
	}
	switch args[0] {
	case "check":
		return runOktaCheck(args[1:], stdout, stderr)
	case "sync":
		return runOktaSync(args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown okta subcommand %q (want check or sync)", errUsage, args[0])
}

// loadOfflineConfig loads gateway.toml for a command that does not serve.
// When the path was not given explicitly and the default file does not
// exist, the defaults are used (everything can come from the environment).
func loadOfflineConfig(path string, explicit bool) (*config.Config, error) {
	if !explicit {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return config.Parse(nil, ".", config.Overrides{Offline: true})
		}
	}
	return config.Load(path, config.Overrides{Offline: true})
}

// oktaClient builds the Management API client from the config (retry and
// rate-limit notes go to the default logger, on stderr).
func oktaClient(cfg *config.Config) (*okta.Client, error) {
	if cfg.Okta.OrgURL == "" {
		return nil, errors.New("no Okta org configured: set okta.org_url in gateway.toml or HOOKGATE_OKTA_ORG_URL")
	}
	return okta.NewClientFromConfig(cfg.Okta)
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

// runOktaCheck is `hookgate okta check`: verify the credentials and every
// scope hookgate needs, print the report, exit 1 when something is
// missing.
func runOktaCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("okta check", stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadOfflineConfig(*cfgPath, flagSet(fs, "config"))
	if err != nil {
		return err
	}
	// Hints about the serving secrets set in this environment (check does
	// not need them; serve refuses equal ones and warns about short ones).
	if ws := cfg.SecretWarnings(); len(ws) > 0 {
		hints := stdout
		if *asJSON {
			hints = stderr // keep stdout one JSON document
		}
		fmt.Fprintln(hints, "Serving secrets")
		for _, w := range ws {
			fmt.Fprintf(hints, "  WARN %s\n", w)
		}
	}
	c, err := oktaClient(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	rep, err := okta.Check(ctx, c)
	if err != nil {
		return fmt.Errorf("check of %s interrupted: %w", c.OrgURL(), err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
			return err
		}
	} else if _, err := io.WriteString(stdout, rep.String()); err != nil {
		return err
	}
	if !rep.OK {
		n := 0
		for _, it := range rep.Items {
			if !it.OK {
				n++
			}
		}
		return fmt.Errorf("%d problem(s) found with the Okta credentials for %s (the lines marked FAIL)", n, c.OrgURL())
	}
	return nil
}

// defaultAdminAddr turns server.listen into a URL this host can reach.
func defaultAdminAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://127.0.0.1:8080"
	}
	switch host {
	case "", "0.0.0.0", "::", "[::]":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// runOktaSync is `hookgate okta sync`.
func runOktaSync(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("okta sync", stderr)
	cfgPath := configFlag(fs)
	addr := fs.String("addr", "", "base URL of the running gateway (default: from server.listen)")
	tokenEnv := fs.String("token-env", "", "environment variable holding the admin bearer token (default: admin.token_env)")
	data := fs.String("data", "", "sync straight into this Badger directory (the server must be stopped)")
	appUsers := fs.Bool("app-users", false, "also read every app's user assignments (one listing per app; through a running server too)")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadOfflineConfig(*cfgPath, flagSet(fs, "config"))
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	bar := newSyncProgress(stdout)

	if *data == "" {
		base := *addr
		if base == "" {
			base = defaultAdminAddr(cfg.Server.Listen)
		}
		if !strings.Contains(base, "://") {
			base = "http://" + base
		}
		if serverAnswers(base) {
			env := *tokenEnv
			if env == "" {
				env = cfg.Admin.TokenEnv
			}
			return remoteSync(ctx, base, env, *appUsers, bar, stdout)
		}
		if flagSet(fs, "addr") {
			return fmt.Errorf("no hookgate server answers at %s (start it, or sync into a stopped server's store with --data)", base)
		}
		*data = cfg.Server.DataDir
	}

	c, err := oktaClient(cfg)
	if err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(*data, store.Options{Logger: quiet, EncryptionKey: cfg.Store.EncryptionKey})
	if err != nil {
		return fmt.Errorf("%w (is `hookgate serve` running on it? then run `hookgate okta sync` without --data to sync through the server)", err)
	}
	defer st.Close()
	fmt.Fprintf(stdout, "syncing %s into %s\n", c.OrgURL(), *data)
	sum, err := okta.Sync(ctx, c, st, okta.SyncOptions{
		Progress: bar.update, AppUsers: *appUsers,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	bar.finish()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", sum.String())
	return err
}

// serverAnswers reports whether a hookgate server answers /healthz at base.
func serverAnswers(base string) bool {
	hc := &http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get(strings.TrimRight(base, "/") + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// remoteSync starts a sync on the running server (or follows the one
// already running) and polls its progress until it ends; appUsers asks the
// server to read app-user assignments too (?app_users=true). Interrupting
// the command stops the polling, not the sync.
func remoteSync(ctx context.Context, base, tokenEnv string, appUsers bool, bar *syncProgress, stdout io.Writer) error {
	c, err := newAdminClient(base, tokenEnv)
	if err != nil {
		return err
	}
	var st api.SyncStatus
	path := "/v1/okta/sync"
	if appUsers {
		path += "?app_users=true"
	}
	code, err := c.call(http.MethodPost, path, &st)
	switch {
	case err != nil && code == http.StatusConflict:
		fmt.Fprintf(stdout, "a sync is already running on %s; following it\n", base)
		if appUsers {
			fmt.Fprintln(stdout, "(--app-users applies only if the running sync was started with it; run again once it ends)")
		}
	case err != nil:
		return err
	default:
		fmt.Fprintf(stdout, "sync started on %s\n", base)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := c.call(http.MethodGet, "/v1/okta/sync", &st); err != nil {
			bar.finish()
			return err
		}
		if st.State == api.SyncRunning {
			bar.update(okta.Progress{Phase: st.Phase, Done: st.Done, Total: st.Total})
		}
		switch st.State {
		case api.SyncDone:
			bar.finish()
			if st.Summary != nil {
				_, err := fmt.Fprintf(stdout, "%s\n", st.Summary.String())
				return err
			}
			return nil
		case api.SyncFailed:
			bar.finish()
			return fmt.Errorf("the sync failed on the server: %s", st.Error)
		}
		select {
		case <-ctx.Done():
			bar.finish()
			return fmt.Errorf("stopped following the sync (it keeps running on the server; see GET /v1/okta/sync): %w", context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// call is do with the HTTP status: it returns the status code too, so a
// caller can tell a 409 from other failures.
func (c *adminClient) call(method, path string, out any) (int, error) {
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		return 0, fmt.Errorf("admin API %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("admin API %s %s (is `hookgate serve` running there? see --addr): %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("admin API %s %s: read: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return resp.StatusCode, fmt.Errorf("admin API %s %s: HTTP %d: %s", method, path, resp.StatusCode, e.Error)
		}
		return resp.StatusCode, fmt.Errorf("admin API %s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("admin API %s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// syncProgress shows a sync's progress: a bar redrawn in place on a
// terminal, one line per finished phase otherwise (logs, CI, pipes).
type syncProgress struct {
	w    io.Writer
	tty  bool
	last okta.Progress
	drew bool // a tty line is on screen without its newline
}

func newSyncProgress(w io.Writer) *syncProgress {
	p := &syncProgress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// phaseUnit names what a phase counts.
func phaseUnit(phase string) string {
	switch phase {
	case okta.PhaseUsers:
		return "users read"
	case okta.PhaseGroups:
		return "groups read"
	case okta.PhaseApps:
		return "apps read"
	case okta.PhaseMembers:
		return "groups' members read"
	case okta.PhaseAppGroups:
		return "apps' group assignments read"
	case okta.PhaseAppUsers:
		return "apps' user assignments read"
	}
	return "done"
}

func progressLine(p okta.Progress, bar bool) string {
	if p.Total <= 0 {
		return fmt.Sprintf("%-11s %d %s", p.Phase, p.Done, phaseUnit(p.Phase))
	}
	if !bar {
		return fmt.Sprintf("%-11s %d/%d %s", p.Phase, p.Done, p.Total, phaseUnit(p.Phase))
	}
	const width = 30
	n := min(width, p.Done*width/p.Total)
	return fmt.Sprintf("%-11s [%s%s] %d/%d %s", p.Phase, strings.Repeat("#", n), strings.Repeat("-", width-n), p.Done, p.Total, phaseUnit(p.Phase))
}

func (p *syncProgress) update(pr okta.Progress) {
	if pr.Phase == "" || pr.Phase == okta.PhaseDone || pr.Phase == "starting" {
		return
	}
	if p.last.Phase != "" && pr.Phase != p.last.Phase {
		p.endPhase()
	}
	p.last = pr
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", progressLine(pr, true))
		p.drew = true
	}
}

// endPhase writes the final line of the current phase.
func (p *syncProgress) endPhase() {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s\n", progressLine(p.last, true))
		p.drew = false
		return
	}
	fmt.Fprintln(p.w, progressLine(p.last, false))
}

// finish ends the last phase's line.
func (p *syncProgress) finish() {
	if p.last.Phase != "" {
		p.endPhase()
		p.last = okta.Progress{}
	}
}
