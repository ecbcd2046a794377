package main

import (
	"flag"
	"fmt"
	"io"
)

// newFlags starts a subcommand's flag set: usage and errors go to stderr,
// and a bad flag comes back as an error instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// configFlag adds --config, the path to gateway.toml.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "gateway.toml", "path to gateway.toml")
}

// parseFlags parses a subcommand's args; a bad flag is a usage error.
// -h/--help stays recognisable (errors.Is(err, flag.ErrHelp)), so run
// exits 0 after the flag package has printed the flags.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return nil
}

// parseOnlyFlags is parseFlags for a subcommand that takes no positional
// argument: one is a usage error naming it.
func parseOnlyFlags(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// flagSet reports whether the named flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
