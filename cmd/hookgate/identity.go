package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/store"
)

// runUsers is `hookgate users get <ref>`: print a user straight from the
// store. Badger allows one process per directory, so this works while the
// server is stopped; with it running use GET /v1/users/<ref>.
func runUsers(args []string, stdout, stderr io.Writer) error {
	return getFromStore("users", args, stdout, stderr, func(st *store.Store, ref string) (any, error) {
		return st.LookupUser(ref)
	})
}

// runGroups is `hookgate groups get <id|name>`.
func runGroups(args []string, stdout, stderr io.Writer) error {
	return getFromStore("groups", args, stdout, stderr, func(st *store.Store, ref string) (any, error) {
		return st.LookupGroup(ref)
	})
}

func getFromStore(name string, args []string, stdout, stderr io.Writer, get func(*store.Store, string) (any, error)) error {
	if len(args) == 0 || args[0] != "get" {
		return fmt.Errorf("%w: want `%s get <ref>`", errUsage, name)
	}
	fs := newFlags(name+" get", stderr)
	data := fs.String("data", "./data", "Badger data directory")
	keyEnv := fs.String("key-env", "", "environment variable holding the store's encryption key (as [store] encryption_key_env)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one reference", errUsage)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := store.Options{Logger: quiet}
	if *keyEnv != "" {
		key, err := config.DecodeEncryptionKey(os.Getenv(*keyEnv))
		if err != nil {
			return fmt.Errorf("--key-env %s: %w", *keyEnv, err)
		}
		opts.EncryptionKey = key
	}
	st, err := store.Open(*data, opts)
	if errors.Is(err, store.ErrEncryptionKey) {
		return fmt.Errorf("%w (pass --key-env NAME, the variable [store] encryption_key_env names)", err)
	}
	if err != nil {
		return fmt.Errorf("%w (is `hookgate serve` running on it? then use the admin API)", err)
	}
	defer st.Close()
	v, err := get(st, pos[0])
	if err != nil {
		return fmt.Errorf("%s %q: %w", name, pos[0], err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parseInterspersed parses flags that may come before or after positional
// arguments (`users get alice --data ./data`), returning the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
