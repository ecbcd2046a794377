// Command hookgate is the one hookgate binary: the gateway server and the
// operator's command-line tools.
//
//	hookgate serve --config gateway.toml [--listen ADDR] [--data DIR] [--node-id ID --raft-addr ADDR --peers LIST]
//	hookgate users get <id|login|email> [--data DIR]
//	hookgate groups get <id|name> [--data DIR]
//	hookgate dlq list|show|replay|drop [ID] [--addr URL]
//	hookgate grants list [--user REF] [--app ID] [--state S] [--addr URL]
//	hookgate okta check [--config gateway.toml] [--json]
//	hookgate okta sync [--config gateway.toml] [--addr URL] [--data DIR]
//	hookgate cluster certs|status|join|remove
//	hookgate version
//	hookgate help [command]
//
// Each subcommand is one row of the commands table below; later commands
// (plugin test, okta sync|check, dlq …, grants list) add a row there.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one row of the dispatch table.
type command struct {
	name    string // as typed; "users get" style groups are dispatched by their own run
	usage   string // one-line synopsis
	summary string // what it does
	run     func(args []string, stdout, stderr io.Writer) error
}

// errUsage marks an error caused by how the command was called; main then
// prints the command's usage and exits 2.
var errUsage = errors.New("usage")

// commands is the subcommand table, in help order.
var commands []command

func init() {
	commands = []command{
		{"serve", "serve --config gateway.toml [--listen ADDR] [--data DIR]",
			"run the gateway: Okta event hooks, inline hooks, admin API", runServe},
		{"users", "users get <id|login|email> [--data DIR] [--key-env NAME]",
			"print a user from the store (the server must be stopped; else use GET /v1/users/<ref>)", runUsers},
		{"groups", "groups get <id|name> [--data DIR] [--key-env NAME]",
			"print a group from the store (the server must be stopped; else use GET /v1/groups/<id>)", runGroups},
		{"store", storeUsage,
			"rotate the store's encryption master key (the server must be stopped)", runStore},
		{"dlq", "dlq list|show ID|replay ID|drop ID [--addr URL] [--json]",
			"dead letters of the event queue, via the running server's admin API (HOOKGATE_ADMIN_TOKEN)", runDLQ},
		{"grants", "grants list [--user REF] [--app ID] [--state S] [--addr URL] [--json]",
			"time-boxed grants, via the running server's admin API (HOOKGATE_ADMIN_TOKEN)", runGrants},
		{"okta", oktaUsage,
			"Okta Management API: check credentials and scopes; full sync of users, groups, apps (through the running server, or into a stopped server's store)", runOkta},
		{"cluster", clusterUsage,
			"cluster: write a CA and node certificates; status, join and remove through a running node's admin API", runCluster},
		{"plugin", pluginTestUsage,
			"run one plugin call on a payload file with no server; prints the response, the plugin's logs and the time", runPlugin},
		{"version", "version", "print the version", func(_ []string, stdout, _ io.Writer) error {
			_, err := fmt.Fprintln(stdout, "hookgate", version)
			return err
		}},
		{"help", "help [command]", "show this help", runHelp},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches args to a subcommand and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		_ = runHelp(nil, stderr, stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "-help":
		args[0] = "help"
	case "-v", "--version":
		args[0] = "version"
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		if len(args) > 1 && isHelpFlag(args[1]) && c.name != "serve" {
			// `hookgate dlq -h`: the flags belong to the subcommand
			// (`hookgate dlq list -h`); show the synopsis.
			if c.name == "help" {
				_ = runHelp(nil, stdout, stderr)
			} else {
				_ = runHelp(args[:1], stdout, stderr)
			}
			return 0
		}
		err := c.run(args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			// -h: the flags are printed; add the synopsis, and it is no error.
			fmt.Fprintf(stderr, "usage: hookgate %s\n\n%s\n", c.usage, c.summary)
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "hookgate %s: %v\nusage: hookgate %s\n", c.name, err, c.usage)
			return 2
		default:
			fmt.Fprintf(stderr, "hookgate %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "hookgate: unknown command %q\n\n", args[0])
	_ = runHelp(nil, stderr, stderr)
	return 2
}

// isHelpFlag reports whether arg asks for help (-h, -help, --help).
func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

func runHelp(args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		for _, c := range commands {
			if c.name == args[0] {
				_, err := fmt.Fprintf(stdout, "usage: hookgate %s\n\n%s\n", c.usage, c.summary)
				return err
			}
		}
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	var b strings.Builder
	b.WriteString("hookgate: identity integration gateway (Okta event hooks, WASM access hooks)\n\nusage:\n")
	// Synopsis, then what it does on the next line: several synopses are
	// too long for one aligned column.
	for _, c := range commands {
		fmt.Fprintf(&b, "  hookgate %s\n      %s\n", strings.ReplaceAll(c.usage, "\n       ", "\n  "), c.summary)
	}
	b.WriteString("\n`hookgate help <command>` or `hookgate <command> [<subcommand>] -h` for more.\n")
	_, err := io.WriteString(stdout, b.String())
	return err
}
