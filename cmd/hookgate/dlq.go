package main

// `hookgate dlq list|show|replay|drop` and `hookgate grants list` talk to
// the running server's admin API (/v1/dlq, /v1/grants): Badger allows one
// process per data directory, so the CLI cannot open the store while the
// gateway serves. The bearer token comes from HOOKGATE_ADMIN_TOKEN (or the
// variable named by --token-env).

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookgate/hookgate/store"
)

// adminClient calls the admin API of a running gateway.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

// adminFlags registers --addr and --token-env on fs.
func adminFlags(fs *flag.FlagSet) (addr, tokenEnv *string) {
	addr = fs.String("addr", "http://127.0.0.1:8080", "base URL (or host:port) of the running gateway")
	tokenEnv = fs.String("token-env", "HOOKGATE_ADMIN_TOKEN", "environment variable holding the admin bearer token")
	return addr, tokenEnv
}

func newAdminClient(addr, tokenEnv string) (*adminClient, error) {
	tok := os.Getenv(tokenEnv)
	if tok == "" {
		return nil, fmt.Errorf("%s is not set: the admin API needs its bearer token", tokenEnv)
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return &adminClient{base: strings.TrimRight(addr, "/"), token: tok, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends method path and decodes a 2xx JSON answer into out (when not
// nil); other statuses become an error carrying the server's message.
func (c *adminClient) do(method, path string, out any) error {
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("admin API %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin API %s %s (is `hookgate serve` running there? see --addr): %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin API %s %s: read: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("admin API %s %s: HTTP %d: %s", method, path, resp.StatusCode, e.Error)
		}
		return fmt.Errorf("admin API %s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("admin API %s %s: decode: %w", method, path, err)
	}
	return nil
}

// dlqItem is the subset of /v1/dlq entries the table shows.
type dlqItem struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Plugin    string    `json:"plugin"`
	Ref       string    `json:"ref"`
	EventType string    `json:"event_type"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	DeadAt    time.Time `json:"dead_at"`
}

func runDLQ(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want list, show, replay or drop", errUsage)
	}
	sub := args[0]
	fs := newFlags("dlq "+sub, stderr)
	addr, tokenEnv := adminFlags(fs)
	asJSON := fs.Bool("json", false, "print the raw JSON")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	needID := sub != "list"
	if needID && fs.NArg() != 1 {
		return fmt.Errorf("%w: dlq %s needs one dead letter id", errUsage, sub)
	}
	if !needID && fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	c, err := newAdminClient(*addr, *tokenEnv)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		var raw json.RawMessage
		if err := c.do("GET", "/v1/dlq", &raw); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, raw)
		}
		var items []dlqItem
		if err := json.Unmarshal(raw, &items); err != nil {
			return fmt.Errorf("decode dead letters: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tPLUGIN\tREF\tATTEMPTS\tDEAD AT\tLAST ERROR")
		for _, d := range items {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Kind, d.Plugin, d.Ref, d.Attempts,
				d.DeadAt.Format(time.RFC3339), oneLine(d.LastError, 100))
		}
		if len(items) == 0 {
			fmt.Fprintln(tw, "(no dead letters)")
		}
		return tw.Flush()
	case "show":
		var raw json.RawMessage
		if err := c.do("GET", "/v1/dlq/"+url.PathEscape(fs.Arg(0)), &raw); err != nil {
			return err
		}
		return printJSON(stdout, raw)
	case "replay":
		var raw json.RawMessage
		if err := c.do("POST", "/v1/dlq/"+url.PathEscape(fs.Arg(0))+"/replay", &raw); err != nil {
			return err
		}
		var it dlqItem
		_ = json.Unmarshal(raw, &it)
		_, err := fmt.Fprintf(stdout, "replayed %s: queued again as %s\n", fs.Arg(0), it.ID)
		return err
	case "drop":
		if err := c.do("DELETE", "/v1/dlq/"+url.PathEscape(fs.Arg(0)), nil); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "dropped %s\n", fs.Arg(0))
		return err
	}
	return fmt.Errorf("%w: unknown dlq subcommand %q (want list, show, replay or drop)", errUsage, sub)
}

func runGrants(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return fmt.Errorf("%w: want list", errUsage)
	}
	fs := newFlags("grants list", stderr)
	addr, tokenEnv := adminFlags(fs)
	user := fs.String("user", "", "only grants of this user (Okta id, login or email)")
	app := fs.String("app", "", "only grants for this app id")
	state := fs.String("state", "", "only grants in this state: active, revoked or failed")
	asJSON := fs.Bool("json", false, "print the raw JSON")
	if err := parseOnlyFlags(fs, args[1:]); err != nil {
		return err
	}
	c, err := newAdminClient(*addr, *tokenEnv)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"user": *user, "app": *app, "state": *state} {
		if v != "" {
			q.Set(k, v)
		}
	}
	path := "/v1/grants"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var raw json.RawMessage
	if err := c.do("GET", path, &raw); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, raw)
	}
	var items []store.Grant
	if err := json.Unmarshal(raw, &items); err != nil {
		return fmt.Errorf("decode grants: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tAPP\tSTATE\tEXPIRES AT\tPERMISSIONS\tLAST ERROR")
	for _, g := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.ID, g.User, g.App, g.State,
			g.ExpiresAt.Format(time.RFC3339), strings.Join(g.Permissions, ","), oneLine(g.LastError, 80))
	}
	if len(items) == 0 {
		fmt.Fprintln(tw, "(no grants)")
	}
	return tw.Flush()
}

func printJSON(w io.Writer, raw json.RawMessage) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		b.Reset()
		b.Write(raw)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
