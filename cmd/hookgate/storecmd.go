package main

import (
	"fmt"
	"io"
	"os"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/store"
)

const storeUsage = "store rotate-key --data DIR --old-key-env NAME --new-key-env NAME"

// runStore is `hookgate store rotate-key`: re-encrypt the store's key
// registry under a new master key (the server must be stopped). Afterwards
// the variable [store] encryption_key_env names must hold the new key.
func runStore(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate-key" {
		return fmt.Errorf("%w: want `hookgate %s`", errUsage, storeUsage)
	}
	fs := newFlags("store rotate-key", stderr)
	data := fs.String("data", "./data", "Badger data directory")
	oldEnv := fs.String("old-key-env", "", "environment variable holding the current key")
	newEnv := fs.String("new-key-env", "", "environment variable holding the new key")
	if err := parseOnlyFlags(fs, args[1:]); err != nil {
		return err
	}
	if *oldEnv == "" || *newEnv == "" {
		return fmt.Errorf("%w: --old-key-env and --new-key-env are required", errUsage)
	}
	key := func(env string) ([]byte, error) {
		v := os.Getenv(env)
		if v == "" {
			return nil, fmt.Errorf("environment variable %s is not set", env)
		}
		k, err := config.DecodeEncryptionKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", env, err)
		}
		return k, nil
	}
	oldKey, err := key(*oldEnv)
	if err != nil {
		return err
	}
	newKey, err := key(*newEnv)
	if err != nil {
		return err
	}
	if err := store.RotateEncryptionKey(*data, oldKey, newKey); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "re-encrypted the key registry of %s with the key in %s; point [store] encryption_key_env at it before the next start\n", *data, *newEnv)
	return err
}
